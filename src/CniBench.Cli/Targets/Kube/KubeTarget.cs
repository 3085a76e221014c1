using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using CniBench.Cli.Convergence;
using CniBench.Cli.Kube;
using CniBench.Cli.Scenarios;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Targets.Kube;

/// <summary>What a kube run deploys with: the image, the run's namespace, how long its pods may live.</summary>
/// <param name="ChurnStepTimeout">The most a convergence case waits for the scale-up, and again for the rollout, to show in the EndpointSlices.</param>
/// <param name="Egress">Where pod-to-external cases send and which egress policy gateway cases apply.</param>
/// <param name="GatewayClass">pod-to-gateway cases: the gatewayClassName of the run's Gateway; <paramref name="GatewayPort"/> its listener's port.</param>
public sealed record KubeTargetOptions(string Image, string RunId, TimeSpan Deadline, TimeSpan ReadyTimeout, string? Namespace = null, TimeSpan? ChurnStepTimeout = null,
    KubeEgressOptions? Egress = null, string? GatewayClass = null, int GatewayPort = 80, bool NodeSampler = false)
{
    public KubeNodePlacement Placement { get; init; } = new();
}

public enum ZonePlacement { Any, Same, Cross }

/// <summary>Which nodes the server and client agents go to (null: chosen by label, then in order) and how their zones relate.</summary>
public sealed record KubeNodePlacement(string? ServerNode = null, string? ClientNode = null, ZonePlacement Zones = ZonePlacement.Any);

/// <summary>
/// Agents as pods of a real cluster, reached only through its API: one namespace per run (labelled, deleted
/// at the end however the run ends), agent pods pinned to nodes (nodes labelled agenttype=server/client
/// first, as seed 004 places them), hostNetwork pods for the node-to-node baseline, a Service in front of
/// the servers; the controller speaks to each agent through the API server's pod proxy, so it needs no
/// route into the cluster.
/// </summary>
public sealed class KubeTarget(KubeClient kube, KubeTargetOptions options) : ITarget, IChurnTarget
{
    private static readonly string[] Supported = [Placements.HostToHost, "pod-to-pod-same-node", "pod-to-pod-cross-node", "pod-to-cluster-ip", "pod-to-node-port", "pod-to-external", Placements.PodToGateway];
    private readonly string _token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
    private readonly Dictionary<string, (AgentClient Client, AgentInfo Info, JsonObject Pod)> _agents = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> _deaths = new();
    private readonly CancellationTokenSource _stopWatch = new();
    private Task? _watch;
    private (string Server, string Client, JsonObject ServerNode, JsonObject ClientNode)? _nodes;
    private KubeEgress? _egress;
    private KubeTrafficSplit? _split;
    private readonly HashSet<string> _servicesApplied = new();
    private bool _namespaceCreated;
    private KubeEndpoints? _endpoints;
    private KubeServiceScale? _scale;
    private IReadOnlyList<(string Node, AgentHandle Agent)>? _probers;
    private IReadOnlyList<(string Node, AgentHandle Agent)>? _samplers;

    public string Name => "kube";
    public string Namespace => options.Namespace ?? AgentManifests.NamespaceFor(options.RunId);

    public IReadOnlyList<string> Validate(Scenario scenario)
    {
        var problems = new List<string>();
        foreach (var c in scenario.Cases)
        {
            if (!Supported.Contains(c.Placement)) problems.Add($"case {c.Name}: placement {c.Placement} is not available on the kube target yet; allowed: {string.Join(", ", Supported)}");
            // A cluster's proxy, routing and MTU are its own; the number of Services and the egress path are the run's to set.
            var labOnly = ScenarioFields.LabOnly.Where(f => f is not ("services" or "egress") && c.Parameters.ContainsKey(f)).ToArray();
            if (labOnly.Length > 0) problems.Add($"case {c.Name}: {string.Join(", ", labOnly)} apply to the lab target only (compare a cluster's modes with --config, one run per configuration)");
            problems.AddRange(KubeEgress.Validate(c, EgressOptions));
            if (c.Placement == Placements.PodToGateway && options.GatewayClass is null)
                problems.Add($"case {c.Name}: {Placements.PodToGateway} needs --gateway-class (the GatewayClass of your Gateway API implementation, e.g. cilium, nginx, eg)");
            if (c.Churn is not null && c.Placement != "pod-to-cluster-ip") problems.Add($"case {c.Name}: convergence cases probe a ClusterIP; allowed: placement pod-to-cluster-ip");
            foreach (var pace in new[] { "changeInterval", "injectDelay" }.Where(c.Parameters.ContainsKey))
                problems.Add($"case {c.Name}: {pace} applies to the lab target only (on a cluster the Deployment's scale-up and rollout set the pace)");
        }
        return problems;
    }

    private KubeEgressOptions EgressOptions => options.Egress ?? new KubeEgressOptions();

    public async Task<AgentPair> PrepareAsync(PlannedCase plannedCase, CancellationToken cancellationToken)
    {
        var pair = await PrepareCaseAsync(plannedCase, cancellationToken);
        // The path's MTU as the agents see their interfaces: where a CNI's overlay or encryption takes its share.
        if (new[] { pair.Server.Info.Mtu, pair.Client.Info.Mtu }.OfType<int>().DefaultIfEmpty().Min() is > 0 and var mtu)
            pair = pair with { TargetMetrics = new Dictionary<string, double>(pair.TargetMetrics) { [Contracts.Measurement.Metrics.PathMtu] = mtu } };
        if (!options.NodeSampler) return pair;
        if (_samplers is null)
        {
            await kube.ApplyAsync(new KubeResource("apps", "v1", "daemonsets", Namespace, AgentManifests.SamplerRole), Checked(AgentManifests.NodeSamplerDaemonSet(Namespace, options.RunId, options.Image)), cancellationToken);
            _samplers = await DaemonSetAgentsAsync(AgentManifests.SamplerRole, cancellationToken);
        }
        string serverNode = pair.Server.Info.Identity.Node ?? "", clientNode = pair.Client.Info.Identity.Node ?? "";
        return pair with
        {
            Samplers = _samplers.Where(s => s.Node == serverNode || s.Node == clientNode)
                .Select(s => new Running.NodeSampler(s.Node, s.Node == serverNode, s.Node == clientNode, s.Agent)).ToArray(),
        };
    }

    private async Task<AgentPair> PrepareCaseAsync(PlannedCase plannedCase, CancellationToken cancellationToken)
    {
        if (plannedCase.Placement == "pod-to-external") return await PrepareExternalAsync(plannedCase, cancellationToken);
        if (plannedCase.Placement == Placements.PodToGateway) return await PrepareGatewayAsync(plannedCase, cancellationToken);
        var (serverNode, clientNode, serverNodeObject, _) = await NodesAsync(cancellationToken);
        bool v6 = plannedCase.IpFamily == IpFamily.Ipv6;
        bool host = plannedCase.Placement == Placements.HostToHost;
        var server = await EnsureAgentAsync(new AgentPlacement(host ? "server-host" : "server", "server", serverNode, host), cancellationToken);
        var clientPlacement = plannedCase.Placement switch
        {
            Placements.HostToHost => new AgentPlacement("client-host", "client", clientNode, true),
            "pod-to-pod-same-node" => new AgentPlacement("client-same-node", "client", serverNode, false),
            _ => new AgentPlacement("client", "client", clientNode, false),
        };
        var client = await EnsureAgentAsync(clientPlacement, cancellationToken);
        int port = AgentPool.DataPort(plannedCase.Workload.Kind, server.Info.Ports);
        string ip;
        if (plannedCase.Placement == "pod-to-cluster-ip")
        {
            var service = await ServiceAsync(false, cancellationToken);
            ip = Pick(v6, service["spec"]?["clusterIPs"], (string?)service["spec"]?["clusterIP"], $"service {Namespace}/agents");
        }
        else if (plannedCase.Placement == "pod-to-node-port")
        {
            await ServiceAsync(true, cancellationToken);
            ip = NodeAddress(v6, serverNodeObject);
            port = AgentPool.DataPort(plannedCase.Workload.Kind, AgentManifests.TcpNodePort, AgentManifests.UdpNodePort, AgentManifests.HttpNodePort);
        }
        else
        {
            var status = server.Pod["status"];
            ip = Pick(v6, new JsonArray((status?["podIPs"] as JsonArray)?.OfType<JsonObject>().Select(p => (JsonNode?)p["ip"]?.DeepClone()).ToArray() ?? []), (string?)status?["podIP"], $"pod {Namespace}/{(string?)server.Pod["metadata"]?["name"]}");
        }
        string address = Endpoints.Format(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(ip), port));
        // What the scheduler did, not what was asked: both nodes are read back from the pods.
        var sNode = (string?)server.Pod["spec"]?["nodeName"];
        var cNode = (string?)client.Pod["spec"]?["nodeName"];
        string achieved = plannedCase.Placement switch
        {
            "pod-to-pod-same-node" when sNode != cNode => $"{plannedCase.Placement} (not achieved: {sNode} and {cNode})",
            "pod-to-pod-cross-node" or Placements.HostToHost when sNode == cNode => $"{plannedCase.Placement} (not achieved: both on {sNode}; the cluster has one schedulable node)",
            _ => plannedCase.Placement,
        };
        var metrics = new Dictionary<string, double>();
        if (plannedCase.Lab?.Services is int services)
        {
            // The run's own Service counts as one of them, as on the lab.
            _scale ??= new KubeServiceScale(kube, Namespace, options.RunId);
            await _scale.EnsureAsync(services - 1, cancellationToken);
            if (await _scale.TimeToReachNewServiceAsync(Handle("client", client), v6, cancellationToken) is double reachable)
                metrics[Contracts.Measurement.Metrics.ServiceReachableMs] = reachable;
        }
        return new AgentPair(Handle("server", server), Handle("client", client), address, achieved) { TargetMetrics = metrics };
    }

    /// <summary>
    /// Out of the cluster: the client pod on the client node sends to the external agent server; the case's
    /// egress path (direct or gateway) is put in place first and the source the server must see is set.
    /// </summary>
    private async Task<AgentPair> PrepareExternalAsync(PlannedCase plannedCase, CancellationToken cancellationToken)
    {
        var (_, clientNode, _, clientNodeObject) = await NodesAsync(cancellationToken);
        bool v6 = plannedCase.IpFamily == IpFamily.Ipv6;
        var client = Handle("client", await EnsureAgentAsync(new AgentPlacement("client", "client", clientNode, false), cancellationToken));
        _egress ??= new KubeEgress(kube, Namespace, options.RunId, EgressOptions, _token);
        var (server, host) = await _egress.ServerAsync(cancellationToken);
        var expected = await _egress.PrepareAsync(plannedCase, client, NodeAddress(v6, clientNodeObject), clientNode, cancellationToken);
        string address = Endpoints.Format(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(host), AgentPool.DataPort(plannedCase.Workload.Kind, server.Info.Ports)));
        return new AgentPair(server, client, address, $"pod-to-external ({(plannedCase.Lab?.Egress == CniBench.Cli.Lab.EgressMode.Gateway ? "gateway" : "direct")})") { ExpectedSource = expected };
    }

    /// <summary>
    /// Through a Gateway: the client pod sends HTTP to the Gateway's address; its HTTPRoute splits the requests
    /// by the case's weights between two backend pods, on the server's and the client's node.
    /// </summary>
    private async Task<AgentPair> PrepareGatewayAsync(PlannedCase plannedCase, CancellationToken cancellationToken)
    {
        var (serverNode, clientNode, _, _) = await NodesAsync(cancellationToken);
        var a = await EnsureAgentAsync(new AgentPlacement(GatewayManifests.BackendA, GatewayManifests.BackendA, serverNode, false), cancellationToken);
        var b = await EnsureAgentAsync(new AgentPlacement(GatewayManifests.BackendB, GatewayManifests.BackendB, clientNode, false), cancellationToken);
        var client = await EnsureAgentAsync(new AgentPlacement("client", "client", clientNode, false), cancellationToken);
        _split ??= new KubeTrafficSplit(kube, Namespace, options.RunId, options.GatewayClass!, options.GatewayPort, options.ReadyTimeout);
        var ip = await _split.PrepareAsync(plannedCase.Split!, plannedCase.IpFamily == IpFamily.Ipv6, cancellationToken);
        string address = Endpoints.Format(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(ip), options.GatewayPort));
        return new AgentPair(Handle("server", a), Handle("client", client), address, $"{Placements.PodToGateway} ({plannedCase.Split})") { SplitBackend = b.Info.Identity.Name };
    }

    /// <summary>A node's InternalIP of the family.</summary>
    private static string NodeAddress(bool v6, JsonObject node)
    {
        var addresses = (node["status"]?["addresses"] as JsonArray)?.OfType<JsonObject>().Where(a => (string?)a["type"] == "InternalIP").Select(a => (JsonNode?)a["address"]?.DeepClone());
        return Pick(v6, new JsonArray(addresses?.ToArray() ?? []), null, $"node {(string?)node["metadata"]?["name"]}");
    }

    private AgentHandle Handle(string role, (AgentClient Client, AgentInfo Info, JsonObject Pod) agent)
    {
        var name = (string?)agent.Pod["metadata"]?["name"] ?? "";
        return new(role, agent.Info, agent.Client, () => _deaths.TryGetValue(name, out var notice) ? notice : null);
    }

    /// <summary>
    /// Watches the run's pods so that a case learns at once when its agent's pod failed or was deleted
    /// (evicted, OOM-killed, its node gone) instead of waiting for the agent to fall silent.
    /// </summary>
    private void WatchPods()
    {
        var watcher = new KubeWatcher(kube, KubeResource.Core("pods", Namespace), $"{AgentManifests.RunLabel}={options.RunId}");
        _watch = Task.Run(async () =>
        {
            try
            {
                await watcher.RunAsync(_ => Task.CompletedTask, e =>
                {
                    var name = (string?)e.Object["metadata"]?["name"] ?? "";
                    var status = e.Object["status"];
                    var terminated = (status?["containerStatuses"] as JsonArray)?.OfType<JsonObject>().Select(c => c["state"]?["terminated"]).OfType<JsonObject>().FirstOrDefault();
                    if (e.Type == "DELETED") _deaths[name] = $"agent pod {Namespace}/{name} was deleted";
                    else if ((string?)status?["phase"] is "Failed" or "Succeeded" || terminated is not null)
                        _deaths[name] = $"agent pod {Namespace}/{name} ended: {(string?)terminated?["reason"] ?? (string?)status?["reason"] ?? (string?)status?["phase"]}{((string?)status?["message"] is { } m ? $" ({m})" : "")}";
                    return Task.CompletedTask;
                }, _stopWatch.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or KubeApiException or KubeConnectionException)
            {
                // Without the watch, a dead agent is still found by its silence.
            }
        });
    }

    /// <summary>The address of the case's family among an object's addresses (podIPs, clusterIPs, a node's InternalIPs).</summary>
    internal static string Pick(bool v6, JsonNode? list, string? single, string what)
    {
        var all = (list as JsonArray)?.Select(n => (string?)n).OfType<string>().ToList() ?? [];
        if (single is not null && !all.Contains(single)) all.Add(single);
        return all.FirstOrDefault(a => a.Contains(':') == v6)
            ?? throw new TargetException($"kube: {what} has no {(v6 ? "IPv6" : "IPv4")} address ({(all.Count == 0 ? "none" : string.Join(", ", all))}); {(v6 ? "ipFamily ipv6 needs a dual-stack or IPv6 cluster" : "")}".TrimEnd(' ', ';'));
    }

    /// <summary>
    /// The server's and the client's node: named ones (--server-node, --client-node) first, then nodes labelled
    /// agenttype=server/client (seed 004), then the first Ready, schedulable ones; the client's node in the
    /// server's zone or another one when --zones says so (topology.kubernetes.io/zone).
    /// </summary>
    private async Task<(string, string, JsonObject, JsonObject)> NodesAsync(CancellationToken cancellationToken)
    {
        if (_nodes is { } known) return known;
        var (items, _) = await kube.ListAsync(KubeResource.Core("nodes"), null, cancellationToken);
        var ready = items.Where(n => (bool?)n["spec"]?["unschedulable"] != true
            && (n["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().Any(c => (string?)c["type"] == "Ready" && (string?)c["status"] == "True") == true).ToArray();
        if (ready.Length == 0) throw new TargetException("kube: no Ready, schedulable node in the cluster");
        static string NameOf(JsonObject n) => (string?)n["metadata"]?["name"] ?? "";
        static string? ZoneOf(JsonObject n) => (string?)n["metadata"]?["labels"]?["topology.kubernetes.io/zone"];
        JsonObject? Named(string? name, string flag) => name is null ? null
            : ready.FirstOrDefault(n => NameOf(n) == name) ?? throw new TargetException($"kube: {flag} {name}: no Ready, schedulable node of that name; allowed: {string.Join(", ", ready.Select(NameOf))}");
        JsonObject? Labelled(string value) => ready.FirstOrDefault(n => (string?)n["metadata"]?["labels"]?["agenttype"] == value);
        var server = Named(options.Placement.ServerNode, "--server-node") ?? Labelled("server") ?? ready[0];
        var others = ready.Where(n => NameOf(n) != NameOf(server)).ToArray();
        var inZone = options.Placement.Zones switch
        {
            ZonePlacement.Same => others.Where(n => ZoneOf(n) == ZoneOf(server)).ToArray(),
            ZonePlacement.Cross => others.Where(n => ZoneOf(n) != ZoneOf(server)).ToArray(),
            _ => others,
        };
        if (options.Placement.Zones != ZonePlacement.Any && options.Placement.ClientNode is null && inZone.Length == 0)
            throw new TargetException($"kube: --zones {options.Placement.Zones.ToString().ToLowerInvariant()}: no other Ready node {(options.Placement.Zones == ZonePlacement.Same ? "in" : "outside")} zone {ZoneOf(server) ?? "(none)"} of {NameOf(server)}");
        var client = Named(options.Placement.ClientNode, "--client-node") ?? inZone.FirstOrDefault(n => (string?)n["metadata"]?["labels"]?["agenttype"] == "client") ?? inZone.FirstOrDefault() ?? server;
        _nodes = (NameOf(server), NameOf(client), server, client);
        return _nodes.Value;
    }

    private async Task<(AgentClient Client, AgentInfo Info, JsonObject Pod)> EnsureAgentAsync(AgentPlacement placement, CancellationToken cancellationToken)
    {
        if (_agents.TryGetValue(placement.Name, out var existing)) return existing;
        await EnsureNamespaceAsync(cancellationToken);
        var manifest = AgentManifests.AgentPod(Namespace, options.RunId, placement, options.Image, options.Deadline, new AgentResources());
        Check(manifest);
        await kube.CreateAsync(KubeResource.Core("pods", Namespace), manifest, cancellationToken);
        var pod = await WaitReadyAsync(placement.Name, cancellationToken);
        return await ConnectAsync(placement.Name, pod, cancellationToken);
    }

    /// <summary>A client for a pod's agent through the API server's pod proxy, kept (and disposed) with the run's agents.</summary>
    private async Task<(AgentClient Client, AgentInfo Info, JsonObject Pod)> ConnectAsync(string podName, JsonObject pod, CancellationToken cancellationToken)
    {
        var proxy = new Uri(kube.Connection.Server, $"/api/v1/namespaces/{Namespace}/pods/{podName}:{AgentManifests.ControlPort}/proxy/");
        var client = new AgentClient(proxy, _token, TimeSpan.FromSeconds(10),
            kube.CreateProxyHandler(new Dictionary<string, string> { [ControlProtocol.ProxyTokenHeader] = _token }));
        try
        {
            var info = await client.InfoAsync(cancellationToken);
            return _agents[podName] = (client, info, pod);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A convergence case: the probers (a DaemonSet, once per run, each prober's clock offset measured), the
    /// churn Service and its endpoints Deployment back at one replica, and the EndpointSlice watch following it.
    /// </summary>
    public async Task<IEndpointChurn> PrepareChurnAsync(PlannedCase plannedCase, CancellationToken cancellationToken)
    {
        await EnsureNamespaceAsync(cancellationToken);
        bool v6 = plannedCase.IpFamily == IpFamily.Ipv6;
        if (_endpoints is null)
        {
            _endpoints = new KubeEndpoints(kube, Namespace, options.RunId, options.Image, options.ChurnStepTimeout ?? TimeSpan.FromMinutes(5));
            await kube.ApplyAsync(new KubeResource("apps", "v1", "daemonsets", Namespace, AgentManifests.ProberRole), Checked(AgentManifests.ProberDaemonSet(Namespace, options.RunId, options.Image)), cancellationToken);
            await kube.ApplyAsync(KubeResource.Core("services", Namespace, AgentManifests.ChurnService), Checked(AgentManifests.ChurnServiceManifest(Namespace, options.RunId)), cancellationToken);
        }
        if (plannedCase.Lab?.Services is int services)
            await (_scale ??= new KubeServiceScale(kube, Namespace, options.RunId)).EnsureAsync(services - 1, cancellationToken);
        await _endpoints.ApplyDeploymentAsync(1, cancellationToken);
        _probers ??= await DaemonSetAgentsAsync(AgentManifests.ProberRole, cancellationToken);
        // Clocks drift: every case reads them afresh.
        var probers = new List<Prober>();
        foreach (var (node, agent) in _probers)
        {
            var (offset, uncertainty) = await ClockOffset.MeasureAsync(agent.Client, cancellationToken);
            probers.Add(new Prober(node, agent, offset, uncertainty));
        }
        var service = await kube.GetAsync(KubeResource.Core("services", Namespace, AgentManifests.ChurnService), cancellationToken);
        var ip = Pick(v6, service["spec"]?["clusterIPs"], (string?)service["spec"]?["clusterIP"], $"service {Namespace}/{AgentManifests.ChurnService}");
        int port = (int?)service["spec"]?["ports"]?[0]?["port"] ?? 80;
        var address = Endpoints.Format(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(ip), port));
        return await KubeChurn.StartAsync(kube, _endpoints, plannedCase.Churn!.Endpoints, v6, probers, address, cancellationToken);
    }

    /// <summary>Waits for a DaemonSet of agents (its name is their role) to have a ready pod on every node it schedules to, and connects to each.</summary>
    private async Task<IReadOnlyList<(string Node, AgentHandle Agent)>> DaemonSetAgentsAsync(string role, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + options.ReadyTimeout;
        string selector = $"{AgentManifests.RunLabel}={options.RunId},{AgentManifests.RoleLabel}={role}";
        while (true)
        {
            var status = (await kube.GetAsync(new KubeResource("apps", "v1", "daemonsets", Namespace, role), cancellationToken))["status"];
            long desired = (long?)status?["desiredNumberScheduled"] ?? 0, ready = (long?)status?["numberReady"] ?? 0;
            if (desired > 0 && ready >= desired) break;
            if (DateTimeOffset.UtcNow > deadline)
                throw new TargetException($"kube: the {role} DaemonSet {Namespace}/{role} has {ready} of {desired} pods ready after {options.ReadyTimeout.TotalSeconds:0}s ({await WhyPodsWaitAsync(kube, Namespace, selector, role, cancellationToken)})");
            await Task.Delay(500, cancellationToken);
        }
        var (pods, _) = await kube.ListAsync(KubeResource.Core("pods", Namespace), selector, cancellationToken);
        var probers = new List<(string, AgentHandle)>();
        foreach (var pod in pods.Where(IsReady).OrderBy(p => (string?)p["spec"]?["nodeName"], StringComparer.Ordinal))
        {
            var name = (string?)pod["metadata"]?["name"] ?? "";
            probers.Add(((string?)pod["spec"]?["nodeName"] ?? name, Handle(role, await ConnectAsync(name, pod, cancellationToken))));
        }
        return probers;
    }

    internal static bool IsReady(JsonObject pod) =>
        (pod["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().Any(c => (string?)c["type"] == "Ready" && (string?)c["status"] == "True") == true;

    /// <summary>The first reason a not-ready pod of a selector gives (unschedulable, image pull, crash), and how many wait.</summary>
    internal static async Task<string> WhyPodsWaitAsync(KubeClient kube, string ns, string selector, string what, CancellationToken cancellationToken)
    {
        var (pods, _) = await kube.ListAsync(KubeResource.Core("pods", ns), selector, cancellationToken);
        var waiting = pods.Where(p => !IsReady(p)).ToArray();
        var reason = waiting.Select(p =>
            (p["status"]?["containerStatuses"] as JsonArray)?.OfType<JsonObject>().Select(c => (string?)c["state"]?["waiting"]?["reason"]).FirstOrDefault(r => r is not null)
            ?? (p["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().Where(c => (string?)c["status"] == "False").Select(c => (string?)c["message"]).FirstOrDefault(m => m is not null))
            .FirstOrDefault(r => r is not null);
        return $"{waiting.Length} of {pods.Count} {what} pods not ready{(reason is null ? "" : $": {reason}")}";
    }

    private async Task EnsureNamespaceAsync(CancellationToken cancellationToken)
    {
        if (_namespaceCreated) return;
        _namespaceCreated = true; // from here on, dispose removes it whatever happens next
        if (options.Namespace is null) await kube.CreateAsync(KubeResource.Core("namespaces"), Checked(AgentManifests.Namespace(Namespace, options.RunId)), cancellationToken);
        await kube.ApplyAsync(KubeResource.Core("secrets", Namespace, "agent-token"), Checked(AgentManifests.TokenSecret(Namespace, options.RunId, _token)), cancellationToken);
        WatchPods();
    }

    /// <summary>Waits for the pod to be Ready; a pod that cannot become so (image pull, scheduling) fails with the reason the cluster gives.</summary>
    private async Task<JsonObject> WaitReadyAsync(string name, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + options.ReadyTimeout;
        string last = "not scheduled yet";
        while (true)
        {
            var pod = await kube.GetAsync(KubeResource.Core("pods", Namespace, name), cancellationToken);
            var status = pod["status"] as JsonObject;
            if (IsReady(pod)) return pod;
            var waiting = (status?["containerStatuses"] as JsonArray)?.OfType<JsonObject>().Select(c => c["state"]?["waiting"] as JsonObject).OfType<JsonObject>().FirstOrDefault();
            if (waiting is not null) last = $"{(string?)waiting["reason"]}: {(string?)waiting["message"]}";
            else if ((string?)status?["phase"] is { } phase) last = $"phase {phase}";
            if ((string?)status?["phase"] is "Failed" or "Succeeded" || (string?)waiting?["reason"] is "ErrImagePull" or "ImagePullBackOff" or "InvalidImageName" or "CreateContainerConfigError")
                throw new TargetException($"kube: agent pod {Namespace}/{name} cannot start: {last} (image {options.Image}; --agent-image sets another)");
            if (DateTimeOffset.UtcNow > deadline)
                throw new TargetException($"kube: agent pod {Namespace}/{name} not Ready within {options.ReadyTimeout.TotalSeconds:0}s: {last}");
            await Task.Delay(500, cancellationToken);
        }
    }

    /// <summary>The Service in front of the servers: both families where the cluster has both (PreferDualStack).</summary>
    private async Task<JsonObject> ServiceAsync(bool nodePort, CancellationToken cancellationToken)
    {
        string name = nodePort ? "agents-nodeport" : "agents";
        if (_servicesApplied.Add(name))
            await kube.ApplyAsync(KubeResource.Core("services", Namespace, name), Checked(AgentManifests.AgentService(Namespace, options.RunId, name, nodePort, "PreferDualStack")), cancellationToken);
        return await kube.GetAsync(KubeResource.Core("services", Namespace, name), cancellationToken);
    }

    private static JsonObject Checked(JsonObject manifest)
    {
        Check(manifest);
        return manifest;
    }

    internal static void Check(JsonObject manifest)
    {
        var problems = ManifestRules.Check(manifest);
        if (problems.Count > 0) throw new TargetException($"kube: a generated manifest breaks the API's rules: {string.Join("; ", problems)}");
    }

    public async Task<IReadOnlyDictionary<string, string>> DescribeEnvironmentAsync(CancellationToken cancellationToken)
    {
        var environment = new Dictionary<string, string>(await KubeEnvironment.DescribeAsync(kube, Namespace, cancellationToken));
        if (EgressOptions.ExternalAddress is not null || EgressOptions.ExternalAgent is not null)
            foreach (var (k, v) in new KubeEgress(kube, Namespace, options.RunId, EgressOptions, _token).Describe()) environment[k] = v;
        return environment;
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1) return;
        await _stopWatch.CancelAsync();
        if (_watch is not null) await _watch;
        _stopWatch.Dispose();
        foreach (var a in _agents.Values) a.Client.Dispose();
        try
        {
            if (_egress is not null) await _egress.DisposeAsync();
            if (_namespaceCreated) await DeleteWhatWeMadeAsync();
        }
        finally
        {
            kube.Dispose();
        }
    }

    private async Task DeleteWhatWeMadeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            if (options.Namespace is null)
            {
                await kube.DeleteAsync(KubeResource.Core("namespaces", null, Namespace), timeout.Token);
            }
            else
            {
                // A namespace the user gave: only what this run made goes, found by its run label.
                // Workloads first, so their controllers do not make new pods while the pods go.
                KubeResource[] kinds =
                [
                    new("apps", "v1", "deployments", Namespace), new("apps", "v1", "daemonsets", Namespace),
                    GatewayManifests.Routes with { Namespace = Namespace }, GatewayManifests.Gateways with { Namespace = Namespace },
                    KubeResource.Core("pods", Namespace), KubeResource.Core("services", Namespace), KubeResource.Core("secrets", Namespace),
                ];
                foreach (var kind in kinds)
                    await kube.DeleteCollectionAsync(kind, $"{AgentManifests.RunLabel}={options.RunId}", timeout.Token);
            }
        }
        catch (Exception e) when (e is KubeApiException or KubeConnectionException or OperationCanceledException)
        {
            Console.Error.WriteLine($"cnibench: could not delete namespace {Namespace}: {e.Message}; 'cnibench kube cleanup' removes it later");
        }
    }
}
