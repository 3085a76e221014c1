using MathNet.Numerics.Distributions;
using MathNet.Numerics.Statistics;

namespace CniBench.Cli.Analysis;

/// <summary>
/// Statistics of one metric over repetitions, computed once: n, mean, median, standard deviation,
/// min/max, the 95% CI (Student's t), Tukey outliers and the truncated mean without them (seed 002
/// drops an outlier run this way; <see cref="DroppedRepetitions"/> says which).
/// </summary>
public sealed record MetricStatistics(
    int N,
    double Mean,
    double Median,
    double StdDev,
    double Min,
    double Max,
    double CiLow,
    double CiHigh,
    double TruncatedMean,
    IReadOnlyList<int> DroppedRepetitions)
{
    /// <summary>Coefficient of variation in percent (NaN when the mean is zero or n &lt; 2).</summary>
    public double CvPercent => N < 2 || Mean == 0 ? double.NaN : 100 * StdDev / Math.Abs(Mean);

    public bool HasInterval => N >= 2;

    public static MetricStatistics Of(IReadOnlyList<double> values) =>
        Of(values.Select((v, i) => (Repetition: i + 1, Value: v)).ToArray());

    public static MetricStatistics Of(IReadOnlyList<(int Repetition, double Value)> samples)
    {
        if (samples.Count == 0) throw new ArgumentException("no values", nameof(samples));
        var values = samples.Select(s => s.Value).ToArray();
        int n = values.Length;
        double mean = values.Mean();
        double stddev = n < 2 ? 0 : values.StandardDeviation();
        double half = n < 2 ? double.NaN : StudentT.InvCDF(0, 1, n - 1, 0.975) * stddev / Math.Sqrt(n);

        var dropped = TukeyOutliers(samples);
        var kept = samples.Where(s => !dropped.Contains(s.Repetition)).Select(s => s.Value).ToArray();
        return new MetricStatistics(n, mean, values.Median(), stddev, values.Min(), values.Max(), mean - half, mean + half,
            kept.Length > 0 ? kept.Mean() : mean, dropped);
    }

    /// <summary>Repetitions outside Q1 − 1.5·IQR … Q3 + 1.5·IQR; quartiles need at least four values.</summary>
    private static int[] TukeyOutliers(IReadOnlyList<(int Repetition, double Value)> samples)
    {
        if (samples.Count < 4) return [];
        var values = samples.Select(s => s.Value).ToArray();
        double q1 = values.LowerQuartile(), q3 = values.UpperQuartile(), iqr = q3 - q1;
        return samples.Where(s => s.Value < q1 - 1.5 * iqr || s.Value > q3 + 1.5 * iqr).Select(s => s.Repetition).ToArray();
    }
}
