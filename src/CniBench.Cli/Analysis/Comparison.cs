using CniBench.Contracts.Measurement;
using MathNet.Numerics.Distributions;

namespace CniBench.Cli.Analysis;

[System.Text.Json.Serialization.JsonConverter(typeof(CniBench.Contracts.Protocol.KebabEnumConverter<Verdict>))]
public enum Verdict { Improvement, Regression, NoChange, Inconclusive }

/// <summary>One metric of one case, baseline against candidate, judged by a Welch t-test and the metric's direction.</summary>
public sealed record MetricComparison(
    string Case,
    string Metric,
    MetricStatistics Baseline,
    MetricStatistics Candidate,
    double DeltaPercent,
    string Change,
    double PValue,
    bool Significant,
    Verdict Verdict);

/// <summary>
/// Compares two sets of results case by case. A change is a regression or an improvement only when
/// it is significant (Welch's t-test, p &lt; alpha) and larger than the threshold; with fewer than two
/// repetitions on a side there is no test to run and the verdict is inconclusive.
/// </summary>
public static class Comparison
{
    public const double Alpha = 0.05;

    public static IReadOnlyList<MetricComparison> Compare(IReadOnlyList<CaseSummary> baseline, IReadOnlyList<CaseSummary> candidate, double thresholdPercent)
    {
        var comparisons = new List<MetricComparison>();
        foreach (var b in baseline)
        {
            var c = candidate.FirstOrDefault(x => x.Case == b.Case);
            if (c is null) continue;
            foreach (var (metric, bs) in b.Metrics)
            {
                if (!c.Metrics.TryGetValue(metric, out var cs)) continue;
                comparisons.Add(CompareOne(b.Case, metric, bs, cs, thresholdPercent));
            }
        }
        return comparisons;
    }

    public static MetricComparison CompareOne(string caseName, string metric, MetricStatistics b, MetricStatistics c, double thresholdPercent)
    {
        var direction = Metrics.Describe(metric).Direction;
        double delta = b.Mean == 0 ? (c.Mean == 0 ? 0 : double.PositiveInfinity * Math.Sign(c.Mean)) : 100 * (c.Mean - b.Mean) / Math.Abs(b.Mean);
        string change = delta == 0 || direction == Direction.Neutral ? "same"
            : (delta > 0) == (direction == Direction.HigherIsBetter) ? "better" : "worse";
        double p = WelchPValue(b, c);
        bool significant = p < Alpha;
        var verdict = double.IsNaN(p) ? Verdict.Inconclusive
            : !significant || Math.Abs(delta) <= thresholdPercent || change == "same" ? Verdict.NoChange
            : change == "better" ? Verdict.Improvement : Verdict.Regression;
        return new MetricComparison(caseName, metric, b, c, delta, change, p, significant, verdict);
    }

    /// <summary>Two-sided p-value of Welch's unequal-variances t-test; NaN when a side has fewer than two values.</summary>
    public static double WelchPValue(MetricStatistics a, MetricStatistics b)
    {
        if (a.N < 2 || b.N < 2) return double.NaN;
        double va = a.StdDev * a.StdDev / a.N, vb = b.StdDev * b.StdDev / b.N;
        if (va + vb == 0) return a.Mean == b.Mean ? 1 : 0;
        double t = (a.Mean - b.Mean) / Math.Sqrt(va + vb);
        double df = (va + vb) * (va + vb) / (va * va / (a.N - 1) + vb * vb / (b.N - 1));
        return 2 * (1 - StudentT.CDF(0, 1, df, Math.Abs(t)));
    }
}
