namespace CniBench.Cli.Targets.Kube;

/// <summary>
/// How pod-to-external cases reach outside the cluster: an agent server on this machine, listening on every
/// address and reached by the cluster at <see cref="ExternalAddress"/>, or one already running elsewhere
/// (<see cref="ExternalAgent"/>, `cnibench-agent serve --token T`). A gateway case applies an egress policy of
/// the cluster's CNI (cilium: CiliumEgressGatewayPolicy, antrea: Egress) for the run's client pods, or, with
/// policy none, trusts one the user made; the source the server sees must be <see cref="EgressIp"/>.
/// </summary>
public sealed record KubeEgressOptions(
    string? ExternalAddress = null,
    Uri? ExternalAgent = null,
    string? ExternalToken = null,
    string Policy = "none",
    string? EgressIp = null,
    string? EgressNode = null,
    TimeSpan? PolicyWait = null,
    string? ExternalAgentSha256 = null
)
{
    public static readonly string[] Policies = ["none", "cilium", "antrea"];

    /// <summary>What a run records of its egress setup; nothing when no external server was given.</summary>
    public IReadOnlyDictionary<string, string> Describe() =>
        ExternalAddress is null && ExternalAgent is null
            ? new Dictionary<string, string>()
            : new Dictionary<string, string>
            {
                ["kube.external"] = ExternalAgent?.ToString() ?? $"this machine at {ExternalAddress}",
                ["kube.egress.policy"] = Policy,
                ["kube.egress.ip"] = EgressIp ?? "",
            };
}
