using System.Text.Json.Nodes;
using CniBench.Contracts.Protocol;

namespace CniBench.Cli.Targets.Kube.Api;

/// <summary>Where an agent pod goes and how: its role, node, host network or not.</summary>
public sealed record AgentPlacement(string Name, string Role, string Node, bool HostNetwork);

/// <summary>
/// The objects a kube run creates, as JSON the API accepts: one namespace per run (labelled so leftovers
/// are found), the agents' token as a Secret, agent pods pinned to nodes (readiness on /healthz, a deadline
/// so nothing outlives a dead controller), and the Service in front of the server agents.
/// </summary>
public static class AgentManifests
{
    public const string ManagedBy = "app.kubernetes.io/managed-by";
    public const string RunLabel = "cnibench.dev/run";
    public const string RoleLabel = "cnibench.dev/role";
    public const string AppLabel = "app.kubernetes.io/name";
    public const int ControlPort = DefaultPorts.Control,
        TcpPort = DefaultPorts.Tcp,
        UdpPort = DefaultPorts.Udp,
        HttpPort = DefaultPorts.Http;
    public const int TcpNodePort = 30201,
        UdpNodePort = 30202,
        HttpNodePort = 30280;

    public static string NamespaceFor(string runId) => $"cnibench-{runId}";

    private static JsonObject Labels(string runId, string? role = null)
    {
        var labels = new JsonObject
        {
            [ManagedBy] = "cnibench",
            [RunLabel] = runId,
            [AppLabel] = "cnibench-agent",
        };
        if (role is not null)
            labels[RoleLabel] = role;
        return labels;
    }

    public static JsonObject Namespace(string name, string runId) =>
        new()
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Namespace",
            ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = Labels(runId) },
        };

    /// <summary>The run's own name: in a namespace the user gave, a Secret of theirs (the shipped deployment's
    /// agent-token) is never touched.</summary>
    public static string TokenSecretName(string runId) => $"cnibench-token-{runId}";

    public static JsonObject TokenSecret(string ns, string runId, string token) =>
        new()
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Secret",
            ["metadata"] = new JsonObject
            {
                ["name"] = TokenSecretName(runId),
                ["namespace"] = ns,
                ["labels"] = Labels(runId),
            },
            ["type"] = "Opaque",
            ["stringData"] = new JsonObject { ["token"] = token },
        };

    /// <summary>An agent pod on one node; <paramref name="deadline"/> is the most the run may take (the pod is ended
    /// after it).</summary>
    public static JsonObject AgentPod(
        string ns,
        string runId,
        AgentPlacement p,
        string image,
        TimeSpan deadline,
        AgentResources resources
    )
    {
        var spec = AgentPodSpec(runId, image, resources, p.HostNetwork);
        spec["nodeName"] = p.Node;
        spec["restartPolicy"] = "Never";
        spec["activeDeadlineSeconds"] = (long)Math.Ceiling(deadline.TotalSeconds);
        return new()
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Pod",
            ["metadata"] = new JsonObject
            {
                ["name"] = p.Name,
                ["namespace"] = ns,
                ["labels"] = Labels(runId, p.Role),
                ["annotations"] = ScrapeAnnotations(),
            },
            ["spec"] = spec,
        };
    }

    /// <summary>
    /// The convergence probers: an agent on every schedulable node, as a DaemonSet places it. A workload's
    /// pod template may not carry activeDeadlineSeconds (the API refuses it): the run's namespace going, or
    /// `cnibench kube cleanup`, ends them.
    /// </summary>
    public static JsonObject ProberDaemonSet(string ns, string runId, string image) =>
        new()
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "DaemonSet",
            ["metadata"] = new JsonObject
            {
                ["name"] = ProberRole,
                ["namespace"] = ns,
                ["labels"] = Labels(runId),
            },
            ["spec"] = new JsonObject
            {
                ["selector"] = new JsonObject
                {
                    ["matchLabels"] = new JsonObject { [RunLabel] = runId, [RoleLabel] = ProberRole },
                },
                ["template"] = Template(
                    runId,
                    ProberRole,
                    AgentPodSpec(runId, image, new AgentResources(), false),
                    null
                ),
            },
        };

    /// <summary>
    /// The endpoints whose churn the probers follow: agent pods behind the churn Service, sized small so 44 of
    /// them fit beside everything else. <paramref name="restartedAt"/> set as `kubectl rollout restart` sets it.
    /// </summary>
    public static JsonObject EndpointDeployment(
        string ns,
        string runId,
        string image,
        int replicas,
        string? restartedAt
    ) =>
        new()
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "Deployment",
            ["metadata"] = new JsonObject
            {
                ["name"] = EndpointRole,
                ["namespace"] = ns,
                ["labels"] = Labels(runId),
            },
            ["spec"] = new JsonObject
            {
                ["replicas"] = replicas,
                ["selector"] = new JsonObject
                {
                    ["matchLabels"] = new JsonObject { [RunLabel] = runId, [RoleLabel] = EndpointRole },
                },
                ["template"] = Template(
                    runId,
                    EndpointRole,
                    AgentPodSpec(runId, image, AgentResources.Endpoint, false),
                    restartedAt is null ? null : new JsonObject { [RestartedAtAnnotation] = restartedAt }
                ),
            },
        };

    public const string ProberRole = "prober",
        EndpointRole = "endpoint",
        ChurnService = "churn",
        SamplerRole = "node-sampler";

    /// <summary>
    /// The opt-in node sampler: an agent on every node (tolerating every taint) in the host's PID namespace, so
    /// that its monitor jobs see the node's processes (the CNI's agent, kube-proxy). /proc/PID/stat is world-
    /// readable: no privileged container and no capability is needed, only hostPID.
    /// </summary>
    public static JsonObject NodeSamplerDaemonSet(string ns, string runId, string image)
    {
        var spec = AgentPodSpec(runId, image, AgentResources.Endpoint, false);
        spec["hostPID"] = true;
        spec["tolerations"] = new JsonArray(new JsonObject { ["operator"] = "Exists" });
        return new()
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "DaemonSet",
            ["metadata"] = new JsonObject
            {
                ["name"] = SamplerRole,
                ["namespace"] = ns,
                ["labels"] = Labels(runId),
            },
            ["spec"] = new JsonObject
            {
                ["selector"] = new JsonObject
                {
                    ["matchLabels"] = new JsonObject { [RunLabel] = runId, [RoleLabel] = SamplerRole },
                },
                ["template"] = Template(runId, SamplerRole, spec, null),
            },
        };
    }

    public const string TransferClientRole = "transfer-client",
        TransferServerRole = "transfer-server",
        TransferService = "transfer";

    /// <summary>
    /// Transfer cases: <paramref name="replicas"/> agent pods of one role, spread by the scheduler, each a client pod
    /// of many users or a server behind the transfer Service. One Deployment, one label selector: the run creates and
    /// follows them whatever their number without an API call per pod.
    /// </summary>
    public static JsonObject AgentDeployment(string ns, string runId, string image, string role, int replicas) =>
        new()
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "Deployment",
            ["metadata"] = new JsonObject
            {
                ["name"] = role,
                ["namespace"] = ns,
                ["labels"] = Labels(runId),
            },
            ["spec"] = new JsonObject
            {
                ["replicas"] = replicas,
                ["selector"] = new JsonObject
                {
                    ["matchLabels"] = new JsonObject { [RunLabel] = runId, [RoleLabel] = role },
                },
                ["template"] = Template(runId, role, AgentPodSpec(runId, image, AgentResources.Endpoint, false), null),
            },
        };

    public const string FlowSamplerRole = "flow-sampler";

    /// <summary>The flow sampler's ports: on the node's network, beside any host-network agent of the run.</summary>
    public const int FlowSamplerControlPort = 7290,
        FlowSamplerTcpPort = 7291,
        FlowSamplerUdpPort = 7292,
        FlowSamplerHttpPort = 7293;

    /// <summary>
    /// Transfer cases with --node-sampler: an agent on every node in the node's network namespace, as root and
    /// privileged, because connection tracking's table is root's to read and its accounting switch
    /// (net.netfilter.nf_conntrack_acct) is a read-only file in an unprivileged container. It reads the node's flows
    /// and nothing else; it runs only for the run, in the run's namespace.
    /// </summary>
    public static JsonObject FlowSamplerDaemonSet(string ns, string runId, string image)
    {
        var spec = AgentPodSpec(runId, image, AgentResources.Endpoint, true);
        spec["hostPID"] = true;
        spec["tolerations"] = new JsonArray(new JsonObject { ["operator"] = "Exists" });
        spec["securityContext"] = new JsonObject { ["runAsUser"] = 0 };
        var container = (JsonObject)spec["containers"]![0]!;
        container["securityContext"] = new JsonObject { ["privileged"] = true };
        container["args"] = new JsonArray(
            "serve",
            "--bind",
            "any",
            "--control-port",
            $"{FlowSamplerControlPort}",
            "--tcp-port",
            $"{FlowSamplerTcpPort}",
            "--udp-port",
            $"{FlowSamplerUdpPort}",
            "--http-port",
            $"{FlowSamplerHttpPort}"
        );
        container["ports"] = new JsonArray(
            Port("control", FlowSamplerControlPort, "TCP"),
            Port("tcp", FlowSamplerTcpPort, "TCP"),
            Port("udp", FlowSamplerUdpPort, "UDP"),
            Port("http", FlowSamplerHttpPort, "TCP")
        );
        container["readinessProbe"]!["httpGet"]!["port"] = FlowSamplerHttpPort;
        return new()
        {
            ["apiVersion"] = "apps/v1",
            ["kind"] = "DaemonSet",
            ["metadata"] = new JsonObject
            {
                ["name"] = FlowSamplerRole,
                ["namespace"] = ns,
                ["labels"] = Labels(runId),
            },
            ["spec"] = new JsonObject
            {
                ["selector"] = new JsonObject
                {
                    ["matchLabels"] = new JsonObject { [RunLabel] = runId, [RoleLabel] = FlowSamplerRole },
                },
                ["template"] = Template(runId, FlowSamplerRole, spec, null),
            },
        };
    }

    public const string RestartedAtAnnotation = "kubectl.kubernetes.io/restartedAt";

    /// <summary>The Service whose endpoints churn: port 80 to the endpoint agents' HTTP port.</summary>
    public static JsonObject ChurnServiceManifest(string ns, string runId) =>
        new()
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Service",
            ["metadata"] = new JsonObject
            {
                ["name"] = ChurnService,
                ["namespace"] = ns,
                ["labels"] = Labels(runId),
            },
            ["spec"] = new JsonObject
            {
                ["type"] = "ClusterIP",
                ["ipFamilyPolicy"] = "PreferDualStack",
                ["selector"] = new JsonObject { [RunLabel] = runId, [RoleLabel] = EndpointRole },
                ["ports"] = new JsonArray(ServicePort("http", 80, "TCP", null, HttpPort)),
            },
        };

    public const string DummyRole = "dummy";

    /// <summary>
    /// A service-scale dummy: a ClusterIP Service with the server agents as its endpoints, so every proxy
    /// writes rules for it (a Service without endpoints gets a single reject rule, or none).
    /// </summary>
    public static JsonObject DummyService(string ns, string runId, string name) =>
        new()
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Service",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["namespace"] = ns,
                ["labels"] = Labels(runId, DummyRole),
            },
            ["spec"] = new JsonObject
            {
                ["type"] = "ClusterIP",
                ["ipFamilyPolicy"] = "PreferDualStack",
                ["selector"] = new JsonObject { [RunLabel] = runId, [RoleLabel] = "server" },
                ["ports"] = new JsonArray(ServicePort("http", 80, "TCP", null, HttpPort)),
            },
        };

    private static JsonObject Template(string runId, string role, JsonObject spec, JsonObject? annotations)
    {
        var all = ScrapeAnnotations();
        foreach (var (name, value) in annotations ?? [])
            all[name] = value?.DeepClone();
        var metadata = new JsonObject { ["labels"] = Labels(runId, role), ["annotations"] = all };
        spec["restartPolicy"] = "Always";
        return new JsonObject { ["metadata"] = metadata, ["spec"] = spec };
    }

    /// <summary>The annotations a Prometheus set up to discover pods (the common kubernetes-pods scrape job) looks
    /// for: every agent serves /metrics on its HTTP port.</summary>
    private static JsonObject ScrapeAnnotations() =>
        new()
        {
            ["prometheus.io/scrape"] = "true",
            ["prometheus.io/port"] = $"{HttpPort}",
            ["prometheus.io/path"] = "/metrics",
        };

    /// <summary>The agent container and its pod settings, shared by bare pods and workload templates.</summary>
    private static JsonObject AgentPodSpec(string runId, string image, AgentResources resources, bool hostNetwork) =>
        new()
        {
            ["hostNetwork"] = hostNetwork,
            ["dnsPolicy"] = hostNetwork ? "ClusterFirstWithHostNet" : "ClusterFirst",
            ["terminationGracePeriodSeconds"] = 2,
            ["automountServiceAccountToken"] = false,
            ["securityContext"] = new JsonObject { ["runAsNonRoot"] = true, ["runAsUser"] = 65532 },
            ["containers"] = new JsonArray(
                new JsonObject
                {
                    ["name"] = "agent",
                    ["image"] = image,
                    ["args"] = new JsonArray(
                        "serve",
                        "--bind",
                        "any",
                        "--control-port",
                        $"{ControlPort}",
                        "--tcp-port",
                        $"{TcpPort}",
                        "--udp-port",
                        $"{UdpPort}",
                        "--http-port",
                        $"{HttpPort}"
                    ),
                    ["env"] = new JsonArray(
                        new JsonObject
                        {
                            ["name"] = "CNIBENCH_TOKEN",
                            ["valueFrom"] = new JsonObject
                            {
                                ["secretKeyRef"] = new JsonObject
                                {
                                    ["name"] = TokenSecretName(runId),
                                    ["key"] = "token",
                                },
                            },
                        },
                        new JsonObject
                        {
                            ["name"] = "POD_NAME",
                            ["valueFrom"] = new JsonObject
                            {
                                ["fieldRef"] = new JsonObject { ["fieldPath"] = "metadata.name" },
                            },
                        },
                        new JsonObject
                        {
                            ["name"] = "NODE_NAME",
                            ["valueFrom"] = new JsonObject
                            {
                                ["fieldRef"] = new JsonObject { ["fieldPath"] = "spec.nodeName" },
                            },
                        },
                        // A read-only root: the runtime must not try to create its diagnostics socket in /tmp.
                        new JsonObject { ["name"] = "DOTNET_EnableDiagnostics", ["value"] = "0" }
                    ),
                    ["ports"] = new JsonArray(
                        Port("control", ControlPort, "TCP"),
                        Port("tcp", TcpPort, "TCP"),
                        Port("udp", UdpPort, "UDP"),
                        Port("http", HttpPort, "TCP")
                    ),
                    ["readinessProbe"] = new JsonObject
                    {
                        ["httpGet"] = new JsonObject { ["path"] = "/healthz", ["port"] = HttpPort },
                        ["periodSeconds"] = 1,
                        ["failureThreshold"] = 3,
                    },
                    ["resources"] = new JsonObject
                    {
                        ["requests"] = new JsonObject
                        {
                            ["cpu"] = resources.CpuRequest,
                            ["memory"] = resources.MemoryRequest,
                        },
                        ["limits"] = new JsonObject { ["memory"] = resources.MemoryLimit },
                    },
                    ["securityContext"] = new JsonObject
                    {
                        ["allowPrivilegeEscalation"] = false,
                        ["readOnlyRootFilesystem"] = true,
                        ["capabilities"] = new JsonObject { ["drop"] = new JsonArray("ALL") },
                    },
                }
            ),
        };

    private static JsonObject Port(string name, int port, string protocol) =>
        new()
        {
            ["name"] = name,
            ["containerPort"] = port,
            ["protocol"] = protocol,
        };

    public static string ControlPolicyName(string runId) => $"cnibench-control-{runId}";

    /// <summary>
    /// Admits the run's agents' control port from the API server's addresses alone (its pod proxy is how the
    /// controller reaches them) and their data ports from anywhere (the workloads measure paths from pods, nodes and
    /// gateways). Host-network agents (node and flow samplers) are outside any NetworkPolicy: the run's token and the
    /// agent's own bounds protect them.
    /// </summary>
    public static JsonObject ControlNetworkPolicy(string ns, string runId, IReadOnlyList<string> apiServerAddresses) =>
        new()
        {
            ["apiVersion"] = "networking.k8s.io/v1",
            ["kind"] = "NetworkPolicy",
            ["metadata"] = new JsonObject
            {
                ["name"] = ControlPolicyName(runId),
                ["namespace"] = ns,
                ["labels"] = Labels(runId),
            },
            ["spec"] = new JsonObject
            {
                ["podSelector"] = new JsonObject { ["matchLabels"] = new JsonObject { [RunLabel] = runId } },
                ["policyTypes"] = new JsonArray("Ingress"),
                ["ingress"] = new JsonArray(
                    new JsonObject
                    {
                        ["ports"] = new JsonArray(Port(TcpPort, "TCP"), Port(UdpPort, "UDP"), Port(HttpPort, "TCP")),
                    },
                    new JsonObject
                    {
                        ["ports"] = new JsonArray(Port(ControlPort, "TCP")),
                        ["from"] = new JsonArray(
                            apiServerAddresses
                                .Select(a =>
                                    (JsonNode)
                                        new JsonObject
                                        {
                                            ["ipBlock"] = new JsonObject
                                            {
                                                ["cidr"] = a.Contains(':') ? $"{a}/128" : $"{a}/32",
                                            },
                                        }
                                )
                                .ToArray()
                        ),
                    }
                ),
            },
        };

    private static JsonObject Port(int port, string protocol) => new() { ["port"] = port, ["protocol"] = protocol };

    /// <summary>The Service in front of the server agents: ClusterIP (single or dual stack) or NodePort, fixed
    /// ports.</summary>
    public static JsonObject AgentService(
        string ns,
        string runId,
        string name,
        bool nodePort,
        string ipFamilyPolicy,
        string serverRole = "server"
    ) =>
        new()
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Service",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["namespace"] = ns,
                ["labels"] = Labels(runId),
            },
            ["spec"] = new JsonObject
            {
                ["type"] = nodePort ? "NodePort" : "ClusterIP",
                ["ipFamilyPolicy"] = ipFamilyPolicy,
                ["selector"] = new JsonObject { [RunLabel] = runId, [RoleLabel] = serverRole },
                ["ports"] = new JsonArray(
                    ServicePort("tcp", TcpPort, "TCP", nodePort ? TcpNodePort : null),
                    ServicePort("udp", UdpPort, "UDP", nodePort ? UdpNodePort : null),
                    ServicePort("http", HttpPort, "TCP", nodePort ? HttpNodePort : null)
                ),
            },
        };

    private static JsonObject ServicePort(string name, int port, string protocol, int? nodePort, int? targetPort = null)
    {
        var p = new JsonObject
        {
            ["name"] = name,
            ["port"] = port,
            ["targetPort"] = targetPort ?? port,
            ["protocol"] = protocol,
        };
        if (nodePort is int n)
            p["nodePort"] = n;
        return p;
    }
}

/// <summary>Requests and limits of an agent container (requests keep the scheduler honest; only memory is limited, CPU
/// throttling would distort rates).</summary>
public sealed record AgentResources(
    string CpuRequest = "500m",
    string MemoryRequest = "128Mi",
    string MemoryLimit = "512Mi"
)
{
    /// <summary>A convergence endpoint only answers probes: small enough that 44 fit on a few nodes.</summary>
    public static readonly AgentResources Endpoint = new("10m", "32Mi", "128Mi");
}
