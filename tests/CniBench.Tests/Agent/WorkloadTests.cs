using System.Net;
using System.Net.Sockets;
using CniBench.Contracts.Measurement;
using CniBench.Contracts.Workloads;
using CniBench.Tests.Support;

namespace CniBench.Tests.Agent;

/// <summary>Every client workload against a real in-process agent server over loopback.</summary>
[Trait(Category.Name, Category.Integration)]
public class WorkloadTests
{
    [Theory]
    [InlineData(StreamDirection.Send)]
    [InlineData(StreamDirection.Receive)]
    public async Task Tcp_stream_moves_bytes_in_either_direction(StreamDirection direction)
    {
        await using var server = new TestAgentServer();
        var (result, samples) = await Jobs.RunAsync(
            new WorkloadSpec
            {
                Kind = WorkloadKind.TcpStream,
                Target = server.TcpAddress,
                Parallel = 2,
                MessageSize = 64 * 1024,
                Direction = direction,
            },
            warmupMs: 200,
            durationMs: 600
        );
        Assert.True(
            result.Bytes > 10_000_000,
            $"only {result.Bytes} bytes; errors {string.Join(", ", result.Errors)}; first {result.FirstError}; "
                + $"samples {string.Join(" | ", samples)}"
        );
        Assert.Empty(result.Errors);
        Assert.Equal(result.Bytes, samples.Where(s => s.Phase == Phase.Measured).Sum(s => s.Bytes));
        Assert.Contains(samples, s => s.Phase == Phase.Warmup);
        Assert.InRange(result.MeasuredSeconds, 0.55, 1.5);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Tcp_rr_counts_transactions_and_records_each_latency(bool ipv6)
    {
        await using var server = new TestAgentServer(ipv6 ? IPAddress.IPv6Loopback : IPAddress.Loopback);
        var (result, _) = await Jobs.RunAsync(
            new WorkloadSpec
            {
                Kind = WorkloadKind.TcpRr,
                Target = server.TcpAddress,
                Parallel = 2,
                RequestSize = 100,
                ResponseSize = 2000,
            }
        );
        Assert.True(result.Transactions > 500, $"only {result.Transactions} transactions");
        Assert.Empty(result.Errors);
        Assert.Equal(result.Transactions * 2100, result.Bytes);
        // Every measured transaction is in the histogram, give or take those completing while the
        // window's edge is being read (a handful; under 0.1%).
        Assert.InRange(result.Latency.Count, result.Transactions * 0.999 - 4, result.Transactions * 1.001 + 4);
        var h = LatencyHistogram.FromSnapshot(result.Latency);
        Assert.True(h.ValueAtQuantile(0.5) > 1000, "a loopback round trip takes more than a microsecond");
    }

    [Fact]
    public async Task Tcp_crr_opens_a_connection_per_transaction()
    {
        await using var server = new TestAgentServer();
        var before = TcpConnectionsOpened();
        var (result, _) = await Jobs.RunAsync(
            new WorkloadSpec
            {
                Kind = WorkloadKind.TcpCrr,
                Target = server.TcpAddress,
                Parallel = 2,
            }
        );
        var opened = TcpConnectionsOpened() - before;
        Assert.True(result.Transactions > 200, $"only {result.Transactions} transactions");
        Assert.Empty(result.Errors);
        // Warm-up is zero here, so every transaction was its own connection.
        Assert.True(opened >= result.Transactions, $"{opened} connections for {result.Transactions} transactions");
    }

    [Theory]
    [InlineData(WorkloadKind.TcpCrr)]
    [InlineData(WorkloadKind.Http)] // a connection per request, blocking users
    public async Task A_connection_per_transaction_leaves_its_time_waits_on_the_server_as_netperf_does(
        WorkloadKind kind
    )
    {
        // The server closes first and the client reads that close before its own: a client opening thousands of
        // connections a second then holds no TIME_WAIT and never runs short of local ports.
        var (result, serverSide, clientSide, overflowed) = await ConnectionsThenTimeWaitsAsync(
            new WorkloadSpec { Kind = kind, KeepAlive = false }
        );
        // Past net.ipv4.tcp_max_tw_buckets the kernel closes at once instead (TCPTimeWaitOverflow): on a host that
        // others fill with TIME_WAIT, those count as the server's too.
        Assert.True(
            serverSide + overflowed >= result.Transactions * 0.9,
            $"{serverSide} TIME_WAITs on the server's port, {overflowed} not kept for lack of buckets, for "
                + $"{result.Transactions} transactions"
        );
        Assert.True(clientSide <= result.Transactions * 0.05, $"{clientSide} TIME_WAITs on the client side");
    }

    [Theory]
    [InlineData(WorkloadKind.TcpCrr)]
    [InlineData(WorkloadKind.TlsCrr)]
    public async Task Close_reset_ends_each_connection_with_an_rst_and_leaves_no_time_wait_on_either_side(
        WorkloadKind kind
    )
    {
        var (result, serverSide, clientSide, _) = await ConnectionsThenTimeWaitsAsync(
            new WorkloadSpec { Kind = kind, Close = ConnectionClose.Reset }
        );
        // A FIN close leaves one on the server per transaction (the test above); an RST none.
        Assert.True(
            serverSide + clientSide <= result.Transactions * 0.05,
            $"{serverSide} + {clientSide} TIME_WAITs for {result.Transactions} transactions closed with an RST"
        );
    }

    /// <summary>300 ms of <paramref name="spec"/> against a fresh server (its HTTP port for http, else its TCP port),
    /// every transaction answered, then the TIME_WAIT sockets on either side of that port, and how many the host
    /// did not keep meanwhile for lack of TIME_WAIT buckets.</summary>
    private static async Task<(
        Contracts.Protocol.JobResult Result,
        int ServerSide,
        int ClientSide,
        long Overflowed
    )> ConnectionsThenTimeWaitsAsync(WorkloadSpec spec)
    {
        static long Overflows() =>
            CniBench.Agent.Sampling.NetStackReader.ParseTcpExt(
                File.ReadAllLines("/proc/net/netstat"),
                "TCPTimeWaitOverflow"
            );
        await using var server = new TestAgentServer();
        string target = spec.Kind == WorkloadKind.Http ? server.HttpAddress : server.TcpAddress;
        int port = int.Parse(target.Split(':')[^1], System.Globalization.CultureInfo.InvariantCulture);
        long before = Overflows();
        var (result, _) = await Jobs.RunAsync(spec with { Target = target }, warmupMs: 0, durationMs: 300);
        Assert.True(result.Transactions >= 20, $"{result.Transactions} transactions; first error {result.FirstError}");
        Assert.Empty(result.Errors);
        var (serverSide, clientSide) = TimeWaits(port);
        return (result, serverSide, clientSide, Overflows() - before);
    }

    /// <summary>TIME_WAIT sockets on loopback whose local port is <paramref name="port"/> (the server's), and whose
    /// remote port is (a client's).</summary>
    private static (int ServerSide, int ClientSide) TimeWaits(int port)
    {
        const string TimeWait = "06";
        int server = 0,
            client = 0;
        foreach (var line in File.ReadLines("/proc/net/tcp").Skip(1))
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields[3] != TimeWait)
                continue;
            int local = Convert.ToInt32(fields[1].Split(':')[1], 16);
            int remote = Convert.ToInt32(fields[2].Split(':')[1], 16);
            if (local == port)
                server++;
            else if (remote == port)
                client++;
        }
        return (server, client);
    }

    [Theory]
    [InlineData(WorkloadKind.TlsRr)]
    [InlineData(WorkloadKind.TlsCrr)]
    public async Task Tls_workloads_carry_the_tcp_protocol_inside_tls_13_on_the_tcp_port(WorkloadKind kind)
    {
        await using var server = new TestAgentServer();
        Assert.True(Endpoints.TryParse(server.TcpAddress, out var agentEndpoint));
        await using var relay = new TcpForwarder(() => agentEndpoint);
        var (result, _) = await Jobs.RunAsync(
            new WorkloadSpec
            {
                Kind = kind,
                Target = $"127.0.0.1:{relay.Port}",
                RequestSize = 100,
                ResponseSize = 3000,
            }
        );
        // Counted at the relay: the host's counters would count every other process's connections too.
        int opened = relay.Connections;
        Assert.True(
            result.Transactions > 20,
            $"only {result.Transactions} transactions; errors {string.Join(", ", result.Errors)}; first "
                + $"{result.FirstError}"
        );
        Assert.True(result.Errors.Count == 0, $"errors {string.Join(", ", result.Errors)}; first {result.FirstError}");
        Assert.Null(result.FirstError); // the stop closing a connection under TLS is the end, not an error
        Assert.Equal(result.Transactions * 3100, result.Bytes);
        // What crossed the wire was a TLS handshake, and the hello was never in clear.
        Assert.Equal(22, relay.FirstClientBytes[0]);
        Assert.DoesNotContain(
            "CNB1",
            System.Text.Encoding.ASCII.GetString(relay.FirstClientBytes),
            StringComparison.Ordinal
        );
        if (kind == WorkloadKind.TlsCrr)
            Assert.True(
                opened >= result.Transactions,
                $"{opened} connections through the relay for {result.Transactions} transactions"
            );
        else
            Assert.InRange(opened, 1, 3);
    }

    [Fact]
    public async Task The_tcp_port_refuses_tls_below_13_and_a_broken_handshake_and_stays_up()
    {
        await using var server = new TestAgentServer();
        Assert.True(Endpoints.TryParse(server.TcpAddress, out var endpoint));
        using (var old = new TcpClient())
        {
            await old.ConnectAsync(endpoint);
            await using var tls = new System.Net.Security.SslStream(old.GetStream());
            await Assert.ThrowsAnyAsync<Exception>(() =>
                tls.AuthenticateAsClientAsync(
                    new System.Net.Security.SslClientAuthenticationOptions
                    {
                        TargetHost = "cnibench-agent",
                        EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls12,
#pragma warning disable CA5359 // Accepting the certificate leaves the protocol version as the only reason to fail.
                        RemoteCertificateValidationCallback = (_, _, _, _) => true,
#pragma warning restore CA5359
                    }
                )
            );
        }
        using (var garbage = new TcpClient())
        {
            await garbage.ConnectAsync(endpoint);
            await garbage.GetStream().WriteAsync(new byte[] { 22, 3, 1, 0, 5, 1, 2, 3, 4, 5, 6, 7 });
            var buffer = new byte[256];
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            while (await garbage.GetStream().ReadAsync(buffer, wait.Token) > 0) { }
        }
        var (result, _) = await Jobs.RunAsync(
            new WorkloadSpec { Kind = WorkloadKind.TlsRr, Target = server.TcpAddress },
            durationMs: 300
        );
        Assert.True(
            result.Transactions > 0 && result.Errors.Count == 0,
            $"{result.Transactions} transactions; first error {result.FirstError}"
        );
    }

    [Fact]
    public async Task Udp_stream_at_a_fixed_rate_reports_loss_from_the_server_count()
    {
        await using var server = new TestAgentServer();
        var (result, _) = await Jobs.RunAsync(
            new WorkloadSpec
            {
                Kind = WorkloadKind.UdpStream,
                Target = server.UdpAddress,
                MessageSize = 1000,
                Bitrate = 40_000_000,
            },
            warmupMs: 200,
            durationMs: 800
        );
        Assert.NotNull(result.Udp);
        Assert.True(result.Udp!.ReceiverAnswered);
        double expectedPackets = 40_000_000 / 8.0 / 1000 * result.MeasuredSeconds;
        Assert.InRange(result.Udp.Sent, expectedPackets * 0.8, expectedPackets * 1.1);
        Assert.InRange(result.Udp.Received, result.Udp.Sent * 0.95, result.Udp.Sent);
    }

    [Fact]
    public async Task Udp_rr_echoes_with_the_requested_reply_size()
    {
        await using var server = new TestAgentServer();
        var (result, _) = await Jobs.RunAsync(
            new WorkloadSpec
            {
                Kind = WorkloadKind.UdpRr,
                Target = server.UdpAddress,
                RequestSize = 64,
                ResponseSize = 512,
            }
        );
        Assert.True(result.Transactions > 200);
        // The request is padded to the reply's size (the server never answers with more than it was sent).
        Assert.Equal(result.Transactions * (512 + 512), result.Bytes);
        Assert.True(result.Latency.Count > 0);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Http_closed_model_counts_responses_per_backend(bool keepAlive)
    {
        await using var server = new TestAgentServer(pod: "backend-7");
        var (result, _) = await Jobs.RunAsync(
            new WorkloadSpec
            {
                Kind = WorkloadKind.Http,
                Target = server.HttpAddress,
                Parallel = 4,
                ResponseSize = 3000,
                KeepAlive = keepAlive,
            }
        );
        Assert.True(result.Transactions > 200, $"only {result.Transactions}");
        Assert.Empty(result.Errors);
        Assert.Equal(["backend-7"], result.Backends.Keys);
        Assert.Equal(result.Latency.Count, result.Backends["backend-7"]);
        // The server says which source address it saw: on an egress path, what SNAT made of ours.
        Assert.Equal(["127.0.0.1"], result.Sources!.Keys);
    }

    [Fact]
    public async Task An_agent_bound_to_any_serves_ipv4_and_ipv6_on_the_same_ports()
    {
        await using var server = new TestAgentServer(pod: "dual", dualStack: true);
        Assert.Equal("any", server.Info.Bind);
        foreach (var loopback in new[] { IPAddress.Loopback, IPAddress.IPv6Loopback })
        {
            var http = Endpoints.Format(new IPEndPoint(loopback, server.Info.Ports.Http));
            var (result, _) = await Jobs.RunAsync(
                new WorkloadSpec
                {
                    Kind = WorkloadKind.Http,
                    Target = http,
                    KeepAlive = false,
                },
                durationMs: 300
            );
            Assert.True(result.Transactions > 10, $"{http}: {result.FirstError}");
            Assert.Equal([loopback.ToString()], result.Sources!.Keys); // IPv4 seen as IPv4, not as ::ffff:127.0.0.1
            var udp = Endpoints.Format(new IPEndPoint(loopback, server.Info.Ports.Udp));
            var (echo, _) = await Jobs.RunAsync(
                new WorkloadSpec
                {
                    Kind = WorkloadKind.UdpRr,
                    Target = udp,
                    RequestSize = 64,
                    ResponseSize = 64,
                },
                durationMs: 300
            );
            Assert.True(echo.Transactions > 10, $"{udp}: {echo.FirstError}");
            var tcp = Endpoints.Format(new IPEndPoint(loopback, server.Info.Ports.Tcp));
            var (crr, _) = await Jobs.RunAsync(
                new WorkloadSpec { Kind = WorkloadKind.TcpCrr, Target = tcp },
                durationMs: 300
            );
            Assert.True(crr.Transactions > 10, $"{tcp}: {crr.FirstError}"); // connect on a bare descriptor
        }
    }

    [Fact]
    public async Task Probe_paces_new_connections_and_notes_when_each_backend_first_and_last_answered()
    {
        await using var server = new TestAgentServer(pod: "backend-9");
        long before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
        // A warm-up and a generous timeout: the first requests meet a cold in-process server (JIT), unlike a lab
        // agent's.
        var (result, _) = await Jobs.RunAsync(
            WorkloadDefaults.For(WorkloadKind.Probe) with
            {
                Target = server.HttpAddress,
                Rate = 200,
                TimeoutMs = 3000,
            },
            warmupMs: 500,
            durationMs: 1000
        );
        long after = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1000;
        Assert.True(result.Errors.Count == 0, $"{string.Join(", ", result.Errors)}; first: {result.FirstError}");
        // 200/s: never more (an unpaced loop does thousands); in this busy test process timer slack can cost half,
        // and on a loaded host the measured window itself runs past its second, so the rate is over what it took.
        Assert.InRange(result.Transactions / result.MeasuredSeconds, 60, 210);
        var seen = Assert.Single(result.Probe!.Backends);
        Assert.Equal("127.0.0.1", seen.Key); // the address the request arrived at, not the agent's name
        Assert.True(seen.Value.Count > result.Transactions, "sightings are kept from the start, warm-up included");
        Assert.InRange(seen.Value.FirstUnixUs, before, before + 800_000);
        Assert.InRange(seen.Value.LastUnixUs, before + 1_300_000, after);
        Assert.Empty(result.Probe.Failures);
    }

    [Fact]
    public async Task Probe_failures_carry_their_time()
    {
        using var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closed.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)closed.LocalEndPoint!).Port; // bound, never listening: connections are refused
        var (result, _) = await Jobs.RunAsync(
            WorkloadDefaults.For(WorkloadKind.Probe) with
            {
                Target = $"127.0.0.1:{port}",
                Rate = 100,
            },
            durationMs: 500
        );
        Assert.Empty(result.Probe!.Backends);
        Assert.True(result.Probe.Failures.Count >= 20, $"{result.Probe.Failures.Count} failures");
        Assert.All(result.Probe.Failures, f => Assert.Equal("refused", f.Kind));
        Assert.Equal(
            result.Probe.Failures.OrderBy(f => f.AtUnixUs).Select(f => f.AtUnixUs),
            result.Probe.Failures.Select(f => f.AtUnixUs)
        );
    }

    [Fact]
    public async Task Http_open_model_holds_the_rate_and_counts_drops_when_users_run_out()
    {
        await using var server = new TestAgentServer();
        var (ok, _) = await Jobs.RunAsync(
            new WorkloadSpec
            {
                Kind = WorkloadKind.Http,
                Target = server.HttpAddress,
                HttpModel = HttpModel.Open,
                Rate = 500,
                Parallel = 16,
            },
            warmupMs: 300,
            durationMs: 1000
        );
        Assert.NotNull(ok.OpenModel);
        Assert.InRange(ok.OpenModel!.Scheduled, 480, 520);
        Assert.InRange(ok.Transactions, 450, 520);
        Assert.True(ok.OpenModel.Dropped < 25, $"{ok.OpenModel.Dropped} dropped at a rate well within reach");

        // One user cannot serve 50k arrivals a second: the rest are dropped, never queued and sent later.
        var (over, _) = await Jobs.RunAsync(
            new WorkloadSpec
            {
                Kind = WorkloadKind.Http,
                Target = server.HttpAddress,
                HttpModel = HttpModel.Open,
                Rate = 50_000,
                Parallel = 1,
            },
            warmupMs: 200,
            durationMs: 600
        );
        Assert.True(
            over.OpenModel!.Dropped > over.OpenModel.Sent,
            $"dropped {over.OpenModel.Dropped}, sent {over.OpenModel.Sent}"
        );
        Assert.Equal(over.OpenModel.Scheduled, over.OpenModel.Sent + over.OpenModel.Dropped);
    }

    [Fact]
    public async Task Errors_are_counted_by_kind_when_the_server_is_gone()
    {
        // A port that was just free: nothing listens there.
        int port;
        using (var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            port = ((IPEndPoint)probe.LocalEndPoint!).Port;
        }
        var (result, samples) = await Jobs.RunAsync(
            new WorkloadSpec { Kind = WorkloadKind.TcpCrr, Target = $"127.0.0.1:{port}" },
            durationMs: 300
        );
        Assert.Equal(0, result.Transactions);
        Assert.True(result.Errors.GetValueOrDefault("refused") > 0);
        Assert.Contains("ConnectionRefused", result.FirstError);
        Assert.True(samples.Sum(s => s.Errors) > 0);
    }

    [Theory]
    [InlineData(WorkloadKind.TcpRr, true)]
    [InlineData(WorkloadKind.TcpCrr, true)] // a bare descriptor per connection
    [InlineData(WorkloadKind.Http, true)] // asynchronous users
    [InlineData(WorkloadKind.Http, false)] // blocking users, a connection per request
    public async Task A_response_that_never_comes_is_a_timeout(WorkloadKind kind, bool keepAlive)
    {
        // A listener that accepts but never answers.
        using var silent = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        silent.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        silent.Listen();
        var (result, _) = await Jobs.RunAsync(
            new WorkloadSpec
            {
                Kind = kind,
                Target = Endpoints.Format((IPEndPoint)silent.LocalEndPoint!),
                TimeoutMs = 150,
                KeepAlive = keepAlive,
            },
            durationMs: 700
        );
        Assert.Equal(0, result.Transactions);
        Assert.True(result.Errors.GetValueOrDefault("timeout") >= 2, $"errors: {string.Join(",", result.Errors)}");
    }

    [Fact]
    public async Task Samples_carry_cpu_and_memory_of_the_window()
    {
        await using var server = new TestAgentServer();
        var (_, samples) = await Jobs.RunAsync(
            new WorkloadSpec { Kind = WorkloadKind.TcpStream, Target = server.TcpAddress },
            durationMs: 1500
        );
        Assert.Equal(2, samples.Count); // one at 1 s, one at the end of the window
        Assert.True(samples[0].HostCpuPercent > 0 && samples[0].ProcessCpuPercent > 0, samples[0].ToString());
        Assert.All(samples, s => Assert.True(s.ProcessMemoryMiB > 1, s.ToString()));
        // Intervals are the time that really passed: at least the window, more only if a timer fired late.
        Assert.InRange(samples.Sum(s => s.Seconds), 1.49, 2.5);
    }

    private static long TcpConnectionsOpened()
    {
        var lines = File.ReadAllLines("/proc/net/snmp")
            .Where(l => l.StartsWith("Tcp:", StringComparison.Ordinal))
            .ToArray();
        var names = lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var values = lines[1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        return long.Parse(
            values[Array.IndexOf(names, "ActiveOpens")],
            System.Globalization.CultureInfo.InvariantCulture
        );
    }
}
