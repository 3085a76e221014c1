using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets;
using CniBench.Cli.Targets.Lab;
using CniBench.Cli.Targets.Lab.Network;
using CniBench.Contracts.Protocol;

namespace CniBench.Cli.Features.Transfer;

/// <summary>Transfer cases on the lab: the case's pods are those of its ClusterIP placement, as the lab placed
/// them.</summary>
public static class LabTransfer
{
    /// <summary>Transfer cases: every pod of the case counts its interfaces, a node sampler on every node its flows,
    /// and every node runs a log shipper of the case's family.</summary>
    public static async Task<TransferHook> HookAsync(
        LabSite site,
        PlannedCase plannedCase,
        CancellationToken cancellationToken
    )
    {
        // The agents the lab started for the placement, found again by their place.
        var family = plannedCase.IpFamily == IpFamily.Ipv6 ? LabFamily.V6 : LabFamily.V4;
        var place = site.Place(plannedCase.Placement, family);
        var servers = new List<AgentProcess>();
        foreach (var host in place.Servers)
            servers.Add(await site.EnsureAsync("server", host, cancellationToken, family));
        var client = await site.EnsureAsync("client", place.Client, cancellationToken, family);
        var pods = new List<TransferPod>
        {
            new(
                "client",
                place.Client.Namespace,
                Node(site, place.Client),
                Zone(site, place.Client),
                AgentPool.Handle(client)
            ),
        };
        pods.AddRange(
            place.Servers.Zip(servers, (host, agent) =>
                new TransferPod("server", host.Namespace, Node(site, host), Zone(site, host), AgentPool.Handle(agent))
            )
        );
        var samplers = new List<TransferNode>();
        foreach (var node in site.Topology.Nodes)
            samplers.Add(
                new(
                    node.Namespace,
                    site.Topology.ZoneOf(node.Node),
                    "eth0",
                    AgentPool.Handle(await site.EnsureAsync("sampler", node, cancellationToken))
                )
            );
        int[] ports = [.. servers.Select(s => s.Info.Ports.Http).Append(DefaultPorts.Http).Distinct()];
        return new TransferHook(
            pods,
            samplers,
            ports,
            site.Topology.AddressBook(),
            new LabLogShippers(site.Topology, family, site.Command)
        );
    }

    private static string Node(LabSite site, LabHost host) => site.Topology.Node(host.Node).Namespace;

    private static string Zone(LabSite site, LabHost host) => site.Topology.ZoneOf(host.Node);
}
