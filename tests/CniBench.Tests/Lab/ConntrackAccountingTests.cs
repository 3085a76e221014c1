using System.Text.Json;
using CniBench.Cli.Targets.Lab.Network;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Sampling;
using CniBench.Contracts.Workloads;
using CniBench.Tests.Support;

namespace CniBench.Tests.Lab;

/// <summary>Flow accounting from the kernel's connection tracking, in a network namespace the test makes.</summary>
[Trait(Category.Name, Category.Integration)]
public class ConntrackAccountingTests
{
    [Fact]
    public async Task The_top_talker_is_the_stream_an_agent_sent_with_at_least_the_bytes_it_counted()
    {
        Requires.Lab();
        string ns = $"cnbf-{Environment.ProcessId}";
        var agent = Path.Combine(AppContext.BaseDirectory, "cnibench-agent");
        await AddTrackingNamespaceAsync(ns);
        try
        {
            await InAsync(ns, "sysctl", "-qw", "net.netfilter.nf_conntrack_acct=1");
            await using var server = ChildProcess.Start(
                "/usr/sbin/ip",
                AppContext.BaseDirectory,
                ["netns", "exec", ns, agent, "serve", "--token", "0123456789abcdef", "--tcp-port", "7201"]
            );
            await server.FirstStdoutLine.WaitAsync(TimeSpan.FromSeconds(20));
            var before = ConntrackFlows.Parse((await InAsync(ns, "cat", "/proc/net/nf_conntrack")).Split('\n'));

            var (code, stdout, stderr) = await ChildProcess.RunAsync(
                "/usr/sbin/ip",
                AppContext.BaseDirectory,
                TimeSpan.FromSeconds(30),
                [
                    "netns",
                    "exec",
                    ns,
                    agent,
                    "run",
                    "-w",
                    "tcp-stream",
                    "--to",
                    "127.0.0.1:7201",
                    "-d",
                    "500ms",
                    "--json",
                ]
            );
            Assert.True(code == 0, stderr);
            using var run = JsonDocument.Parse(stdout);
            var result = run.RootElement.GetProperty("result");
            long sent = result.GetProperty("bytes").GetInt64();
            var after = ConntrackFlows.Parse((await InAsync(ns, "cat", "/proc/net/nf_conntrack")).Split('\n'));

            var top = ConntrackFlows.TopTalkers(before, after, 3);
            Assert.NotEmpty(top);
            Assert.Equal(("tcp", "127.0.0.1", 7201), (top[0].Protocol, top[0].Destination, top[0].DestinationPort));
            // At least what the agent counted, plus headers and what it sent after its window closed (at gigabytes a
            // second, a fraction of a second's worth).
            Assert.InRange(top[0].Bytes, sent, sent * 3 / 2);
        }
        finally
        {
            await LabShell.RunAsync("ip", ["netns", "delete", ns], null, CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_node_sampler_ranks_the_benchmarks_flows_and_the_others_and_puts_accounting_back()
    {
        Requires.Lab();
        string ns = $"cnbg-{Environment.ProcessId}";
        var agent = Path.Combine(AppContext.BaseDirectory, "cnibench-agent");
        using var dir = new TempDirectory();
        string control = Path.Combine(dir.Path, "control.sock");
        const string Token = "0123456789abcdef";
        await AddTrackingNamespaceAsync(ns);
        try
        {
            Assert.Equal("0", (await InAsync(ns, "sysctl", "-n", "net.netfilter.nf_conntrack_acct")).Trim());
            // The node's agent (the sampler, and the benchmark's server on 7201), and something else on 9443.
            await using var node = ChildProcess.Start(
                "/usr/sbin/ip",
                AppContext.BaseDirectory,
                ["netns", "exec", ns, agent, "serve", "--token", Token, "--control-socket", control]
            );
            await using var other = ChildProcess.Start(
                "/usr/sbin/ip",
                AppContext.BaseDirectory,
                [
                    .. new[] { "netns", "exec", ns, agent, "serve", "--token", Token, "--control-port", "9000" },
                    .. new[] { "--tcp-port", "9443", "--udp-port", "9001", "--http-port", "9080" },
                ]
            );
            await node.FirstStdoutLine.WaitAsync(TimeSpan.FromSeconds(20));
            await other.FirstStdoutLine.WaitAsync(TimeSpan.FromSeconds(20));

            using var client = CniBench.Cli.Agents.AgentClient.ForUnixSocket(control, Token);
            var monitor = new WorkloadSpec { Kind = WorkloadKind.Monitor, FlowPorts = [7201, 7280] };
            var job = await client.CreateJobAsync(new JobSpec(monitor, WarmupMs: 0, DurationMs: 3000), default);
            await client.StartJobAsync(job.Id, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(), default);
            await Task.Delay(500); // the window has opened: accounting is on
            foreach (var port in new[] { 7201, 9443 })
            {
                var (code, _, stderr) = await ChildProcess.RunAsync(
                    "/usr/sbin/ip",
                    AppContext.BaseDirectory,
                    TimeSpan.FromSeconds(30),
                    [
                        .. new[] { "netns", "exec", ns, agent, "run", "-w", "tcp-stream", "--to", $"127.0.0.1:{port}" },
                        .. new[] { "-d", "300ms", "--warmup", "0s" },
                    ]
                );
                Assert.True(code == 0, stderr);
            }
            JobStatus status;
            do
            {
                await Task.Delay(200);
                status = await client.PollAsync(job.Id, 0, default);
            } while (status.State is not (JobState.Done or JobState.Failed));

            var flows = status.Result?.Node?.Flows;
            Assert.True(flows is not null, status.Error);
            Assert.True(flows.Unavailable is null, flows.Unavailable);
            Assert.Equal(7201, flows.Benchmark[0].DestinationPort);
            Assert.Equal(9443, flows.Other[0].DestinationPort);
            Assert.DoesNotContain(flows.Other, f => f.DestinationPort == 7201 || f.SourcePort == 7201);
            Assert.True(flows.Other[0].Bytes > 1_000_000, $"{flows.Other[0].Bytes} bytes");
            // The sampler turned accounting on for its window only.
            Assert.Equal("0", (await InAsync(ns, "sysctl", "-n", "net.netfilter.nf_conntrack_acct")).Trim());
        }
        finally
        {
            await LabShell.RunAsync("ip", ["netns", "delete", ns], null, CancellationToken.None);
        }
    }

    /// <summary>A namespace with loopback up and a rule that uses conntrack, which makes it track its
    /// connections.</summary>
    private static async Task AddTrackingNamespaceAsync(string ns)
    {
        await LabShell.RunAsync("ip", ["netns", "add", ns], null, CancellationToken.None);
        try
        {
            await InAsync(ns, "ip", "link", "set", "lo", "up");
            await LabShell.RunAsync(
                "ip",
                ["netns", "exec", ns, "nft", "-f", "-"],
                "table ip tracked {\n  chain out {\n    type filter hook output priority 0;\n"
                    + "    ct state new accept\n  }\n}\n",
                CancellationToken.None
            );
        }
        catch
        {
            await LabShell.RunAsync("ip", ["netns", "delete", ns], null, CancellationToken.None);
            throw;
        }
    }

    private static Task<string> InAsync(string ns, params string[] command) =>
        LabShell.RunAsync("ip", ["netns", "exec", ns, .. command], null, CancellationToken.None);
}
