using CniBench.Cli.Agents;

namespace CniBench.Cli.Features.Convergence;

/// <summary>
/// A node's prober and how its wall clock stands against the controller's, which stamps the changes:
/// <see cref="ClockOffsetUs"/> (agent minus controller) as read, ± <see cref="ClockUncertaintyUs"/> (zero
/// when both share one clock); sightings are moved by what the reading proves (<see cref="ClockOffset.Proven"/>).
/// </summary>
public sealed record Prober(string Node, AgentHandle Agent, long ClockOffsetUs = 0, long ClockUncertaintyUs = 0)
{
    public long CorrectionUs => ClockOffset.Proven(ClockOffsetUs, ClockUncertaintyUs);
}

/// <summary>What changed and when, in the controller's clock, and every node write the target could see.</summary>
public sealed record ChurnRecord(IReadOnlyList<EndpointChange> Changes, IReadOnlyList<NodeWrite> Writes)
{
    /// <summary>What the controller asked of the cluster and when (scale, restart): from there to the first change is
    /// the control plane's part.</summary>
    public IReadOnlyList<ChurnAction> Actions { get; init; } = [];
}

/// <summary>
/// A service whose endpoints change while every node's prober sends to it. The target drives the changes
/// its own way: the lab issues them on a fixed beat and writes each node's rules itself; a cluster scales
/// and restarts a Deployment and learns of every endpoint from the EndpointSlice watch.
/// </summary>
public interface IEndpointChurn : IAsyncDisposable
{
    IReadOnlyList<Prober> Probers { get; }

    /// <summary>host:port the probers send to.</summary>
    string ServiceAddress { get; }

    /// <summary>The most the changes may take, from the first until every node has them: sizes the probers'
    /// window.</summary>
    TimeSpan Budget { get; }

    /// <summary>
    /// How long the probers go on once the changes have settled where the target sees them: the lab has written every
    /// node's rules by then; on a cluster the watch shows the last change before any proxy has programmed it.
    /// </summary>
    TimeSpan Tail => TimeSpan.FromSeconds(2);

    /// <summary>Makes the changes, the first at <paramref name="firstChangeAt"/>, and returns once they have
    /// settled.</summary>
    Task<ChurnRecord> DriveAsync(DateTimeOffset firstChangeAt, CancellationToken cancellationToken);
}
