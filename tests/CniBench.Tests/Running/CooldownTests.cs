using System.Diagnostics;
using CniBench.Cli.Agents;
using CniBench.Cli.Running;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets;
using CniBench.Contracts.Measurement;
using CniBench.Contracts.Workloads;
using CniBench.Tests.Support;

namespace CniBench.Tests.Running;

public class CooldownTests
{
    private static Scenario Load(string cooldown) =>
        CniBench.Cli.Features.SuiteFeatures.Scenarios.Load(
            $"""
            name: c
            {cooldown}
            cases:
              - workload: tcp-crr
            """,
            "c.yaml"
        );

    [Fact]
    [Trait(Category.Name, Category.Unit)]
    public void Cooldown_is_auto_unless_the_scenario_says_none_or_a_duration_and_anything_else_is_refused()
    {
        Assert.Equal(Cooldown.Auto, Load("").Cases[0].Cooldown);
        Assert.Equal(Cooldown.None, Load("cooldown: none").Cases[0].Cooldown);
        Assert.Equal(new Cooldown(false, TimeSpan.FromSeconds(30)), Load("cooldown: 30s").Cases[0].Cooldown);
        var e = Assert.Throws<ScenarioException>(() => Load("cooldown: sometimes"));
        Assert.Contains(e.Errors, x => x.ToString().Contains("cooldown") && x.ToString().Contains("auto"));
    }

    [Fact]
    [Trait(Category.Name, Category.Unit)]
    public void Close_is_fin_unless_a_connect_rate_case_says_reset_and_other_workloads_refuse_it()
    {
        Assert.Equal(ConnectionClose.Fin, Load("").Cases[0].Workload.Close);
        Assert.Equal(
            ConnectionClose.Reset,
            CniBench
                .Cli.Features.SuiteFeatures.Scenarios.Load(
                    """
                    name: c
                    cases:
                      - workload: tcp-crr
                        close: [reset]
                    """,
                    "c.yaml"
                )
                .Cases[0]
                .Workload.Close
        );
        var e = Assert.Throws<ScenarioException>(() =>
            CniBench.Cli.Features.SuiteFeatures.Scenarios.Load(
                """
                name: c
                cases:
                  - workload: tcp-rr
                    close: reset
                """,
                "c.yaml"
            )
        );
        Assert.Contains(e.Errors, x => x.ToString().Contains("close") && x.ToString().Contains("c.yaml:"));
        var bad = Assert.Throws<ScenarioException>(() =>
            CniBench.Cli.Features.SuiteFeatures.Scenarios.Load(
                """
                name: c
                cases:
                  - workload: tls-crr
                    close: abort
                """,
                "c.yaml"
            )
        );
        Assert.Contains(bad.Errors, x => x.ToString().Contains("fin") && x.ToString().Contains("reset"));
    }

    [Fact]
    [Trait(Category.Name, Category.Unit)]
    public void A_namespace_is_quiet_below_the_levels_that_draw_a_warning()
    {
        Assert.True(new NetStack(100, 28232, 10, 1000, 0, 0).Quiet);
        Assert.False(new NetStack(17547, 28232, 10, 1000, 0, 0).Quiet); // 62% of the ports in TIME_WAIT
        Assert.False(new NetStack(0, 28232, 900, 1000, 0, 0).Quiet); // conntrack 90% full
        Assert.True(new NetStack(0, 28232, null, null, 0, 0).Quiet); // no conntrack loaded
    }

    [Fact]
    [Trait(Category.Name, Category.Unit)]
    public void Only_time_wait_sockets_towards_the_server_count_when_the_server_is_named()
    {
        Assert.False(new NetStack(17547, 28232, 10, 1000, 0, 0).Quiet);
        // The same host-wide count, but only 12 of those sockets are towards this case's server.
        var stack = new NetStack(17547, 28232, 10, 1000, 0, 0, Colliding: 12);
        Assert.True(stack.Quiet);
        Assert.Equal(12, stack.Pinning);
        Assert.False((stack with { Colliding = 9000 }).Quiet);
    }

    [Fact]
    [Trait(Category.Name, Category.Unit)]
    public void Proc_net_tcp_rows_in_time_wait_towards_an_endpoint_are_counted_in_either_family()
    {
        var loopback = new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 5201);
        Assert.Equal(
            ["0100007F:1451", "0000000000000000FFFF00000100007F:1451"],
            CniBench.Agent.Sampling.NetStackReader.ProcForms(loopback)
        );
        string[] rows =
        [
            "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
            "   0: 0100007F:C350 0100007F:1451 06 00000000:00000000 03:00001767 00000000     0        0 0 3",
            "   1: 0100007F:C351 0100007F:1451 01 00000000:00000000 00:00000000 00000000     0        0 1 1",
            "   2: 0100007F:1451 0100007F:C352 06 00000000:00000000 03:00001767 00000000     0        0 0 3",
            "   3: 0100007F:C353 0100007F:1452 06 00000000:00000000 03:00001767 00000000     0        0 0 3",
            "   4: 0000000000000000FFFF00000100007F:C354 0000000000000000FFFF00000100007F:1451 06 0 0 0 0 0 0 0",
        ];
        // Rows 0 and 4: TIME_WAIT towards 127.0.0.1:5201. Row 1 is established, row 2 is the server's own
        // TIME_WAIT (its local end is the endpoint), row 3 is towards another port.
        Assert.Equal(2, CniBench.Agent.Sampling.NetStackReader.CountTimeWait(rows, [loopback]));
    }

    [Fact]
    [Trait(Category.Name, Category.Integration)]
    public async Task Auto_waits_only_for_sockets_towards_the_server_and_a_fixed_cooldown_says_where_it_stands()
    {
        await using var server = new TestAgentServer();
        using var client = new AgentClient(server.ControlUri, TestAgentServer.Token);
        var handle = new AgentHandle("server", server.Info, client, () => null);
        var pair = new AgentPair(handle, handle with { Role = "client" }, server.TcpAddress, "host-to-host");

        // Leave sockets in TIME_WAIT towards a listener of the test's own: the host's count, not this case's.
        using var other = new System.Net.Sockets.Socket(
            System.Net.Sockets.AddressFamily.InterNetwork,
            System.Net.Sockets.SocketType.Stream,
            System.Net.Sockets.ProtocolType.Tcp
        );
        other.Bind(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        other.Listen(512);
        const int Lingering = 300;
        static long Overflows() =>
            CniBench.Agent.Sampling.NetStackReader.ParseTcpExt(
                File.ReadAllLines("/proc/net/netstat"),
                "TCPTimeWaitOverflow"
            );
        long overflowsBefore = Overflows();
        for (int i = 0; i < Lingering; i++)
        {
            using var c = new System.Net.Sockets.Socket(
                System.Net.Sockets.AddressFamily.InterNetwork,
                System.Net.Sockets.SocketType.Stream,
                System.Net.Sockets.ProtocolType.Tcp
            );
            await c.ConnectAsync(other.LocalEndPoint!, TestContext.Current.CancellationToken);
            using var accepted = await other.AcceptAsync(TestContext.Current.CancellationToken);
            c.Close(); // the client closes first, so the TIME_WAIT is its own
            accepted.Close();
        }
        var towardsOther = await client.NetStackAsync(default, other.LocalEndPoint!.ToString());
        // Past net.ipv4.tcp_max_tw_buckets the kernel closes at once instead (TCPTimeWaitOverflow): on a host that
        // others fill with TIME_WAIT, not every one of ours is kept.
        long notKept = Overflows() - overflowsBefore;
        Assert.InRange((towardsOther.Colliding ?? -1) + notKept, Lingering, long.MaxValue);
        Assert.True(towardsOther.TimeWait + notKept >= Lingering, $"{towardsOther.TimeWait} kept, {notKept} not");
        var towardsServer = await client.NetStackAsync(default, server.TcpAddress);
        Assert.Equal(0, towardsServer.Colliding);

        // Waiting for the other port's TIME_WAITs would take their 60 s; a busy host needs a few polls to read quiet.
        Assert.InRange(await CooldownWait.WaitAsync(pair, Cooldown.Auto, _ => { }, default), 0, 10);
        var said = new List<string>();
        var clock = Stopwatch.StartNew();
        Assert.Equal(
            1.2,
            await CooldownWait.WaitAsync(pair, new Cooldown(false, TimeSpan.FromMilliseconds(1200)), said.Add, default),
            3
        );
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(1190));
        Assert.Contains("cooling down: fixed 0/1 s", said);
        Assert.All(said, s => Assert.Matches("^cooling down: fixed [01]/1 s$", s));
    }

    [Fact]
    [Trait(Category.Name, Category.Integration)]
    public async Task A_hostile_or_oversized_endpoint_list_is_refused_and_the_agent_answers_the_next_question()
    {
        await using var server = new TestAgentServer();
        using var client = new AgentClient(server.ControlUri, TestAgentServer.Token);
        foreach (var bad in new[] { "nonsense", "1.2.3.4:0", string.Join(',', Enumerable.Repeat("127.0.0.1:1", 9)) })
        {
            var e = await Assert.ThrowsAsync<AgentRequestException>(() => client.NetStackAsync(default, bad));
            Assert.Contains("endpoints", e.Message);
        }
        Assert.Null((await client.NetStackAsync(default)).Colliding);
    }
}
