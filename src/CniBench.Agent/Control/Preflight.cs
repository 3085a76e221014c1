using System.Net.Sockets;
using CniBench.Contracts.Workloads;

namespace CniBench.Agent.Control;

/// <summary>Before a client job is ready: can its server be reached at all? A refused port fails now, clearly, not as a
/// run of errors.</summary>
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
            return null;
        }
        catch (SocketException e)
        {
            return $"cannot connect to {spec.Target}: {Describe(e.SocketErrorCode)}";
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"cannot connect to {spec.Target}: no answer within {Math.Max(spec.TimeoutMs, 500)} ms";
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
