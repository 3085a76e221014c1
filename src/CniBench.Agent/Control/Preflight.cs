using System.Net.Sockets;
using CniBench.Agent.Wire;
using CniBench.Contracts.Workloads;

namespace CniBench.Agent.Control;

/// <summary>Before a client job is ready: can its server be reached at all? A refused port fails now, clearly, not as a
/// run of errors. A TLS job also completes one handshake: it proves the server speaks TLS 1.3, and it takes the cold
/// cost of the first handshake on both agents (on a host whose cores were taken, over a second) before the start
/// instant instead of inside the case's window.</summary>
public static class Preflight
{
    public static async Task<string?> CheckAsync(WorkloadSpec spec, CancellationToken cancellationToken)
    {
        // Only connections that are the measurement are checked: UDP has none, and a prober is there to see a service
        // that may not answer yet (its failures are its data).
        if (!WorkloadCatalog.Of(spec.Kind).MeasuresTcp)
            return null;
        // The spec was checked: its target parses.
        if (!Endpoints.TryParse(spec.Target, out var endpoint))
            return null;
        using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMilliseconds(Math.Max(spec.TimeoutMs, 500)));
        try
        {
            await socket.ConnectAsync(endpoint, timeout.Token);
        }
        catch (SocketException e)
        {
            return $"cannot connect to {spec.Target}: {Describe(e.SocketErrorCode)}";
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"cannot connect to {spec.Target}: no answer within {Math.Max(spec.TimeoutMs, 500)} ms";
        }
        return WorkloadCatalog.Of(spec.Kind).Tls ? await HandshakeAsync(socket, spec.Target, cancellationToken) : null;
    }

    /// <summary>A cold handshake on a busy host is slow, not wrong: past this the job is ready anyway (the
    /// controller waits 5 s for the whole preparation), and only a handshake that fails refuses it.</summary>
    public static readonly TimeSpan HandshakeBound = TimeSpan.FromSeconds(2.5);

    private static async Task<string?> HandshakeAsync(Socket socket, string target, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(HandshakeBound);
        try
        {
            await TlsSession.HandshakeAsync(socket, timeout.Token);
            return null;
        }
        catch (Exception e)
            when (!cancellationToken.IsCancellationRequested
                && e
                    is OperationCanceledException
                        or System.Security.Authentication.AuthenticationException
                        or IOException
            )
        {
            // Past the bound (whatever the cancelled handshake threw) the job goes ahead; before it, the port refused.
            return timeout.IsCancellationRequested
                ? null
                : $"no TLS 1.3 handshake with {target} (is it a cnibench agent's TCP port?): {e.Message}";
        }
    }

    private static string Describe(SocketError error) =>
        error switch
        {
            SocketError.ConnectionRefused => "connection refused (is the agent server running on that port?)",
            SocketError.NetworkUnreachable or SocketError.HostUnreachable => "no route to host",
            _ => error.ToString(),
        };
}
