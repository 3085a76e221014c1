using System.Globalization;
using System.Security.Cryptography;
using CniBench.Cli.Lab;
using CniBench.Cli.Lab.Services;
using CniBench.Cli.Scenarios;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Targets.Lab;

/// <summary>
/// Agents inside the namespaces of a lab that `cnibench lab up` built: started with `ip netns exec`,
/// controlled through Unix sockets (the controller stays in the machine's own namespace and never
/// routes into the lab), placed as each case asks.
/// </summary>
public sealed class LabTarget(LabSpec spec, AgentCommand command) : ITarget
{
    private static readonly string[] Supported = [Placements.HostToHost, "pod-to-pod-same-node", "pod-to-pod-cross-node", "pod-to-cluster-ip", "pod-to-node-port"];
    private readonly LabTopology _topology = new(spec);
    private readonly AgentPool _agents = new();
    private readonly string _token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
    private readonly string _socketDirectory = Path.Combine(LabBuilder.StateDirectory, spec.Id);

    public string Name => "lab";

    public IReadOnlyCollection<int> AgentPids => _agents.Pids;

    public IReadOnlyList<string> Validate(Scenario scenario)
    {
        var problems = new List<string>();
        foreach (var c in scenario.Cases)
        {
            if (!Supported.Contains(c.Placement))
                problems.Add($"case {c.Name}: placement {c.Placement} is not available on the lab target yet; allowed: {string.Join(", ", Supported)}");
            else if (c.Placement == "pod-to-pod-same-node" && spec.PodsPerNode < 2)
                problems.Add($"case {c.Name}: pod-to-pod-same-node needs 2 pods per node; this lab has {spec.PodsPerNode} (lab up --pods-per-node 2)");
            else if (c.Placement != "pod-to-pod-same-node" && spec.Nodes < 2)
                problems.Add($"case {c.Name}: {c.Placement} needs 2 nodes; this lab has {spec.Nodes} (lab up --nodes 2)");
            if (c.Placement is "pod-to-cluster-ip" or "pod-to-node-port" && spec.Proxy == ProxyMode.None)
                problems.Add($"case {c.Name}: {c.Placement} needs services; this lab has --proxy none (lab up --proxy iptables or nftables)");
            if (c.IpFamily != IpFamily.Ipv4) problems.Add($"case {c.Name}: the lab is IPv4 only so far; allowed: ipv4");
        }
        return problems;
    }

    /// <summary>Where the servers and the client of a placement run, and the address the client sends to.</summary>
    public sealed record LabPlacement(IReadOnlyList<LabHost> Servers, LabHost Client, string Address, Func<WorkloadKind, int>? ServicePort);

    public LabPlacement Place(string placement) => placement switch
    {
        Placements.HostToHost => new([_topology.Node(2)], _topology.Node(1), _topology.Node(2).Address, null),
        "pod-to-pod-same-node" => new([_topology.Pod(1, 2)], _topology.Pod(1, 1), _topology.Pod(1, 2).Address, null),
        "pod-to-pod-cross-node" => new([_topology.Pod(2, 1)], _topology.Pod(1, 1), _topology.Pod(2, 1).Address, null),
        // Through the service: every endpoint pod serves, and the proxy rules choose one per connection.
        "pod-to-cluster-ip" => new(_topology.Endpoints.ToArray(), _topology.Pod(1, 1), LabServices.ClusterIp,
            kind => AgentPool.DataPort(kind, 7201, 7202, 7280)),
        "pod-to-node-port" => new(_topology.Endpoints.ToArray(), _topology.Pod(1, 1), _topology.Node(spec.Nodes).Address,
            kind => AgentPool.DataPort(kind, LabServices.TcpNodePort, LabServices.UdpNodePort, LabServices.HttpNodePort)),
        _ => throw new TargetException($"placement {placement} is not available on the lab target"),
    };

    public async Task<AgentPair> PrepareAsync(PlannedCase plannedCase, CancellationToken cancellationToken)
    {
        var place = Place(plannedCase.Placement);
        var servers = new List<AgentProcess>();
        foreach (var host in place.Servers) servers.Add(await EnsureAsync("server", host, cancellationToken));
        var client = await EnsureAsync("client", place.Client, cancellationToken);
        var kind = plannedCase.Workload.Kind;
        int port = place.ServicePort?.Invoke(kind) ?? AgentPool.DataPort(kind, servers[0].Info.Ports);
        // With several backends, the first one's agent stands for the server side's CPU and memory.
        return new AgentPair(AgentPool.Handle(servers[0]), AgentPool.Handle(client), $"{place.Address}:{port.ToString(CultureInfo.InvariantCulture)}", plannedCase.Placement);
    }

    private Task<AgentProcess> EnsureAsync(string role, LabHost host, CancellationToken cancellationToken) =>
        _agents.EnsureAsync($"{role}/{host.Namespace}", () =>
        {
            Directory.CreateDirectory(_socketDirectory);
            // A namespace has its own ports: servers take the fixed ones, a client beside a server takes any.
            string[] ports = role == "server" ? [] : ["--tcp-port", "0", "--udp-port", "0", "--http-port", "0"];
            return AgentProcess.StartAsync(command, role, ["ip", "netns", "exec", host.Namespace],
                ["--bind", "0.0.0.0", "--control-socket", Path.Combine(_socketDirectory, $"{host.Namespace}-{role}.sock"), .. ports], _token, cancellationToken,
                new Dictionary<string, string> { ["POD_NAME"] = host.Namespace, ["NODE_NAME"] = _topology.Node(host.Node).Namespace });
        });

    public Task<IReadOnlyDictionary<string, string>> DescribeEnvironmentAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyDictionary<string, string>>(new Dictionary<string, string>
        {
            ["target"] = Name,
            ["lab.id"] = spec.Id,
            ["lab.nodes"] = spec.Nodes.ToString(CultureInfo.InvariantCulture),
            ["lab.pods_per_node"] = spec.PodsPerNode.ToString(CultureInfo.InvariantCulture),
            ["lab.routing"] = spec.Routing.ToString().ToLowerInvariant(),
            ["lab.proxy"] = spec.Proxy.ToString().ToLowerInvariant(),
            ["lab.services"] = (spec.Services + 1).ToString(CultureInfo.InvariantCulture),
            ["lab.iptables"] = "iptables-nft (nf_tables backend)",
            ["mtu.underlay"] = spec.Mtu.ToString(CultureInfo.InvariantCulture),
            ["mtu.pod"] = _topology.PodMtu.ToString(CultureInfo.InvariantCulture),
        });

    public async ValueTask DisposeAsync()
    {
        await _agents.DisposeAsync();
        try { Directory.Delete(_socketDirectory, recursive: true); }
        catch (DirectoryNotFoundException) { }
    }
}
