using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Scenarios;

/// <summary>A validated scenario: every case already expanded over its matrix.</summary>
public sealed record Scenario(string Name, string Description, string Source, string Text, IReadOnlyList<PlannedCase> Cases)
{
    public int TotalRuns => Cases.Sum(c => c.Repetitions);
    public TimeSpan EstimatedDuration => TimeSpan.FromTicks(Cases.Sum(c => (c.Warmup + c.Duration + TimeSpan.FromSeconds(0.6)).Ticks * c.Repetitions));
}

public enum IpFamily { Ipv4, Ipv6 }

/// <summary>One cell of the matrix: a workload with every parameter fixed, run Repetitions times.</summary>
public sealed record PlannedCase(
    string Name,
    WorkloadSpec Workload,
    string Placement,
    IpFamily IpFamily,
    TimeSpan Warmup,
    TimeSpan Duration,
    int Repetitions,
    IReadOnlyDictionary<string, string> Parameters,
    LabSettings? Lab = null,
    Churn? Churn = null);

/// <summary>
/// The endpoint changes of a convergence case: a service's endpoints go 1→N one at a time, then each of the
/// N is replaced by a new one, a change every <see cref="Interval"/>; each change is written
/// <see cref="InjectedDelay"/> after it is issued (zero but in tests of the measurement itself).
/// </summary>
public sealed record Churn(int Endpoints, TimeSpan Interval, TimeSpan InjectedDelay)
{
    public const int MaxEndpoints = 60;
    public int Changes => Endpoints - 1 + Endpoints;
}

/// <summary>What a case asks of the lab (each null: whatever the lab has).</summary>
public sealed record LabSettings(Lab.Services.ProxyMode? Proxy = null, int? Services = null, Lab.LabRouting? Routing = null, int? Mtu = null, Lab.EgressMode? Egress = null)
{
    public bool Topology => Routing is not null || Mtu is not null;
}

public static class Placements
{
    public const string HostToHost = "host-to-host";

    /// <summary>Every placement the project knows; which ones a target can provide is the target's to say.</summary>
    public static IReadOnlyList<string> All { get; } =
    [
        HostToHost, "pod-to-pod-same-node", "pod-to-pod-cross-node", "pod-to-cluster-ip", "pod-to-node-port", "pod-to-external",
    ];
}
