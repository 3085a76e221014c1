using System.Net;
using CniBench.Cli.Running;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets;
using CniBench.Contracts.Measurement;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Features.Hairpin;

/// <summary>
/// The hairpin path, the fifth path of the Kubernetes perf-tests netperf benchmark: a pod sends to a Service whose
/// only endpoint is that same pod, so the proxy's rules send the traffic back where it came from (and must
/// masquerade it, or the answer never reaches the socket that asked). One agent is client and server at once.
/// </summary>
public sealed class HairpinFeature : ICaseFeature
{
    /// <summary>The role of the pod that is both the client and the Service's only endpoint.</summary>
    public const string Role = "hairpin";

    public string Name => "hairpin";

    public IReadOnlyList<ScenarioFields.Field> Fields { get; } =
    [
        new(
            "hairpin",
            "true, false: the client sends through a Service whose only endpoint is its own pod (placement "
                + "pod-to-cluster-ip; lab and kube targets)",
            ScenarioFields.Bool,
            true
        ),
    ];

    public object? Read(CaseValues values)
    {
        if (!values.Get("hairpin", false))
            return null;
        if (values.Placement != Placement.PodToClusterIp)
            values.Error(
                "hairpin",
                $"applies to placement {Placement.PodToClusterIp.ToName()} only",
                $"placement: {Placement.PodToClusterIp.ToName()}"
            );
        return new HairpinOptions();
    }

    public IEnumerable<string> Check(ITarget target, PlannedCase plannedCase)
    {
        if (target.Infrastructure is null)
            yield return $"case {plannedCase.Name}: hairpin needs a pod behind a Service; the {target.Name} target "
                + "has none (--target lab or kube)";
    }

    public bool Prepares(ITarget target, PlannedCase plannedCase) => true;

    public async Task<AgentPair> PrepareAsync(
        IInfrastructure infrastructure,
        PlannedCase plannedCase,
        CancellationToken cancellationToken
    )
    {
        var metrics = new Dictionary<string, double>(
            await infrastructure.BeginCaseAsync(plannedCase, cancellationToken)
        );
        var pod = await infrastructure.AgentAsync(
            new AgentRequest(Role, SiteNode.Client, plannedCase.IpFamily),
            cancellationToken
        );
        var ip = IPAddress.Parse(await infrastructure.ServiceAsync(Role, plannedCase.IpFamily, cancellationToken));
        var ports = pod.Handle.Info.Ports;
        // The case starts once the pod's own node has programmed the Service: the first answer through it.
        metrics[Metrics.ServiceSettleMs] = await infrastructure.SettleAsync(
            pod,
            Endpoints.Format(new IPEndPoint(ip, ports.Http)),
            "the hairpin Service",
            cancellationToken
        );
        var address = Endpoints.Format(new IPEndPoint(ip, AgentPool.DataPort(plannedCase.Workload.Kind, ports)));
        return new AgentPair(pod.Handle, pod.Handle, address, $"{Placement.PodToClusterIp.ToName()} (hairpin)")
        {
            TargetMetrics = metrics,
            AgentsOnThisHost = infrastructure.AgentsOnThisHost,
        };
    }
}

/// <summary>A hairpin case: nothing to set beyond taking part.</summary>
public sealed record HairpinOptions;
