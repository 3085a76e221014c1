using MathNet.Numerics.Distributions;

namespace CniBench.Cli.Analysis;

/// <summary>Statistics of one metric over repetitions, computed once. The 95% CI uses Student's t.</summary>
public sealed record Statistics(int N, double Mean, double Median, double StdDev, double Min, double Max, double CiLow, double CiHigh)
{
    /// <summary>Coefficient of variation in percent (NaN when the mean is zero or n &lt; 2).</summary>
    public double CvPercent => N < 2 || Mean == 0 ? double.NaN : 100 * StdDev / Math.Abs(Mean);

    public bool HasInterval => N >= 2;

    public static Statistics Of(IReadOnlyList<double> values)
    {
        if (values.Count == 0) throw new ArgumentException("no values", nameof(values));
        var sorted = values.Order().ToArray();
        int n = sorted.Length;
        double mean = sorted.Average();
        double median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
        double stddev = n < 2 ? 0 : Math.Sqrt(sorted.Sum(v => (v - mean) * (v - mean)) / (n - 1));
        double half = n < 2 ? double.NaN : StudentT.InvCDF(0, 1, n - 1, 0.975) * stddev / Math.Sqrt(n);
        return new Statistics(n, mean, median, stddev, sorted[0], sorted[^1], mean - half, mean + half);
    }
}
