using System.Globalization;
using CniBench.Contracts.Measurement;
using MathNet.Numerics.Distributions;

namespace CniBench.Cli.Analysis;

[System.Text.Json.Serialization.JsonConverter(typeof(CniBench.Contracts.Json.KebabEnumConverter<Verdict>))]
public enum Verdict
{
    Improvement,
    Regression,
    NoChange,
    Inconclusive,
}

/// <summary>One metric of one case, baseline against candidate, judged by a Welch t-test and the metric's
/// direction. <see cref="Reason"/> says why a verdict is inconclusive.</summary>
public sealed record MetricComparison(
    string Case,
    string Metric,
    MetricStatistics Baseline,
    MetricStatistics Candidate,
    double DeltaPercent,
    string Change,
    double PValue,
    bool Significant,
    Verdict Verdict
)
{
    public string? Reason { get; init; }
}

/// <summary>
/// How far one run's mean wanders from another's on the same code and machine, as a relative standard deviation
/// per run, and how many runs each side pooled (drift averages out over runs, as the repetitions' noise does over
/// repetitions).
/// </summary>
public sealed record RunDrift(double Percent, int BaselineRuns = 1, int CandidateRuns = 1)
{
    public static readonly RunDrift None = new(0);

    /// <summary>The variance drift adds to the difference of the means: relative for values, absolute for
    /// logarithms.</summary>
    public double Variance(double baselineMean, double candidateMean, bool logScale)
    {
        double d = Percent / 100;
        if (logScale)
        {
            double log = Math.Log(1 + d);
            return log * log * (1.0 / BaselineRuns + 1.0 / CandidateRuns);
        }
        double b = d * baselineMean,
            c = d * candidateMean;
        return b * b / BaselineRuns + c * c / CandidateRuns;
    }
}

/// <summary>
/// Compares two sets of results case by case, on the metrics that describe the system under test
/// (<see cref="MetricRole.Performance"/>); environment metrics are listed apart, never judged. A change is a
/// regression or an improvement only when it is larger than the threshold and significant (Welch's t-test,
/// p &lt; alpha) once run-to-run drift is counted: repetitions inside one run share the machine's state of the
/// moment, so two runs minutes apart differ by more than their repetitions do, and a test on the repetitions
/// alone calls that drift a change. The test adds a drift of <see cref="DefaultDriftPercent"/> (a relative
/// standard deviation per run, divided by the runs each side pooled) to the repetitions' variance; a change the
/// repetitions alone would call but drift could explain is <see cref="Verdict.Inconclusive"/>, with the reason.
/// With fewer than two repetitions on a side there is no test to run and the verdict is inconclusive; so it is when
/// other processes kept the machine busy on either side. Latency
/// percentiles (each repetition's p50 and p99) are compared on their logarithms: they are positive and skewed,
/// and what matters of them is the ratio.
/// </summary>
public static class Comparison
{
    /// <summary>"3 regressions, 5 improvements, 10 no change, 2 inconclusive": the last line of every compare
    /// output.</summary>
    public static string VerdictLine(IReadOnlyList<MetricComparison> comparisons)
    {
        int Count(Verdict v) => comparisons.Count(c => c.Verdict == v);
        static string Plural(int n, string one, string many) => $"{n} {(n == 1 ? one : many)}";
        return $"{Plural(Count(Verdict.Regression), "regression", "regressions")}, "
            + $"{Plural(Count(Verdict.Improvement), "improvement", "improvements")}, "
            + $"{Count(Verdict.NoChange)} no change, {Count(Verdict.Inconclusive)} inconclusive";
    }

    public const double Alpha = 0.05;

    /// <summary>Run-to-run drift assumed when none is given: on a shared 2-core VM, pairs of runs of the same code
    /// minutes apart differed by up to 16% in rates with every repetition agreeing (the machine drifts 10–30%
    /// within the hour), which a 10% standard deviation per run covers at 95%.</summary>
    public const double DefaultDriftPercent = 10;

    /// <summary>The judged comparisons: performance metrics and the latency percentiles of every common case, with
    /// the verdicts held to the whole table (<see cref="FamilyWise"/>).</summary>
    public static IReadOnlyList<MetricComparison> Compare(
        IReadOnlyList<CaseSummary> baseline,
        IReadOnlyList<CaseSummary> candidate,
        double thresholdPercent,
        double driftPercent = DefaultDriftPercent
    ) => FamilyWise(Pairs(baseline, candidate, MetricRole.Performance, thresholdPercent, driftPercent));

    /// <summary>
    /// A compare asks one question of every metric of every case: at 5% each, twenty of them would call one change
    /// in two A/A runs out of three. Holm's step-down keeps the chance of any false verdict in the whole table at
    /// <see cref="Alpha"/>: the smallest p-value must pass alpha/m, the next alpha/(m−1), and so on until one fails.
    /// A verdict that passes alone but not among the others is inconclusive, with the reason; m counts the metrics
    /// that moved (a zero on both sides is no question).
    /// </summary>
    public static IReadOnlyList<MetricComparison> FamilyWise(IReadOnlyList<MetricComparison> comparisons)
    {
        var asked = comparisons
            .Select((c, index) => (c, index))
            .Where(x => !double.IsNaN(x.c.PValue) && x.c.DeltaPercent != 0)
            .OrderBy(x => x.c.PValue)
            .ToArray();
        var judged = comparisons.ToArray();
        bool passing = true;
        for (int rank = 0; rank < asked.Length; rank++)
        {
            var (c, index) = asked[rank];
            double bound = Alpha / (asked.Length - rank);
            passing &= c.PValue < bound;
            if (passing || c.Verdict is not (Verdict.Regression or Verdict.Improvement))
                continue;
            judged[index] = c with
            {
                Verdict = Verdict.Inconclusive,
                Reason =
                    $"p {c.PValue.ToString("0.###", CultureInfo.InvariantCulture)} alone, but {asked.Length} metrics "
                    + "were compared: among them it needed p < "
                    + $"{bound.ToString("0.####", CultureInfo.InvariantCulture)} (Holm); more repetitions, or "
                    + "more runs under each label, can separate it",
            };
        }
        return judged;
    }

    /// <summary>Environment metrics that differed beyond the threshold (and beyond the repetitions' noise): shown
    /// beside the verdicts so a reader knows the two sides did not run in the same conditions.</summary>
    public static IReadOnlyList<MetricComparison> EnvironmentDifferences(
        IReadOnlyList<CaseSummary> baseline,
        IReadOnlyList<CaseSummary> candidate,
        double thresholdPercent
    ) =>
        Pairs(baseline, candidate, MetricRole.Environment, thresholdPercent, 0)
            .Where(c => Math.Abs(c.DeltaPercent) > thresholdPercent && c.PValue < Alpha)
            .ToArray();

    private static List<MetricComparison> Pairs(
        IReadOnlyList<CaseSummary> baseline,
        IReadOnlyList<CaseSummary> candidate,
        MetricRole role,
        double thresholdPercent,
        double driftPercent
    )
    {
        var comparisons = new List<MetricComparison>();
        foreach (var b in baseline)
        {
            var c = candidate.FirstOrDefault(x => x.Case == b.Case);
            if (c is null)
                continue;
            var drift = new RunDrift(driftPercent, Math.Max(1, b.Runs), Math.Max(1, c.Runs));
            var ofCase = new List<MetricComparison>();
            foreach (var (metric, bs) in b.Metrics)
            {
                if (Metrics.Describe(metric).Role != role || !c.Metrics.TryGetValue(metric, out var cs))
                    continue;
                ofCase.Add(CompareOne(b.Case, metric, bs, cs, thresholdPercent, drift: drift));
            }
            if (role == MetricRole.Performance)
            {
                foreach (var (metric, bs) in b.RepetitionPercentiles)
                    if (c.RepetitionPercentiles.TryGetValue(metric, out var cs))
                        ofCase.Add(CompareOne(b.Case, metric, bs, cs, thresholdPercent, logScale: true, drift));
                if (Busy(b, c) is { } busy)
                    ofCase = ofCase
                        .Select(m =>
                            m.Verdict is Verdict.Regression or Verdict.Improvement
                                ? m with
                                {
                                    Verdict = Verdict.Inconclusive,
                                    Reason = busy,
                                }
                                : m
                        )
                        .ToList();
            }
            comparisons.AddRange(ofCase);
        }
        return comparisons;
    }

    /// <summary>
    /// Other processes took the machine in a window (the run's "machine busy" warning): the agents got what was left,
    /// and how much that was changes from one minute to the next, so a difference between the sides may be theirs.
    /// Only runs whose agents share the controller's host measure it (local, lab).
    /// </summary>
    private static string? Busy(CaseSummary baseline, CaseSummary candidate)
    {
        double? b = BusyHost.OthersMost(baseline),
            c = BusyHost.OthersMost(candidate);
        if (b is null && c is null)
            return null;
        string sides =
            b is not null && c is not null ? "both sides"
            : b is not null ? "the baseline"
            : "the candidate";
        return $"the machine was busy on {sides} (other processes up to "
            + $"{Math.Max(b ?? 0, c ?? 0).ToString("0", CultureInfo.InvariantCulture)}% of a core): a difference "
            + "may be theirs; quiet the machine and run again";
    }

    public static MetricComparison CompareOne(
        string caseName,
        string metric,
        MetricStatistics b,
        MetricStatistics c,
        double thresholdPercent,
        bool logScale = false,
        RunDrift? drift = null
    )
    {
        var direction = Metrics.Describe(metric).Direction;
        double delta =
            b.Mean == 0
                ? (c.Mean == 0 ? 0 : double.PositiveInfinity * Math.Sign(c.Mean))
                : 100 * (c.Mean - b.Mean) / Math.Abs(b.Mean);
        string change =
            delta == 0 || direction == Direction.Neutral ? "same"
            : (delta > 0) == (direction == Direction.HigherIsBetter) ? "better"
            : "worse";
        double driftVariance = (drift ?? RunDrift.None).Variance(b.Mean, c.Mean, logScale);
        double p = PValue(b, c, logScale, driftVariance);
        bool significant = p < Alpha;
        bool beyondThreshold = Math.Abs(delta) > thresholdPercent && change != "same";
        var verdict =
            double.IsNaN(p) ? Verdict.Inconclusive
            : !beyondThreshold ? Verdict.NoChange
            : significant ? (change == "better" ? Verdict.Improvement : Verdict.Regression)
            : driftVariance > 0 && PValue(b, c, logScale, 0) < Alpha ? Verdict.Inconclusive
            : Verdict.NoChange;
        string? reason =
            verdict != Verdict.Inconclusive ? null
            : double.IsNaN(p) ? $"fewer than 2 repetitions on a side"
            : $"the repetitions differ, but by no more than runs drift apart "
                + $"({(drift ?? RunDrift.None).Percent.ToString("0.#", CultureInfo.InvariantCulture)}% per run): "
                + $"pool more runs per side under one label, or alternate the configurations";
        return new MetricComparison(caseName, metric, b, c, delta, change, p, significant, verdict) { Reason = reason };
    }

    /// <summary>Welch's test on the values, or on their logarithms for positive, skewed quantities (latency
    /// percentiles), with <paramref name="extraVariance"/> (drift) added to the variance of the difference.</summary>
    private static double PValue(MetricStatistics a, MetricStatistics b, bool logScale, double extraVariance)
    {
        if (a.N < 2 || b.N < 2)
            return double.NaN;
        if (!logScale || a.Values is null || b.Values is null || a.Values.Concat(b.Values).Any(v => v <= 0))
            return Welch(a.N, a.Mean, a.StdDev, b.N, b.Mean, b.StdDev, logScale ? 0 : extraVariance);
        var la = a.Values.Select(v => Math.Log(v)).ToArray();
        var lb = b.Values.Select(v => Math.Log(v)).ToArray();
        return Welch(
            la.Length,
            la.Average(),
            MathNet.Numerics.Statistics.Statistics.StandardDeviation(la),
            lb.Length,
            lb.Average(),
            MathNet.Numerics.Statistics.Statistics.StandardDeviation(lb),
            extraVariance
        );
    }

    /// <summary>Welch's t with a known extra variance: it widens the test but adds no degrees of freedom to
    /// lose.</summary>
    private static double Welch(int na, double meanA, double sdA, int nb, double meanB, double sdB, double extra)
    {
        double va = sdA * sdA / na,
            vb = sdB * sdB / nb,
            total = va + vb + extra;
        if (total == 0)
            return meanA == meanB ? 1 : 0;
        double t = (meanA - meanB) / Math.Sqrt(total);
        double sampled = va * va / (na - 1) + vb * vb / (nb - 1);
        double df = sampled == 0 ? double.PositiveInfinity : total * total / sampled;
        return df > 1e6 ? 2 * (1 - Normal.CDF(0, 1, Math.Abs(t))) : 2 * (1 - StudentT.CDF(0, 1, df, Math.Abs(t)));
    }
}
