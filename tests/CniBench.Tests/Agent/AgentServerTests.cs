using System.Net;
using System.Net.Sockets;
using System.Text;
using CniBench.Agent.Servers;
using CniBench.Agent.Wire;
using CniBench.Contracts.Workloads;
using CniBench.Tests.Support;

namespace CniBench.Tests.Agent;

/// <summary>The server side under bad input: one bad connection is closed, the others go on.</summary>
[Trait(Category.Name, Category.Integration)]
public class AgentServerTests
{
    private static async Task<Socket> ConnectAsync(string address)
    {
        Assert.True(Endpoints.TryParse(address, out var ep));
        var s = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await s.ConnectAsync(ep);
        return s;
    }

    private static async Task<string> ExchangeAsync(Socket s, string request)
    {
        await s.SendAsync(Encoding.ASCII.GetBytes(request));
        var buffer = new byte[64 * 1024];
        var text = new StringBuilder();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        while (true)
        {
            int n = await s.ReceiveAsync(buffer, SocketFlags.None, timeout.Token);
            if (n == 0)
                break;
            text.Append(Encoding.ASCII.GetString(buffer, 0, n));
            if (text.ToString().Contains("\r\n\r\n") && !text.ToString().Contains("Connection: close"))
                break;
        }
        return text.ToString();
    }

    [Fact]
    public async Task A_bad_tcp_hello_closes_only_that_connection()
    {
        await using var server = new TestAgentServer();
        // A healthy request/response connection first.
        using var good = await ConnectAsync(server.TcpAddress);
        await good.SendAsync(new TcpHello(TcpMode.RequestResponse, false, 4, 8).ToArray());

        using var bad = await ConnectAsync(server.TcpAddress);
        await bad.SendAsync(Encoding.ASCII.GetBytes("GET / HTTP/1.1\r\n"));
        using var oversized = await ConnectAsync(server.TcpAddress);
        await oversized.SendAsync(new TcpHello(TcpMode.RequestResponse, false, Limits.MaxMessageSize + 1, 1).ToArray());

        var buffer = new byte[16];
        Assert.Equal(0, await bad.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(0, await oversized.ReceiveAsync(buffer, SocketFlags.None).WaitAsync(TimeSpan.FromSeconds(5)));

        for (int i = 0; i < 3; i++)
        {
            await good.SendAsync(new byte[4]);
            int got = 0;
            while (got < 8)
                got += await good.ReceiveAsync(buffer.AsMemory(got), SocketFlags.None)
                    .AsTask()
                    .WaitAsync(TimeSpan.FromSeconds(5));
        }
    }

    /// <summary>
    /// A hello that comes after the accept thread's wait is read asynchronously, which leaves the socket non-blocking
    /// underneath for good; the dedicated thread that then serves the connection must still wait for each request
    /// instead of taking "nothing yet" for a timeout and closing.
    /// </summary>
    [Theory]
    [InlineData(0)]
    [InlineData(100)]
    [InlineData(400)]
    public async Task A_long_lived_connection_whose_hello_comes_late_gets_every_transaction_answered(int helloDelayMs)
    {
        await using var server = new TestAgentServer();
        using var client = await ConnectAsync(server.TcpAddress);
        await Task.Delay(helloDelayMs);
        await client.SendAsync(new TcpHello(TcpMode.RequestResponse, ShortLived: false, 4, 8).ToArray());
        var buffer = new byte[16];
        for (int i = 0; i < 5; i++)
        {
            // A pause between transactions, as a client's think time: the server's receive finds nothing at first.
            await Task.Delay(20);
            await client.SendAsync(new byte[4]);
            int got = 0;
            while (got < 8)
            {
                int n = await client
                    .ReceiveAsync(buffer.AsMemory(got), SocketFlags.None)
                    .AsTask()
                    .WaitAsync(TimeSpan.FromSeconds(5));
                Assert.True(n > 0, $"the server closed at transaction {i + 1}/5 (hello {helloDelayMs} ms late)");
                got += n;
            }
        }
    }

    /// <summary>Many flows at once: the accept threads' wait runs out for some hellos, and those connections must be
    /// served as well as the others.</summary>
    [Fact]
    public async Task Tcp_rr_with_256_flows_gets_every_transaction_answered()
    {
        await using var server = new TestAgentServer();
        using var dir = new TempDirectory();
        var (code, stdout, stderr) = await ChildProcess.RunAsync(
            "cnibench-agent",
            dir.Path,
            TimeSpan.FromSeconds(60),
            // 256 threads on two busy cores can wait seconds for a turn: the timeout is for a server that never
            // answers, not for a slow one.
            ["run", "-w", "tcp-rr", "--to", server.TcpAddress, "-P", "256", "-d", "2s", "--timeout", "15s", "--json"]
        );
        Assert.True(code == 0, $"exit {code}: {stdout}\n{stderr}");
        using var json = System.Text.Json.JsonDocument.Parse(stdout);
        var result = json.RootElement.GetProperty("result");
        Assert.True(
            result.GetProperty("errors").EnumerateObject().All(e => e.Value.GetInt64() == 0),
            $"errors: {result.GetProperty("errors")}"
        );
        Assert.True(result.GetProperty("transactions").GetInt64() > 256, stdout);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_short_lived_connection_is_answered_once_and_closed_by_the_server(bool atOnce)
    {
        await using var server = new TestAgentServer();
        using var client = await ConnectAsync(server.TcpAddress);
        var hello = new TcpHello(TcpMode.RequestResponse, ShortLived: true, 3, 5).ToArray();
        // At once: hello and request in one segment, answered on the accept thread. Late: the hello alone, the
        // request after the accept thread's wait, answered by the asynchronous path.
        await client.SendAsync(atOnce ? [.. hello, 1, 2, 3] : hello);
        if (!atOnce)
        {
            await Task.Delay(100);
            await client.SendAsync(new byte[3]);
        }
        var buffer = new byte[64];
        int got = 0;
        while (true)
        {
            int n = await client
                .ReceiveAsync(buffer.AsMemory(got), SocketFlags.None)
                .AsTask()
                .WaitAsync(TimeSpan.FromSeconds(5));
            if (n == 0)
                break; // the server's close, with the client's side still open
            got += n;
        }
        Assert.Equal(5, got);
    }

    [Fact]
    public async Task The_tcp_port_has_a_listener_per_core_that_nobody_else_can_take_first()
    {
        int port;
        await using (var server = new TestAgentServer())
        {
            port = server.Info.Ports.Tcp;
            Assert.Equal(Environment.ProcessorCount, Listeners(port));
            // Every listener serves: more connections than listeners, each answered.
            for (int i = 0; i < 4 * Environment.ProcessorCount; i++)
            {
                using var client = await ConnectAsync(server.TcpAddress);
                byte[] request = [.. new TcpHello(TcpMode.RequestResponse, ShortLived: true, 1, 1).ToArray(), 7];
                await client.SendAsync(request);
                var answer = new byte[2];
                Assert.Equal(1, await client.ReceiveAsync(answer).WaitAsync(TimeSpan.FromSeconds(5)));
            }
        }
        Assert.Equal(0, Listeners(port)); // the extra listeners close with the agent

        // A port held by another program's shareable listener stays its own: the agent's bind still fails.
        using var other = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        other.SetRawSocketOption(1, 15, BitConverter.GetBytes(1)); // SOL_SOCKET, SO_REUSEPORT
        other.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        other.Listen();
        int taken = ((IPEndPoint)other.LocalEndPoint!).Port;
        var options = new ServeOptions(
            IPAddress.Loopback,
            0,
            taken,
            0,
            0,
            TestAgentServer.Token,
            new CniBench.Contracts.Protocol.AgentIdentity("test-host", "pod-a", "node-1")
        );
        var refused = Assert.Throws<AgentStartupException>(() =>
            AgentServer.Bind(options, CniBench.Agent.Logging.AgentLog.Null)
        );
        Assert.Contains("address already in use", refused.Message, StringComparison.Ordinal);
    }

    /// <summary>Listening sockets on 127.0.0.1:<paramref name="port"/>, from /proc/net/tcp.</summary>
    private static int Listeners(int port)
    {
        const string Listen = "0A";
        string local = $"0100007F:{port:X4}";
        return File.ReadLines("/proc/net/tcp")
            .Skip(1)
            .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Count(fields => fields[1] == local && fields[3] == Listen);
    }

    [Fact]
    public async Task A_workload_that_got_nothing_through_is_told_whether_the_server_is_an_agent()
    {
        await using var server = new TestAgentServer();
        var agent = await CniBench.Agent.Workloads.PeerDiagnosis.ExplainAsync(
            new WorkloadSpec { Kind = WorkloadKind.TlsRr, Target = server.TcpAddress },
            CancellationToken.None
        );
        Assert.Contains("answers a request at once", agent, StringComparison.Ordinal);
        Assert.Contains("TLS handshake", agent, StringComparison.Ordinal);

        // Something else on the port: a banner, as an SSH server sends.
        using var other = new TcpListener(IPAddress.Loopback, 0);
        other.Start();
        var banner = Task.Run(async () =>
        {
            using var socket = await other.AcceptSocketAsync();
            await socket.SendAsync(Encoding.ASCII.GetBytes("SSH-2.0-OpenSSH_9.2\r\n"), SocketFlags.None);
            await Task.Delay(500);
        });
        var notAgent = await CniBench.Agent.Workloads.PeerDiagnosis.ExplainAsync(
            new WorkloadSpec
            {
                Kind = WorkloadKind.TcpRr,
                Target = $"127.0.0.1:{((IPEndPoint)other.LocalEndpoint).Port}",
            },
            CancellationToken.None
        );
        await banner;
        Assert.Contains("bytes that are not a cnibench agent's", notAgent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Http_echo_answers_identity_size_and_health_and_rejects_bad_requests()
    {
        await using var server = new TestAgentServer(pod: "pod-x");
        using var keepAlive = await ConnectAsync(server.HttpAddress);

        var identity = await ExchangeAsync(keepAlive, "GET /echo HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 200 OK", identity);
        Assert.Contains("X-CniBench-Backend: pod-x", identity);
        Assert.Contains("\"pod\":\"pod-x\"", identity);
        Assert.Contains("\"node\":\"node-1\"", identity);

        var sized = await ExchangeAsync(keepAlive, "GET /echo?size=100 HTTP/1.1\r\nHost: a\r\n\r\n");
        Assert.Contains("Content-Length: 100", sized);
        Assert.StartsWith(
            "HTTP/1.1 200 OK",
            await ExchangeAsync(keepAlive, "GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n")
        );

        using var malformed = await ConnectAsync(server.HttpAddress);
        var rejected = await ExchangeAsync(malformed, "BLAH\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 400", rejected);
        Assert.Contains("Connection: close", rejected);

        using var huge = await ConnectAsync(server.HttpAddress);
        var tooLarge = await ExchangeAsync(huge, "GET /echo HTTP/1.1\r\nX: " + new string('a', 10_000) + "\r\n\r\n");
        Assert.StartsWith("HTTP/1.1 431", tooLarge);

        using var tooBig = await ConnectAsync(server.HttpAddress);
        Assert.StartsWith(
            "HTTP/1.1 400",
            await ExchangeAsync(tooBig, $"GET /echo?size={Limits.MaxMessageSize + 1} HTTP/1.1\r\n\r\n")
        );

        // The first connection is still served after all that.
        Assert.StartsWith(
            "HTTP/1.1 200 OK",
            await ExchangeAsync(keepAlive, "GET /echo?size=1 HTTP/1.1\r\nHost: a\r\n\r\n")
        );
    }

    [Fact]
    public async Task Garbage_datagrams_are_ignored_and_the_udp_server_keeps_answering()
    {
        await using var server = new TestAgentServer();
        using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        Assert.True(Endpoints.TryParse(server.UdpAddress, out var ep));
        udp.Connect(ep);
        udp.Send(Encoding.ASCII.GetBytes("not a cnibench datagram at all"));
        udp.Send(new byte[3]);
        var (result, _) = await Jobs.RunAsync(
            new WorkloadSpec
            {
                Kind = WorkloadKind.UdpRr,
                Target = server.UdpAddress,
                RequestSize = 64,
                ResponseSize = 64,
            },
            warmupMs: 200,
            durationMs: 500
        );
        Assert.True(
            result.Transactions > 50,
            $"{result.Transactions} transactions, errors: {string.Join(", ", result.Errors)}; first: "
                + $"{result.FirstError}"
        );
    }
}
