namespace CniBench.Contracts.Protocol;

/// <summary>The ports an agent serves on unless told otherwise: the one place they are written.</summary>
public static class DefaultPorts
{
    public const int Control = 7200,
        Tcp = 7201,
        Udp = 7202,
        Http = 7280;
}
