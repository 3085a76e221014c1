using CniBench.Cli.Analysis;
using CniBench.Cli.Results;
using CniBench.Tests.Support;

namespace CniBench.Tests.Analysis;

[Trait(Category.Name, Category.Unit)]
public class StatisticsTests
{
    [Fact]
    public void Mean_median_deviation_and_t_interval_match_hand_computed_values()
    {
        var s = MetricStatistics.Of([10, 12, 14, 16, 18]);
        Assert.Equal(5, s.N);
        Assert.Equal(14, s.Mean, 9);
        Assert.Equal(14, s.Median, 9);
        Assert.Equal(Math.Sqrt(10), s.StdDev, 9);
        // t(0.975, 4) = 2.776445: half-width = 2.776445 * sqrt(10) / sqrt(5)
        Assert.Equal(14 - 2.776445 * Math.Sqrt(2), s.CiLow, 4);
        Assert.Equal(14 + 2.776445 * Math.Sqrt(2), s.CiHigh, 4);
        Assert.Equal(100 * Math.Sqrt(10) / 14, s.CvPercent, 9);
    }

    [Fact]
    public void One_value_has_no_interval()
    {
        var s = MetricStatistics.Of([3]);
        Assert.False(s.HasInterval);
        Assert.True(double.IsNaN(s.CiLow));
        Assert.Equal(3, s.Median);
    }

    [Fact]
    public void Percentiles_come_from_merged_histograms_not_averaged_and_failed_runs_are_left_out()
    {
        // Repetition 1: all fast. Repetition 2: half slow. The merged p90 is slow; an average of the
        // two p90s would be halfway, which describes no transaction that happened.
        var fast = Enumerable.Repeat(10_000L, 1000).ToArray();
        var mixed = Enumerable.Repeat(10_000L, 500).Concat(Enumerable.Repeat(1_000_000L, 500)).ToArray();
        var summary = Assert.Single(
            CaseSummary.From([
                Results.Case("r", "c", 1, 100, fast),
                Results.Case("r", "c", 2, 200, mixed),
                Results.Case("r", "c", 3, 0, [], ResultState.Failed, "agent died"),
            ])
        );
        Assert.Equal(3, summary.Repetitions);
        Assert.Equal(1, summary.Failed);
        Assert.Contains("repetition 3: agent died", summary.FailureReasons);
        Assert.Equal(2, summary.Metrics[CniBench.Contracts.Measurement.Metrics.TransactionsPerSecond].N);
        Assert.Equal(150, summary.Metrics[CniBench.Contracts.Measurement.Metrics.TransactionsPerSecond].Mean);
        Assert.Equal(2000, summary.MergedLatencyCount);
        Assert.InRange(summary.MergedLatencyUs["p90"], 990, 1010);
        Assert.InRange(summary.MergedLatencyUs["p50"], 9.9, 10.1);
    }

    [Fact]
    public void Per_repetition_percentiles_are_not_averaged_into_case_statistics()
    {
        var r = Results.Case("r", "c", 1, 100, [10_000]);
        var withPercentile = r with
        {
            Metrics = new Dictionary<string, double>(r.Metrics)
            {
                [CniBench.Contracts.Measurement.Metrics.LatencyP99Us] = 10,
            },
        };
        var summary = Assert.Single(CaseSummary.From([withPercentile, withPercentile with { Repetition = 2 }]));
        Assert.DoesNotContain(CniBench.Contracts.Measurement.Metrics.LatencyP99Us, summary.Metrics.Keys);
        Assert.Contains(CniBench.Contracts.Measurement.Metrics.TransactionsPerSecond, summary.Metrics.Keys);
    }
}
