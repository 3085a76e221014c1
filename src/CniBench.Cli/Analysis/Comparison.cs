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
/// direction.</summary>
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
);

/// <summary>
/// Compares two sets of results case by case. A change is a regression or an improvement only when
/// it is significant (Welch's t-test, p &lt; alpha) and larger than the threshold; with fewer than two
/// repetitions on a side there is no test to run and the verdict is inconclusive. Latency percentiles
/// (each repetition's p50 and p99) are compared too, with Welch's test on their logarithms: they are
/// positive and skewed, and what matters of them is the ratio.
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

    public static IReadOnlyList<MetricComparison> Compare(
        IReadOnlyList<CaseSummary> baseline,
        IReadOnlyList<CaseSummary> candidate,
        double thresholdPercent
    )
    {
        var comparisons = new List<MetricComparison>();
        foreach (var b in baseline)
        {
            var c = candidate.FirstOrDefault(x => x.Case == b.Case);
            if (c is null)
                continue;
            foreach (var (metric, bs) in b.Metrics)
            {
                if (!c.Metrics.TryGetValue(metric, out var cs))
                    continue;
                comparisons.Add(CompareOne(b.Case, metric, bs, cs, thresholdPercent));
            }
            foreach (var (metric, bs) in b.RepetitionPercentiles)
            {
                if (!c.RepetitionPercentiles.TryGetValue(metric, out var cs))
                    continue;
                comparisons.Add(CompareOne(b.Case, metric, bs, cs, thresholdPercent, logScale: true));
            }
        }
        return comparisons;
    }

    public static MetricComparison CompareOne(
        string caseName,
        string metric,
        MetricStatistics b,
        MetricStatistics c,
        double thresholdPercent,
        bool logScale = false
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
        double p = logScale ? LogWelchPValue(b, c) : WelchPValue(b, c);
        bool significant = p < Alpha;
        var verdict =
            double.IsNaN(p) ? Verdict.Inconclusive
            : !significant || Math.Abs(delta) <= thresholdPercent || change == "same" ? Verdict.NoChange
            : change == "better" ? Verdict.Improvement
            : Verdict.Regression;
        return new MetricComparison(caseName, metric, b, c, delta, change, p, significant, verdict);
    }

    /// <summary>Two-sided p-value of Welch's unequal-variances t-test; NaN when a side has fewer than two
    /// values.</summary>
    public static double WelchPValue(MetricStatistics a, MetricStatistics b) =>
        a.N < 2 || b.N < 2 ? double.NaN : Welch(a.N, a.Mean, a.StdDev, b.N, b.Mean, b.StdDev);

    /// <summary>Welch's test on the logarithms of the values (positive, skewed quantities such as latency
    /// percentiles).</summary>
    public static double LogWelchPValue(MetricStatistics a, MetricStatistics b)
    {
        if (a.N < 2 || b.N < 2 || a.Values is null || b.Values is null || a.Values.Concat(b.Values).Any(v => v <= 0))
            return WelchPValue(a, b);
        var la = a.Values.Select(v => Math.Log(v)).ToArray();
        var lb = b.Values.Select(v => Math.Log(v)).ToArray();
        return Welch(
            la.Length,
            la.Average(),
            MathNet.Numerics.Statistics.Statistics.StandardDeviation(la),
            lb.Length,
            lb.Average(),
            MathNet.Numerics.Statistics.Statistics.StandardDeviation(lb)
        );
    }

    private static double Welch(int na, double meanA, double sdA, int nb, double meanB, double sdB)
    {
        double va = sdA * sdA / na,
            vb = sdB * sdB / nb;
        if (va + vb == 0)
            return meanA == meanB ? 1 : 0;
        double t = (meanA - meanB) / Math.Sqrt(va + vb);
        double df = (va + vb) * (va + vb) / (va * va / (na - 1) + vb * vb / (nb - 1));
        return 2 * (1 - StudentT.CDF(0, 1, df, Math.Abs(t)));
    }
}
