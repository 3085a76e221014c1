namespace CniBench.Cli.Targets.Kube;

/// <summary>What a kube run deploys with: the image, the run's namespace, how long its pods may live.</summary>
/// <param name="ChurnStepTimeout">The most a convergence case waits for the scale-up, and again for the rollout, to
/// show in the EndpointSlices.</param>
/// <param name="Egress">Where pod-to-external cases send and which egress policy gateway cases apply.</param>
/// <param name="GatewayClass">pod-to-gateway cases: the gatewayClassName of the run's Gateway; <paramref
/// name="GatewayPort"/> its listener's port.</param>
/// <param name="NetworkPolicy">Admit the agents' control port only from the API server's addresses (a NetworkPolicy
/// in the run's namespace).</param>
public sealed record KubeTargetOptions(
    string Image,
    string RunId,
    TimeSpan Deadline,
    TimeSpan ReadyTimeout,
    string? Namespace = null,
    TimeSpan? ChurnStepTimeout = null,
    KubeEgressOptions? Egress = null,
    string? GatewayClass = null,
    int GatewayPort = 80,
    bool NodeSampler = false,
    bool NetworkPolicy = false
)
{
    public KubeNodePlacement Placement { get; init; } = new();
}

public enum ZonePlacement
{
    Any,
    Same,
    Cross,
}

/// <summary>Which nodes the server and client agents go to (null: chosen by label, then in order) and how their zones
/// relate.</summary>
public sealed record KubeNodePlacement(
    string? ServerNode = null,
    string? ClientNode = null,
    ZonePlacement Zones = ZonePlacement.Any
);
