using System.Text.Json;
using CniBench.Cli.Targets.Lab.Network;
using CniBench.Contracts.Sampling;
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
        await LabShell.RunAsync("ip", ["netns", "add", ns], null, CancellationToken.None);
        try
        {
            await InAsync(ns, "ip", "link", "set", "lo", "up");
            await InAsync(ns, "sysctl", "-qw", "net.netfilter.nf_conntrack_acct=1");
            // A rule that uses conntrack makes the namespace track its connections.
            await LabShell.RunAsync(
                "ip",
                ["netns", "exec", ns, "nft", "-f", "-"],
                "table ip cnbf {\n  chain out {\n    type filter hook output priority 0;\n"
                    + "    ct state new accept\n  }\n}\n",
                CancellationToken.None
            );
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
            // The stream's payload plus its headers: at least what the agent counted, within a few percent.
            Assert.InRange(top[0].Bytes, sent, (long)(sent * 1.05) + 10_000);
        }
        finally
        {
            await LabShell.RunAsync("ip", ["netns", "delete", ns], null, CancellationToken.None);
        }
    }

    private static Task<string> InAsync(string ns, params string[] command) =>
        LabShell.RunAsync("ip", ["netns", "exec", ns, .. command], null, CancellationToken.None);
}
