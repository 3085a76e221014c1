using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets;
using CniBench.Cli.Targets.Lab;

namespace CniBench.Cli.Features.Convergence;

/// <summary>Convergence on the lab: the lab as the case asks, a server in every endpoint pod, a prober per node (in
/// the node's first pod, as a prober DaemonSet would place them), and the churn written by the lab itself.</summary>
public static class LabConvergence
{
    public static async Task<IEndpointChurn> PrepareAsync(
        LabSite site,
        PlannedCase plannedCase,
        Churn churn,
        CancellationToken cancellationToken
    )
    {
        await site.ReconcileAsync(site.Desired(plannedCase.Dataplane), cancellationToken);
        foreach (var pod in site.Topology.Endpoints)
            await site.EnsureAsync("server", pod, cancellationToken);
        var probers = new List<Prober>();
        foreach (var node in site.Topology.Nodes)
            probers.Add(
                new(
                    node.Namespace,
                    AgentPool.Handle(
                        await site.EnsureAsync("client", site.Topology.Pod(node.Node, 1), cancellationToken)
                    )
                )
            );
        return await LabChurn.CreateAsync(
            site.Topology,
            site.Services(site.Topology.Families[0]),
            churn,
            probers,
            cancellationToken
        );
    }
}
