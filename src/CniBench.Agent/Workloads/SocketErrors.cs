using System.Net.Sockets;

namespace CniBench.Agent.Workloads;

/// <summary>Turns the ways an operation fails into the error kinds results are counted by.</summary>
public static class SocketErrors
{
    public const string Refused = "refused";
    public const string Reset = "reset";
    public const string Timeout = "timeout";
    public const string Closed = "closed";
    public const string Unreachable = "unreachable";
    public const string Protocol = "protocol";
    public const string Other = "other";

    public static string Classify(Exception e, bool watchdogFired)
    {
        if (watchdogFired)
            return Timeout;
        return e switch
        {
            SocketException s => s.SocketErrorCode switch
            {
                SocketError.ConnectionRefused => Refused,
                SocketError.ConnectionReset or SocketError.ConnectionAborted or SocketError.Shutdown => Reset,
                SocketError.TimedOut or SocketError.WouldBlock => Timeout,
                SocketError.HostUnreachable or SocketError.NetworkUnreachable or SocketError.HostNotFound =>
                    Unreachable,
                _ => Other,
            },
            EndOfStreamException => Closed,
            InvalidDataException => Protocol,
            TimeoutException => Timeout,
            IOException { InnerException: SocketException inner } => Classify(inner, false),
            _ => Other,
        };
    }

    public static string Describe(Exception e) =>
        e switch
        {
            SocketException s => $"{s.SocketErrorCode}: {s.Message}",
            _ => e.Message,
        };
}
