using CniBench.Cli.Agents;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Targets;

/// <summary>A prober job on a client agent, sending HTTP to a Service until it answers (or a bound
/// passes).</summary>
public static class ServiceProbe
{
    public static readonly TimeSpan ReachTimeout = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Waits until <paramref name="target"/>, a Service's address, answers the client, so that a case never starts
    /// while the client node's proxy is still programming it; returns how long that took (ms).
    /// </summary>
    public static async Task<double> WaitUntilAnswersAsync(
        string site,
        AgentHandle client,
        string target,
        string what,
        CancellationToken cancellationToken
    )
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        var probe = WorkloadDefaults.For(WorkloadKind.Probe) with { Rate = 100, TimeoutMs = 200, Target = target };
        var job = await StartAsync(client, probe, cancellationToken);
        try
        {
            if (!await job.FollowUntilAsync(s => s.Transactions > 0, cancellationToken))
                throw new TargetException(
                    $"{site}: {what} ({target}) did not answer the client pod within {ReachTimeout.TotalSeconds:0}s: "
                        + "the client node's proxy has not programmed it"
                        + (job.Status?.Error is { } e ? $" ({e})" : "")
                );
        }
        finally
        {
            await job.CancelQuietlyAsync();
        }
        return System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds;
    }

    /// <summary>A prober job started at once, for at most <see cref="ReachTimeout"/>.</summary>
    public static async Task<JobTracker> StartAsync(
        AgentHandle client,
        WorkloadSpec probe,
        CancellationToken cancellationToken
    )
    {
        var job = new JobTracker(client);
        await job.CreateAsync(new JobSpec(probe, 0, (int)ReachTimeout.TotalMilliseconds), cancellationToken);
        await job.StartAsync(0, cancellationToken);
        return job;
    }
}
