using System.Security.Cryptography;
using System.Text.Json.Nodes;
using CniBench.Cli.Agents;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets.Hooks;
using CniBench.Cli.Targets.Kube.Api;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Targets.Kube;

/// <summary>
/// Agents as pods of a real cluster, reached only through its API: one namespace per run (labelled, deleted
/// at the end however the run ends), agent pods pinned to nodes (nodes labelled agenttype=server/client
/// first, as the CyPerf agent deployment notes place them), hostNetwork pods for the node-to-node baseline, a Service
/// in front of
/// the servers; the controller speaks to each agent through the API server's pod proxy, so it needs no
/// route into the cluster.
/// </summary>
public sealed class KubeTarget(KubeClient kube, KubeTargetOptions options) : ITarget, IChurnTarget
{
    private readonly string _token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
    private KubePods? _pods;
    private (string Server, string Client, JsonObject ServerNode, JsonObject ClientNode)? _nodes;
    private KubeEgress? _egress;
    private KubeTrafficSplit? _split;
    private readonly HashSet<string> _servicesApplied = new();
    private readonly RunObjects _objects = new(kube);
    private bool _namespaceCreated;
    private KubeEndpoints? _endpoints;
    private KubeServiceScale? _scale;
    private KubeServiceScale Scale => _scale ??= new KubeServiceScale(kube, Namespace, options.RunId);
    private IReadOnlyList<(string Node, AgentHandle Agent)>? _probers;
    private IReadOnlyList<(string Node, AgentHandle Agent)>? _samplers;

    public string Name => "kube";
    public string Namespace => options.Namespace ?? AgentManifests.NamespaceFor(options.RunId);

    /// <summary>
    /// A cluster provides every placement the project knows. Its proxy, routing and MTU are its own; the number of
    /// Services and the egress path are the run's to set.
    /// </summary>
    public TargetCapabilities Capabilities { get; } =
        new(
            Enum.GetValues<Placement>(),
            ["services", "egress"],
            EndpointChurn: true,
            "a cluster's own: compare its modes with --config, one run per configuration",
            Transfer: true
        );

    public IEnumerable<string> CheckCase(PlannedCase plannedCase)
    {
        var c = plannedCase;
        foreach (var problem in KubeEgress.Validate(c, EgressOptions))
            yield return problem;
        if (c.Transfer && !options.NodeSampler)
            yield return $"case {c.Name}: a transfer case reads every node's flows; it needs --node-sampler (then a "
                + "privileged sampler runs on each node's own network for the run)";
        if (c.Placement == Placement.PodToGateway && options.GatewayClass is null)
            yield return $"case {c.Name}: {Placement.PodToGateway.ToName()} needs --gateway-class (the GatewayClass "
                + $"of your Gateway API implementation, e.g. cilium, nginx, eg)";
        foreach (var pace in new[] { "changeInterval", "injectDelay" }.Where(c.Parameters.ContainsKey))
            yield return $"case {c.Name}: {pace} applies to the lab target only (on a cluster the Deployment's "
                + $"scale-up and rollout set the pace)";
    }

    private KubeEgressOptions EgressOptions => options.Egress ?? new KubeEgressOptions();

    public async Task<AgentPair> PrepareAsync(PlannedCase plannedCase, CancellationToken cancellationToken)
    {
        var pair = await PrepareCaseAsync(plannedCase, cancellationToken);
        // The path's MTU as the agents see their interfaces: where a CNI's overlay or encryption takes its share.
        if (
            new[] { pair.Server.Info.Mtu, pair.Client.Info.Mtu }.OfType<int>().DefaultIfEmpty().Min() is > 0 and var mtu
        )
            pair = pair with
            {
                TargetMetrics = new Dictionary<string, double>(pair.TargetMetrics)
                {
                    [Contracts.Measurement.Metrics.PathMtu] = mtu,
                },
            };
        if (!options.NodeSampler)
            return pair;
        if (_samplers is null)
        {
            await _objects.ApplyAsync(
                new KubeResource("apps", "v1", "daemonsets", Namespace, AgentManifests.SamplerRole),
                KubeObjects.Checked(AgentManifests.NodeSamplerDaemonSet(Namespace, options.RunId, options.Image)),
                cancellationToken
            );
            _samplers = await Pods.DaemonSetAsync(AgentManifests.SamplerRole, cancellationToken);
        }
        string serverNode = pair.Server.Info.Identity.Node ?? "",
            clientNode = pair.Client.Info.Identity.Node ?? "";
        var samplers = _samplers
            .Where(s => s.Node == serverNode || s.Node == clientNode)
            .Select(s => new NodeSampler(s.Node, s.Node == serverNode, s.Node == clientNode, s.Agent))
            .ToArray();
        if (plannedCase.Dataplane?.Services is not null)
        {
            // The newest Service answering proves the client's rules are in place, not that the proxies have finished.
            var quiet = await DataplaneQuiet.WaitAsync(samplers, cancellationToken);
            pair = pair with
            {
                TargetMetrics = new Dictionary<string, double>(pair.TargetMetrics)
                {
                    [Contracts.Measurement.Metrics.DataplaneQuietMs] = quiet.WaitedMs,
                },
            };
            if (!quiet.Quiet)
                Console.Error.WriteLine(
                    $"cnibench: {plannedCase.Name}: the dataplane's processes still used "
                        + $"{quiet.LastPercent.ToString("0", System.Globalization.CultureInfo.InvariantCulture)}% of a "
                        + $"core after {DataplaneQuiet.Limit.TotalSeconds:0}s; the case starts anyway"
                );
        }
        ICaseHook[] added = plannedCase.Transfer
            ? [new NodeSamplersHook(samplers), await TransferHookAsync(pair, cancellationToken)]
            : [new NodeSamplersHook(samplers)];
        return pair with { Hooks = [.. pair.Hooks, .. added] };
    }

    private IReadOnlyList<(string Node, AgentHandle Agent)>? _flowSamplers;

    /// <summary>The transfer case being prepared: its client pods (the first is the case's client) and server pods,
    /// and what every client sends.</summary>
    private (
        IReadOnlyList<(string Node, AgentHandle Agent)> Clients,
        IReadOnlyList<(string Node, AgentHandle Agent)> Servers,
        WorkloadSpec Workload
    )? _transfer;

    /// <summary>
    /// Transfer cases: client and server pods as two Deployments of the case's sizes (clientPods, servers), the servers
    /// behind the transfer Service; the case waits until that Service answers from the first client.
    /// </summary>
    private async Task<AgentPair> PrepareTransferAsync(PlannedCase plannedCase, CancellationToken cancellationToken)
    {
        await EnsureNamespaceAsync(cancellationToken);
        foreach (
            var (role, replicas) in new[]
            {
                (AgentManifests.TransferServerRole, plannedCase.Servers),
                (AgentManifests.TransferClientRole, plannedCase.ClientPods),
            }
        )
            await _objects.ApplyAsync(
                new KubeResource("apps", "v1", "deployments", Namespace, role),
                KubeObjects.Checked(
                    AgentManifests.AgentDeployment(Namespace, options.RunId, options.Image, role, replicas)
                ),
                cancellationToken
            );
        await _objects.ApplyAsync(
            KubeResource.Core("services", Namespace, AgentManifests.TransferService),
            KubeObjects.Checked(
                AgentManifests.AgentService(
                    Namespace,
                    options.RunId,
                    AgentManifests.TransferService,
                    false,
                    "PreferDualStack",
                    AgentManifests.TransferServerRole
                )
            ),
            cancellationToken
        );
        var servers = await Pods.DeploymentAsync(AgentManifests.TransferServerRole, cancellationToken);
        var clients = await Pods.DeploymentAsync(AgentManifests.TransferClientRole, cancellationToken);
        var service = await kube.GetAsync(
            KubeResource.Core("services", Namespace, AgentManifests.TransferService),
            cancellationToken
        );
        string ip = KubeObjects.ClusterIp(plannedCase.IpFamily == IpFamily.Ipv6, service);
        var server = servers[0].Agent;
        var address = Endpoints.Format(
            new System.Net.IPEndPoint(System.Net.IPAddress.Parse(ip), AgentManifests.HttpPort)
        );
        var settle = await ServiceProbe.WaitUntilAnswersAsync(
            Name,
            clients[0].Agent,
            address,
            $"the Service {Namespace}/{AgentManifests.TransferService}",
            cancellationToken
        );
        _transfer = (clients, servers, plannedCase.Workload with { Target = address });
        return new AgentPair(server, clients[0].Agent, address, plannedCase.Placement.ToName())
        {
            TargetMetrics = new Dictionary<string, double> { [Contracts.Measurement.Metrics.ServiceSettleMs] = settle },
        };
    }

    /// <summary>Transfer cases: the client's and the server's pod count their interfaces, a flow sampler on every node
    /// its flows, classed by the nodes' zones (topology.kubernetes.io/zone) and the pods' and nodes'
    /// addresses.</summary>
    private async Task<TransferHook> TransferHookAsync(AgentPair pair, CancellationToken cancellationToken)
    {
        if (_flowSamplers is null)
        {
            await _objects.ApplyAsync(
                new KubeResource("apps", "v1", "daemonsets", Namespace, AgentManifests.FlowSamplerRole),
                KubeObjects.Checked(AgentManifests.FlowSamplerDaemonSet(Namespace, options.RunId, options.Image)),
                cancellationToken
            );
            _flowSamplers = await Pods.DaemonSetAsync(
                AgentManifests.FlowSamplerRole,
                cancellationToken,
                AgentManifests.FlowSamplerControlPort
            );
        }
        var (nodes, _) = await kube.ListAsync(KubeResource.Core("nodes"), null, cancellationToken);
        var (pods, _) = await kube.ListAsync(
            KubeResource.Core("pods", Namespace),
            $"{AgentManifests.RunLabel}={options.RunId}",
            cancellationToken
        );
        var book = KubeTransfer.AddressBook(nodes, pods);
        string Zone(string? node) => KubeTransfer.ZoneOf(nodes, node);
        TransferPod Pod(string role, AgentHandle agent) =>
            new(role, agent.Info.Identity.Name, agent.Info.Identity.Node ?? "", Zone(agent.Info.Identity.Node), agent);
        var (clients, servers, workload) = _transfer!.Value;
        return new TransferHook(
            [.. clients.Select(c => Pod("client", c.Agent)), .. servers.Select(s => Pod("server", s.Agent))],
            _flowSamplers.Select(s => new TransferNode(s.Node, Zone(s.Node), null, s.Agent)).ToArray(),
            [pair.Server.Info.Ports.Http, pair.Server.Info.Ports.Tcp],
            book,
            null,
            clients.Skip(1).Select(c => c.Agent).ToArray(),
            workload
        );
    }

    private async Task<AgentPair> PrepareCaseAsync(PlannedCase plannedCase, CancellationToken cancellationToken)
    {
        if (plannedCase.Placement == Placement.PodToExternal)
            return await PrepareExternalAsync(plannedCase, cancellationToken);
        if (plannedCase.Placement == Placement.PodToGateway)
            return await PrepareGatewayAsync(plannedCase, cancellationToken);
        if (plannedCase.Transfer)
            return await PrepareTransferAsync(plannedCase, cancellationToken);
        var (serverNode, clientNode, serverNodeObject, _) = await NodesAsync(cancellationToken);
        bool v6 = plannedCase.IpFamily == IpFamily.Ipv6;
        bool host = plannedCase.Placement == Placement.HostToHost;
        var server = await EnsureAgentAsync(
            new AgentPlacement(host ? "server-host" : "server", "server", serverNode, host),
            cancellationToken
        );
        var clientPlacement = plannedCase.Placement switch
        {
            Placement.HostToHost => new AgentPlacement("client-host", "client", clientNode, true),
            Placement.PodToPodSameNode => new AgentPlacement("client-same-node", "client", serverNode, false),
            _ => new AgentPlacement("client", "client", clientNode, false),
        };
        var client = await EnsureAgentAsync(clientPlacement, cancellationToken);
        int port = AgentPool.DataPort(plannedCase.Workload.Kind, server.Info.Ports);
        string ip;
        if (plannedCase.Placement == Placement.PodToClusterIp)
        {
            var service = await ServiceAsync(false, cancellationToken);
            ip = KubeObjects.ClusterIp(v6, service);
        }
        else if (plannedCase.Placement == Placement.PodToNodePort)
        {
            await ServiceAsync(true, cancellationToken);
            ip = KubeObjects.NodeAddress(v6, serverNodeObject);
            port = AgentPool.DataPort(
                plannedCase.Workload.Kind,
                AgentManifests.TcpNodePort,
                AgentManifests.UdpNodePort,
                AgentManifests.HttpNodePort
            );
        }
        else
        {
            var status = server.Pod["status"];
            ip = KubeObjects.Pick(
                v6,
                new JsonArray(
                    (status?["podIPs"] as JsonArray)
                        ?.OfType<JsonObject>()
                        .Select(p => (JsonNode?)p["ip"]?.DeepClone())
                        .ToArray()
                        ?? []
                ),
                (string?)status?["podIP"],
                $"pod {Namespace}/{(string?)server.Pod["metadata"]?["name"]}"
            );
        }
        string address = Endpoints.Format(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(ip), port));
        var metrics = new Dictionary<string, double>();
        if (plannedCase.Dataplane?.Services is int services)
        {
            // The run's own Service counts as one of them, as on the lab.
            await Scale.EnsureAsync(services - 1, cancellationToken);
            if (
                await Scale.TimeToReachNewServiceAsync(Pods.Handle("client", client), v6, cancellationToken)
                is double reachable
            )
                metrics[Contracts.Measurement.Metrics.ServiceReachableMs] = reachable;
        }
        // After any Services the case added: it starts once the client's node has programmed them all (the newest,
        // the case's own at the end of the proxy's work, answers), not while its proxy is still rewriting rules.
        if (plannedCase.Placement is Placement.PodToClusterIp or Placement.PodToNodePort)
        {
            // The Service's HTTP port: its rules are programmed with the case's port, and the probe speaks HTTP.
            int httpPort =
                plannedCase.Placement == Placement.PodToNodePort ? AgentManifests.HttpNodePort : server.Info.Ports.Http;
            var settle = await ServiceProbe.WaitUntilAnswersAsync(
                Name,
                Pods.Handle("client", client),
                Endpoints.Format(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(ip), httpPort)),
                $"the Service {Namespace}/{ServiceName(plannedCase.Placement == Placement.PodToNodePort)}",
                cancellationToken
            );
            metrics[Contracts.Measurement.Metrics.ServiceSettleMs] = settle;
        }
        // What the scheduler did, not what was asked: both nodes are read back from the pods.
        var sNode = (string?)server.Pod["spec"]?["nodeName"];
        var cNode = (string?)client.Pod["spec"]?["nodeName"];
        string achieved = plannedCase.Placement switch
        {
            Placement.PodToPodSameNode when sNode != cNode =>
                $"{plannedCase.Placement.ToName()} (not achieved: {sNode} and {cNode})",
            Placement.PodToPodCrossNode or Placement.HostToHost when sNode == cNode =>
                $"{plannedCase.Placement.ToName()} (not achieved: both on {sNode}; the cluster has one schedulable "
                    + $"node)",
            _ => plannedCase.Placement.ToName(),
        };
        return new AgentPair(Pods.Handle("server", server), Pods.Handle("client", client), address, achieved)
        {
            TargetMetrics = metrics,
        };
    }

    /// <summary>
    /// Out of the cluster: the client pod on the client node sends to the external agent server; the case's
    /// egress path (direct or gateway) is put in place first and the source the server must see is set.
    /// </summary>
    private async Task<AgentPair> PrepareExternalAsync(PlannedCase plannedCase, CancellationToken cancellationToken)
    {
        var (_, clientNode, _, clientNodeObject) = await NodesAsync(cancellationToken);
        bool v6 = plannedCase.IpFamily == IpFamily.Ipv6;
        var client = Pods.Handle(
            "client",
            await EnsureAgentAsync(new AgentPlacement("client", "client", clientNode, false), cancellationToken)
        );
        _egress ??= new KubeEgress(kube, Namespace, options.RunId, EgressOptions, _token);
        var (server, host) = await _egress.ServerAsync(cancellationToken);
        var expected = await _egress.PrepareAsync(
            plannedCase,
            client,
            KubeObjects.NodeAddress(v6, clientNodeObject),
            clientNode,
            cancellationToken
        );
        string address = Endpoints.Format(
            new System.Net.IPEndPoint(
                System.Net.IPAddress.Parse(host),
                AgentPool.DataPort(plannedCase.Workload.Kind, server.Info.Ports)
            )
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

    /// <summary>
    /// Through a Gateway: the client pod sends HTTP to the Gateway's address; its HTTPRoute splits the requests
    /// by the case's weights between two backend pods, on the server's and the client's node.
    /// </summary>
    private async Task<AgentPair> PrepareGatewayAsync(PlannedCase plannedCase, CancellationToken cancellationToken)
    {
        var (serverNode, clientNode, _, _) = await NodesAsync(cancellationToken);
        var a = await EnsureAgentAsync(
            new AgentPlacement(GatewayManifests.BackendA, GatewayManifests.BackendA, serverNode, false),
            cancellationToken
        );
        var b = await EnsureAgentAsync(
            new AgentPlacement(GatewayManifests.BackendB, GatewayManifests.BackendB, clientNode, false),
            cancellationToken
        );
        var client = await EnsureAgentAsync(
            new AgentPlacement("client", "client", clientNode, false),
            cancellationToken
        );
        _split ??= new KubeTrafficSplit(
            _objects,
            kube,
            Namespace,
            options.RunId,
            options.GatewayClass!,
            options.GatewayPort,
            options.ReadyTimeout
        );
        var ip = await _split.PrepareAsync(
            plannedCase.Split!,
            plannedCase.IpFamily == IpFamily.Ipv6,
            cancellationToken
        );
        string address = Endpoints.Format(
            new System.Net.IPEndPoint(System.Net.IPAddress.Parse(ip), options.GatewayPort)
        );
        return new AgentPair(
            Pods.Handle("server", a),
            Pods.Handle("client", client),
            address,
            $"{Placement.PodToGateway.ToName()} ({plannedCase.Split})"
        )
        {
            Hooks = [new SplitBackendHook(b.Info.Identity.Name, plannedCase.Split!)],
        };
    }

    /// <summary>
    /// The server's and the client's node: named ones (--server-node, --client-node) first, then nodes labelled
    /// agenttype=server/client (the CyPerf agent deployment notes), then the first Ready, schedulable ones; the
    /// client's node in the
    /// server's zone or another one when --zones says so (topology.kubernetes.io/zone).
    /// </summary>
    private async Task<(string, string, JsonObject, JsonObject)> NodesAsync(CancellationToken cancellationToken)
    {
        if (_nodes is { } known)
            return known;
        var (items, _) = await kube.ListAsync(KubeResource.Core("nodes"), null, cancellationToken);
        var ready = items
            .Where(n =>
                (bool?)n["spec"]?["unschedulable"] != true
                && (n["status"]?["conditions"] as JsonArray)
                    ?.OfType<JsonObject>()
                    .Any(c => (string?)c["type"] == "Ready" && (string?)c["status"] == "True") == true
            )
            .ToArray();
        if (ready.Length == 0)
            throw new TargetException("kube: no Ready, schedulable node in the cluster");
        static string NameOf(JsonObject n) => (string?)n["metadata"]?["name"] ?? "";
        static string? ZoneOf(JsonObject n) => (string?)n["metadata"]?["labels"]?["topology.kubernetes.io/zone"];
        JsonObject? Named(string? name, string flag) =>
            name is null
                ? null
                : ready.FirstOrDefault(n => NameOf(n) == name)
                    ?? throw new TargetException(
                        $"kube: {flag} {name}: no Ready, schedulable node of that name; allowed: "
                            + $"{string.Join(", ", ready.Select(NameOf))}"
                    );
        JsonObject? Labelled(string value) =>
            ready.FirstOrDefault(n => (string?)n["metadata"]?["labels"]?["agenttype"] == value);
        var server = Named(options.Placement.ServerNode, "--server-node") ?? Labelled("server") ?? ready[0];
        var others = ready.Where(n => NameOf(n) != NameOf(server)).ToArray();
        var inZone = options.Placement.Zones switch
        {
            ZonePlacement.Same => others.Where(n => ZoneOf(n) == ZoneOf(server)).ToArray(),
            ZonePlacement.Cross => others.Where(n => ZoneOf(n) != ZoneOf(server)).ToArray(),
            _ => others,
        };
        if (options.Placement.Zones != ZonePlacement.Any && options.Placement.ClientNode is null && inZone.Length == 0)
            throw new TargetException(
                $"kube: --zones {options.Placement.Zones.ToString().ToLowerInvariant()}: no other Ready node "
                    + $"{(options.Placement.Zones == ZonePlacement.Same ? "in" : "outside")} zone "
                    + $"{ZoneOf(server) ?? "(none)"} of {NameOf(server)}"
            );
        var client = Named(options.Placement.ClientNode, "--client-node")
            ?? inZone.FirstOrDefault(n => (string?)n["metadata"]?["labels"]?["agenttype"] == "client")
            ?? inZone.FirstOrDefault()
            ?? server;
        _nodes = (NameOf(server), NameOf(client), server, client);
        return _nodes.Value;
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
            _endpoints = new KubeEndpoints(
                _objects,
                kube,
                Namespace,
                options.RunId,
                options.Image,
                options.ChurnStepTimeout ?? TimeSpan.FromMinutes(5)
            );
            await _objects.ApplyAsync(
                new KubeResource("apps", "v1", "daemonsets", Namespace, AgentManifests.ProberRole),
                KubeObjects.Checked(AgentManifests.ProberDaemonSet(Namespace, options.RunId, options.Image)),
                cancellationToken
            );
            await _objects.ApplyAsync(
                KubeResource.Core("services", Namespace, AgentManifests.ChurnService),
                KubeObjects.Checked(AgentManifests.ChurnServiceManifest(Namespace, options.RunId)),
                cancellationToken
            );
        }
        if (plannedCase.Dataplane?.Services is int services)
            await Scale.EnsureAsync(services - 1, cancellationToken);
        await _endpoints.ApplyDeploymentAsync(1, cancellationToken);
        _probers ??= await Pods.DaemonSetAsync(AgentManifests.ProberRole, cancellationToken);
        // Clocks drift: every case reads them afresh.
        var probers = new List<Prober>();
        foreach (var (node, agent) in _probers)
        {
            var (offset, uncertainty) = await ClockOffset.MeasureAsync(agent.Client, cancellationToken);
            probers.Add(new Prober(node, agent, offset, uncertainty));
        }
        var service = await kube.GetAsync(
            KubeResource.Core("services", Namespace, AgentManifests.ChurnService),
            cancellationToken
        );
        var ip = KubeObjects.ClusterIp(v6, service);
        int port = (int?)service["spec"]?["ports"]?[0]?["port"] ?? 80;
        var address = Endpoints.Format(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(ip), port));
        return await KubeChurn.StartAsync(
            kube,
            _endpoints,
            plannedCase.Churn!.Endpoints,
            v6,
            probers,
            address,
            cancellationToken
        );
    }

    private async Task EnsureNamespaceAsync(CancellationToken cancellationToken)
    {
        if (_namespaceCreated)
            return;
        _namespaceCreated = true; // from here on, dispose removes it whatever happens next
        if (options.Namespace is null)
            await kube.CreateAsync(
                KubeResource.Core("namespaces"),
                KubeObjects.Checked(AgentManifests.Namespace(Namespace, options.RunId)),
                cancellationToken
            );
        await _objects.ApplyAsync(
            KubeResource.Core("secrets", Namespace, AgentManifests.TokenSecretName(options.RunId)),
            KubeObjects.Checked(AgentManifests.TokenSecret(Namespace, options.RunId, _token)),
            cancellationToken
        );
        if (options.NetworkPolicy)
            await _objects.ApplyAsync(
                NetworkPolicies.Named(AgentManifests.ControlPolicyName(options.RunId)),
                KubeObjects.Checked(
                    AgentManifests.ControlNetworkPolicy(
                        Namespace,
                        options.RunId,
                        await ApiServerAddressesAsync(cancellationToken)
                    )
                ),
                cancellationToken
            );
        Pods.Watch();
    }

    private KubeResource NetworkPolicies => new("networking.k8s.io", "v1", "networkpolicies", Namespace);

    /// <summary>Where the API server's pod proxy connects from: the endpoints of default/kubernetes.</summary>
    private async Task<IReadOnlyList<string>> ApiServerAddressesAsync(CancellationToken cancellationToken)
    {
        var (slices, _) = await kube.ListAsync(
            new KubeResource("discovery.k8s.io", "v1", "endpointslices", "default"),
            "kubernetes.io/service-name=kubernetes",
            cancellationToken
        );
        var addresses = slices
            .SelectMany(s => s["endpoints"]?.AsArray() ?? [])
            .SelectMany(e => e?["addresses"]?.AsArray() ?? [])
            .Select(a => (string?)a)
            .OfType<string>()
            .Distinct()
            .ToArray();
        return addresses.Length > 0
            ? addresses
            : throw new TargetException(
                "--network-policy: the API server's addresses are not in the EndpointSlices of default/kubernetes; "
                    + "run without --network-policy, or admit the controller with a policy of your own"
            );
    }

    private KubePods Pods => _pods ??= new KubePods(kube, Namespace, options, _token);

    private async Task<KubeAgent> EnsureAgentAsync(AgentPlacement placement, CancellationToken cancellationToken)
    {
        await EnsureNamespaceAsync(cancellationToken);
        return await Pods.EnsureAsync(placement, cancellationToken);
    }

    /// <summary>
    /// On a cluster each endpoint change waits for a pod to start or stop (about half a second on a quiet one), the
    /// churn's Deployment and probers take some seconds to come up and the probers go on for the tail, and Services are
    /// made at the client's 50 a second; every repetition then times one more Service out and in again, which took
    /// about 30 ms per Service already there on a test cluster (30 s at 1000).
    /// </summary>
    public TimeSpan EstimatePreparation(PlannedCase plannedCase)
    {
        var extra = TimeSpan.Zero;
        if (plannedCase.Churn is { } churn)
            extra += TimeSpan.FromSeconds(15) + churn.Changes * (churn.Interval + TimeSpan.FromSeconds(0.5));
        if (plannedCase.Dataplane?.Services is int services)
            extra += TimeSpan.FromSeconds(5 + services / 50.0 / plannedCase.Repetitions + services * 0.03);
        return extra;
    }

    private static string ServiceName(bool nodePort) => nodePort ? "agents-nodeport" : "agents";

    /// <summary>The Service in front of the servers: both families where the cluster has both
    /// (PreferDualStack).</summary>
    private async Task<JsonObject> ServiceAsync(bool nodePort, CancellationToken cancellationToken)
    {
        string name = ServiceName(nodePort);
        if (_servicesApplied.Add(name))
            await _objects.ApplyAsync(
                KubeResource.Core("services", Namespace, name),
                KubeObjects.Checked(
                    AgentManifests.AgentService(Namespace, options.RunId, name, nodePort, "PreferDualStack")
                ),
                cancellationToken
            );
        return await kube.GetAsync(KubeResource.Core("services", Namespace, name), cancellationToken);
    }

    public async Task<IReadOnlyDictionary<string, string>> DescribeEnvironmentAsync(CancellationToken cancellationToken)
    {
        var environment = new Dictionary<string, string>(
            await KubeEnvironment.DescribeAsync(kube, Namespace, cancellationToken)
        );
        foreach (var (k, v) in EgressOptions.Describe())
            environment[k] = v;
        return environment;
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        if (_pods is not null)
            await _pods.DisposeAsync();
        try
        {
            if (_egress is not null)
                await _egress.DisposeAsync();
            if (_namespaceCreated)
                await DeleteWhatWeMadeAsync();
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
                await WaitNamespaceGoneAsync(TimeSpan.FromSeconds(60));
            }
            else
            {
                // A namespace the user gave: only what this run made goes, found by its run label.
                // Workloads first, so their controllers do not make new pods while the pods go.
                KubeResource[] kinds =
                [
                    new("apps", "v1", "deployments", Namespace),
                    new("apps", "v1", "daemonsets", Namespace),
                    GatewayManifests.Routes with
                    {
                        Namespace = Namespace,
                    },
                    GatewayManifests.Gateways with
                    {
                        Namespace = Namespace,
                    },
                    KubeResource.Core("pods", Namespace),
                    KubeResource.Core("services", Namespace),
                    KubeResource.Core("secrets", Namespace),
                    NetworkPolicies,
                ];
                foreach (var kind in kinds)
                {
                    try
                    {
                        await kube.DeleteCollectionAsync(
                            kind,
                            $"{AgentManifests.RunLabel}={options.RunId}",
                            timeout.Token
                        );
                    }
                    catch (KubeApiException e) when (e.Status == System.Net.HttpStatusCode.NotFound)
                    {
                        // A kind this cluster does not serve (no Gateway API): nothing of it was made.
                    }
                }
            }
        }
        catch (Exception e) when (e is KubeApiException or KubeConnectionException or OperationCanceledException)
        {
            Console.Error.WriteLine(
                $"cnibench: could not delete namespace {Namespace}: {e.Message}; 'cnibench kube cleanup' removes it "
                    + $"later"
            );
        }
    }

    /// <summary>
    /// A namespace goes once every pod in it has stopped, which waits for the kubelets: the run ends when it is
    /// gone or, after <paramref name="limit"/>, says that it is still terminating and what will finish it.
    /// </summary>
    private async Task WaitNamespaceGoneAsync(TimeSpan limit)
    {
        var deadline = DateTimeOffset.UtcNow + limit;
        while (DateTimeOffset.UtcNow < deadline)
        {
            try
            {
                await kube.GetAsync(KubeResource.Core("namespaces", null, Namespace), CancellationToken.None);
            }
            catch (KubeApiException e) when (e.Status == System.Net.HttpStatusCode.NotFound)
            {
                return;
            }
            await Task.Delay(500);
        }
        Console.Error.WriteLine(
            $"cnibench: namespace {Namespace} is still terminating after {limit.TotalSeconds:0}s (its pods wait for "
                + $"their nodes); it goes by itself, or 'cnibench kube cleanup' finishes it"
        );
    }
}
