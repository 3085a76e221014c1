using System.Net;
using CniBench.Cli.Running;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets;
using CniBench.Cli.Targets.Kube;
using CniBench.Cli.Targets.Kube.Api;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Features.TrafficSplit;

/// <summary>
/// The traffic-split suite: a client pod sends HTTP through a Gateway whose HTTPRoute splits the requests by the
/// case's weights between two backend pods (on the server's and the client's node); how the answers shared out,
/// overall and per window, against the weights.
/// </summary>
public sealed class TrafficSplitFeature : ICaseFeature
{
    public string Name => "traffic-split";

    public IReadOnlyList<ScenarioFields.Field> Fields { get; } =
    [
        new(
            "weights",
            "two HTTPRoute weights A/B, integers (e.g. 95/5), for placement pod-to-gateway (kube target)",
            ReadWeights,
            true,
            PerWorkload: true
        ),
    ];

    public object? Read(CaseValues values)
    {
        bool toGateway = values.Placement == Placement.PodToGateway;
        if (toGateway && !values.Has("weights"))
            values.Error(
                "weights",
                $"missing: {Placement.PodToGateway.ToName()} splits the traffic between two backends",
                "weights: 95/5"
            );
        else if (!toGateway && values.Has("weights"))
            values.Error(
                "weights",
                $"applies to placement {Placement.PodToGateway.ToName()} only",
                $"placement: {Placement.PodToGateway.ToName()}"
            );
        return values.Has("weights") ? values.Get<SplitWeights>("weights", new(1, 1)) : null;
    }

    public IEnumerable<string> Check(ITarget target, PlannedCase plannedCase)
    {
        if (target.Infrastructure is not KubeSite site)
            yield return $"case {plannedCase.Name}: traffic-split needs a Gateway API implementation; the "
                + $"{target.Name} target has none (--target kube)";
        else if (site.Options.GatewayClass is null)
            yield return $"case {plannedCase.Name}: {Placement.PodToGateway.ToName()} needs --gateway-class (the "
                + "GatewayClass of your Gateway API implementation, e.g. cilium, nginx, eg)";
    }

    public bool Prepares(ITarget target, PlannedCase plannedCase) => true;

    /// <summary>The two backends and the client as pods, the Gateway and its HTTPRoute with the case's weights (made
    /// once per run, the route's weights set per case); the case starts once the route is in force.</summary>
    public async Task<AgentPair> PrepareAsync(
        IInfrastructure infrastructure,
        PlannedCase plannedCase,
        CancellationToken cancellationToken
    )
    {
        var site = (KubeSite)infrastructure;
        var weights = plannedCase.Feature<SplitWeights>(Name)!;
        var (serverNode, clientNode, _, _) = await site.NodesAsync(cancellationToken);
        var a = await site.EnsureAgentAsync(
            new AgentPlacement(GatewayManifests.BackendA, GatewayManifests.BackendA, serverNode, false),
            cancellationToken
        );
        var b = await site.EnsureAgentAsync(
            new AgentPlacement(GatewayManifests.BackendB, GatewayManifests.BackendB, clientNode, false),
            cancellationToken
        );
        var client = await site.EnsureAgentAsync(
            new AgentPlacement("client", "client", clientNode, false),
            cancellationToken
        );
        var options = site.Options;
        var split = site.Parts.Get(() =>
            new KubeTrafficSplit(
                site.Objects,
                site.Kube,
                site.Namespace,
                options.RunId,
                options.GatewayClass!,
                options.GatewayPort,
                options.ReadyTimeout
            )
        );
        var ip = await split.PrepareAsync(weights, plannedCase.IpFamily == IpFamily.Ipv6, cancellationToken);
        string address = Endpoints.Format(new IPEndPoint(IPAddress.Parse(ip), options.GatewayPort));
        return new AgentPair(
            site.Pods.Handle("server", a),
            site.Pods.Handle("client", client),
            address,
            $"{Placement.PodToGateway.ToName()} ({weights})"
        )
        {
            Hooks = [new SplitBackendHook(b.Info.Identity.Name, weights)],
        };
    }

    private static bool ReadWeights(string text, out object value)
    {
        bool ok = SplitWeights.TryParse(text, out var weights);
        value = weights;
        return ok;
    }
}
