using CniBench.Cli.Running;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets;
using CniBench.Cli.Targets.Kube;
using CniBench.Cli.Targets.Lab;

namespace CniBench.Cli.Features.Transfer;

/// <summary>Client or server pods of one transfer case on kube.</summary>
public sealed record TransferOptions(int ClientPods, int Servers)
{
    public const int MaxPods = 1000;
}

/// <summary>
/// The transfer suite: where every byte of a case goes (the pods' tx/rx, the nodes' flows by zone and range, top
/// talkers; a log shipper per node on the lab), with many slow HTTP clients through a Service. On a cluster its client
/// and server pods are two Deployments of the case's sizes; on the lab they are the ClusterIP placement's own.
/// </summary>
public sealed class TransferFeature : ICaseFeature
{
    public string Name => CniBench.Cli.Transfer.TransferData.Key;

    public IReadOnlyList<ScenarioFields.Field> Fields { get; } =
    [
        new(
            "transfer",
            "true, false: count where every byte goes (pods' tx/rx, the nodes' flows by zone and range, top talkers)",
            ScenarioFields.Bool,
            false,
            PerWorkload: true
        ),
        new(
            "clientPods",
            $"an integer 1..{TransferOptions.MaxPods}: transfer cases on kube, client pods of `parallel` users each",
            ScenarioFields.Int(1, TransferOptions.MaxPods),
            true,
            PerWorkload: true
        ),
        new(
            "servers",
            $"an integer 1..{TransferOptions.MaxPods}: transfer cases on kube, server pods behind the Service",
            ScenarioFields.Int(1, TransferOptions.MaxPods),
            true,
            PerWorkload: true
        ),
    ];

    public object? Read(CaseValues values)
    {
        if (values.Get("transfer", false))
            return new TransferOptions(values.Get("clientPods", 1), values.Get("servers", 1));
        foreach (var pods in new[] { "clientPods", "servers" }.Where(values.Has))
            values.Error(pods, "applies to transfer cases only", "add transfer: true");
        return null;
    }

    public IEnumerable<string> Check(ITarget target, PlannedCase plannedCase)
    {
        var c = plannedCase;
        if (target.Infrastructure is null)
            yield return $"case {c.Name}: transfer accounting needs pods on nodes in zones; the {target.Name} target "
                + "has none (--target lab or kube)";
        else if (c.Placement != Placement.PodToClusterIp)
            yield return $"case {c.Name}: a transfer case sends clients to servers through a service; allowed "
                + "placement: pod-to-cluster-ip";
        if (target.Infrastructure is KubeSite { Options.NodeSampler: false })
            yield return $"case {c.Name}: a transfer case reads every node's flows; it needs --node-sampler (then a "
                + "privileged sampler runs on each node's own network for the run)";
        if (
            target.Infrastructure is LabSite
            && (c.Parameters.ContainsKey("clientPods") || c.Parameters.ContainsKey("servers"))
        )
            yield return $"case {c.Name}: clientPods and servers apply to kube; the lab runs a server on every node "
                + "and the clients as `parallel` users of one client agent";
    }

    /// <summary>On a cluster its pods are its own (Deployments of the case's sizes); on the lab, the
    /// placement's.</summary>
    public bool Prepares(ITarget target, PlannedCase plannedCase) => target.Infrastructure is KubeSite;

    public Task<AgentPair> PrepareAsync(
        IInfrastructure infrastructure,
        PlannedCase plannedCase,
        CancellationToken cancellationToken
    ) =>
        infrastructure is KubeSite kube
            ? Kube(kube).PrepareAsync(plannedCase, plannedCase.Feature<TransferOptions>(Name)!, cancellationToken)
            : throw new TargetException($"{infrastructure.Name}: transfer cases use the target's own placement");

    public async Task<AgentPair> ExtendAsync(
        IInfrastructure infrastructure,
        PlannedCase plannedCase,
        AgentPair pair,
        CancellationToken cancellationToken
    ) =>
        pair with
        {
            Hooks =
            [
                .. pair.Hooks,
                infrastructure is KubeSite kube
                    ? await Kube(kube).HookAsync(pair, cancellationToken)
                    : await LabTransfer.HookAsync((LabSite)infrastructure, plannedCase, cancellationToken),
            ],
        };

    private static KubeTransferCase Kube(KubeSite site) => site.Parts.Get(() => new KubeTransferCase(site));
}
