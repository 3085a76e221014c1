using CniBench.Cli.Running;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Convergence;

/// <summary>
/// One repetition of a convergence case: every node's prober starts at the same instant; after a lead
/// second the endpoint changes are issued on a fixed beat (1→N, then each replaced); then the probers'
/// first and last sightings of every endpoint give each change's latency per node.
/// </summary>
public sealed class ConvergenceRunner(RunContext run, TimeSpan? pollInterval = null)
{
    private static readonly TimeSpan Lead = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Tail = TimeSpan.FromSeconds(2);
    private readonly TimeSpan _poll = pollInterval ?? JobTracker.DefaultPoll;

    /// <summary>The endpoint lists after each change: 1→N one at a time, then each of the N replaced by a fresh one.</summary>
    public static IReadOnlyList<(string Kind, string Added, string? Removed, IReadOnlyList<string> After)> Plan(Churn churn, IReadOnlyList<string> addresses)
    {
        var plan = new List<(string, string, string?, IReadOnlyList<string>)>();
        var current = new List<string> { addresses[0] };
        for (int k = 1; k < churn.Endpoints; k++)
        {
            current.Add(addresses[k]);
            plan.Add(("add", addresses[k], null, current.ToArray()));
        }
        for (int k = 0; k < churn.Endpoints; k++)
        {
            var removed = current[k];
            current[k] = addresses[churn.Endpoints + k];
            plan.Add(("replace", current[k], removed, current.ToArray()));
        }
        return plan;
    }

    public async Task<CaseResult> RunAsync(PlannedCase plannedCase, int repetition, IEndpointChurn churn, IRunObserver observer, CancellationToken cancellationToken)
    {
        var spec = plannedCase.Churn!;
        var started = DateTimeOffset.UtcNow;
        var plan = Plan(spec, churn.Addresses);
        var window = Lead + spec.Interval * plan.Count + spec.InjectedDelay + Tail;
        var workload = plannedCase.Workload with { Target = churn.ServiceAddress };
        var trackers = churn.Probers.Select(p => (p.Node, Agent: p.Agent, Job: new JobTracker(p.Agent))).ToArray();
        var changes = new List<EndpointChange>();
        IReadOnlyList<NodeWrite> writes = [];
        var state = ResultState.Ok;
        string? error = null;
        try
        {
            foreach (var t in trackers) await t.Job.CreateAsync(new JobSpec(workload, 0, (int)window.TotalMilliseconds), cancellationToken);
            var startAt = DateTimeOffset.UtcNow.Add(JobTracker.StartLead);
            foreach (var t in trackers) await t.Job.StartAsync(startAt.ToUnixTimeMilliseconds(), cancellationToken);
            var follow = trackers.Select((t, i) => t.Job.FollowAsync(_poll, JobTracker.SilenceLimit, s => { if (i == 0) observer.SampleReceived(plannedCase, s); }, cancellationToken)).ToArray();

            var issued = new List<long>();
            for (int i = 0; i < plan.Count; i++)
            {
                await DelayUntilAsync(startAt + Lead + spec.Interval * i, cancellationToken);
                issued.Add(UnixClock.NowMicroseconds());
                churn.Issue(i + 1, plan[i].After, issued[^1]);
            }
            writes = await churn.SettleAsync(cancellationToken);
            for (int i = 0; i < plan.Count; i++)
                changes.Add(new EndpointChange(i + 1, plan[i].Kind, plan[i].Added, plan[i].Removed, issued[i], WrittenEverywhere(writes, i + 1)));
            await Task.WhenAll(follow);
            var failed = trackers.FirstOrDefault(t => t.Job.Status?.State == JobState.Failed);
            if (failed.Job is not null) (state, error) = (ResultState.Failed, $"prober on {failed.Node} failed: {failed.Job.Status!.Error}");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            (state, error) = (ResultState.Interrupted, "interrupted");
            foreach (var t in trackers) await t.Job.CancelQuietlyAsync();
        }
        catch (Exception e) when (e is AgentRequestException or HttpRequestException or TaskCanceledException or AgentLostException or Lab.LabException)
        {
            (state, error) = (ResultState.Failed, trackers.Select(t => t.Agent.DeathNotice()).FirstOrDefault(d => d is not null) ?? e.Message);
            foreach (var t in trackers) await t.Job.CancelQuietlyAsync();
        }

        var probes = trackers.Where(t => t.Job.Status?.Result?.Probe is not null)
            .Select(t => (t.Node, t.Job.Status!.Result!.Probe!, t.Job.Status.Result.MeasuredSeconds)).ToArray();
        var data = ConvergenceCalculator.Compute(changes, probes) with { Writes = writes };
        var metrics = ConvergenceCalculator.MetricsOf(data);
        var first = trackers[0];
        if (state == ResultState.Ok && metrics[Contracts.Measurement.Metrics.ConvergenceUnreached] > 0)
            (state, error) = (ResultState.Failed, $"{metrics[Contracts.Measurement.Metrics.ConvergenceUnreached]} (change, node) pairs never reached their new endpoint");
        return new CaseResult(run.RunId, run.Suite, plannedCase.Name, run.Config, repetition, run.Target, plannedCase.Placement, plannedCase.Placement,
            plannedCase.IpFamily.ToString().ToLowerInvariant(), workload, 0, (int)window.TotalMilliseconds, plannedCase.Parameters,
            started, DateTimeOffset.UtcNow, state, error, metrics,
            new AgentSide(first.Agent.Info.Identity.Name, first.Job.Samples, first.Job.Status?.Result, first.Job.Status?.Error), null)
        {
            Convergence = data,
        };
    }

    /// <summary>When the last node wrote this change or a later one that contains it; null if a node never did.</summary>
    public static long? WrittenEverywhere(IReadOnlyList<NodeWrite> writes, int version)
    {
        var perNode = writes.GroupBy(w => w.Node).Select(g => g.Where(w => w.Version >= version).Select(w => (long?)w.CompletedUnixUs).Min()).ToArray();
        return perNode.Length == 0 || perNode.Any(t => t is null) ? null : perNode.Max();
    }

    private static async Task DelayUntilAsync(DateTimeOffset instant, CancellationToken cancellationToken)
    {
        var wait = instant - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero) await Task.Delay(wait, cancellationToken);
    }
}
