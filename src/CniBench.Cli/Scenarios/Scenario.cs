using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Scenarios;

/// <summary>A validated scenario: every case already expanded over its matrix.</summary>
public sealed record Scenario(
    string Name,
    string Description,
    string Source,
    string Text,
    IReadOnlyList<PlannedCase> Cases
)
{
    public int TotalRuns => Cases.Sum(c => c.Repetitions);
    public TimeSpan EstimatedDuration => Estimate(null);

    /// <summary>The whole plan, each repetition with what <paramref name="preparation"/> adds to it on the
    /// target.</summary>
    public TimeSpan Estimate(Func<PlannedCase, TimeSpan>? preparation) =>
        TimeSpan.FromTicks(Cases.Sum(c => c.EstimateRepetition(preparation).Ticks * c.Repetitions));
}

public enum IpFamily
{
    Ipv4,
    Ipv6,
}

/// <summary>One cell of the matrix: a workload with every parameter fixed, run Repetitions times.</summary>
public sealed record PlannedCase(
    string Name,
    WorkloadSpec Workload,
    Placement Placement,
    IpFamily IpFamily,
    TimeSpan Warmup,
    TimeSpan Duration,
    int Repetitions,
    IReadOnlyDictionary<string, string> Parameters,
    DataplaneSettings? Dataplane = null,
    Cooldown? Cooldown = null
)
{
    /// <summary>One repetition as planned: warm-up, window and the synchronized start's margin.</summary>
    public TimeSpan EstimatedRepetition => Warmup + Duration + TimeSpan.FromSeconds(0.6);

    public TimeSpan EstimateRepetition(Func<PlannedCase, TimeSpan>? preparation) =>
        EstimatedRepetition + (preparation?.Invoke(this) ?? TimeSpan.Zero);

    /// <summary>The options of each suite feature the case uses, by the feature's name (<see
    /// cref="ICaseFields"/>).</summary>
    public IReadOnlyDictionary<string, object> FeatureOptions { get; init; } = new Dictionary<string, object>();

    /// <summary>The case's options for a feature, or null when it does not use it.</summary>
    public T? Feature<T>(string name)
        where T : class => FeatureOptions.TryGetValue(name, out var options) ? (T)options : null;
}

/// <summary>
/// Before a repetition: wait until what earlier cases left in the agents' namespaces (sockets in TIME_WAIT, conntrack
/// entries) no longer distorts it (<see cref="UntilQuiet"/>, bounded by <see cref="Wait"/>), or for a fixed time.
/// </summary>
public sealed record Cooldown(bool UntilQuiet, TimeSpan Wait)
{
    public static readonly Cooldown Auto = new(true, TimeSpan.FromSeconds(120));
    public static readonly Cooldown None = new(false, TimeSpan.Zero);
}

/// <summary>
/// What a case asks of the dataplane (each null: whatever it has). The lab applies all of it; a cluster only the
/// number of Services and the egress path (its proxy, routing and MTU are its own).
/// </summary>
public sealed record DataplaneSettings(
    ProxyMode? Proxy = null,
    int? Services = null,
    LabRouting? Routing = null,
    int? Mtu = null,
    EgressMode? Egress = null
)
{
    /// <summary>The bounds a scenario's (and `lab up`'s) MTU and number of extra services must keep.</summary>
    public const int MinMtu = 1280,
        MaxMtu = 9000,
        MaxServices = 50_000;

    public bool Topology => Routing is not null || Mtu is not null;
}
