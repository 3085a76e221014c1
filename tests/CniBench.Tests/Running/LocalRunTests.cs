using CniBench.Cli.Results;
using CniBench.Cli.Running;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Storage;
using CniBench.Cli.Targets;
using CniBench.Cli.Targets.Local;
using CniBench.Contracts.Measurement;
using CniBench.Contracts.Workloads;
using CniBench.Tests.Support;

namespace CniBench.Tests.Running;

/// <summary>The runner on the local target: real agent processes, real store, every exit path.</summary>
[Trait(Category.Name, Category.Integration)]
public class LocalRunTests
{
    private static Scenario Tiny(
        string workload = "tcp-rr",
        string duration = "600ms",
        int repetitions = 2,
        string extra = ""
    ) =>
        CniBench.Cli.Features.SuiteFeatures.Scenarios.Load(
            $"""
            name: tiny
            # Local agents share this host's namespace with every other test's lingering connections
            # (CooldownTests cover the wait).
            cooldown: none
            repetitions: {repetitions}
            warmup: 200ms
            duration: {duration}
            cases:
              - workload: {workload}
            {extra}
            """,
            "tiny.yaml"
        );

    private sealed class Observer(Action<Sample>? onSample = null) : IRunObserver
    {
        public List<CaseResult> Finished { get; } = new();

        public void CaseStarted(PlannedCase plannedCase, int repetition, int index, int total) { }

        public void SampleReceived(PlannedCase plannedCase, Sample sample) => onSample?.Invoke(sample);

        public void CaseFinished(CaseResult result, int index, int total) => Finished.Add(result);
    }

    [Fact]
    public async Task A_run_measures_both_sides_stores_every_repetition_and_leaves_no_process()
    {
        using var dir = new TempDirectory();
        using var store = ResultStore.Open(dir.File("r.db"));
        IReadOnlyCollection<int> pids;
        RunOutcome outcome;
        await using (var target = new LocalTarget(AgentCommand.Locate()))
        {
            var observer = new Observer();
            outcome = await new RunOrchestrator(target, store, observer, TimeSpan.FromMilliseconds(200)).RunAsync(
                Tiny(extra: "  - workload: http\n    parallel: 2\n  - workload: probe\n    rate: 300"),
                "cfg-a",
                new Dictionary<string, string>(),
                CancellationToken.None
            );
            pids = target.AgentPids;
            Assert.Equal(2, pids.Count); // one server and one client agent, reused across cases
            Assert.All(pids, pid => Assert.True(AgentProcesses.IsAlive(pid)));
            Assert.Equal(6, observer.Finished.Count);
        }
        Assert.All(pids, pid => Assert.False(AgentProcesses.IsAlive(pid), $"agent {pid} outlived the target"));

        Assert.Equal(RunState.Completed, outcome.State);
        var stored = store.Results(outcome.Run.Id);
        Assert.Equal(6, stored.Count);
        Assert.All(stored, r =>
        {
            Assert.Equal(ResultState.Ok, r.State);
            Assert.Equal("cfg-a", r.Config);
            Assert.True(r.Metrics[Metrics.TransactionsPerSecond] > 100);
            Assert.True(r.Metrics.ContainsKey(Metrics.ServerCpuPercent), "server CPU sampled in the same window");
            // A paced workload does what it is told: CPU per transaction there would measure the pacing.
            Assert.Equal(r.Workload.Kind != WorkloadKind.Probe, r.Metrics.ContainsKey(Metrics.HostCpuPer100kTps));
            Assert.True(
                r.Metrics.ContainsKey(Metrics.OtherProcessesCpuPercent),
                "what else ran on the host in the window"
            );
            Assert.Contains(r.Client.Samples, s => s.Phase == Phase.Warmup);
            Assert.Contains(r.Server!.Samples, s => s.Phase == Phase.Measured);
        });
        Assert.Equal(RunState.Completed, store.ResolveRun(outcome.Run.Id).State);
    }

    [Fact]
    public async Task A_connection_rate_case_reports_its_time_wait_sockets_and_the_conntrack_and_listen_queue_state()
    {
        using var dir = new TempDirectory();
        using var store = ResultStore.Open(dir.File("r.db"));
        await using var target = new LocalTarget(AgentCommand.Locate());
        var observer = new Observer();
        var outcome = await new RunOrchestrator(target, store, observer, TimeSpan.FromMilliseconds(200)).RunAsync(
            Tiny(workload: "tcp-crr", repetitions: 1, duration: "1s"),
            "cfg",
            new Dictionary<string, string>(),
            CancellationToken.None
        );
        Assert.Equal(RunState.Completed, outcome.State);
        var result = Assert.Single(store.Results(outcome.Run.Id));
        // Each closed connection leaves a socket in TIME_WAIT on the side that closed first: the server, as with
        // netperf, which on loopback is this same namespace. The namespace sees them all; none pins a client port.
        var stacks = result.Client.Samples.Select(s => s.Stack!).ToArray();
        Assert.True(
            stacks.Max(s => s.TimeWait) > 100,
            $"{stacks.Max(s => s.TimeWait)} sockets in TIME_WAIT after "
                + $"{result.Metrics[Metrics.TransactionsPerSecond]:0} connections/s"
        );
        if (stacks.Any(s => s.Colliding is not null))
        {
            // Past the warning level the agent counted those towards the server: the case reports them alone.
            Assert.Equal(stacks.Max(s => s.Colliding ?? 0), result.Metrics[Metrics.ClientTimeWait]);
            Assert.True(result.Metrics[Metrics.ClientTimeWait] < 100, "the server's TIME_WAIT pins no client port");
        }
        else
            Assert.Equal(stacks.Max(s => s.TimeWait), result.Metrics[Metrics.ClientTimeWait]);
        Assert.True(result.Metrics.ContainsKey(Metrics.ServerListenDrops));
        Assert.All(result.Client.Samples, s => Assert.NotNull(s.Stack));
    }

    [Fact]
    public async Task Ipv6_loopback_works_too()
    {
        using var dir = new TempDirectory();
        using var store = ResultStore.Open(dir.File("r.db"));
        await using var target = new LocalTarget(AgentCommand.Locate());
        var scenario = CniBench.Cli.Features.SuiteFeatures.Scenarios.Load(
            "name: v6\nipFamily: ipv6\nwarmup: 0s\nduration: 400ms\nrepetitions: 1\ncases:\n  - workload: tcp-crr\n  "
                + "- workload: udp-rr\n",
            "v6.yaml"
        );
        var outcome = await new RunOrchestrator(
            target,
            store,
            new SilentObserver(),
            TimeSpan.FromMilliseconds(200)
        ).RunAsync(scenario, "v6", new Dictionary<string, string>(), CancellationToken.None);
        Assert.Equal(RunState.Completed, outcome.State);
        Assert.All(outcome.Results, r => Assert.StartsWith("[::1]:", r.Workload.Target));
    }

    [Fact]
    public async Task A_stopped_agent_fails_its_case_is_replaced_for_the_next_and_is_gone_at_the_end()
    {
        using var dir = new TempDirectory();
        using var store = ResultStore.Open(dir.File("r.db"));
        await using var target = new LocalTarget(AgentCommand.Locate());
        var scenario = Tiny(duration: "2s", repetitions: 2);
        var agents = await target.PrepareAsync(scenario.Cases[0], CancellationToken.None);
        int pid = agents.Server.Info.Pid;
        bool stopped = false;
        var observer = new Observer(s =>
        {
            if (stopped || s.Phase != Phase.Measured)
                return;
            stopped = true;
            ChildProcess.KillPid(pid, 19); // SIGSTOP: alive, holding its sockets, answering nothing
        });
        try
        {
            var outcome = await new RunOrchestrator(target, store, observer, TimeSpan.FromMilliseconds(200)).RunAsync(
                scenario,
                "stop",
                new Dictionary<string, string>(),
                CancellationToken.None
            );
            Assert.Equal(RunState.Failed, outcome.State);
            Assert.Equal(ResultState.Failed, outcome.Results[0].State);
            Assert.Contains("server agent stopped answering for 5s", outcome.Results[0].Error);
            Assert.NotEmpty(outcome.Results[0].Client.Samples); // what was measured before it stopped is kept
            Assert.Equal(ResultState.Ok, outcome.Results[1].State); // a new server agent took its place
            Assert.DoesNotContain(pid, target.AgentPids);
        }
        finally
        {
            ChildProcess.KillPid(pid, 18); // SIGCONT, in case the target did not kill it
        }
        await target.DisposeAsync();
        Assert.True(
            await Eventually.HoldsAsync(() => !AgentProcesses.IsAlive(pid), TimeSpan.FromSeconds(5)),
            $"the stopped agent {pid} was left behind"
        );
    }

    [Theory]
    [InlineData("client")]
    [InlineData("server")]
    public async Task An_agent_killed_mid_run_fails_the_case_keeps_its_samples_and_the_run_goes_on(string victim)
    {
        using var dir = new TempDirectory();
        using var store = ResultStore.Open(dir.File("r.db"));
        await using var target = new LocalTarget(AgentCommand.Locate());
        // Prepare first, so the victim's pid is known before the run starts.
        var scenario = Tiny(duration: "3s", repetitions: 2);
        var agents = await target.PrepareAsync(scenario.Cases[0], CancellationToken.None);
        int pid = (victim == "client" ? agents.Client : agents.Server).Info.Pid;
        bool killed = false;
        var observer = new Observer(s =>
        {
            if (!killed && s.Phase == Phase.Measured)
            {
                killed = true;
                ChildProcess.KillPid(pid, ChildProcess.SIGKILL);
            }
        });
        var outcome = await new RunOrchestrator(target, store, observer, TimeSpan.FromMilliseconds(200)).RunAsync(
            scenario,
            "kill",
            new Dictionary<string, string>(),
            CancellationToken.None
        );

        Assert.Equal(RunState.Failed, outcome.State);
        var first = outcome.Results[0];
        Assert.Equal(ResultState.Failed, first.State);
        Assert.Contains($"(pid {pid}) exited", first.Error);
        Assert.NotEmpty(first.Client.Samples);
        // The target replaced the dead agent and the next repetition ran normally.
        Assert.Equal(ResultState.Ok, outcome.Results[1].State);
        Assert.Equal(2, store.Results(outcome.Run.Id).Count);
    }

    [Fact]
    public async Task Cancelling_mid_case_stores_it_as_interrupted_and_marks_the_run()
    {
        using var dir = new TempDirectory();
        using var store = ResultStore.Open(dir.File("r.db"));
        using var cancel = new CancellationTokenSource();
        IReadOnlyCollection<int> pids;
        RunOutcome outcome;
        await using (var target = new LocalTarget(AgentCommand.Locate()))
        {
            var observer = new Observer(s =>
            {
                if (s.Phase == Phase.Measured)
                    cancel.Cancel();
            });
            outcome = await new RunOrchestrator(target, store, observer, TimeSpan.FromMilliseconds(200)).RunAsync(
                Tiny(duration: "5s", repetitions: 3),
                "c",
                new Dictionary<string, string>(),
                cancel.Token
            );
            pids = target.AgentPids;
        }
        Assert.All(pids, pid => Assert.False(AgentProcesses.IsAlive(pid)));
        Assert.Equal(RunState.Interrupted, outcome.State);
        var stored = Assert.Single(store.Results(outcome.Run.Id));
        Assert.Equal(ResultState.Interrupted, stored.State);
        Assert.NotEmpty(stored.Client.Samples);
        Assert.Equal(RunState.Interrupted, store.ResolveRun(outcome.Run.Id).State);
    }

    [Fact]
    public void The_local_target_refuses_placements_it_cannot_provide()
    {
        var target = new LocalTarget(AgentCommand.Locate());
        var problems = target.Validate(
            CniBench.Cli.Features.SuiteFeatures.Scenarios.Load(
                "name: p\ncases:\n  - workload: tcp-rr\n    placement: pod-to-cluster-ip\n",
                "p.yaml"
            )
        );
        Assert.Equal(
            "case tcp-rr: placement pod-to-cluster-ip is not available on the local target; allowed: host-to-host",
            Assert.Single(problems)
        );
    }
}
