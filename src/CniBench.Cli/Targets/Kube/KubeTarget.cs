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
public sealed class KubeTarget(KubeClient kube, KubeTargetOptions options) : ITarget
{
    private readonly KubeSite _site = new(kube, options);
    private KubeEgress? _egress;
    private IReadOnlyList<(string Node, AgentHandle Agent)>? _samplers;

    public string Name => "kube";
    public string Namespace => _site.Namespace;

    public IInfrastructure Infrastructure => _site;

    private KubePods Pods => _site.Pods;

    /// <summary>
    /// A cluster provides every placement the project knows. Its proxy, routing and MTU are its own; the number of
    /// Services and the egress path are the run's to set.
    /// </summary>
    public TargetCapabilities Capabilities { get; } =
        new(
            Enum.GetValues<Placement>(),
            ["services", "egress"],
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
            await _site.Objects.ApplyAsync(
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
        await _site.EnsureNamespaceAsync(cancellationToken);
        foreach (
            var (role, replicas) in new[]
            {
                (AgentManifests.TransferServerRole, plannedCase.Servers),
                (AgentManifests.TransferClientRole, plannedCase.ClientPods),
            }
        )
            await _site.Objects.ApplyAsync(
                new KubeResource("apps", "v1", "deployments", Namespace, role),
                KubeObjects.Checked(
                    AgentManifests.AgentDeployment(Namespace, options.RunId, options.Image, role, replicas)
                ),
                cancellationToken
            );
        await _site.Objects.ApplyAsync(
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
            await _site.Objects.ApplyAsync(
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
        if (plannedCase.Transfer)
            return await PrepareTransferAsync(plannedCase, cancellationToken);
        var (serverNode, clientNode, serverNodeObject, _) = await _site.NodesAsync(cancellationToken);
        bool v6 = plannedCase.IpFamily == IpFamily.Ipv6;
        bool host = plannedCase.Placement == Placement.HostToHost;
        var server = await _site.EnsureAgentAsync(
            new AgentPlacement(host ? "server-host" : "server", "server", serverNode, host),
            cancellationToken
        );
        var clientPlacement = plannedCase.Placement switch
        {
            Placement.HostToHost => new AgentPlacement("client-host", "client", clientNode, true),
            Placement.PodToPodSameNode => new AgentPlacement("client-same-node", "client", serverNode, false),
            _ => new AgentPlacement("client", "client", clientNode, false),
        };
        var client = await _site.EnsureAgentAsync(clientPlacement, cancellationToken);
        int port = AgentPool.DataPort(plannedCase.Workload.Kind, server.Info.Ports);
        string ip;
        if (plannedCase.Placement == Placement.PodToClusterIp)
        {
            var service = await _site.ServiceAsync(false, cancellationToken);
            ip = KubeObjects.ClusterIp(v6, service);
        }
        else if (plannedCase.Placement == Placement.PodToNodePort)
        {
            await _site.ServiceAsync(true, cancellationToken);
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
            await _site.Scale.EnsureAsync(services - 1, cancellationToken);
            if (
                await _site.Scale.TimeToReachNewServiceAsync(Pods.Handle("client", client), v6, cancellationToken)
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
                $"the Service {Namespace}/{KubeSite.ServiceName(plannedCase.Placement == Placement.PodToNodePort)}",
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
        var (_, clientNode, _, clientNodeObject) = await _site.NodesAsync(cancellationToken);
        bool v6 = plannedCase.IpFamily == IpFamily.Ipv6;
        var client = Pods.Handle(
            "client",
            await _site.EnsureAgentAsync(new AgentPlacement("client", "client", clientNode, false), cancellationToken)
        );
        _egress ??= _site.Undo(new KubeEgress(kube, Namespace, options.RunId, EgressOptions, _site.Token));
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
    /// On a cluster Services are made at the client's 50 a second; every repetition then times one more Service out
    /// and in again, which took about 30 ms per Service already there on a test cluster (30 s at 1000).
    /// </summary>
    public TimeSpan EstimatePreparation(PlannedCase plannedCase)
    {
        var extra = TimeSpan.Zero;
        if (plannedCase.Dataplane?.Services is int services)
            extra += TimeSpan.FromSeconds(5 + services / 50.0 / plannedCase.Repetitions + services * 0.03);
        return extra;
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

    public ValueTask DisposeAsync() => _site.DisposeAsync();
}
