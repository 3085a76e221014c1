using CniBench.Cli.Analysis;
using CniBench.Contracts.Measurement;
using CniBench.Tests.Support;

namespace CniBench.Tests.Analysis;

[Trait(Category.Name, Category.Unit)]
public class ComparisonTests
{
    [Fact]
    public void Welch_p_value_matches_a_hand_computed_example()
    {
        // a = {10,12,14}, b = {20,22,24}: t = -6.1237, df = 4 → two-sided p = 0.003602
        var a = MetricStatistics.Of([10.0, 12, 14]);
        var b = MetricStatistics.Of([20.0, 22, 24]);
        // Welch's test alone: no drift.
        double PValue(MetricStatistics x, MetricStatistics y) =>
            Comparison.CompareOne("c", Metrics.TransactionsPerSecond, x, y, 5).PValue;
        Assert.Equal(0.003602, PValue(a, b), 5);
        Assert.True(double.IsNaN(PValue(MetricStatistics.Of([1.0]), b)));
    }

    [Fact]
    public void The_direction_of_the_metric_decides_better_or_worse()
    {
        var slow = MetricStatistics.Of([100.0, 101, 99, 100]);
        var fast = MetricStatistics.Of([200.0, 201, 199, 200]);
        var throughput = Comparison.CompareOne("c", Metrics.TransactionsPerSecond, slow, fast, 5);
        Assert.Equal("better", throughput.Change);
        Assert.Equal(Verdict.Improvement, throughput.Verdict);
        Assert.Equal(100, throughput.DeltaPercent, 6);

        var latency = Comparison.CompareOne("c", Metrics.LatencyMeanUs, slow, fast, 5);
        Assert.Equal("worse", latency.Change);
        Assert.Equal(Verdict.Regression, latency.Verdict);
    }

    [Fact]
    public void Small_or_insignificant_changes_are_no_change_and_single_runs_are_inconclusive()
    {
        var a = MetricStatistics.Of([100.0, 110, 90, 105]);
        var b = MetricStatistics.Of([102.0, 95, 112, 99]);
        Assert.Equal(Verdict.NoChange, Comparison.CompareOne("c", Metrics.TransactionsPerSecond, a, b, 5).Verdict);

        var tight = MetricStatistics.Of([100.0, 100.1, 99.9]);
        var slightlyBetter = MetricStatistics.Of([103.0, 103.1, 102.9]);
        var beyondNoise = Comparison.CompareOne("c", Metrics.TransactionsPerSecond, tight, slightlyBetter, 5);
        Assert.True(beyondNoise.Significant);
        Assert.Equal(Verdict.NoChange, beyondNoise.Verdict); // significant, but 3% is under the 5% threshold

        Assert.Equal(
            Verdict.Inconclusive,
            Comparison
                .CompareOne(
                    "c",
                    Metrics.TransactionsPerSecond,
                    MetricStatistics.Of([1.0]),
                    MetricStatistics.Of([2.0]),
                    5
                )
                .Verdict
        );
    }

    [Fact]
    public void Tukey_outliers_are_dropped_from_the_truncated_mean_and_named()
    {
        var s = MetricStatistics.Of([
            (1, 10.0),
            (2, 11.0),
            (3, 10.5),
            (4, 10.2),
            (5, 10.8),
            (6, 40.0),
            (7, 10.1),
            (8, 10.4),
        ]);
        Assert.Equal([6], s.DroppedRepetitions);
        Assert.Equal(new[] { 10.0, 11, 10.5, 10.2, 10.8, 10.1, 10.4 }.Average(), s.TruncatedMean, 9);
        Assert.True(s.Mean > s.TruncatedMean);
        Assert.Empty(MetricStatistics.Of([1.0, 100, 1000]).DroppedRepetitions); // too few for quartiles
    }
}
