using System.Text.Json.Nodes;
using CniBench.Cli.Scenarios;
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
            "a cluster's own: compare its modes with --config, one run per configuration"
        );

    /// <summary>Nothing of a case depends on the cluster's state here; what the suites need, they check
    /// themselves.</summary>
    public IEnumerable<string> CheckCase(PlannedCase plannedCase) => [];

    private KubeEgressOptions EgressOptions => options.Egress ?? new KubeEgressOptions();

    public async Task<AgentPair> PrepareAsync(PlannedCase plannedCase, CancellationToken cancellationToken)
    {
        return await _site.CompleteAsync(
            plannedCase,
            await PrepareCaseAsync(plannedCase, cancellationToken),
            cancellationToken
        );
    }

    private async Task<AgentPair> PrepareCaseAsync(PlannedCase plannedCase, CancellationToken cancellationToken)
    {
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
