using CniBench.Cli.Agents;
using CniBench.Cli.Results;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets;
using CniBench.Contracts.Measurement;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Running;

/// <summary>
/// Runs one repetition of one case on a prepared agent pair: the client job drives the workload,
/// a monitor job on the server samples its CPU and memory in the same window, both start at the
/// same wall-clock instant. Whatever happens, it returns a result with everything measured so far.
/// </summary>
public sealed class CaseRunner(RunContext run, TimeSpan? pollInterval = null)
{
    private readonly TimeSpan _poll = pollInterval ?? JobTracker.DefaultPoll;

    public async Task<CaseResult> RunAsync(
        PlannedCase plannedCase,
        int repetition,
        AgentPair agents,
        IRunObserver observer,
        CancellationToken cancellationToken
    )
    {
        var started = DateTimeOffset.UtcNow;
        var client = new JobTracker(agents.Client);
        var server = new JobTracker(agents.Server);
        var workload = plannedCase.Workload with { Target = agents.ServerDataAddress };
        int warmupMs = (int)plannedCase.Warmup.TotalMilliseconds,
            durationMs = (int)plannedCase.Duration.TotalMilliseconds;
        string? error = null;
        var state = ResultState.Ok;
        string achieved = agents.AchievedPlacement;
        Task<HostActivity.Reading>? hostBefore = null;
        IReadOnlyList<ProcessShare>? busiest = null;
        var hostMetrics = new Dictionary<string, double>();
        using var companions = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        Task? followCompanions = null;
        async Task StopFollowingCompanionsAsync()
        {
            if (followCompanions is null)
                return;
            await companions.CancelAsync();
            try
            {
                await followCompanions;
            }
            catch (Exception) { }
            followCompanions = null;
        }
        async Task CancelAllAsync()
        {
            await StopFollowingCompanionsAsync();
            foreach (var job in new[] { client, server })
                await job.CancelQuietlyAsync();
            foreach (var hook in agents.Hooks)
                await hook.CancelAsync();
        }

        try
        {
            foreach (var hook in agents.Hooks)
            {
                var check = await hook.CheckAsync(cancellationToken);
                if (check.Note is not null)
                    achieved = $"{achieved}, {check.Note}";
                if (check.Problem is not null)
                    throw new HookCheckException(check.Problem);
            }
            await server.CreateAsync(
                new JobSpec(new WorkloadSpec { Kind = WorkloadKind.Monitor }, warmupMs, durationMs),
                cancellationToken
            );
            foreach (var hook in agents.Hooks)
                await hook.CreateAsync(warmupMs, durationMs, cancellationToken);
            await client.CreateAsync(new JobSpec(workload, warmupMs, durationMs), cancellationToken);
            if (client.Status?.State == JobState.Failed)
            {
                error = client.Status.Error;
                state = ResultState.Failed;
            }
            else
            {
                long startAt = DateTimeOffset
                    .UtcNow.Add(JobTracker.StartLeadFor(2 + agents.Hooks.Sum(h => h.Jobs)))
                    .ToUnixTimeMilliseconds();
                await server.StartAsync(startAt, cancellationToken);
                foreach (var hook in agents.Hooks)
                    await hook.StartAsync(startAt, cancellationToken);
                await client.StartAsync(startAt, cancellationToken);
                // Every job is polled while the window runs: an agent abandons a job whose controller falls silent.
                followCompanions = Task.WhenAll(
                    agents
                        .Hooks.Select(h => h.FinishAsync(JobTracker.CompanionPoll, companions.Token))
                        .Append(
                            server.FollowAsync(
                                JobTracker.CompanionPoll,
                                JobTracker.SilenceLimit,
                                _ => { },
                                companions.Token
                            )
                        )
                );
                if (agents.AgentsOnThisHost)
                    hostBefore = HostActivity.ReadAtAsync(
                        DateTimeOffset.FromUnixTimeMilliseconds(startAt + warmupMs),
                        cancellationToken
                    );
                await client.FollowAsync(
                    _poll,
                    JobTracker.SilenceLimit,
                    s => observer.SampleReceived(plannedCase, s),
                    cancellationToken
                );
                if (hostBefore is not null)
                {
                    var (other, kernel, top) = HostActivity.Since(await hostBefore);
                    hostMetrics[Metrics.OtherProcessesCpuPercent] = other;
                    hostMetrics[Metrics.KernelThreadsCpuPercent] = kernel;
                    busiest = top;
                }
                // The window is over: the companions' slow polling ends, and each is asked at once, as it has
                // ended with the client's window (a poll it lost to the cancel is asked again from the same cursor).
                await StopFollowingCompanionsAsync();
                await server.FollowAsync(_poll, JobTracker.SilenceLimit, _ => { }, cancellationToken);
                foreach (var hook in agents.Hooks)
                    await hook.FinishAsync(_poll, cancellationToken);
                (state, error) = Judge(client, server);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            state = ResultState.Interrupted;
            error = "interrupted";
            await CancelAllAsync();
        }
        catch (HookCheckException e)
        {
            state = ResultState.Failed;
            error = e.Message;
        }
        catch (Exception e)
            when (e is AgentRequestException or HttpRequestException or TaskCanceledException or AgentLostException)
        {
            state = ResultState.Failed;
            error = agents.Client.DeathNotice() ?? agents.Server.DeathNotice() ?? e.Message;
            await CancelAllAsync();
        }

        var clientResult = client.Status?.Result;
        var metrics = clientResult is null
            ? new Dictionary<string, double>()
            : MetricsCalculator.Compute(workload, clientResult, client.Samples, server.Samples);
        foreach (var (name, value) in agents.TargetMetrics.Concat(hostMetrics))
            metrics[name] = value;
        foreach (var (name, value) in agents.Hooks.SelectMany(h => h.Metrics(clientResult)))
            metrics[name] = value;
        var stored = new CaseResult(
            run.RunId,
            run.Suite,
            plannedCase.Name,
            run.Config,
            repetition,
            run.Target,
            plannedCase.Placement.ToName(),
            achieved,
            plannedCase.IpFamily.ToString().ToLowerInvariant(),
            workload,
            warmupMs,
            durationMs,
            plannedCase.Parameters,
            started,
            DateTimeOffset.UtcNow,
            state,
            error,
            metrics,
            new AgentSide(agents.Client.Info.Identity.Name, client.Samples, clientResult, client.Status?.Error),
            new AgentSide(agents.Server.Info.Identity.Name, server.Samples, server.Status?.Result, server.Status?.Error)
        )
        {
            BusiestOtherProcesses = busiest,
        };
        return agents.Hooks.Aggregate(stored, (result, hook) => hook.Annotate(result));
    }

    /// <summary>A finished client job is a success only if something got through and the server side stayed
    /// up.</summary>
    private static (ResultState, string?) Judge(JobTracker client, JobTracker server)
    {
        var c = client.Status!;
        if (c.State == JobState.Failed)
            return (ResultState.Failed, $"client job failed: {c.Error}");
        if (server.Status?.State == JobState.Failed)
            return (ResultState.Failed, $"server agent job failed: {server.Status.Error}");
        var result = c.Result!;
        if (result.Transactions == 0 && result.Bytes == 0)
        {
            long errors = result.Errors.Values.Sum();
            return (
                ResultState.Failed,
                errors > 0
                    ? $"nothing got through: {errors} errors "
                        + $"({string.Join(", ", result.Errors.Select(e => $"{e.Key} {e.Value}"))}; first: "
                        + $"{result.FirstError})"
                    : $"nothing got through and no error was seen{(result.FirstError is { } why ? $": {why}" : "")}"
            );
        }
        return (ResultState.Ok, null);
    }
}

/// <summary>A hook's check before the window failed: the case is failed unmeasured.</summary>
public sealed class HookCheckException(string message) : Exception(message);

/// <summary>The labels every result of a run carries.</summary>
public sealed record RunContext(string RunId, string Suite, string Config, string Target);
