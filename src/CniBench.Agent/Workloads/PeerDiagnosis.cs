using System.Net.Sockets;
using System.Text;
using CniBench.Agent.Wire;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Agent.Workloads;

/// <summary>
/// When a workload got nothing through and saw no error, asks the server once more, the way the
/// workload does, and says what came back: an HTTP answer on a TCP workload (the HTTP port was given),
/// a close, or silence. "No errors, 0 transactions" tells a user nothing; this does.
/// </summary>
public static class PeerDiagnosis
{
    private static readonly TimeSpan AnswerWait = TimeSpan.FromSeconds(1);

    public static async Task<string?> ExplainAsync(WorkloadSpec spec, CancellationToken cancellationToken)
    {
        if (!WorkloadCatalog.Of(spec.Kind).MeasuresTcp)
            return null;
        if (!Endpoints.TryParse(spec.Target, out var endpoint))
            return null;
        using var socket = new Socket(endpoint!.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(AnswerWait);
        var answer = new byte[64];
        int n;
        try
        {
            await socket.ConnectAsync(endpoint, timeout.Token);
            await socket.SendAsync(Request(spec), SocketFlags.None, timeout.Token);
            n = await socket.ReceiveAsync(answer, SocketFlags.None, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"the server at {spec.Target} accepted the connection but sent nothing within "
                + $"{AnswerWait.TotalSeconds:0} s: "
                + Hint(spec);
        }
        catch (SocketException e)
        {
            return $"the server at {spec.Target}: {e.SocketErrorCode} ({e.Message}): " + Hint(spec);
        }
        if (n == 0)
            return $"the server at {spec.Target} closed the connection without answering: " + Hint(spec);
        string start = Encoding.ASCII.GetString(answer, 0, n).Split('\r', '\n')[0];
        bool http = start.StartsWith("HTTP/", StringComparison.Ordinal);
        if (spec.Kind == WorkloadKind.Http)
            return http
                ? null
                : $"the server at {spec.Target} answered with {n} bytes that are not HTTP: " + Hint(spec);
        if (http)
            return $"the server at {spec.Target} answered with HTTP ('{Printable(start)}'): that is an HTTP port; "
                + $"use -w http there, or the agent's TCP data port ({DefaultPorts.Tcp} by default) "
                + $"for {spec.Kind.ToName()}";
        // An agent answers the request with exactly the response size asked for (all of it, when it is this small).
        if (n == Math.Min(answer.Length, Math.Max(1, spec.ResponseSize)))
            return $"the server at {spec.Target} answers a request at once, but the workload completed no transaction "
                + "in the measured window: its connections took longer to set up than the warm-up "
                + (WorkloadCatalog.Of(spec.Kind).Tls ? "(a TLS handshake comes first) " : "")
                + "on this host; lengthen the warm-up or the window";
        return $"the server at {spec.Target} answered with {n} bytes that are not a cnibench agent's: " + Hint(spec);
    }

    private static byte[] Request(WorkloadSpec spec)
    {
        if (spec.Kind == WorkloadKind.Http)
            return Encoding.ASCII.GetBytes("GET /echo HTTP/1.1\r\nHost: cnibench\r\nConnection: close\r\n\r\n");
        var hello = new byte[Contracts.Protocol.ControlProtocol.TcpHelloSize + Math.Max(1, spec.RequestSize)];
        new TcpHello(
            TcpMode.RequestResponse,
            false,
            Math.Max(1, spec.RequestSize),
            Math.Max(1, spec.ResponseSize)
        ).Write(hello);
        return hello;
    }

    private static string Hint(WorkloadSpec spec) =>
        spec.Kind == WorkloadKind.Http
            ? $"is it a cnibench agent's HTTP port ({DefaultPorts.Http} by default)?"
            : $"is it a cnibench agent's TCP data port ({DefaultPorts.Tcp} by default)? The HTTP port "
                + $"({DefaultPorts.Http}) answers only -w http";

    private static string Printable(string text) =>
        new(text.Take(40).Select(c => char.IsControl(c) ? '.' : c).ToArray());
}
