using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using CniBench.Agent.Metrics;
using CniBench.Cli.Agents;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Sampling;
using CniBench.Contracts.Workloads;
using CniBench.Tests.Support;

namespace CniBench.Tests.Agent;

/// <summary>The agent's /metrics page, read by a real Prometheus server.</summary>
public class MetricsTests
{
    [Fact]
    [Trait(Category.Name, Category.Unit)]
    public void Interface_counters_come_from_proc_net_dev()
    {
        string[] lines =
        [
            "Inter-|   Receive                                                |  Transmit",
            " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls",
            "    lo:  123456     789    0    0    0     0          0         0   123456     789    0    0    0     0",
            "  eth0: 9000 12 0 0 0 0 0 0 4500 6 0 0 0 0",
            "  bad0: x y",
        ];
        var counters = InterfaceCounters.Parse(lines);
        Assert.Equal(
            [new("lo", 123456, 789, 123456, 789), new InterfaceCounters.Counters("eth0", 9000, 12, 4500, 6)],
            counters
        );
    }

    [Fact]
    [Trait(Category.Name, Category.Unit)]
    public void Label_values_are_escaped_and_numbers_are_invariant()
    {
        var text = new PrometheusText()
            .Family("x_total", "counter", "A test.")
            .Sample("x_total", 1.5, ("a", "q\"b\\s\nn"))
            .ToString();
        Assert.Equal("# HELP x_total A test.\n# TYPE x_total counter\nx_total{a=\"q\\\"b\\\\s\\nn\"} 1.5\n", text);
    }

    [Fact]
    [Trait(Category.Name, Category.Integration)]
    public async Task Prometheus_scrapes_the_agents_counters_from_its_http_port()
    {
        Requires.Prometheus();
        await using var server = new TestAgentServer();
        using var dir = new TempDirectory();

        // Something to count: a client job, and requests to the echo route.
        using var client = new AgentClient(server.ControlUri, TestAgentServer.Token);
        var job = await client.CreateJobAsync(
            new JobSpec(
                new WorkloadSpec { Kind = WorkloadKind.TcpCrr, Target = server.TcpAddress },
                WarmupMs: 0,
                DurationMs: 500
            ),
            default
        );
        await client.StartJobAsync(job.Id, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), default);
        JobStatus status;
        do
        {
            await Task.Delay(100);
            status = await client.PollAsync(job.Id, 0, default);
        } while (status.State is not (JobState.Done or JobState.Failed));
        var result = status.Result!;
        Assert.True(result.Transactions > 0, result.FirstError);
        using var http = new HttpClient { BaseAddress = new Uri($"http://{server.HttpAddress}/") };
        for (int i = 0; i < 5; i++)
            (await http.GetAsync("echo?size=10")).EnsureSuccessStatusCode();

        // promtool lints the page as Prometheus parses it: no complaint at all.
        var page = await http.GetAsync("metrics");
        Assert.StartsWith("text/plain; version=0.0.4", page.Content.Headers.ContentType!.ToString());
        File.WriteAllText(Path.Combine(dir.Path, "page.txt"), await page.Content.ReadAsStringAsync());
        var (lintCode, lintOut, lintErr) = await ChildProcess.RunAsync(
            "/bin/sh",
            dir.Path,
            TimeSpan.FromSeconds(30),
            "-c",
            "promtool check metrics < page.txt"
        );
        Assert.True(lintCode == 0 && lintOut.Trim() == "" && lintErr.Trim() == "", $"{lintCode}: {lintOut}{lintErr}");

        // A real Prometheus scrapes it every second.
        int port = FreePort();
        File.WriteAllText(
            Path.Combine(dir.Path, "prometheus.yml"),
            $"global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: agent\n    static_configs:\n"
                + $"      - targets: ['{server.HttpAddress}']\n"
        );
        await using var prometheus = ChildProcess.Start(
            "/usr/bin/prometheus",
            dir.Path,
            "--config.file=prometheus.yml",
            $"--storage.tsdb.path={Path.Combine(dir.Path, "data")}",
            $"--web.listen-address=127.0.0.1:{port}"
        );
        using var api = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}/") };
        async Task<double?> QueryAsync(string query)
        {
            try
            {
                using var doc = JsonDocument.Parse(
                    await api.GetStringAsync($"api/v1/query?query={Uri.EscapeDataString(query)}")
                );
                var found = doc.RootElement.GetProperty("data").GetProperty("result");
                return found.GetArrayLength() == 0
                    ? null
                    : double.Parse(
                        found[0].GetProperty("value")[1].GetString()!,
                        System.Globalization.CultureInfo.InvariantCulture
                    );
            }
            catch (HttpRequestException)
            {
                return null; // not listening yet
            }
        }
        double? transactions = null;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (transactions is null && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
            transactions = await QueryAsync("cnibench_client_transactions_total{workload=\"tcp-crr\"}");
        }
        Assert.True(transactions is not null, $"no sample in Prometheus within 60 s; its log:\n{prometheus.Stderr}");
        Assert.Equal(1, await QueryAsync("up{job=\"agent\"}"));
        Assert.Equal(result.Transactions, transactions); // no warm-up: the measured window is the whole job
        Assert.Equal(
            result.Latency.Count,
            await QueryAsync("cnibench_client_latency_seconds_count{workload=\"tcp-crr\"}")
        );
        Assert.True(await QueryAsync("cnibench_server_requests_total{port=\"http\"}") >= 5);
        Assert.True(
            await QueryAsync("cnibench_server_connections_accepted_total{port=\"tcp\"}") >= result.Transactions
        );
        Assert.True(await QueryAsync("cnibench_network_receive_bytes_total{device=\"lo\"}") > 0);
    }

    private static int FreePort()
    {
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        probe.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)probe.LocalEndPoint!).Port;
    }
}
