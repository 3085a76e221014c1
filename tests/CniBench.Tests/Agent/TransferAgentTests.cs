using System.Net;
using System.Net.Sockets;
using CniBench.Agent.Sampling;
using CniBench.Contracts.Sampling;
using CniBench.Contracts.Workloads;
using CniBench.Tests.Support;

namespace CniBench.Tests.Agent;

/// <summary>The agent's parts of transfer accounting: slow clients, a namespace's interface bytes, and which process
/// owns a flow's socket.</summary>
[Trait(Category.Name, Category.Integration)]
public class TransferAgentTests
{
    [Fact]
    public async Task Users_with_a_think_time_each_send_about_one_request_per_think_time()
    {
        await using var server = new TestAgentServer(pod: "slow-clients");
        var (result, _) = await Jobs.RunAsync(
            new WorkloadSpec
            {
                Kind = WorkloadKind.Http,
                Target = server.HttpAddress,
                Parallel = 20,
                ThinkTimeMs = 100,
                ResponseSize = 1000,
            },
            durationMs: 2000
        );
        Assert.Empty(result.Errors);
        // 20 users at one request per 100 ms plus an answer's time: at most 400 in 2 s, and far fewer than the
        // thousands the same users make without thinking.
        Assert.InRange(result.Transactions, 200, 420);
    }

    [Fact]
    public void A_think_time_is_refused_where_no_user_waits()
    {
        var open = new WorkloadSpec
        {
            Kind = WorkloadKind.Http,
            Target = "127.0.0.1:1",
            HttpModel = HttpModel.Open,
            Rate = 10,
            ThinkTimeMs = 5,
        };
        Assert.Contains("thinkTime: allowed for http in the closed model only", Limits.Check(open));
        Assert.Contains(Limits.Check(open with { HttpModel = HttpModel.Closed, ThinkTimeMs = 60_001 }), e =>
            e.StartsWith("thinkTime: 60001 is out of range", StringComparison.Ordinal)
        );
    }

    [Fact]
    public void Interface_bytes_over_a_window_are_the_difference_and_a_reset_interface_is_left_out()
    {
        IReadOnlyList<InterfaceCounters.Counters> before =
        [
            new("lo", 100, 1, 100, 1),
            new("eth0", 1_000, 10, 5_000, 20),
            new("veth9", 9_000, 9, 9_000, 9),
        ];
        IReadOnlyList<InterfaceCounters.Counters> after =
        [
            new("lo", 300, 3, 300, 3),
            new("eth0", 51_000, 60, 6_000, 30),
            new("veth9", 10, 1, 10, 1), // made again meanwhile: its counters restarted
            new("new0", 5, 1, 5, 1), // not there before
        ];
        Assert.Equal(
            [new("lo", 200, 2, 200, 2), new("eth0", 50_000, 50, 1_000, 10)],
            InterfaceCounters.Between(before, after)
        );
    }

    [Fact]
    public void Accounting_is_on_while_any_flow_job_holds_it_and_put_back_only_if_the_agent_turned_it_on()
    {
        using var dir = new TempDirectory();
        var path = dir.File("nf_conntrack_acct");
        File.WriteAllText(path, "0\n");
        var accounting = new ConntrackAccounting(path);
        accounting.Acquire();
        accounting.Acquire();
        Assert.Equal("1", File.ReadAllText(path));
        accounting.Release();
        Assert.Equal("1", File.ReadAllText(path)); // the second job still counts
        accounting.Release();
        Assert.Equal("0", File.ReadAllText(path));

        File.WriteAllText(path, "1\n"); // the node's own setting
        accounting.Acquire();
        accounting.Release();
        Assert.Equal("1\n", File.ReadAllText(path));
    }

    [Fact]
    public void Socket_table_lines_give_the_local_address_port_and_inode()
    {
        // As /proc/net/tcp and tcp6 print them on a little-endian machine.
        Assert.Equal(
            ("127.0.0.1", 7280, 43_210L),
            SocketOwners.ParseLine(
                "   0: 0100007F:1C70 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 43210 1"
            )
        );
        Assert.Equal(
            ("fd00:200::1", 443, 77L),
            SocketOwners.ParseLine(
                "   1: 000200FD000000000000000001000000:01BB 00000000000000000000000000000000:0000 01 "
                    + "00000000:00000000 00:00000000 00000000     0        0 77 1"
            )
        );
        Assert.Null(SocketOwners.ParseLine("  sl  local_address rem_address   st tx_queue rx_queue"));
    }

    [Fact]
    public async Task A_log_shipper_sends_to_its_sink_and_owns_its_flow_by_name()
    {
        using var dir = new TempDirectory();
        int port = FreePort();
        await using var sink = ChildProcess.Start(
            "cnibench-agent",
            dir.Path,
            "sink",
            "--listen",
            $"127.0.0.1:{port}",
            "--parent-pid",
            Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)
        );
        await WaitForAsync(() => sink.Stdout.Contains("listening on"), "the sink to listen");
        await using var shipper = ChildProcess.Start(
            "cnibench-agent",
            dir.Path,
            "ship",
            "--to",
            $"127.0.0.1:{port}",
            "--rate",
            "100KiB"
        );
        // The shipper's connection, as a flow table lists it: from its ephemeral port to the sink.
        (string Address, int Port, long Inode)? local = null;
        await WaitForAsync(
            () =>
            {
                local = File.ReadLines("/proc/net/tcp")
                    .Skip(1)
                    .Select(l => (Line: l, Parsed: SocketOwners.ParseLine(l)))
                    .Where(x =>
                        x.Parsed is not null
                        && x.Line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[2]
                            .EndsWith($":{port:X4}", StringComparison.Ordinal)
                    )
                    .Select(x => x.Parsed)
                    .FirstOrDefault();
                return local is not null;
            },
            "the shipper to connect"
        );
        var flow = new FlowBytes("tcp", "127.0.0.1", local!.Value.Port, "127.0.0.1", port, 1000, 10);
        var owned = Assert.Single(SocketOwners.Attach([flow]));
        Assert.Equal($"log-shipper ({shipper.Pid})", owned.Process);
        // The sink's end of it belongs to the sink, by the flow's other side.
        var reply = new FlowBytes("tcp", "127.0.0.1", port, "127.0.0.1", 1, 10, 1);
        Assert.StartsWith("cnibench-agent (", Assert.Single(SocketOwners.Attach([reply])).Process);
    }

    private static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
                Assert.Fail($"timed out waiting for {what}");
            await Task.Delay(50);
        }
    }
}
