using System.Globalization;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets.Lab.Network;
using CniBench.Cli.Targets.Lab.Network.Services;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Targets.Lab;

/// <summary>
/// Agents inside the namespaces of a lab: started with `ip netns exec`, controlled through Unix sockets
/// (the controller stays in the machine's own namespace and never routes into the lab), placed as each
/// case asks. Before each case the lab is brought to what the case asks (proxy mode, number of services,
/// and for a lab this run built itself, routing and MTU); a lab the user built is given back as it was.
/// </summary>
public sealed class LabTarget : ITarget
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
            ScenarioFields.Dataplane
        );
    private readonly LabSite _site;

    private LabTarget(LabSite site) => _site = site;

    public IInfrastructure Infrastructure => _site;

    /// <summary>A lab someone built with `cnibench lab up`: used as it is, its services given back after the
    /// run.</summary>
    public static LabTarget Existing(LabSpec spec, AgentCommand command)
    {
        LabBuilder.Claim(spec.Id, Ownership.ProcessOwner.Current());
        return new(new LabSite(spec, command, owned: false));
    }

    /// <summary>A lab built for this run alone and removed when it ends, whatever way it ends.</summary>
    public static async Task<LabTarget> BuildAsync(
        LabSpec spec,
        AgentCommand command,
        CancellationToken cancellationToken
    )
    {
        var up = await LabBuilder.UpAsync(spec, cancellationToken, Ownership.ProcessOwner.Current());
        return new LabTarget(new LabSite(spec, command, owned: true, up.Programming));
    }

    public string Name => "lab";

    public LabSpec Spec => _site.Spec;

    public IReadOnlyCollection<int> AgentPids => _site.AgentPids;

    /// <summary>A lab of the run's own is rebuilt for each routing and MTU and re-programmed for each proxy and
    /// number of services: cases that share them run one after another (in the plan's order otherwise), so each lab
    /// is built once. A lab that was up is never rebuilt: its cases keep the plan's order.</summary>
    public IReadOnlyList<PlannedCase> Order(IReadOnlyList<PlannedCase> cases) =>
        _site.Owned ? GroupBySettings(cases) : cases;

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
        var spec = _site.Desired(c.Dataplane);
        if (c.Placement == Placement.PodToPodSameNode && spec.PodsPerNode < 2)
            yield return $"case {c.Name}: pod-to-pod-same-node needs 2 pods per node; this lab has "
                + $"{spec.PodsPerNode} (lab up --pods-per-node 2)";
        else if (c.Placement is not (Placement.PodToPodSameNode or Placement.PodToExternal) && spec.Nodes < 2)
            yield return $"case {c.Name}: {c.Placement.ToName()} needs 2 nodes; this lab has {spec.Nodes} (lab up "
                + $"--nodes 2)";
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
        if (c.IpFamily == IpFamily.Ipv6 && spec.Proxy == ProxyMode.Ebpf && c.Placement == Placement.PodToClusterIp)
            yield return $"case {c.Name}: the ebpf proxy is IPv4 only so far; allowed: ipFamily ipv4";
        if (c.Dataplane?.Egress == EgressMode.Gateway && spec.Nodes < 2)
            yield return $"case {c.Name}: egress through a gateway needs 2 nodes (the client's and the gateway); "
                + $"this lab has {spec.Nodes}";
        if (
            !_site.Owned
            && c.Dataplane is { Topology: true }
            && (spec.Routing != _site.Original.Routing || spec.Mtu != _site.Original.Mtu)
        )
            yield return $"case {c.Name}: asks for {Lower(spec.Routing)} routing and MTU {spec.Mtu}, but lab "
                + $"{_site.Original.Id} was built with {Lower(_site.Original.Routing)} and {_site.Original.Mtu}; "
                + "run without a lab up (the run then builds and rebuilds its own) or lab up with those settings";
    }

    public async Task<AgentPair> PrepareAsync(PlannedCase plannedCase, CancellationToken cancellationToken)
    {
        var metrics = await _site.BeginCaseAsync(plannedCase, cancellationToken);

        var family = plannedCase.IpFamily == IpFamily.Ipv6 ? LabFamily.V6 : LabFamily.V4;
        var place = _site.Place(plannedCase.Placement, family);
        var servers = new List<AgentProcess>();
        foreach (var host in place.Servers)
            servers.Add(await _site.EnsureAsync("server", host, cancellationToken, family));
        var client = await _site.EnsureAsync("client", place.Client, cancellationToken, family);
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
        };
    }

    public async Task<IReadOnlyDictionary<string, string>> DescribeEnvironmentAsync(
        CancellationToken cancellationToken
    ) =>
        new Dictionary<string, string>
        {
            ["target"] = Name,
            ["lab.id"] = _site.Original.Id,
            ["lab.built_by_run"] = _site.Owned ? "yes" : "no",
            ["lab.nodes"] = _site.Original.Nodes.ToString(CultureInfo.InvariantCulture),
            ["lab.pods_per_node"] = _site.Original.PodsPerNode.ToString(CultureInfo.InvariantCulture),
            ["lab.routing"] = Lower(_site.Original.Routing),
            ["lab.egress"] = Lower(_site.Original.Egress),
            ["lab.ip_family"] = Lower(_site.Original.IpFamily),
            ["lab.zones"] = _site.Original.Zones.ToString(CultureInfo.InvariantCulture),
            ["lab.proxy"] = Lower(_site.Original.Proxy),
            ["lab.services"] = (_site.Original.Services + 1).ToString(CultureInfo.InvariantCulture),
            ["lab.iptables"] = await IptablesBackends.DescribeAsync(_site.Original.Iptables, cancellationToken),
            ["mtu.underlay"] = _site.Original.Mtu.ToString(CultureInfo.InvariantCulture),
            ["mtu.pod"] = _site.Topology.PodMtu.ToString(CultureInfo.InvariantCulture),
        };

    private static string Lower<T>(T value)
        where T : struct, Enum => value.ToString().ToLowerInvariant();

    public ValueTask DisposeAsync() => _site.DisposeAsync();
}
