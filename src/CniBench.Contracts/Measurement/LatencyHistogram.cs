using System.Numerics;

namespace CniBench.Contracts.Measurement;

/// <summary>
/// A log-linear histogram of non-negative integer values (nanoseconds by convention).
/// Values below 128 get exact buckets; above, every power of two is split into 128 equal buckets,
/// so a bucket is at most 1/128 of its lower bound wide and its midpoint is within 0.4% of any value in it.
/// Merging is an exact sum of bucket counts, which is why percentiles must be taken from merged
/// histograms and never averaged.
/// </summary>
/// <remarks>Single writer: one histogram per worker thread, merged after the window closes.</remarks>
public sealed class LatencyHistogram
{
    private const int SubBucketBits = 7;
    private const int SubBucketCount = 1 << SubBucketBits;

    /// <summary>Largest exponent kept; larger values (over ~18 minutes in ns) are clamped.</summary>
    private const int MaxExponent = 40;

    public const long MaxTrackableValue = (1L << (MaxExponent + 1)) - 1;
    public static readonly int BucketCount = IndexOf(MaxTrackableValue) + 1;

    private readonly long[] _counts = new long[BucketCount];

    public long Count { get; private set; }
    public long Min { get; private set; } = long.MaxValue;
    public long Max { get; private set; }
    public double Sum { get; private set; }

    public double Mean => Count == 0 ? 0 : Sum / Count;

    public void Record(long value)
    {
        if (value < 0)
            value = 0;
        if (value > MaxTrackableValue)
            value = MaxTrackableValue;
        _counts[IndexOf(value)]++;
        Count++;
        Sum += value;
        if (value < Min)
            Min = value;
        if (value > Max)
            Max = value;
    }

    public static int IndexOf(long value)
    {
        if (value < SubBucketCount)
            return (int)value;
        int exponent = 63 - BitOperations.LeadingZeroCount((ulong)value);
        int shift = exponent - SubBucketBits;
        return SubBucketCount + shift * SubBucketCount + (int)((value >> shift) & (SubBucketCount - 1));
    }

    public static long LowerBound(int index)
    {
        if (index < SubBucketCount)
            return index;
        int k = index - SubBucketCount;
        int shift = k / SubBucketCount;
        int sub = k % SubBucketCount;
        return (long)(SubBucketCount + sub) << shift;
    }

    public static long Width(int index) =>
        index < SubBucketCount ? 1 : 1L << ((index - SubBucketCount) / SubBucketCount);

    /// <summary>The value at quantile q (0..1): the midpoint of the bucket holding that rank, clamped to
    /// min/max.</summary>
    public double ValueAtQuantile(double q)
    {
        if (Count == 0)
            return double.NaN;
        q = Math.Clamp(q, 0, 1);
        long rank = Math.Max(1, (long)Math.Ceiling(q * Count));
        long seen = 0;
        for (int i = 0; i < _counts.Length; i++)
        {
            seen += _counts[i];
            if (seen >= rank)
            {
                double mid = LowerBound(i) + (Width(i) - 1) / 2.0;
                return Math.Clamp(mid, Min, Max);
            }
        }
        return Max;
    }

    /// <summary>Values recorded in the buckets up to the one holding <paramref name="value"/> (so including values
    /// up to that bucket's width above it).</summary>
    public long CountAtOrBelow(long value)
    {
        if (value < 0)
            return 0;
        int last = IndexOf(Math.Min(value, MaxTrackableValue));
        long count = 0;
        for (int i = 0; i <= last; i++)
            count += _counts[i];
        return count;
    }

    public void Add(LatencyHistogram other)
    {
        for (int i = 0; i < _counts.Length; i++)
            _counts[i] += other._counts[i];
        Count += other.Count;
        Sum += other.Sum;
        if (other.Count > 0)
        {
            Min = Math.Min(Min, other.Min);
            Max = Math.Max(Max, other.Max);
        }
    }

    /// <summary>Adds only the snapshot's non-empty buckets: a controller merging thousands of agents' snapshots
    /// touches what they hold, not every bucket of each.</summary>
    public void Add(HistogramSnapshot snapshot)
    {
        if (snapshot.Indices.Length != snapshot.Counts.Length)
            throw new FormatException("histogram: indices and counts differ in length");
        foreach (int index in snapshot.Indices)
        {
            if (index < 0 || index >= BucketCount)
                throw new FormatException($"histogram: bucket index {index} outside 0..{BucketCount - 1}");
        }
        for (int i = 0; i < snapshot.Indices.Length; i++)
            _counts[snapshot.Indices[i]] += snapshot.Counts[i];
        Count += snapshot.Count;
        Sum += snapshot.Sum;
        if (snapshot.Count > 0)
        {
            Min = Math.Min(Min, snapshot.Min);
            Max = Math.Max(Max, snapshot.Max);
        }
    }

    public HistogramSnapshot ToSnapshot()
    {
        var indices = new List<int>();
        var counts = new List<long>();
        for (int i = 0; i < _counts.Length; i++)
        {
            if (_counts[i] == 0)
                continue;
            indices.Add(i);
            counts.Add(_counts[i]);
        }
        return new HistogramSnapshot(indices.ToArray(), counts.ToArray(), Count, Count == 0 ? 0 : Min, Max, Sum);
    }

    public static LatencyHistogram FromSnapshot(HistogramSnapshot snapshot)
    {
        var h = new LatencyHistogram();
        h.Add(snapshot);
        return h;
    }

    public static LatencyHistogram Merge(IEnumerable<LatencyHistogram> histograms)
    {
        var merged = new LatencyHistogram();
        foreach (var h in histograms)
            merged.Add(h);
        return merged;
    }
}

/// <summary>Serialisable, sparse form of a histogram: only non-empty buckets.</summary>
public sealed record HistogramSnapshot(int[] Indices, long[] Counts, long Count, long Min, long Max, double Sum)
{
    public static HistogramSnapshot Empty { get; } = new([], [], 0, 0, 0, 0);
}
