using CniBench.Cli.Agents;
using CniBench.Cli.Results;
using CniBench.Cli.Running;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets;
using CniBench.Contracts.Protocol;

namespace CniBench.Cli.Features.Convergence;

/// <summary>
/// One repetition of a convergence case: every node's prober starts at the same instant; after a lead
/// second the target makes its endpoint changes; once they have settled and a tail has passed the probers
/// are finished, and their first and last sightings of every endpoint give each change's latency per node.
/// </summary>
public sealed class ConvergenceRunner(RunContext run, TimeSpan? pollInterval = null)
{
    private static readonly TimeSpan Lead = TimeSpan.FromSeconds(1);
    private readonly TimeSpan _poll = pollInterval ?? JobTracker.DefaultPoll;

    public async Task<CaseResult> RunAsync(
        PlannedCase plannedCase,
        int repetition,
        IEndpointChurn churn,
        IRunObserver observer,
        CancellationToken cancellationToken
    )
    {
        var started = DateTimeOffset.UtcNow;
        var window = Lead + churn.Budget + churn.Tail;
        var workload = plannedCase.Workload with { Target = churn.ServiceAddress };
        var trackers = churn.Probers.Select(p => (Prober: p, Job: new JobTracker(p.Agent))).ToArray();
        var record = new ChurnRecord([], []);
        var state = ResultState.Ok;
        string? error = null;
        try
        {
            foreach (var t in trackers)
                await t.Job.CreateAsync(new JobSpec(workload, 0, (int)window.TotalMilliseconds), cancellationToken);
            var startAt = DateTimeOffset.UtcNow.Add(JobTracker.StartLead);
            foreach (var t in trackers)
                await t.Job.StartAsync(startAt.ToUnixTimeMilliseconds(), cancellationToken);
            var follow = trackers
                .Select(
                    (t, i) =>
                        t.Job.FollowAsync(
                            _poll,
                            JobTracker.SilenceLimit,
                            s =>
                            {
                                if (i == 0)
                                    observer.SampleReceived(plannedCase, s);
                            },
                            cancellationToken
                        )
                )
                .ToArray();

            record = await churn.DriveAsync(startAt + Lead, cancellationToken);
            await Task.Delay(churn.Tail, cancellationToken);
            foreach (var t in trackers)
                await t.Job.FinishAsync(cancellationToken);
            await Task.WhenAll(follow);
            var failed = trackers.FirstOrDefault(t => t.Job.Status?.State == JobState.Failed);
            if (failed.Job is not null)
                (state, error) = (
                    ResultState.Failed,
                    $"prober on {failed.Prober.Node} failed: {failed.Job.Status!.Error}"
                );
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            (state, error) = (ResultState.Interrupted, "interrupted");
            foreach (var t in trackers)
                await t.Job.CancelQuietlyAsync();
        }
        catch (Exception e)
            when (e
                    is AgentRequestException
                        or HttpRequestException
                        or TaskCanceledException
                        or AgentLostException
                        or CniBench.Cli.Targets.Lab.Network.LabException
                        or TargetException
            )
        {
            (state, error) = (
                ResultState.Failed,
                trackers.Select(t => t.Prober.Agent.DeathNotice()).FirstOrDefault(d => d is not null) ?? e.Message
            );
            foreach (var t in trackers)
                await t.Job.CancelQuietlyAsync();
        }

        // Sightings are stamped by each prober's clock: moved onto the controller's, which stamped the changes.
        var probes = trackers
            .Where(t => t.Job.Status?.Result?.Probe is not null)
            .Select(t =>
                (
                    t.Prober.Node,
                    Shift(t.Job.Status!.Result!.Probe!, t.Prober.CorrectionUs),
                    t.Job.Status.Result.MeasuredSeconds
                )
            )
            .ToArray();
        var data = ConvergenceCalculator.Compute(record.Changes, probes) with
        {
            Writes = record.Writes,
            Actions = record.Actions,
            Clocks = churn
                .Probers.Where(p => p.ClockUncertaintyUs > 0)
                .Select(p => new ProberClock(
                    p.Node,
                    p.ClockOffsetUs / 1000.0,
                    p.ClockUncertaintyUs / 1000.0,
                    p.CorrectionUs / 1000.0
                ))
                .ToArray(),
        };
        var metrics = ConvergenceCalculator.MetricsOf(data);
        var first = trackers[0];
        if (state == ResultState.Ok && metrics[Contracts.Measurement.Metrics.ConvergenceUnreached] > 0)
            (state, error) = (
                ResultState.Failed,
                $"{metrics[Contracts.Measurement.Metrics.ConvergenceUnreached]} (change, node) pairs never reached "
                    + $"their new endpoint within {churn.Tail.TotalSeconds:0}s of the last change: "
                    + string.Join(
                        ", ",
                        ConvergenceCalculator
                            .Missed(data)
                            .Where(m => !m.Withdrawn)
                            .Take(5)
                            .Select(m => $"change {m.Change} on {m.Node}")
                    )
            );
        return new CaseResult(
            run.RunId,
            run.Suite,
            plannedCase.Name,
            run.Config,
            repetition,
            run.Target,
            plannedCase.Placement.ToName(),
            plannedCase.Placement.ToName(),
            plannedCase.IpFamily.ToString().ToLowerInvariant(),
            workload,
            0,
            (int)window.TotalMilliseconds,
            plannedCase.Parameters,
            started,
            DateTimeOffset.UtcNow,
            state,
            error,
            metrics,
            new AgentSide(
                first.Prober.Agent.Info.Identity.Name,
                first.Job.Samples,
                first.Job.Status?.Result,
                first.Job.Status?.Error
            ),
            null
        ).WithExtension(ConvergenceFeature.Key, data);
    }

    /// <summary>A prober's sightings on the controller's clock (offset = prober minus controller).</summary>
    public static ProbeTotals Shift(ProbeTotals probe, long offsetUs) =>
        offsetUs == 0
            ? probe
            : new ProbeTotals(
                probe.Backends.ToDictionary(
                    b => b.Key,
                    b =>
                        b.Value with
                        {
                            FirstUnixUs = b.Value.FirstUnixUs - offsetUs,
                            LastUnixUs = b.Value.LastUnixUs - offsetUs,
                        }
                ),
                probe.Failures.Select(f => f with { AtUnixUs = f.AtUnixUs - offsetUs }).ToArray(),
                probe.FailuresNotListed
            );
}
