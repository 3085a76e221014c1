using System.Text.Json;
using CniBench.Contracts.Measurement;
using CniBench.Contracts.Protocol;
using CniBench.Tests.Support;

namespace CniBench.Tests.Measurement;

[Trait(Category.Name, Category.Unit)]
public class LatencyHistogramTests
{
    [Fact]
    public void Every_value_falls_in_a_bucket_at_most_one_128th_wide()
    {
        var rng = new Random(1);
        for (int i = 0; i < 100_000; i++)
        {
            long v = (long)Math.Exp(rng.NextDouble() * Math.Log(LatencyHistogram.MaxTrackableValue));
            int index = LatencyHistogram.IndexOf(v);
            long low = LatencyHistogram.LowerBound(index),
                width = LatencyHistogram.Width(index);
            Assert.InRange(v, low, low + width - 1);
            Assert.True(width == 1 || (double)width / low <= 1.0 / 128, $"bucket {index} [{low}, +{width}) too wide");
        }
    }

    [Fact]
    public void Small_values_are_exact_and_indices_are_monotonic()
    {
        for (long v = 0; v < 128; v++)
            Assert.Equal(v, LatencyHistogram.LowerBound(LatencyHistogram.IndexOf(v)));
        int previous = -1;
        for (long v = 0; v < 100_000; v += 7)
        {
            int index = LatencyHistogram.IndexOf(v);
            Assert.True(index >= previous);
            previous = index;
        }
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.9)]
    [InlineData(0.99)]
    [InlineData(0.999)]
    public void Percentiles_are_within_one_percent_of_the_exact_value(double q)
    {
        var rng = new Random(42);
        var values = Enumerable
            .Range(0, 200_000)
            .Select(_ => (long)(20_000 * Math.Exp(rng.NextDouble() * 4)))
            .ToArray();
        var h = new LatencyHistogram();
        foreach (var v in values)
            h.Record(v);
        Array.Sort(values);
        double exact = values[(int)Math.Ceiling(q * values.Length) - 1];
        Assert.InRange(h.ValueAtQuantile(q), exact * 0.99, exact * 1.01);
    }

    [Fact]
    public void Merge_is_the_exact_sum_of_buckets_and_equals_recording_everything_in_one()
    {
        var rng = new Random(7);
        var parts = Enumerable.Range(0, 4).Select(_ => new LatencyHistogram()).ToArray();
        var whole = new LatencyHistogram();
        for (int i = 0; i < 50_000; i++)
        {
            long v = rng.NextInt64(1, 10_000_000);
            parts[i % 4].Record(v);
            whole.Record(v);
        }
        var merged = LatencyHistogram.Merge(parts);
        Assert.Equal(whole.Count, merged.Count);
        Assert.Equal(whole.Min, merged.Min);
        Assert.Equal(whole.Max, merged.Max);
        Assert.Equal(whole.ToSnapshot().Counts, merged.ToSnapshot().Counts);
        Assert.Equal(whole.ToSnapshot().Indices, merged.ToSnapshot().Indices);
        foreach (var q in new[] { 0.5, 0.99, 0.999 })
            Assert.Equal(whole.ValueAtQuantile(q), merged.ValueAtQuantile(q));
    }

    [Fact]
    public void Snapshot_survives_json_and_rejects_foreign_indices()
    {
        var h = new LatencyHistogram();
        foreach (var v in new long[] { 5, 500, 50_000, 5_000_000 })
            h.Record(v);
        var json = JsonSerializer.Serialize(h.ToSnapshot(), ContractsJson.Default.HistogramSnapshot);
        var back = LatencyHistogram.FromSnapshot(
            JsonSerializer.Deserialize(json, ContractsJson.Default.HistogramSnapshot)!
        );
        Assert.Equal(h.Count, back.Count);
        Assert.Equal(h.ValueAtQuantile(0.75), back.ValueAtQuantile(0.75));

        var bad = new HistogramSnapshot([LatencyHistogram.BucketCount + 5], [1], 1, 1, 1, 1);
        Assert.Throws<FormatException>(() => LatencyHistogram.FromSnapshot(bad));
    }

    [Fact]
    public void Empty_histogram_has_no_percentiles_and_clamps_out_of_range_values()
    {
        var h = new LatencyHistogram();
        Assert.True(double.IsNaN(h.ValueAtQuantile(0.5)));
        h.Record(-5);
        h.Record(long.MaxValue);
        Assert.Equal(0, h.Min);
        Assert.Equal(LatencyHistogram.MaxTrackableValue, h.Max);
    }
}
