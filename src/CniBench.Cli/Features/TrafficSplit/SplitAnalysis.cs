using CniBench.Contracts.Measurement;
using CniBench.Contracts.Protocol;

namespace CniBench.Cli.Features.TrafficSplit;

/// <summary>
/// How well a weighted route kept its split (traffic-split suite): the second backend's share of all answers
/// in each 5-second window of the measured phase, and how far that stays from the configured share.
/// </summary>
public static class SplitAnalysis
{
    /// <summary>A window's start (seconds into the measured phase) and the backend's share of its answers, in
    /// percent.</summary>
    public static IReadOnlyList<(double StartSeconds, double SharePercent)> Shares(JobResult client, string backend) =>
        (client.BackendWindows ?? [])
            .Select(
                (window, i) =>
                    (
                        Start: (double)i * JobResult.BackendWindowSeconds,
                        Total: window.Values.Sum(),
                        Mine: window.GetValueOrDefault(backend)
                    )
            )
            .Where(w => w.Total > 0)
            .Select(w => (w.Start, 100.0 * w.Mine / w.Total))
            .ToArray();

    public static Dictionary<string, double> MetricsOf(JobResult client, string backend, SplitWeights weights)
    {
        var m = new Dictionary<string, double>();
        long total = client.Backends.Values.Sum();
        if (total == 0)
            return m;
        m[Metrics.SplitSharePercent] = 100.0 * client.Backends.GetValueOrDefault(backend) / total;
        var shares = Shares(client, backend);
        if (shares.Count > 0)
            m[Metrics.SplitDistancePercent] = shares.Average(w => Math.Abs(w.SharePercent - weights.SharePercentB));
        return m;
    }
}
