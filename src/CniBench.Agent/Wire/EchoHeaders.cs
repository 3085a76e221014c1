namespace CniBench.Agent.Wire;

/// <summary>
/// The headers of every echo answer: the agent that answered, the address the request arrived at (the endpoint a
/// service chose) and the source address the server saw (the SNAT address on an egress path).
/// </summary>
public static class EchoHeaders
{
    public const string Backend = "X-CniBench-Backend";
    public const string Address = "X-CniBench-Address";
    public const string Peer = "X-CniBench-Peer";
}
