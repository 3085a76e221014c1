using System.Net;
using CniBench.Cli.Agents;
using CniBench.Cli.Running;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets;
using CniBench.Cli.Targets.Kube;
using CniBench.Cli.Targets.Kube.Api;
using CniBench.Cli.Targets.Lab;
using CniBench.Cli.Targets.Lab.Network;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Features.Egress;

/// <summary>
/// The egress suite: pods reach a host outside the cluster, directly (each node SNATs its pods) or through a gateway,
/// and the source the external server saw is checked against the one the path must show. Its cases are those of
/// placement pod-to-external; the egress mode itself is a dataplane setting the target applies.
/// </summary>
public sealed class EgressFeature : ICaseFeature
{
    public string Name => "egress";

    /// <summary>No fields of its own: the placement and the dataplane's egress mode say it all.</summary>
    public IReadOnlyList<ScenarioFields.Field> Fields { get; } = [];

    public object? Read(CaseValues values) => values.Placement == Placement.PodToExternal ? new EgressCase() : null;

    public IEnumerable<string> Check(ITarget target, PlannedCase plannedCase) =>
        target.Infrastructure is KubeSite site ? KubeEgress.Validate(plannedCase, Options(site)) : [];

    /// <summary>On a cluster its server is its own (outside the cluster); on the lab it is the external
    /// host's.</summary>
    public bool Prepares(ITarget target, PlannedCase plannedCase) => target.Infrastructure is KubeSite;

    public Task<AgentPair> PrepareAsync(
        IInfrastructure infrastructure,
        PlannedCase plannedCase,
        CancellationToken cancellationToken
    ) => PrepareKubeAsync((KubeSite)infrastructure, plannedCase, cancellationToken);

    /// <summary>On the lab: the source the external host must see is the client's node's address, or the gateway
    /// node's.</summary>
    public Task<AgentPair> ExtendAsync(
        IInfrastructure infrastructure,
        PlannedCase plannedCase,
        AgentPair pair,
        CancellationToken cancellationToken
    )
    {
        if (infrastructure is not LabSite lab)
            return Task.FromResult(pair);
        var family = plannedCase.IpFamily == IpFamily.Ipv6 ? LabFamily.V6 : LabFamily.V4;
        var place = lab.Place(plannedCase.Placement, family);
        var expected = new SourceExpectation(
            lab.Topology.EgressSource(place.Client.Node, family),
            lab.Spec.Egress == EgressMode.Gateway ? "the gateway node's address" : "the client's own node's address",
            family.Endpoint(place.Address, pair.Server.Info.Ports.Http)
        );
        return Task.FromResult(pair with { Hooks = [.. pair.Hooks, new SourceCheckHook(pair.Client, expected)] });
    }

    private static KubeEgressOptions Options(KubeSite site) => site.Options.Egress ?? new KubeEgressOptions();

    /// <summary>
    /// Out of the cluster: the client pod on the client node sends to the external agent server; the case's
    /// egress path (direct or gateway) is put in place first and the source the server must see is set.
    /// </summary>
    private static async Task<AgentPair> PrepareKubeAsync(
        KubeSite site,
        PlannedCase plannedCase,
        CancellationToken cancellationToken
    )
    {
        var (_, clientNode, _, clientNodeObject) = await site.NodesAsync(cancellationToken);
        bool v6 = plannedCase.IpFamily == IpFamily.Ipv6;
        var client = site.Pods.Handle(
            "client",
            await site.EnsureAgentAsync(new AgentPlacement("client", "client", clientNode, false), cancellationToken)
        );
        var egress = site.Parts.Get(() =>
            new KubeEgress(site.Kube, site.Namespace, site.Options.RunId, Options(site), site.Token)
        );
        var (server, host) = await egress.ServerAsync(cancellationToken);
        var expected = await egress.PrepareAsync(
            plannedCase,
            client,
            KubeObjects.NodeAddress(v6, clientNodeObject),
            clientNode,
            cancellationToken
        );
        string address = Endpoints.Format(
            new IPEndPoint(IPAddress.Parse(host), AgentPool.DataPort(plannedCase.Workload.Kind, server.Info.Ports))
        );
        return new AgentPair(
            server,
            client,
            address,
            $"pod-to-external ({(plannedCase.Dataplane?.Egress == EgressMode.Gateway ? "gateway" : "direct")})"
        )
        {
            Hooks = [new SourceCheckHook(client, expected)],
        };
    }
}

/// <summary>A pod-to-external case: nothing to set beyond the dataplane's egress mode.</summary>
public sealed record EgressCase;
