using CniBench.Cli.Targets.Kube;
using CniBench.Cli.Targets.Kube.Api;

namespace CniBench.Cli.Features.Convergence;

/// <summary>
/// The endpoints Deployment behind a run's churn Service: applied with the replicas a step asks for and the
/// last restart stamp (kept across repetitions, so scaling back to one for the next repetition does not
/// roll the pods once more), and, when a step takes too long, what the cluster says its pods wait for.
/// </summary>
public sealed class KubeEndpoints(
    RunObjects objects,
    KubeClient kube,
    string ns,
    string runId,
    string image,
    TimeSpan stepTimeout
)
{
    public string Namespace => ns;
    public TimeSpan StepTimeout => stepTimeout;
    public string? RestartedAt { get; set; }

    public async Task ApplyDeploymentAsync(int replicas, CancellationToken cancellationToken)
    {
        var manifest = KubeObjects.Checked(AgentManifests.EndpointDeployment(ns, runId, image, replicas, RestartedAt));
        await objects.ApplyAsync(
            new KubeResource("apps", "v1", "deployments", ns, AgentManifests.EndpointRole),
            manifest,
            cancellationToken
        );
    }

    public Task<string> WhyPodsWaitAsync(CancellationToken cancellationToken) =>
        KubeObjects.WhyPodsWaitAsync(
            kube,
            ns,
            $"{AgentManifests.RunLabel}={runId},{AgentManifests.RoleLabel}={AgentManifests.EndpointRole}",
            "endpoint",
            cancellationToken
        );
}
