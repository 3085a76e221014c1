using System.CommandLine;
using CniBench.Cli.Targets.Kube.Api;

namespace CniBench.Cli.Commands;

/// <summary>kubectl-style flags shared by `run --target kube`, `kube cleanup` and `kube check`.</summary>
public sealed class KubeOptions
{
    public const string DefaultImage = "cnibench-agent:latest";

    public Option<string?> Kubeconfig { get; } =
        new("--kubeconfig")
        {
            Description = "kubeconfig file (default: $KUBECONFIG, else ~/.kube/config; in a pod, its service account)",
        };
    public Option<string?> Context { get; } =
        new("--context") { Description = "kubeconfig context (default: its current-context)" };
    public Option<string?> Namespace { get; } =
        new("--namespace", "-n") { Description = "Run in this existing namespace instead of a new one per run" };
    public Option<string> Image { get; } =
        new("--agent-image")
        {
            Description = $"Agent image (build it with deploy/Dockerfile; default {DefaultImage})",
            DefaultValueFactory = _ => DefaultImage,
        };

    public IEnumerable<Option> All => [Kubeconfig, Context, Namespace, Image];

    // Egress (pod-to-external cases): only `run` takes these.
    public Option<string?> ExternalAddress { get; } =
        new("--external-address")
        {
            Description =
                "pod-to-external: run the external agent server on this machine; the IP address the cluster's pods "
                + "reach this machine at",
        };
    public Option<string?> ExternalAgent { get; } =
        new("--external-agent")
        {
            Description =
                "pod-to-external: an agent already serving elsewhere (`cnibench-agent serve --bind any --token T`), "
                + "its control URL, e.g. http://198.51.100.7:7200",
        };
    public Option<string?> ExternalToken { get; } =
        new("--external-token")
        {
            Description =
                "the --external-agent's token (default: $CNIBENCH_TOKEN); visible in the process list: prefer "
                + "--external-token-file",
        };

    public Option<string?> ExternalTokenFile { get; } =
        new("--external-token-file") { Description = "a file whose first line is the --external-agent's token" };
    public Option<string?> ExternalSha256 { get; } =
        new("--external-agent-sha256")
        {
            Description =
                "an https --external-agent's certificate SHA-256 (printed by `cnibench-agent serve --tls-cert … "
                + "--tls-key …`): pinned, so the token goes to that agent alone",
        };
    public Option<string> EgressPolicy { get; } =
        new("--egress-policy")
        {
            Description =
                $"egress: gateway cases: apply this CNI's egress policy for the run's client pods: "
                + $"{string.Join(", ", Targets.Kube.KubeEgressOptions.Policies)} (none: one you made)",
            DefaultValueFactory = _ => "none",
        };
    public Option<string?> EgressIp { get; } =
        new("--egress-ip") { Description = "egress: gateway cases: the source address the external server must see" };
    public Option<string?> EgressNode { get; } =
        new("--egress-node") { Description = "--egress-policy cilium: the gateway node's name" };

    public IEnumerable<Option> EgressAll =>
        [
            ExternalAddress,
            ExternalAgent,
            ExternalToken,
            ExternalTokenFile,
            ExternalSha256,
            EgressPolicy,
            EgressIp,
            EgressNode,
        ];

    public Option<string?> ServerNode { get; } =
        new("--server-node")
        {
            Description = "Node for the server agents (default: labelled agenttype=server, else the first Ready node)",
        };
    public Option<string?> ClientNode { get; } =
        new("--client-node")
        {
            Description = "Node for the client agents (default: labelled agenttype=client, else another Ready node)",
        };
    public Option<string> Zones { get; } =
        new("--zones")
        {
            Description = "The client's node in the server's zone (same), in another one (cross), or either (any)",
            DefaultValueFactory = _ => "any",
        };

    public IEnumerable<Option> PlacementAll => [ServerNode, ClientNode, Zones];

    public Targets.Kube.KubeNodePlacement Placement(ParseResult parse, List<string> problems)
    {
        var zones = parse.GetValue(Zones)!;
        if (!Enum.TryParse<Targets.Kube.ZonePlacement>(zones, ignoreCase: true, out var z) || zones.Any(char.IsDigit))
            problems.Add($"{Zones.Name}: '{zones}' is not known; allowed: any, same, cross");
        return new(parse.GetValue(ServerNode), parse.GetValue(ClientNode), z);
    }

    public Option<bool> NodeSampler { get; } =
        new("--node-sampler")
        {
            Description =
                "Deploy a node sampler on every node (a DaemonSet with the host's PID namespace): whole-node CPU and "
                + "memory, and the CPU of the CNI's agent and kube-proxy, in every case's window",
        };

    public Option<bool> NetworkPolicy { get; } =
        new("--network-policy")
        {
            Description =
                "Admit the agents' control port only from the API server's addresses (a NetworkPolicy in the run's "
                + "namespace; the data ports stay open). Off by default: where the CNI sees the API server's proxy "
                + "come from another address (a node's, a tunnel's), the policy would shut the controller out",
        };

    public Option<string?> GatewayClass { get; } =
        new("--gateway-class")
        {
            Description =
                "pod-to-gateway (traffic-split): the gatewayClassName of the run's Gateway, e.g. cilium, nginx, eg",
        };

    /// <summary>The egress flags, each checked: what is wrong is added to <paramref name="problems"/>.</summary>
    public Targets.Kube.KubeEgressOptions Egress(ParseResult parse, List<string> problems)
    {
        string? Ip(Option<string?> option)
        {
            var text = parse.GetValue(option);
            if (text is not null && !System.Net.IPAddress.TryParse(text, out _))
                problems.Add($"{option.Name}: '{text}' is not an IP address");
            return text;
        }
        Uri? agent = null;
        if (
            parse.GetValue(ExternalAgent) is { } url
            && (
                !Uri.TryCreate(url, UriKind.Absolute, out agent)
                || agent.Scheme is not ("http" or "https")
                || !System.Net.IPAddress.TryParse(agent.Host.Trim('[', ']'), out _)
            )
        )
            problems.Add(
                $"{ExternalAgent.Name}: '{url}' is not an agent URL; allowed: http://IP:PORT, https://IP:PORT"
            );
        var pin = parse.GetValue(ExternalSha256);
        if (pin is not null && !CniBench.Cli.Agents.CertificatePin.TryParse(pin, out _))
            problems.Add(
                $"{ExternalSha256.Name}: '{pin}' is not a SHA-256; allowed: 64 hex digits, colons between pairs allowed"
            );
        else if (pin is not null && agent?.Scheme != "https")
            problems.Add(
                $"{ExternalSha256.Name}: only with an https:// {ExternalAgent.Name} (the agent started with "
                    + $"--tls-cert and --tls-key)"
            );
        var policy = parse.GetValue(EgressPolicy)!;
        if (!Targets.Kube.KubeEgressOptions.Policies.Contains(policy))
            problems.Add(
                $"{EgressPolicy.Name}: '{policy}' is not known; allowed: "
                    + $"{string.Join(", ", Targets.Kube.KubeEgressOptions.Policies)}"
            );
        if (parse.GetValue(ExternalAddress) is not null && agent is not null)
            problems.Add($"{ExternalAddress.Name} and {ExternalAgent.Name}: give one, not both");
        return new(
            Ip(ExternalAddress),
            agent,
            ExternalTokenOf(parse, problems),
            policy,
            Ip(EgressIp),
            parse.GetValue(EgressNode),
            ExternalAgentSha256: pin
        );
    }

    /// <summary>The external agent's token: from its file, else the flag, else $CNIBENCH_TOKEN (null: none given).
    /// It goes into an HTTP header, so it must be printable ASCII, as the agent requires of its own.</summary>
    private string? ExternalTokenOf(ParseResult parse, List<string> problems)
    {
        string? token = parse.GetValue(ExternalToken);
        string source = ExternalToken.Name;
        if (parse.GetValue(ExternalTokenFile) is { } path)
        {
            source = $"{ExternalTokenFile.Name} {path}";
            try
            {
                token = File.ReadLines(path).FirstOrDefault()?.Trim() ?? "";
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                problems.Add($"{ExternalTokenFile.Name}: cannot read {path}: {e.Message}");
                return null;
            }
        }
        if (
            token is null
            && Environment.GetEnvironmentVariable(Contracts.Protocol.ControlProtocol.TokenVariable) is { } env
        )
            (token, source) = (env, "$" + Contracts.Protocol.ControlProtocol.TokenVariable);
        if (token is not null && !Contracts.Protocol.ControlProtocol.IsValidToken(token))
            problems.Add(
                $"{source}: the token has characters other than printable ASCII; allowed: "
                    + Contracts.Protocol.ControlProtocol.TokenAllowed
            );
        return token;
    }

    public KubeClient Connect(ParseResult parse) =>
        new(KubeConfig.Load(parse.GetValue(Kubeconfig), parse.GetValue(Context), parse.GetValue(Namespace)));
}
