using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets;

namespace CniBench.Cli.Convergence;

/// <summary>A target that can run a convergence case: a service whose endpoints it changes, and a prober on every node.</summary>
public interface IChurnTarget
{
    /// <summary>A service with its first endpoint in place, fresh endpoint addresses for every later change, and the probers.</summary>
    Task<IEndpointChurn> PrepareChurnAsync(PlannedCase plannedCase, CancellationToken cancellationToken);
}

public sealed record Prober(string Node, AgentHandle Agent);

/// <summary>When one node's dataplane began and finished writing a version of the endpoints (version = change index).</summary>
public sealed record NodeWrite(string Node, int Version, long StartedUnixUs, long CompletedUnixUs);

/// <summary>
/// A service whose endpoints change. Changes are issued without waiting: every node's dataplane picks up
/// the latest one on its own schedule (coalescing what arrived while it was busy), as kube-proxy does
/// with EndpointSlice updates.
/// </summary>
public interface IEndpointChurn : IAsyncDisposable
{
    IReadOnlyList<Prober> Probers { get; }

    /// <summary>host:port the probers send to.</summary>
    string ServiceAddress { get; }

    /// <summary>Endpoint addresses never used before, in the order changes take them; the first is in place already.</summary>
    IReadOnlyList<string> Addresses { get; }

    /// <summary>Makes <paramref name="endpoints"/> the service's endpoints from now on (version numbers increase from 1).</summary>
    void Issue(int version, IReadOnlyList<string> endpoints, long issuedUnixUs);

    /// <summary>Waits until every node has written the last version issued; returns every write.</summary>
    Task<IReadOnlyList<NodeWrite>> SettleAsync(CancellationToken cancellationToken);
}
