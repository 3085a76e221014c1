using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using CniBench.Agent.Background;
using CniBench.Agent.Peers;
using CniBench.Agent.Wire;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;
using CniBench.Tests.Support;

namespace CniBench.Tests.Agent;

/// <summary>
/// Peers that connect and then do nothing, or ask and never read: no server may be held by them for long, and the
/// controller always gets in. The limits are shortened here so that a test takes seconds, not minutes.
/// </summary>
[Trait(Category.Name, Category.Integration)]
public class PeerLimitTests
{
    private static readonly PeerLimits Short = new(
        Idle: TimeSpan.FromSeconds(1),
        WriteStall: TimeSpan.FromSeconds(1),
        Authenticate: TimeSpan.FromSeconds(1)
    );

    private static async Task<Socket> ConnectAsync(string address)
    {
        Assert.True(Endpoints.TryParse(address, out var ep));
        var s = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await s.ConnectAsync(ep);
        return s;
    }

    /// <summary>Whether the server closed the connection within <paramref name="within"/> (what it sent before is
    /// read and dropped).</summary>
    private static async Task<bool> ClosedByServerAsync(Socket socket, TimeSpan within)
    {
        var buffer = new byte[64 * 1024];
        using var limit = new CancellationTokenSource(within);
        try
        {
            while (await socket.ReceiveAsync(buffer, SocketFlags.None, limit.Token) > 0) { }
            return true;
        }
        catch (SocketException)
        {
            return true; // reset
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private static string InfoRequest(string token) =>
        $"GET /v1/info HTTP/1.1\r\nHost: agent\r\n{ControlProtocol.VersionHeader}: {ControlProtocol.Version}\r\n"
        + $"Authorization: {ControlProtocol.TokenScheme} {token}\r\n\r\n";

    [Fact]
    public async Task Idle_strangers_on_the_control_port_cannot_lock_the_controller_out_and_are_closed()
    {
        // The default limits: the time to authenticate is not what lets the controller in.
        await using var server = new TestAgentServer();
        string control = server.Address(server.Info.Ports.Control);
        var strangers = new List<Socket>();
        try
        {
            // More than the control port's ceiling of 64 connections, none of which ever sends a byte.
            for (int i = 0; i < 80; i++)
                strangers.Add(await ConnectAsync(control));
            await Task.Delay(200);
            for (int attempt = 0; attempt < 3; attempt++)
            {
                using var controller = await ConnectAsync(control);
                await controller.SendAsync(Encoding.ASCII.GetBytes(InfoRequest(TestAgentServer.Token)));
                var answer = new byte[4096];
                using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                int n = await controller.ReceiveAsync(answer, SocketFlags.None, limit.Token);
                Assert.StartsWith("HTTP/1.1 200", Encoding.ASCII.GetString(answer, 0, n));
            }
        }
        finally
        {
            foreach (var s in strangers)
                s.Dispose();
        }
    }

    [Fact]
    public async Task A_control_connection_that_does_not_authenticate_in_time_is_closed_and_one_that_did_stays()
    {
        await using var server = new TestAgentServer(peers: Short);
        string control = server.Address(server.Info.Ports.Control);
        using var silent = await ConnectAsync(control);
        using var authenticated = await ConnectAsync(control);
        await authenticated.SendAsync(Encoding.ASCII.GetBytes(InfoRequest(TestAgentServer.Token)));
        var answer = new byte[4096];
        Assert.True(await authenticated.ReceiveAsync(answer) > 0);

        Assert.True(await ClosedByServerAsync(silent, TimeSpan.FromSeconds(5)), "a silent stranger kept its place");
        // The controller's keep-alive connection is not a stranger's: still served after the time to authenticate.
        await Task.Delay(Short.Authenticate + TimeSpan.FromMilliseconds(500));
        await authenticated.SendAsync(Encoding.ASCII.GetBytes(InfoRequest(TestAgentServer.Token)));
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        int n = await authenticated.ReceiveAsync(answer, SocketFlags.None, limit.Token);
        Assert.StartsWith("HTTP/1.1 200", Encoding.ASCII.GetString(answer, 0, n));
    }

    [Fact]
    public async Task An_http_client_that_asks_for_a_large_body_and_reads_nothing_is_closed_after_the_write_stall()
    {
        await using var server = new TestAgentServer(peers: Short);
        using var client = await ConnectAsync(server.HttpAddress);
        const int Size = 16 * 1024 * 1024;
        await client.SendAsync(Encoding.ASCII.GetBytes($"GET /echo?size={Size} HTTP/1.1\r\nHost: a\r\n\r\n"));
        // Reads nothing for well past the stall, then everything that is left.
        await Task.Delay(TimeSpan.FromSeconds(3));
        long got = 0;
        var buffer = new byte[256 * 1024];
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            int n;
            while ((n = await client.ReceiveAsync(buffer, SocketFlags.None, limit.Token)) > 0)
                got += n;
        }
        catch (SocketException) { } // reset: closed with bytes unsent
        Assert.True(got < Size, $"all {got} bytes came: the server waited on a peer that read nothing");

        // The server is still there for the next client.
        using var next = await ConnectAsync(server.HttpAddress);
        await next.SendAsync(Encoding.ASCII.GetBytes("GET /echo?size=10 HTTP/1.1\r\nHost: a\r\n\r\n"));
        int m = await next.ReceiveAsync(buffer).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.StartsWith("HTTP/1.1 200", Encoding.ASCII.GetString(buffer, 0, m));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_tcp_data_connection_silent_after_its_hello_is_closed_after_the_idle_limit(bool tls)
    {
        await using var server = new TestAgentServer(peers: Short);
        using var client = await ConnectAsync(server.TcpAddress);
        var hello = new TcpHello(TcpMode.RequestResponse, ShortLived: false, 4, 8).ToArray();
        if (tls)
        {
            await using var stream = new SslStream(new NetworkStream(client, ownsSocket: false));
            await stream.AuthenticateAsClientAsync(
                new SslClientAuthenticationOptions
                {
                    TargetHost = "agent",
#pragma warning disable CA5359 // The data port's certificate is made at start-up: nothing to check it against.
                    RemoteCertificateValidationCallback = (_, _, _, _) => true,
#pragma warning restore CA5359
                }
            );
            await stream.WriteAsync(hello);
            var buffer = new byte[64];
            using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            try
            {
                Assert.Equal(0, await stream.ReadAsync(buffer, limit.Token));
            }
            catch (IOException) { } // closed without TLS's close_notify
            return;
        }
        // Late, so that the asynchronous path reads it (the one without socket timeouts until now).
        await Task.Delay(100);
        await client.SendAsync(hello);
        Assert.True(await ClosedByServerAsync(client, TimeSpan.FromSeconds(5)), "a silent data connection stayed");
    }

    [Fact]
    public async Task Idle_clients_of_the_sink_are_closed_and_cannot_lock_the_shipper_out()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var sink = new DiscardSink(new IPEndPoint(IPAddress.Loopback, 0), idle: TimeSpan.FromSeconds(2));
        var bound = new TaskCompletionSource<IPEndPoint>();
        var running = sink.RunAsync(bound.SetResult, stop.Token);
        var endpoint = await bound.Task.WaitAsync(TimeSpan.FromSeconds(5));
        var idle = new List<Socket>();
        try
        {
            for (int i = 0; i < DiscardSink.MaxConnections; i++)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                await s.ConnectAsync(endpoint);
                idle.Add(s);
            }
            await Task.Delay(TimeSpan.FromMilliseconds(1200)); // silent past the point where they may be replaced

            // The shipper: sends steadily and is not closed.
            using var shipper = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await shipper.ConnectAsync(endpoint);
            var chunk = new byte[64 * 1024];
            for (int i = 0; i < 30; i++)
            {
                await shipper.SendAsync(chunk);
                await Task.Delay(100);
            }
            Assert.False(await ClosedByServerAsync(shipper, TimeSpan.FromMilliseconds(300)), "the shipper was closed");
            // Every idle client is gone by now: replaced, or closed for its silence.
            Assert.All(idle, s => Assert.True(ClosedByServerAsync(s, TimeSpan.FromSeconds(3)).Result));
        }
        finally
        {
            foreach (var s in idle)
                s.Dispose();
            await stop.CancelAsync();
            await running.WaitAsync(TimeSpan.FromSeconds(10));
        }
    }
}
