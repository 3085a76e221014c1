using System.Diagnostics;
using CniBench.Cli.Agents;
using CniBench.Cli.Running;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets;
using CniBench.Contracts.Measurement;
using CniBench.Tests.Support;

namespace CniBench.Tests.Running;

public class CooldownTests
{
    private static Scenario Load(string cooldown) =>
        ScenarioLoader.Load(
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
    public void A_namespace_is_quiet_below_the_levels_that_draw_a_warning()
    {
        Assert.True(new NetStack(100, 28232, 10, 1000, 0, 0).Quiet);
        Assert.False(new NetStack(17547, 28232, 10, 1000, 0, 0).Quiet); // 62% of the ports in TIME_WAIT
        Assert.False(new NetStack(0, 28232, 900, 1000, 0, 0).Quiet); // conntrack 90% full
        Assert.True(new NetStack(0, 28232, null, null, 0, 0).Quiet); // no conntrack loaded
    }

    [Fact]
    [Trait(Category.Name, Category.Integration)]
    public async Task Auto_asks_the_agents_and_goes_on_at_once_when_nothing_lingers_and_a_fixed_cooldown_waits()
    {
        await using var server = new TestAgentServer();
        using var client = new AgentClient(server.ControlUri, TestAgentServer.Token);
        var handle = new AgentHandle("server", server.Info, client, () => null);
        var pair = new AgentPair(handle, handle with { Role = "client" }, server.TcpAddress, "host-to-host");
        var stack = await client.NetStackAsync(default);
        Assert.True(stack.EphemeralPorts > 0);
        if (!stack.Quiet)
            Assert.Skip($"this host holds {stack.TimeWait} sockets in TIME_WAIT right now; auto would rightly wait");
        Assert.InRange(await CooldownWait.WaitAsync(pair, Cooldown.Auto, default), 0, 1);
        var clock = Stopwatch.StartNew();
        Assert.Equal(
            0.3,
            await CooldownWait.WaitAsync(pair, new Cooldown(false, TimeSpan.FromMilliseconds(300)), default),
            3
        );
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(290));
    }
}
