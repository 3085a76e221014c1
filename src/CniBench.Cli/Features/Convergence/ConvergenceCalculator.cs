using CniBench.Contracts.Measurement;
using CniBench.Contracts.Protocol;

namespace CniBench.Cli.Features.Convergence;

/// <summary>Turns the changes and what every node's prober saw into per-change, per-node latencies.</summary>
public static class ConvergenceCalculator
{
    public static ConvergenceData Compute(
        IReadOnlyList<EndpointChange> changes,
        IReadOnlyList<(string Node, ProbeTotals Probe, double Seconds)> probers
    )
    {
        long firstIssue = changes.Count > 0 ? changes[0].IssuedUnixUs : long.MaxValue;
        var nodes = probers
            .Select(p =>
            {
                double? Since(long issued, long? at) => at is long t && t >= issued ? (t - issued) / 1000.0 : null;
                // A new endpoint's address was never used before its change, so any sighting proves the change arrived.
                // Probes are stamped when they start: one started just before a sub-millisecond write (ebpf) may
                // connect after it, so a first sighting a little before the issue counts as 0 ms.
                var reached = changes
                    .Select(c =>
                        c.Added is not null && p.Probe.Backends.TryGetValue(c.Added, out var seen)
                            ? Math.Max(0, (seen.FirstUnixUs - c.IssuedUnixUs) / 1000.0)
                            : (double?)null
                    )
                    .ToArray();
                var stale = changes
                    .Select(c =>
                        c.Removed is not null && p.Probe.Backends.TryGetValue(c.Removed, out var seen)
                            ? Since(c.IssuedUnixUs, seen.LastUnixUs)
                            : null
                    )
                    .ToArray();
                long failures = p.Probe.Failures.Count(f => f.AtUnixUs >= firstIssue) + p.Probe.FailuresNotListed;
                long probes =
                    p.Probe.Backends.Values.Sum(b => b.Count) + p.Probe.Failures.Count + p.Probe.FailuresNotListed;
                return new NodeConvergence(p.Node, reached, stale, failures, p.Seconds > 0 ? probes / p.Seconds : 0);
            })
            .ToArray();
        return new ConvergenceData(changes, nodes);
    }

    /// <summary>The case's metrics: percentiles of every (change, node) latency, changes never reached, failures during
    /// churn.</summary>
    public static Dictionary<string, double> MetricsOf(ConvergenceData data)
    {
        var reached = data.Nodes.SelectMany(n => n.ReachedMs).OfType<double>().Order().ToArray();
        // A removal has nothing new to reach; an endpoint removed again before a node reached it (a cluster's rollout
        // deletes the newest pods first) is a measurement cut short, not a dataplane that never got there.
        var missed = Missed(data).ToArray();
        var m = new Dictionary<string, double>
        {
            [Metrics.ConvergenceUnreached] = missed.Count(p => !p.Withdrawn),
            [Metrics.ConvergenceWithdrawn] = missed.Count(p => p.Withdrawn),
            [Metrics.ChurnFailures] = data.Nodes.Sum(n => n.Failures),
        };
        if (reached.Length > 0)
        {
            m[Metrics.ConvergenceP50Ms] = Quantile(reached, 0.50);
            m[Metrics.ConvergenceP99Ms] = Quantile(reached, 0.99);
            m[Metrics.ConvergenceMaxMs] = reached[^1];
        }
        var stale = data.Nodes.SelectMany(n => n.StaleMs).OfType<double>().ToArray();
        if (stale.Length > 0)
            m[Metrics.ConvergenceStaleMaxMs] = stale.Max();
        var writes = data
            .Changes.Where(c => c.WrittenUnixUs is not null)
            .Select(c => (c.WrittenUnixUs!.Value - c.IssuedUnixUs) / 1000.0)
            .ToArray();
        if (writes.Length > 0)
            m[Metrics.ConvergenceWriteMs] = writes.Average();
        return m;
    }

    /// <summary>Every (node, added endpoint) pair without a sighting, and whether a later change removed that
    /// endpoint.</summary>
    public static IEnumerable<(string Node, int Change, bool Withdrawn)> Missed(ConvergenceData data) =>
        data
            .Nodes.SelectMany(n =>
                n.ReachedMs.Select((reached, i) => (n.Node, Reached: reached, Change: data.Changes[i]))
            )
            .Where(p => p.Reached is null && p.Change.Added is not null)
            .Select(p =>
                (p.Node, p.Change.Index, data.Changes.Any(c => c.Index > p.Change.Index && c.Removed == p.Change.Added))
            );

    /// <summary>Nearest-rank quantile of sorted values (no interpolation: every value reported was measured).</summary>
    public static double Quantile(IReadOnlyList<double> sorted, double q) =>
        sorted[Math.Clamp((int)Math.Ceiling(q * sorted.Count) - 1, 0, sorted.Count - 1)];
}
