using System.Net;
using System.Net.Sockets;
using System.Text;
using CniBench.Agent.Logging;
using CniBench.Agent.Peers;
using CniBench.Agent.Servers;
using CniBench.Contracts.Protocol;
using CniBench.Tests.Support;

namespace CniBench.Tests.Agent;

/// <summary>HEAD, null fields, the log limiter and the TLS handshake bound: small holes that each let a peer desync,
/// crash a connection, silence the log or burn the agent's CPU.</summary>
[Trait(Category.Name, Category.Integration)]
public class SmallHardeningTests
{
    private static async Task<string> ExchangeAsync(string address, string requests, int expectedResponses)
    {
        Assert.True(CniBench.Contracts.Workloads.Endpoints.TryParse(address, out var ep));
        using var socket = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(ep);
        await socket.SendAsync(Encoding.ASCII.GetBytes(requests));
        var text = new StringBuilder();
        var buffer = new byte[64 * 1024];
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            while (CountOf(text.ToString(), "HTTP/1.1 ") < expectedResponses)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, limit.Token);
                if (n == 0)
                    break;
                text.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
            // Whatever else comes soon after (a body that should not be there).
            using var more = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));
            while (true)
            {
                int n = await socket.ReceiveAsync(buffer, SocketFlags.None, more.Token);
                if (n == 0)
                    break;
                text.Append(Encoding.ASCII.GetString(buffer, 0, n));
            }
        }
        catch (OperationCanceledException) { }
        return text.ToString();
    }

    private static int CountOf(string text, string part) =>
        (text.Length - text.Replace(part, "", StringComparison.Ordinal).Length) / part.Length;

    [Fact]
    public async Task A_head_request_gets_the_head_alone_so_the_next_answer_on_the_connection_stays_in_step()
    {
        await using var server = new TestAgentServer();
        var text = await ExchangeAsync(
            server.HttpAddress,
            "HEAD /echo?size=100 HTTP/1.1\r\nHost: a\r\n\r\nGET /echo?size=5 HTTP/1.1\r\nHost: a\r\n\r\n",
            2
        );
        var heads = text.Split("\r\n\r\n");
        Assert.Equal(3, heads.Length); // two heads, then the GET's body
        Assert.Contains("Content-Length: 100", heads[0]); // the length the body would have
        Assert.StartsWith("HTTP/1.1 200", heads[1]); // right after the first head: no body between
        Assert.Contains("Content-Length: 5", heads[1]);
        Assert.Equal("xxxxx", heads[2]);
    }

    [Theory]
    [InlineData("{\"workload\":null,\"warmupMs\":0,\"durationMs\":100}", "workload")]
    [InlineData(
        "{\"workload\":{\"kind\":\"monitor\",\"processes\":[null]},\"warmupMs\":0,\"durationMs\":100}",
        "processes"
    )]
    [InlineData("{\"workload\":{\"kind\":\"tcp-rr\",\"target\":null},\"warmupMs\":0,\"durationMs\":100}", "target")]
    public async Task A_null_where_a_job_needs_a_value_is_answered_400_naming_the_field(string body, string field)
    {
        await using var server = new TestAgentServer();
        string request =
            $"POST /v1/jobs HTTP/1.1\r\nHost: a\r\n{ControlProtocol.VersionHeader}: {ControlProtocol.Version}\r\n"
            + $"Authorization: {ControlProtocol.TokenScheme} {TestAgentServer.Token}\r\n"
            + $"Content-Type: application/json\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n{body}"
            + $"GET /v1/clock HTTP/1.1\r\nHost: a\r\n{ControlProtocol.VersionHeader}: {ControlProtocol.Version}\r\n"
            + $"Authorization: {ControlProtocol.TokenScheme} {TestAgentServer.Token}\r\n\r\n";
        var text = await ExchangeAsync(server.Address(server.Info.Ports.Control), request, 2);
        Assert.StartsWith("HTTP/1.1 400", text);
        Assert.Contains(field, text.Split("\r\n\r\n")[1], StringComparison.OrdinalIgnoreCase);
        // The connection goes on: the next request on it is answered.
        Assert.Contains("unixUs", text);
    }

    [Fact]
    public void The_log_limiter_counts_each_kind_of_event_on_its_own_and_starts_again_each_window()
    {
        var written = new StringWriter();
        var limited = new RateLimitedLog(new AgentLog(written), perMinute: 3, window: TimeSpan.FromMilliseconds(300));
        // A kind is a place in the code that logs: one place here for the cheap requests, another for the refusal.
        void Cheap(int i) => limited.Info($"cheap bad request {i}");
        for (int i = 0; i < 20; i++)
            Cheap(i);
        limited.Info("a refusal of another kind");
        var lines = written.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, lines.Length);
        Assert.EndsWith("a refusal of another kind", lines[3]);

        Thread.Sleep(400);
        for (int i = 0; i < 20; i++)
            Cheap(i);
        lines = written.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(7, lines.Length);
        Assert.EndsWith("cheap bad request 0 (17 more like it not logged in the window before)", lines[4]);
    }

    [Fact]
    public async Task A_401_answered_without_a_body_is_logged()
    {
        var written = new StringWriter();
        var log = new AgentLog(written);
        await using var server = AgentServer.Bind(
            new ServeOptions(IPAddress.Loopback, 0, 0, 0, 0, TestAgentServer.Token, new AgentIdentity("h", "p", "n")),
            log
        );
        using var stop = new CancellationTokenSource();
        var running = server.RunAsync(stop.Token);
        var text = await ExchangeAsync(
            $"127.0.0.1:{server.Info.Ports.Control}",
            $"GET /v1/info HTTP/1.1\r\nHost: a\r\n{ControlProtocol.VersionHeader}: {ControlProtocol.Version}\r\n"
                + $"Authorization: {ControlProtocol.TokenScheme} wrong-token-0123456789\r\n\r\n",
            1
        );
        Assert.StartsWith("HTTP/1.1 401", text);
        await stop.CancelAsync();
        await running.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("control: refused GET /v1/info from 127.0.0.1:", written.ToString());
        Assert.Contains(": 401", written.ToString());
    }

    [Fact]
    public void Handshakes_are_bounded_per_source_and_one_source_does_not_spend_anothers()
    {
        var limiter = new SourceRateLimiter(perSecond: 1, burst: 5);
        var flood = IPAddress.Parse("192.0.2.7");
        Assert.Equal(5, Enumerable.Range(0, 50).Count(_ => limiter.TryTake(flood)));
        Assert.True(limiter.TryTake(IPAddress.Loopback)); // the controller's own bucket is full
        // Thousands of sources do not grow the table past its bound, and each new one still gets its burst.
        for (int i = 0; i < 3 * SourceRateLimiter.MaxSources; i++)
            Assert.True(limiter.TryTake(new IPAddress(BitConverter.GetBytes(0x0A000000 + i))));
    }
}
