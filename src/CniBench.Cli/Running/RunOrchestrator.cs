using CniBench.Cli.Ownership;
using CniBench.Cli.Results;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Storage;
using CniBench.Cli.Targets;

namespace CniBench.Cli.Running;

/// <summary>The database refused a result mid-run: the run ends failed, what it measured is kept in a file.</summary>
public sealed class ResultsNotStoredException(string message) : Exception(message);

public sealed record RunOutcome(RunRecord Run, IReadOnlyList<CaseResult> Results)
{
    public RunState State => Run.State;
}

/// <summary>
/// Runs every case and repetition of a scenario on a target, storing each result as soon as it
/// exists. On interruption the case in progress is stored as interrupted and the run is marked so.
/// </summary>
public sealed class RunOrchestrator(
    ITarget target,
    ResultStore store,
    IRunObserver observer,
    TimeSpan? pollInterval = null
)
{
    public static string NewRunId(DateTimeOffset now) =>
        $"{now.UtcDateTime:yyyyMMdd-HHmmss}-"
        + $"{Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(2)).ToLowerInvariant()}";

    public async Task<RunOutcome> RunAsync(
        Scenario scenario,
        string config,
        IReadOnlyDictionary<string, string> environment,
        CancellationToken cancellationToken
    )
    {
        if (
            target is not FeatureTarget
            && scenario.Cases.FirstOrDefault(c => c.FeatureOptions.Count > 0) is { } featured
        )
            throw new TargetException(
                $"case {featured.Name} uses {string.Join(", ", featured.FeatureOptions.Keys)}: run it on a target "
                    + "with the suite features on top (FeatureTarget)"
            );
        var run = new RunRecord(
            NewRunId(DateTimeOffset.UtcNow),
            scenario.Name,
            target.Name,
            config,
            DateTimeOffset.UtcNow,
            null,
            RunState.Running,
            environment,
            scenario.Text,
            Ownership.ProcessOwner.Current()
        );
        try
        {
            store.CreateRun(run);
        }
        catch (System.Data.Common.DbException e)
        {
            throw new StoreException($"{store.Name}: cannot record the run: {e.Message}");
        }
        UnsavedResults? unsaved = null;
        using var stopHeartbeat = new CancellationTokenSource();
        var heartbeat = HeartbeatAsync(run.Id, stopHeartbeat.Token);
        var context = new RunContext(run.Id, scenario.Name, config, target.Name);
        var runner = new CaseRunner(context, pollInterval);
        var results = new List<CaseResult>();
        var state = RunState.Completed;
        string? error = null;
        int total = scenario.TotalRuns,
            index = 0;
        try
        {
            foreach (var plannedCase in scenario.Cases)
            {
                for (int repetition = 1; repetition <= plannedCase.Repetitions; repetition++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    index++;
                    observer.CaseStarted(plannedCase, repetition, index, total);
                    CaseResult result;
                    if ((target as FeatureTarget)?.RunnerFor(plannedCase) is { } feature)
                        result = await feature.RunAsync(
                            target.Infrastructure!,
                            context,
                            plannedCase,
                            repetition,
                            observer,
                            pollInterval,
                            cancellationToken
                        );
                    else
                    {
                        var agents = await target.PrepareAsync(plannedCase, cancellationToken);
                        double cooled = await CooldownWait.WaitAsync(
                            agents,
                            plannedCase.Cooldown ?? Cooldown.Auto,
                            status => observer.Waiting(plannedCase, status),
                            cancellationToken
                        );
                        if (cooled > 0)
                            agents = agents with
                            {
                                TargetMetrics = new Dictionary<string, double>(agents.TargetMetrics)
                                {
                                    [Contracts.Measurement.Metrics.CooldownSeconds] = cooled,
                                },
                            };
                        result = await runner.RunAsync(plannedCase, repetition, agents, observer, cancellationToken);
                    }
                    results.Add(result);
                    try
                    {
                        store.SaveResult(result);
                    }
                    catch (Exception e)
                        when (e is System.Data.Common.DbException or IOException or InvalidOperationException)
                    {
                        // The database refused it (read-only, full, gone): keep it in a file, and end the run, which
                        // cannot be called completed with results missing from its database.
                        unsaved = new UnsavedResults(store.FallbackDirectory, run);
                        unsaved.Add(result);
                        observer.CaseFinished(result, index, total);
                        throw new ResultsNotStoredException($"{store.Name}: could not store a result ({e.Message})");
                    }
                    observer.CaseFinished(result, index, total);
                    if (result.State == ResultState.Interrupted)
                        throw new OperationCanceledException(cancellationToken);
                    if (result.State == ResultState.Failed)
                        state = RunState.Failed;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            state = RunState.Interrupted;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Whatever went wrong (a target, a bug, the store), the run did not complete: it says so, with why.
            state = RunState.Failed;
            error = e.Message;
            throw;
        }
        finally
        {
            await stopHeartbeat.CancelAsync();
            await heartbeat;
            var finished = DateTimeOffset.UtcNow;
            run = run with { State = state, FinishedAt = finished, Error = error };
            try
            {
                store.FinishRun(run.Id, state, finished, error);
            }
            catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException)
            {
                unsaved ??= new UnsavedResults(store.FallbackDirectory, run);
            }
            if (unsaved is not null)
            {
                unsaved.Finish(run);
                // Say where the results are, whatever else is being reported.
                Console.Error.WriteLine(
                    $"cnibench: {unsaved.Count} result(s) and the run's final state are kept in {unsaved.Path}; "
                        + $"'cnibench runs import {unsaved.Path}' puts them into a database"
                );
            }
        }
        return new RunOutcome(run, results);
    }

    /// <summary>Tells readers of the store that this controller is alive, until the run ends.</summary>
    private async Task HeartbeatAsync(string runId, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(ControllerProcess.HeartbeatInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                // A missed beat only makes the run look abandoned sooner; the run itself goes on.
                try
                {
                    store.Heartbeat(runId, DateTimeOffset.UtcNow);
                }
                catch (System.Data.Common.DbException) { }
            }
        }
        catch (OperationCanceledException) { }
    }
}
