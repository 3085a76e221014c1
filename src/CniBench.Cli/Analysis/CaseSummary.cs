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

    /// <summary>How many runs the successful repetitions came from: a comparison counts drift once per run.</summary>
    public int Runs { get; init; } = 1;

    /// <summary>The figure the case is judged by first: throughput for streams, transactions/s otherwise (null
    /// when it has neither).</summary>
    public string? Headline =>
        Metrics.ContainsKey(Contracts.Measurement.Metrics.ThroughputGbps) ? Contracts.Measurement.Metrics.ThroughputGbps
        : Metrics.ContainsKey(Contracts.Measurement.Metrics.TransactionsPerSecond)
            ? Contracts.Measurement.Metrics.TransactionsPerSecond
        : null;

    /// <summary>The headline's repetitions disagree (<see cref="MetricStatistics.Unstable"/>).</summary>
    public bool Unstable => Headline is { } h && Metrics[h].Unstable;

    /// <param name="hostCores">The cores of the host the agents ran on, when they ran on the controller's (local
    /// and lab targets): CPU intervals stop at 100 × cores. Null for a cluster, whose nodes may have more.</param>
    public static IReadOnlyList<CaseSummary> From(IEnumerable<CaseResult> results, int? hostCores = null) =>
        results.GroupBy(r => (r.Suite, r.Case, r.Config)).Select(g => Summarize(g.ToList(), hostCores)).ToArray();

    /// <summary>The cores of the host every run's agents shared, or null when one ran on a cluster or did not
    /// record its host.</summary>
    public static int? HostCores(IEnumerable<RunRecord> runs)
    {
        int? cores = null;
        foreach (var run in runs)
        {
            if (
                run.Target is not ("local" or "lab")
                || !run.Environment.TryGetValue("cpu.count", out var text)
                || !int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out int n)
            )
                return null;
            cores = Math.Max(cores ?? 0, n);
        }
        return cores;
    }

    private static CaseSummary Summarize(IReadOnlyList<CaseResult> group, int? hostCores)
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
                        Contracts.Measurement.Metrics.Describe(name).NonNegative,
                        Contracts.Measurement.Metrics.Describe(name).UpperBound(hostCores)
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
            Describe(first.Workload),
            group.Count,
            group.Count - ok.Count,
            group.Where(r => r.Error is not null).Select(r => $"repetition {r.Repetition}: {r.Error}").ToArray(),
            metrics,
            percentiles,
            merged.Count
        )
        {
            RepetitionPercentiles = perRepetition,
            Runs = ok.Select(r => r.RunId).Distinct().Count(),
        };
    }

    /// <summary>"tcp-crr, close: reset": the workload, and for connect-rate ones how each connection ended, which
    /// decides whether the run left TIME_WAIT behind.</summary>
    private static string Describe(Contracts.Workloads.WorkloadSpec workload) =>
        Contracts.Workloads.WorkloadCatalog.Of(workload.Kind).ConnectionPerTransaction
            ? $"{Contracts.Workloads.WorkloadNames.ToName(workload.Kind)}, close: "
                + $"{workload.Close.ToString().ToLowerInvariant()}"
            : Contracts.Workloads.WorkloadNames.ToName(workload.Kind);

    /// <summary>Catalogue order, so every report lists metrics the same way.</summary>
    private static int MetricOrder(string name)
    {
        int i = Contracts.Measurement.Metrics.All.Select(m => m.Name).ToList().IndexOf(name);
        return i < 0 ? int.MaxValue : i;
    }
}
