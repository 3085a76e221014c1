using System.Globalization;
using System.Security.Cryptography;
using CniBench.Cli.Agents;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets.Hooks;
using CniBench.Cli.Targets.Lab.Network;
using CniBench.Cli.Targets.Lab.Network.Ebpf;
using CniBench.Cli.Targets.Lab.Network.Services;
using CniBench.Contracts.Measurement;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Targets.Lab;

/// <summary>
/// Agents inside the namespaces of a lab: started with `ip netns exec`, controlled through Unix sockets
/// (the controller stays in the machine's own namespace and never routes into the lab), placed as each
/// case asks. Before each case the lab is brought to what the case asks (proxy mode, number of services,
/// and for a lab this run built itself, routing and MTU); a lab the user built is given back as it was.
/// </summary>
public sealed class LabTarget : ITarget, IChurnTarget
{
    /// <summary>Namespaces on this host: no Gateway API; every dataplane setting is the lab's to rebuild or
    /// re-program.</summary>
    public TargetCapabilities Capabilities { get; } =
        new(
            [
                Placement.HostToHost,
                Placement.PodToPodSameNode,
                Placement.PodToPodCrossNode,
                Placement.PodToClusterIp,
                Placement.PodToNodePort,
                Placement.PodToExternal,
            ],
            ScenarioFields.Dataplane,
            EndpointChurn: true,
            Transfer: true
        );
    private readonly LabSpec _original;
    private readonly bool _owned;
    private readonly AgentCommand _command;
    private readonly string _token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
    private LabTopology _topology;
    private AgentPool _agents = new();

    // A lab built for the run was programmed before the first case: that case reports the times.
    private ProgrammingTime? _unreported;

    private LabTarget(LabSpec spec, AgentCommand command, bool owned)
    {
        _original = spec;
        _owned = owned;
        _command = command;
        _topology = new LabTopology(spec);
    }

    /// <summary>A lab someone built with `cnibench lab up`: used as it is, its services given back after the
    /// run.</summary>
    public static LabTarget Existing(LabSpec spec, AgentCommand command)
    {
        LabBuilder.Claim(spec.Id, Ownership.ProcessOwner.Current());
        return new(spec, command, owned: false);
    }

    /// <summary>A lab built for this run alone and removed when it ends, whatever way it ends.</summary>
    public static async Task<LabTarget> BuildAsync(
        LabSpec spec,
        AgentCommand command,
        CancellationToken cancellationToken
    )
    {
        var up = await LabBuilder.UpAsync(spec, cancellationToken, Ownership.ProcessOwner.Current());
        return new LabTarget(spec, command, owned: true) { _unreported = up.Programming };
    }

    public string Name => "lab";

    /// <summary>The lab writes an endpoint change at once: its churn takes its changes' intervals, plus the probers'
    /// start.</summary>
    public TimeSpan EstimatePreparation(PlannedCase plannedCase) =>
        plannedCase.Churn is { } churn ? TimeSpan.FromSeconds(2) + churn.Changes * churn.Interval : TimeSpan.Zero;

    public LabSpec Spec => _topology.Spec;

    public IReadOnlyCollection<int> AgentPids => _agents.Pids;

    private string SocketDirectory => Path.Combine(LabBuilder.StateDirectory, _original.Id);

    /// <summary>A lab of the run's own is rebuilt for each routing and MTU and re-programmed for each proxy and
    /// number of services: cases that share them run one after another (in the plan's order otherwise), so each lab
    /// is built once. A lab that was up is never rebuilt: its cases keep the plan's order.</summary>
    public IReadOnlyList<PlannedCase> Order(IReadOnlyList<PlannedCase> cases) =>
        _owned ? GroupBySettings(cases) : cases;

    public static IReadOnlyList<PlannedCase> GroupBySettings(IReadOnlyList<PlannedCase> cases)
    {
        static (LabRouting?, int?, ProxyMode?, int?) Key(PlannedCase c) =>
            (c.Dataplane?.Routing, c.Dataplane?.Mtu, c.Dataplane?.Proxy, c.Dataplane?.Services);
        var groups = cases.Select(Key).Distinct().ToList();
        // OrderBy is stable: within a group the plan's order stays.
        return cases.OrderBy(c => groups.IndexOf(Key(c))).ToArray();
    }

    public IEnumerable<string> CheckCase(PlannedCase plannedCase)
    {
        var c = plannedCase;
        var spec = Desired(c.Dataplane);
        if (c.Placement == Placement.PodToPodSameNode && spec.PodsPerNode < 2)
            yield return $"case {c.Name}: pod-to-pod-same-node needs 2 pods per node; this lab has "
                + $"{spec.PodsPerNode} (lab up --pods-per-node 2)";
        else if (c.Placement is not (Placement.PodToPodSameNode or Placement.PodToExternal) && spec.Nodes < 2)
            yield return $"case {c.Name}: {c.Placement.ToName()} needs 2 nodes; this lab has {spec.Nodes} (lab up "
                + $"--nodes 2)";
        if (c.Parameters.ContainsKey("clientPods") || c.Parameters.ContainsKey("servers"))
            yield return $"case {c.Name}: clientPods and servers apply to kube; the lab runs a server on every node "
                + "and the clients as `parallel` users of one client agent";
        if (c.Placement == Placement.PodToNodePort && spec.Proxy == ProxyMode.Ebpf)
            yield return $"case {c.Name}: the ebpf proxy balances at connect() inside pods; NodePorts need iptables "
                + $"or nftables";
        if (c.Placement is Placement.PodToClusterIp or Placement.PodToNodePort && spec.Proxy == ProxyMode.None)
            yield return $"case {c.Name}: {c.Placement.ToName()} needs services; the lab's proxy is none (set proxy: "
                + $"iptables or nftables in the case, or lab up --proxy iptables)";
        var topology = new LabTopology(spec);
        if (c.IpFamily == IpFamily.Ipv6 && !topology.HasV6)
            yield return $"case {c.Name}: ipFamily ipv6 needs a lab with IPv6 pods; this one is "
                + $"{Lower(spec.IpFamily)} (lab up --ip-family dual or ipv6)";
        if (c.IpFamily == IpFamily.Ipv4 && !topology.HasV4)
            yield return $"case {c.Name}: ipFamily ipv4 needs a lab with IPv4 pods; this one is ipv6 only (set "
                + $"ipFamily: ipv6, or lab up --ip-family dual)";
        if (
            c.IpFamily == IpFamily.Ipv6
            && (spec.Proxy == ProxyMode.Ebpf || c.Churn is not null)
            && c.Placement == Placement.PodToClusterIp
        )
            yield return $"case {c.Name}: {(c.Churn is not null ? "convergence cases" : "the ebpf proxy")} are IPv4 "
                + $"only so far; allowed: ipFamily ipv4";
        if (c.Dataplane?.Egress == EgressMode.Gateway && spec.Nodes < 2)
            yield return $"case {c.Name}: egress through a gateway needs 2 nodes (the client's and the gateway); "
                + $"this lab has {spec.Nodes}";
        if (
            !_owned
            && c.Dataplane is { Topology: true }
            && (spec.Routing != _original.Routing || spec.Mtu != _original.Mtu)
        )
            yield return $"case {c.Name}: asks for {Lower(spec.Routing)} routing and MTU {spec.Mtu}, but lab "
                + $"{_original.Id} was built with {Lower(_original.Routing)} and {_original.Mtu}; "
                + "run without a lab up (the run then builds and rebuilds its own) or lab up with those settings";
    }

    /// <summary>The lab a case runs on: the lab as built, with what the case asks for in place.</summary>
    private LabSpec Desired(DataplaneSettings? wanted) =>
        _original with
        {
            Proxy = wanted?.Proxy ?? _original.Proxy,
            Services = wanted?.Services is int n ? n - 1 : _original.Services,
            Routing = wanted?.Routing ?? _original.Routing,
            Mtu = wanted?.Mtu ?? _original.Mtu,
            Egress = wanted?.Egress ?? _original.Egress,
        };

    /// <summary>Where the servers and the client of a placement run, and the address the client sends to.</summary>
    public sealed record LabPlacement(
        IReadOnlyList<LabHost> Servers,
        LabHost Client,
        string Address,
        Func<WorkloadKind, int>? ServicePort
    );

    public LabPlacement Place(Placement placement, LabFamily family) =>
        placement switch
        {
            Placement.HostToHost => new([_topology.Node(2)], _topology.Node(1), _topology.Node(2).At(family), null),
            Placement.PodToPodSameNode => new(
                [_topology.Pod(1, 2)],
                _topology.Pod(1, 1),
                _topology.Pod(1, 2).At(family),
                null
            ),
            Placement.PodToPodCrossNode => new(
                [_topology.Pod(2, 1)],
                _topology.Pod(1, 1),
                _topology.Pod(2, 1).At(family),
                null
            ),
            // Through the service: every endpoint pod serves, and the proxy rules choose one per connection.
            Placement.PodToClusterIp => new(
                _topology.Endpoints.ToArray(),
                _topology.Pod(1, 1),
                family.ClusterIp,
                kind => AgentPool.DataPort(kind, DefaultPorts.Tcp, DefaultPorts.Udp, DefaultPorts.Http)
            ),
            Placement.PodToNodePort => new(
                _topology.Endpoints.ToArray(),
                _topology.Pod(1, 1),
                _topology.Node(Spec.Nodes).At(family),
                kind =>
                    AgentPool.DataPort(kind, LabServices.TcpNodePort, LabServices.UdpNodePort, LabServices.HttpNodePort)
            ),
            // Out of the cluster: directly from the client's node, or through the gateway node, as the lab's egress
            // mode says.
            Placement.PodToExternal => new(
                [_topology.External],
                _topology.Pod(1, 1),
                _topology.External.At(family),
                null
            ),
            _ => throw new TargetException($"placement {placement} is not available on the lab target"),
        };

    public async Task<AgentPair> PrepareAsync(PlannedCase plannedCase, CancellationToken cancellationToken)
    {
        var metrics = await ReconcileAsync(Desired(plannedCase.Dataplane), cancellationToken);
        if (plannedCase.Dataplane?.Services is not null && Spec.Proxy != ProxyMode.None)
            metrics[Metrics.AddServiceMs] = (await TimeOneAddedServiceAsync(cancellationToken))
                .MeanPerNode
                .TotalMilliseconds;

        var family = plannedCase.IpFamily == IpFamily.Ipv6 ? LabFamily.V6 : LabFamily.V4;
        var place = Place(plannedCase.Placement, family);
        var servers = new List<AgentProcess>();
        foreach (var host in place.Servers)
            servers.Add(await EnsureAsync("server", host, cancellationToken, family));
        var client = await EnsureAsync("client", place.Client, cancellationToken, family);
        var kind = plannedCase.Workload.Kind;
        int port = place.ServicePort?.Invoke(kind) ?? AgentPool.DataPort(kind, servers[0].Info.Ports);
        // With several backends, the first one's agent stands for the server side's CPU and memory.
        var achieved =
            plannedCase.Placement == Placement.PodToExternal
                ? $"pod-to-external ({Lower(Spec.Egress)})"
                : plannedCase.Placement.ToName();
        return new AgentPair(
            AgentPool.Handle(servers[0]),
            AgentPool.Handle(client),
            family.Endpoint(place.Address, port),
            achieved
        )
        {
            TargetMetrics = metrics,
            AgentsOnThisHost = true,
            Hooks =
                plannedCase.Transfer ? [await TransferHookAsync(servers, client, place, family, cancellationToken)]
                : plannedCase.Placement != Placement.PodToExternal ? []
                :
                [
                    new SourceCheckHook(
                        AgentPool.Handle(client),
                        new SourceExpectation(
                            _topology.EgressSource(place.Client.Node, family),
                            Spec.Egress == EgressMode.Gateway
                                ? "the gateway node's address"
                                : "the client's own node's address",
                            family.Endpoint(place.Address, servers[0].Info.Ports.Http)
                        )
                    ),
                ],
        };
    }

    /// <summary>Transfer cases: every pod of the case counts its interfaces, a node sampler on every node its flows,
    /// and every node runs a log shipper of the case's family.</summary>
    private async Task<TransferHook> TransferHookAsync(
        IReadOnlyList<AgentProcess> servers,
        AgentProcess client,
        LabPlacement place,
        LabFamily family,
        CancellationToken cancellationToken
    )
    {
        var pods = new List<TransferPod>
        {
            new("client", place.Client.Namespace, Node(place.Client), Zone(place.Client), AgentPool.Handle(client)),
        };
        pods.AddRange(
            place.Servers.Zip(servers, (host, agent) =>
                new TransferPod("server", host.Namespace, Node(host), Zone(host), AgentPool.Handle(agent))
            )
        );
        var samplers = new List<TransferNode>();
        foreach (var node in _topology.Nodes)
            samplers.Add(
                new(
                    node.Namespace,
                    _topology.ZoneOf(node.Node),
                    "eth0",
                    AgentPool.Handle(await EnsureAsync("sampler", node, cancellationToken))
                )
            );
        int[] ports = [.. servers.Select(s => s.Info.Ports.Http).Append(DefaultPorts.Http).Distinct()];
        return new TransferHook(
            pods,
            samplers,
            ports,
            _topology.AddressBook(),
            new LabLogShippers(_topology, family, _command)
        );
    }

    private string Node(LabHost host) => _topology.Node(host.Node).Namespace;

    private string Zone(LabHost host) => _topology.ZoneOf(host.Node);

    /// <summary>
    /// Brings the lab to the spec a case needs: rebuilt when routing or MTU differ (a lab of our own only),
    /// re-programmed when the proxy mode or the number of services differ. Returns the programming times.
    /// </summary>
    private async Task<Dictionary<string, double>> ReconcileAsync(LabSpec desired, CancellationToken cancellationToken)
    {
        var current = Spec;
        ProgrammingTime programming;
        if (desired == current)
        {
            programming = _unreported ?? ProgrammingTime.None;
        }
        else if (desired with { Egress = current.Egress } == current)
        {
            // Only the egress path changes: no rules of the proxy are touched.
            await LabBuilder.WriteEgressAsync(new LabTopology(desired), cancellationToken);
            await LabBuilder.SaveAsync(desired, cancellationToken);
            programming = ProgrammingTime.None;
        }
        else if (desired.Routing != current.Routing || desired.Mtu != current.Mtu)
        {
            if (!_owned)
                throw new TargetException(
                    $"lab {_original.Id}: cannot change routing or MTU of a lab this run did not build"
                );
            // Agents live in the namespaces being replaced: stop them first, new ones start in the new lab.
            await _agents.DisposeAsync();
            _agents = new AgentPool();
            await LabBuilder.DownAsync(current.Id, cancellationToken);
            programming = (
                await LabBuilder.UpAsync(desired, cancellationToken, Ownership.ProcessOwner.Current())
            ).Programming;
        }
        else
        {
            if (desired.Proxy != current.Proxy)
                await ServiceProgrammer.ClearAsync(_topology, current.Proxy, cancellationToken);
            programming = await ServiceProgrammer.ProgramAsync(new LabTopology(desired), cancellationToken);
            if (desired.Egress != current.Egress)
                await LabBuilder.WriteEgressAsync(new LabTopology(desired), cancellationToken);
            await LabBuilder.SaveAsync(desired, cancellationToken);
        }
        _topology = new LabTopology(desired);
        _unreported = null;
        var metrics = new Dictionary<string, double>();
        if (programming.PerNode.Count > 0)
        {
            metrics[Metrics.ProgramTableMs] = programming.MeanPerNode.TotalMilliseconds;
            metrics[Metrics.RenderMs] = programming.Render.TotalMilliseconds;
        }
        return metrics;
    }

    public async Task<IEndpointChurn> PrepareChurnAsync(PlannedCase plannedCase, CancellationToken cancellationToken)
    {
        await ReconcileAsync(Desired(plannedCase.Dataplane), cancellationToken);
        foreach (var pod in _topology.Endpoints)
            await EnsureAsync("server", pod, cancellationToken);
        var probers = new List<Prober>();
        // One prober per node, in the node's first pod, as a prober DaemonSet would place them.
        foreach (var node in _topology.Nodes)
            probers.Add(
                new(
                    node.Namespace,
                    AgentPool.Handle(await EnsureAsync("client", _topology.Pod(node.Node, 1), cancellationToken))
                )
            );
        return await LabChurn.CreateAsync(_topology, plannedCase.Churn!, probers, cancellationToken);
    }

    /// <summary>Adds one service as the proxy would on a Service create, times it on every node, and takes it away
    /// again.</summary>
    private async Task<ProgrammingTime> TimeOneAddedServiceAsync(CancellationToken cancellationToken)
    {
        var before = ServiceProgrammer.ServicesOf(_topology);
        var added = LabServices.Dummies(DataplaneSettings.MaxServices + 1, _topology.Families[0]).Last();
        IReadOnlyList<LabService> after = [added, .. before];
        var time = await ServiceProgrammer.UpdateAsync(_topology, Spec.Proxy, before, after, cancellationToken);
        await ServiceProgrammer.UpdateAsync(_topology, Spec.Proxy, after, before, cancellationToken);
        return time;
    }

    /// <summary>An agent of a role in a namespace, one per IP family: IPv6 agents listen on :: (IPv6 only), IPv4 ones
    /// on 0.0.0.0.</summary>
    private Task<AgentProcess> EnsureAsync(
        string role,
        LabHost host,
        CancellationToken cancellationToken,
        LabFamily? family = null
    ) => _agents.EnsureAsync($"{role}/{host.Namespace}/{(family ?? LabFamily.V4).Name}", async () =>
        {
            Directory.CreateDirectory(SocketDirectory);
            // A namespace has its own ports: servers take the fixed ones, a client beside a server takes any.
            string[] ports = role == "server" ? [] : ["--tcp-port", "0", "--udp-port", "0", "--http-port", "0"];
            var agent = await AgentProcess.StartAsync(
                _command,
                role,
                ["ip", "netns", "exec", host.Namespace],
                [
                    "--bind",
                    family?.IsV6 == true ? "::" : "0.0.0.0",
                    "--control-socket",
                    Path.Combine(SocketDirectory, $"{host.Namespace}-{role}-{(family ?? LabFamily.V4).Name}.sock"),
                    .. ports,
                ],
                _token,
                cancellationToken,
                new Dictionary<string, string>
                {
                    ["POD_NAME"] = host.Namespace,
                    ["NODE_NAME"] = host.Node == 0 ? "external" : _topology.Node(host.Node).Namespace,
                }
            );
            // A pod's processes live in its node's pod cgroup, where the ebpf proxy's connect() program applies.
            if (host.Pod > 0 && SocketBalancer.CgroupRoot() is { } root)
                await File.WriteAllTextAsync(
                    Path.Combine(new SocketBalancer(_original.Id, host.Node).NodeCgroup(root), "cgroup.procs"),
                    agent.Pid.ToString(CultureInfo.InvariantCulture),
                    cancellationToken
                );
            return agent;
        });

    public async Task<IReadOnlyDictionary<string, string>> DescribeEnvironmentAsync(
        CancellationToken cancellationToken
    ) =>
        new Dictionary<string, string>
        {
            ["target"] = Name,
            ["lab.id"] = _original.Id,
            ["lab.built_by_run"] = _owned ? "yes" : "no",
            ["lab.nodes"] = _original.Nodes.ToString(CultureInfo.InvariantCulture),
            ["lab.pods_per_node"] = _original.PodsPerNode.ToString(CultureInfo.InvariantCulture),
            ["lab.routing"] = Lower(_original.Routing),
            ["lab.egress"] = Lower(_original.Egress),
            ["lab.ip_family"] = Lower(_original.IpFamily),
            ["lab.zones"] = _original.Zones.ToString(CultureInfo.InvariantCulture),
            ["lab.proxy"] = Lower(_original.Proxy),
            ["lab.services"] = (_original.Services + 1).ToString(CultureInfo.InvariantCulture),
            ["lab.iptables"] = await IptablesBackends.DescribeAsync(_original.Iptables, cancellationToken),
            ["mtu.underlay"] = _original.Mtu.ToString(CultureInfo.InvariantCulture),
            ["mtu.pod"] = _topology.PodMtu.ToString(CultureInfo.InvariantCulture),
        };

    private static string Lower<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();

    public async ValueTask DisposeAsync()
    {
        await _agents.DisposeAsync();
        if (_owned)
        {
            await LabBuilder.DownAsync(_original.Id, CancellationToken.None);
            return;
        }
        try
        {
            Directory.Delete(SocketDirectory, recursive: true);
        }
        catch (DirectoryNotFoundException) { }
        // Give the user's lab back with the services it was built with.
        if (Spec != _original)
        {
            try
            {
                await ReconcileAsync(_original, CancellationToken.None);
            }
            catch (LabException e)
            {
                Console.Error.WriteLine($"cnibench: could not restore lab {_original.Id}'s services: {e.Message}");
            }
        }
        LabBuilder.Release(_original.Id);
    }
}
