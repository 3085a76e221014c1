namespace CniBench.Contracts.Measurement;

[System.Text.Json.Serialization.JsonConverter(typeof(CniBench.Contracts.Json.KebabEnumConverter<Direction>))]
public enum Direction
{
    HigherIsBetter,
    LowerIsBetter,
    Neutral,
}

/// <summary>How per-second samples of one agent fold into one figure for the window.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(CniBench.Contracts.Json.KebabEnumConverter<TimeFold>))]
public enum TimeFold
{
    Sum,
    Mean,
    Max,
    Last,
}

/// <summary>How the figures of several agents (or client and server) reduce into one.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(CniBench.Contracts.Json.KebabEnumConverter<AgentReduce>))]
public enum AgentReduce
{
    Sum,
    Mean,
    Max,
}

/// <summary>Whether a metric describes the system under test, which <c>compare</c> judges, or the conditions it
/// ran in, which <c>compare</c> only shows.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(CniBench.Contracts.Json.KebabEnumConverter<MetricRole>))]
public enum MetricRole
{
    /// <summary>Rates, throughput, latency, loss, errors, convergence and programming times, the agents' own CPU
    /// per unit of work.</summary>
    Performance,

    /// <summary>The host and the benchmark around it: other processes' and kernel threads' CPU, whole-host CPU,
    /// the agents' memory and raw CPU, TIME_WAIT and conntrack left by earlier cases, the cool-down.</summary>
    Environment,
}

/// <summary>The highest value a metric can take, so that no interval reaches past it.</summary>
public enum MetricCeiling
{
    None,

    /// <summary>A share: 0..100.</summary>
    Hundred,

    /// <summary>CPU of this host in percent of one core: 0..100 × cores.</summary>
    HundredPerCore,
}

/// <summary>
/// Says what a number means, so analysis and reports never guess. A percentile is never averaged
/// across repetitions or agents: analysis takes it from the merged histograms instead. A
/// non-negative metric (a rate, a count, a time) gets confidence intervals that stay at or above zero.
/// </summary>
public sealed record MetricDescriptor(
    string Name,
    string Unit,
    Direction Direction,
    TimeFold Fold,
    AgentReduce Reduce,
    string Description,
    int Decimals = 2,
    bool IsPercentile = false,
    bool NonNegative = true
)
{
    public MetricRole Role { get; init; } = MetricRole.Performance;

    public MetricCeiling Ceiling { get; init; } = MetricCeiling.None;

    /// <summary>The most the metric can be on a host of <paramref name="cores"/> cores (infinity when unbounded or
    /// the cores are unknown: a kube node is not the controller's host).</summary>
    public double UpperBound(int? cores) =>
        Ceiling switch
        {
            MetricCeiling.Hundred => 100,
            MetricCeiling.HundredPerCore when cores > 0 => 100.0 * cores.Value,
            _ => double.PositiveInfinity,
        };

    /// <summary>Per-second samples of one agent folded into the window's figure, as <see cref="Fold"/> says.</summary>
    public double FoldSamples(IReadOnlyList<Sample> samples, Func<Sample, double> value)
    {
        if (samples.Count == 0)
            return 0;
        return Fold switch
        {
            TimeFold.Sum => samples.Sum(value),
            TimeFold.Max => samples.Max(value),
            TimeFold.Last => value(samples[^1]),
            _ => samples.Sum(s => value(s) * s.Seconds) / Math.Max(1e-9, samples.Sum(s => s.Seconds)),
        };
    }
}
