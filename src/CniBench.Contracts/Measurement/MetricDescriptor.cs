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
