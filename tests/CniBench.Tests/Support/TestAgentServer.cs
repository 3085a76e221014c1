using System.Net;
using CniBench.Agent.Logging;
using CniBench.Agent.Peers;
using CniBench.Agent.Servers;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Tests.Support;

/// <summary>A real agent server in this process, on loopback with OS-chosen ports.</summary>
public sealed class TestAgentServer : IAsyncDisposable
{
    public const string Token = "test-token-0123456789";
    private readonly CancellationTokenSource _stop = new();
    private readonly AgentServer _server;
    private readonly Task _run;

    /// <param name="dualStack">Listen as `--bind any` does: IPv4 and IPv6 on one socket per port (Bind then says where
    /// tests connect: IPv4 loopback).</param>
    public TestAgentServer(
        IPAddress? bind = null,
        string pod = "pod-a",
        string token = Token,
        string node = "node-1",
        bool dualStack = false,
        PeerLimits? peers = null
    )
    {
        Bind = bind ?? IPAddress.Loopback;
        _server = AgentServer.Bind(
            new ServeOptions(
                dualStack ? IPAddress.IPv6Any : Bind,
                0,
                0,
                0,
                0,
                token,
                new AgentIdentity("test-host", pod, node),
                DualStack: dualStack,
                Peers: peers
            ),
            AgentLog.Null
        );
        _run = _server.RunAsync(_stop.Token);
    }

    public IPAddress Bind { get; }
    public AgentInfo Info => _server.Info;

    public string Address(int port) => Endpoints.Format(new IPEndPoint(Bind, port));

    public string TcpAddress => Address(Info.Ports.Tcp);
    public string UdpAddress => Address(Info.Ports.Udp);
    public string HttpAddress => Address(Info.Ports.Http);
    public Uri ControlUri => new($"http://{Address(Info.Ports.Control)}/");

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return; // a test may stop an agent before its owner does
        await _stop.CancelAsync();
        await _run.WaitAsync(TimeSpan.FromSeconds(10));
        await _server.DisposeAsync();
        _stop.Dispose();
    }
}
