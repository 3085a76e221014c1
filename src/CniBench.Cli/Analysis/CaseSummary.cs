using CniBench.Cli.Results;
using CniBench.Contracts.Measurement;

namespace CniBench.Cli.Analysis;

/// <summary>
/// One case (and configuration) over its repetitions: statistics per metric over the successful
/// repetitions, and latency percentiles from the histograms of all of them merged — per-repetition
/// percentiles stay in each stored result but are never averaged here.
/// </summary>
public sealed record CaseSummary(
    string Suite,
    string Case,
    string Config,
    string Workload,
    int Repetitions,
    int Failed,
    IReadOnlyList<string> FailureReasons,
    IReadOnlyDictionary<string, MetricStatistics> Metrics,
    IReadOnlyDictionary<string, double> MergedLatencyUs,
    long MergedLatencyCount
)
{
    /// <summary>
    /// p50 and p99 of each repetition's own histogram (all its agents merged), as statistics over the
    /// repetitions: what a comparison tests (never averaged into the case's percentiles above).
    /// </summary>
    public IReadOnlyDictionary<string, MetricStatistics> RepetitionPercentiles { get; init; } =
        new Dictionary<string, MetricStatistics>();

    public static readonly (string Metric, double Quantile)[] ComparedPercentiles =
    [
        (Contracts.Measurement.Metrics.LatencyP50Us, 0.50),
        (Contracts.Measurement.Metrics.LatencyP99Us, 0.99),
    ];

    public static readonly (string Label, double Quantile)[] Percentiles =
    [
        ("p50", 0.50),
        ("p90", 0.90),
        ("p99", 0.99),
        ("p99.9", 0.999),
    ];

    public static IReadOnlyList<CaseSummary> From(IEnumerable<CaseResult> results) =>
        results.GroupBy(r => (r.Suite, r.Case, r.Config)).Select(g => Summarize(g.ToList())).ToArray();

    private static CaseSummary Summarize(IReadOnlyList<CaseResult> group)
    {
        var ok = group.Where(r => r.State == ResultState.Ok).ToList();
        var metrics = ok.SelectMany(r => r.Metrics.Keys)
            .Distinct()
            .Where(name => !Contracts.Measurement.Metrics.Describe(name).IsPercentile)
            .OrderBy(MetricOrder)
            .ToDictionary(
                name => name,
                name =>
                    MetricStatistics.Of(
                        ok.Where(r => r.Metrics.ContainsKey(name))
                            .Select(r => (r.Repetition, r.Metrics[name]))
                            .ToArray(),
                        Contracts.Measurement.Metrics.Describe(name).NonNegative
                    )
            );
        var merged = new LatencyHistogram();
        foreach (var r in ok)
            if (r.Client.Result is { } result)
                merged.Add(result.Latency);
        var percentiles =
            merged.Count == 0
                ? new Dictionary<string, double>()
                : Percentiles.ToDictionary(p => p.Label, p => merged.ValueAtQuantile(p.Quantile) / 1000);
        var withLatency = ok.Where(r => r.Client.Result is { Latency.Count: > 0 }).ToArray();
        var perRepetition =
            withLatency.Length == 0
                ? new Dictionary<string, MetricStatistics>()
                : ComparedPercentiles.ToDictionary(
                    p => p.Metric,
                    p =>
                        MetricStatistics.Of(
                            withLatency
                                .Select(r =>
                                    (
                                        r.Repetition,
                                        LatencyHistogram
                                            .FromSnapshot(r.Client.Result!.Latency)
                                            .ValueAtQuantile(p.Quantile) / 1000
                                    )
                                )
                                .ToArray(),
                            nonNegative: true
                        )
                );
        var first = group[0];
        return new CaseSummary(
            first.Suite,
            first.Case,
            first.Config,
            Contracts.Workloads.WorkloadNames.ToName(first.Workload.Kind),
            group.Count,
            group.Count - ok.Count,
            group.Where(r => r.Error is not null).Select(r => $"repetition {r.Repetition}: {r.Error}").ToArray(),
            metrics,
            percentiles,
            merged.Count
        )
        {
            RepetitionPercentiles = perRepetition,
        };
    }

    /// <summary>Catalogue order, so every report lists metrics the same way.</summary>
    private static int MetricOrder(string name)
    {
        int i = Contracts.Measurement.Metrics.All.Select(m => m.Name).ToList().IndexOf(name);
        return i < 0 ? int.MaxValue : i;
    }
}
