using CniBench.Cli.Agents;
using CniBench.Contracts.Protocol;

namespace CniBench.Cli.Targets.Kube;

/// <summary>
/// Waits, with the node samplers, until the processes that program the dataplane (kube-proxy and the CNI's node
/// agents) on the case's nodes are back near idle: after thousands of Services are made the proxies go on rewriting
/// rules for many seconds after the newest Service answers, and a case measured then measures that work too.
/// Each look is a one-second monitor window on every sampler.
/// </summary>
public static class DataplaneQuiet
{
    /// <summary>Near idle: every node's dataplane processes together under a tenth of a core.</summary>
    public const double QuietPercent = 10;
    public static readonly TimeSpan Limit = TimeSpan.FromSeconds(120);
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(1);

    /// <summary>How long the wait took (ms), whether it ended quiet, and the busiest node's last reading (percent of
    /// one core).</summary>
    public sealed record Outcome(double WaitedMs, bool Quiet, double LastPercent);

    public static async Task<Outcome> WaitAsync(
        IReadOnlyList<NodeSampler> samplers,
        CancellationToken cancellationToken
    )
    {
        long started = System.Diagnostics.Stopwatch.GetTimestamp();
        double busiest;
        bool quiet;
        do
        {
            busiest = (await Task.WhenAll(samplers.Select(s => ReadAsync(s.Agent, cancellationToken))))
                .DefaultIfEmpty(0)
                .Max();
            quiet = busiest < QuietPercent;
        } while (!quiet && System.Diagnostics.Stopwatch.GetElapsedTime(started) < Limit);
        return new Outcome(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds, quiet, busiest);
    }

    /// <summary>The dataplane processes' CPU on one node over one window (percent of one core).</summary>
    private static async Task<double> ReadAsync(AgentHandle sampler, CancellationToken cancellationToken)
    {
        var job = new JobTracker(sampler);
        try
        {
            await job.CreateAsync(
                new JobSpec(NodeSampler.Monitor, 0, (int)Window.TotalMilliseconds),
                cancellationToken
            );
            await job.StartAsync(0, cancellationToken);
            await job.FollowAsync(TimeSpan.FromMilliseconds(200), JobTracker.SilenceLimit, _ => { }, cancellationToken);
            return job.Status?.Result?.Node?.ProcessCpuPercent.Values.Sum()
                ?? throw new TargetException(
                    $"kube: the node sampler {sampler.Info.Identity.Name} gave no process figures: "
                        + $"{job.Status?.Error ?? "no result"}"
                );
        }
        catch (OperationCanceledException)
        {
            await job.CancelQuietlyAsync();
            throw;
        }
    }
}
