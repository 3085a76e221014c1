using MathNet.Numerics.Distributions;
using MathNet.Numerics.Statistics;

namespace CniBench.Cli.Analysis;

/// <summary>How a 95% confidence interval was computed; the report names it beside every interval.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(CniBench.Contracts.Json.KebabEnumConverter<IntervalMethod>))]
public enum IntervalMethod
{
    /// <summary>Student's t on the values: for metrics that may be negative.</summary>
    StudentT,

    /// <summary>Student's t on the logarithms, back-transformed: positive metrics, never below zero, wider above than
    /// below.</summary>
    LogT,

    /// <summary>Percentile bootstrap of the mean: non-negative metrics with a zero among the values (no
    /// logarithm).</summary>
    Bootstrap,
}

/// <summary>
/// Statistics of one metric over repetitions, computed once: n, mean, median, standard deviation,
/// min/max, the 95% CI, Tukey outliers and the truncated mean without them (a repeated-runs study
/// drops an outlier run this way; <see cref="DroppedRepetitions"/> says which). The interval respects
/// the metric's bounds: a throughput or a count cannot go below zero, a share above 100 or a host's CPU above
/// 100 × its cores, so neither does its interval. Two repetitions give no interval: Student's t with one degree
/// of freedom is 12.7 standard errors wide, a span that says nothing.
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
    IReadOnlyList<int> DroppedRepetitions,
    IntervalMethod Method = IntervalMethod.StudentT,
    IReadOnlyList<double>? Values = null
)
{
    private const int BootstrapResamples = 4000;

    /// <summary>Fewest successful repetitions for an interval.</summary>
    public const int MinRepetitionsForInterval = 3;

    /// <summary>Repetitions whose coefficient of variation is above this disagree: the case is unstable, and its
    /// interval describes the disagreement rather than the system (netperf's own confidence check asks for ±2.5%;
    /// a shared 2-core VM rarely does better than a few percent).</summary>
    public const double UnstableCvPercent = 10;

    /// <summary>Coefficient of variation in percent (NaN when the mean is zero or n &lt; 2).</summary>
    public double CvPercent => N < 2 || Mean == 0 ? double.NaN : 100 * StdDev / Math.Abs(Mean);

    public bool HasInterval => N >= MinRepetitionsForInterval;

    /// <summary>The repetitions disagree by more than <see cref="UnstableCvPercent"/>.</summary>
    public bool Unstable => CvPercent > UnstableCvPercent;

    public static MetricStatistics Of(
        IReadOnlyList<double> values,
        bool nonNegative = false,
        double upperBound = double.PositiveInfinity
    ) => Of(values.Select((v, i) => (Repetition: i + 1, Value: v)).ToArray(), nonNegative, upperBound);

    public static MetricStatistics Of(
        IReadOnlyList<(int Repetition, double Value)> samples,
        bool nonNegative = false,
        double upperBound = double.PositiveInfinity
    )
    {
        if (samples.Count == 0)
            throw new ArgumentException("no values", nameof(samples));
        var values = samples.Select(s => s.Value).ToArray();
        int n = values.Length;
        double mean = values.Mean();
        double stddev = n < 2 ? 0 : values.StandardDeviation();
        var method =
            !nonNegative || values.Any(v => v < 0) ? IntervalMethod.StudentT
            : values.All(v => v > 0) ? IntervalMethod.LogT
            : IntervalMethod.Bootstrap;
        var (low, high) =
            n < MinRepetitionsForInterval
                ? (double.NaN, double.NaN)
                : method switch
                {
                    IntervalMethod.LogT => LogT(values),
                    IntervalMethod.Bootstrap => Bootstrap(values),
                    _ => StudentTInterval(mean, stddev, n),
                };
        // The bounds, but never inside the data: a value seen is possible, whatever the catalogue thought.
        double floor = nonNegative ? Math.Min(0, values.Min()) : double.NegativeInfinity;
        double ceiling = Math.Max(upperBound, values.Max());
        (low, high) = (Math.Clamp(low, floor, ceiling), Math.Clamp(high, floor, ceiling));

        var dropped = TukeyOutliers(samples);
        var kept = samples.Where(s => !dropped.Contains(s.Repetition)).Select(s => s.Value).ToArray();
        return new MetricStatistics(
            n,
            mean,
            values.Median(),
            stddev,
            values.Min(),
            values.Max(),
            low,
            high,
            kept.Length > 0 ? kept.Mean() : mean,
            dropped,
            method,
            values
        );
    }

    public static string Describe(IntervalMethod method) =>
        method switch
        {
            IntervalMethod.LogT => "Student's t on the logarithms for positive metrics, so never below zero",
            IntervalMethod.Bootstrap => "a percentile bootstrap of the mean for non-negative metrics with zeros",
            _ => "Student's t",
        };

    private static (double, double) StudentTInterval(double mean, double stddev, int n)
    {
        double half = StudentT.InvCDF(0, 1, n - 1, 0.975) * stddev / Math.Sqrt(n);
        return (mean - half, mean + half);
    }

    /// <summary>The t interval of the log values, back-transformed: multiplicative, around the geometric
    /// mean.</summary>
    private static (double, double) LogT(double[] values)
    {
        if (values.Min() == values.Max())
            return (values[0], values[0]); // exactly, not exp(log(x))
        var logs = values.Select(v => Math.Log(v)).ToArray();
        var (low, high) = StudentTInterval(logs.Mean(), logs.StandardDeviation(), logs.Length);
        return (Math.Exp(low), Math.Exp(high));
    }

    /// <summary>Percentile bootstrap of the mean with a fixed seed, so a report rebuilt from the store shows the same
    /// interval.</summary>
    private static (double, double) Bootstrap(double[] values)
    {
        var random = new Random(20261204);
        var means = new double[BootstrapResamples];
        for (int b = 0; b < means.Length; b++)
        {
            double sum = 0;
            for (int i = 0; i < values.Length; i++)
                sum += values[random.Next(values.Length)];
            means[b] = sum / values.Length;
        }
        Array.Sort(means);
        return (means[(int)(0.025 * (means.Length - 1))], means[(int)Math.Ceiling(0.975 * (means.Length - 1))]);
    }

    /// <summary>Repetitions outside Q1 − 1.5·IQR … Q3 + 1.5·IQR; quartiles need at least four values.</summary>
    private static int[] TukeyOutliers(IReadOnlyList<(int Repetition, double Value)> samples)
    {
        if (samples.Count < 4)
            return [];
        var values = samples.Select(s => s.Value).ToArray();
        double q1 = values.LowerQuartile(),
            q3 = values.UpperQuartile(),
            iqr = q3 - q1;
        return samples
            .Where(s => s.Value < q1 - 1.5 * iqr || s.Value > q3 + 1.5 * iqr)
            .Select(s => s.Repetition)
            .ToArray();
    }
}
