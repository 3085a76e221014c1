namespace CniBench.Cli.Features.Convergence;

/// <summary>
/// One endpoint change: what was added and/or removed (kinds add, replace, remove), when it was issued (the lab)
/// or seen in the EndpointSlice watch (a cluster), and when every node's rules were written where the target sees that.
/// </summary>
public sealed record EndpointChange(
    int Index,
    string Kind,
    string? Added,
    string? Removed,
    long IssuedUnixUs,
    long? WrittenUnixUs
);

/// <summary>How far a prober's clock stood from the controller's as read, how well that is known, and what its
/// sightings were moved by.</summary>
public sealed record ProberClock(string Node, double OffsetMs, double UncertaintyMs, double CorrectionMs);

/// <summary>
/// What one node's prober saw of each change: the time from the change being issued to the first success
/// at the new endpoint (null: never reached), and for a replacement, the time from issue to the last
/// success at the removed endpoint (traffic still sent to it; null: none after the issue).
/// </summary>
public sealed record NodeConvergence(
    string Node,
    IReadOnlyList<double?> ReachedMs,
    IReadOnlyList<double?> StaleMs,
    long Failures,
    double ProbesPerSecond
);

/// <summary>The stored record of a convergence case, enough to redraw its timeline.</summary>
public sealed record ConvergenceData(IReadOnlyList<EndpointChange> Changes, IReadOnlyList<NodeConvergence> Nodes)
{
    /// <summary>Every write of every node's dataplane: when it began and ended (a late start is the writer's, a late
    /// effect the dataplane's).</summary>
    public IReadOnlyList<NodeWrite> Writes { get; init; } = [];

    /// <summary>What the controller asked of the cluster and when (a cluster's scale and restart); none on the
    /// lab.</summary>
    public IReadOnlyList<ChurnAction> Actions { get; init; } = [];

    /// <summary>Probers on clocks of their own (a cluster's nodes): the offsets their sightings were corrected
    /// by.</summary>
    public IReadOnlyList<ProberClock> Clocks { get; init; } = [];
}

/// <summary>When one node's dataplane began and finished writing a version of the endpoints (version = change
/// index).</summary>
public sealed record NodeWrite(string Node, int Version, long StartedUnixUs, long CompletedUnixUs);

/// <summary>What the controller asked of the cluster (scale, restart) and when.</summary>
public sealed record ChurnAction(string Name, long AtUnixUs);
