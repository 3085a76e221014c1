using System.Globalization;
using System.Security.Cryptography;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets.Lab.Network;
using CniBench.Cli.Targets.Lab.Network.Ebpf;
using CniBench.Cli.Targets.Lab.Network.Services;
using CniBench.Contracts.Measurement;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Targets.Lab;

/// <summary>
/// The lab's infrastructure for a run: its namespaces brought to what a case asks (rebuilt for routing and MTU,
/// re-programmed for proxy and services), the agents in its namespaces, and Services a feature adds; given back as it
/// was (a lab the user built) or removed (one the run built) at the end.
/// </summary>
public sealed class LabSite : IInfrastructure, IAsyncDisposable
{
    private readonly LabSpec _original;
    private readonly bool _owned;
    private readonly AgentCommand _command;
    private readonly string _token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
    private AgentPool _agents = new();

    // A lab built for the run was programmed before the first case: that case reports the times.
    private ProgrammingTime? _unreported;

    /// <summary>Services features added (by role), written into the tables beside the lab's own until the tables are
    /// programmed afresh.</summary>
    private readonly Dictionary<(string Role, LabFamily Family), IReadOnlyList<LabService>> _added = new();
    private readonly Dictionary<string, List<LabHost>> _roles = new();

    public LabSite(LabSpec spec, AgentCommand command, bool owned, ProgrammingTime? programmed = null)
    {
        _original = spec;
        _owned = owned;
        _command = command;
        _unreported = programmed;
        Topology = new LabTopology(spec);
    }

    public string Name => "lab";

    public bool AgentsOnThisHost => true;

    public LabSpec Original => _original;

    public bool Owned => _owned;

    public AgentCommand Command => _command;

    public RunParts Parts { get; } = new();

    public LabTopology Topology { get; private set; }

    public LabSpec Spec => Topology.Spec;

    public IReadOnlyCollection<int> AgentPids => _agents.Pids;

    private string SocketDirectory => Path.Combine(LabBuilder.StateDirectory, _original.Id);

    /// <summary>Every service in the tables now, in one family: the lab's own and those features added.</summary>
    public IReadOnlyList<LabService> Services(LabFamily family) =>
        [
            .. ServiceProgrammer.ServicesOf(Topology, family),
            .. _added.Values.SelectMany(s => s).Where(s => s.Family == family),
        ];

    /// <summary>The lab a case runs on: the lab as built, with what the case asks for in place.</summary>
    public LabSpec Desired(DataplaneSettings? wanted) =>
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
            Placement.HostToHost => new([Topology.Node(2)], Topology.Node(1), Topology.Node(2).At(family), null),
            Placement.PodToPodSameNode => new(
                [Topology.Pod(1, 2)],
                Topology.Pod(1, 1),
                Topology.Pod(1, 2).At(family),
                null
            ),
            Placement.PodToPodCrossNode => new(
                [Topology.Pod(2, 1)],
                Topology.Pod(1, 1),
                Topology.Pod(2, 1).At(family),
                null
            ),
            // Through the service: every endpoint pod serves, and the proxy rules choose one per connection.
            Placement.PodToClusterIp => new(Topology.Endpoints.ToArray(), Topology.Pod(1, 1), family.ClusterIp, kind =>
                AgentPool.DataPort(kind, DefaultPorts.Tcp, DefaultPorts.Udp, DefaultPorts.Http)
            ),
            Placement.PodToNodePort => new(
                Topology.Endpoints.ToArray(),
                Topology.Pod(1, 1),
                Topology.Node(Spec.Nodes).At(family),
                kind =>
                    AgentPool.DataPort(kind, LabServices.TcpNodePort, LabServices.UdpNodePort, LabServices.HttpNodePort)
            ),
            // Out of the cluster: directly from the client's node, or through the gateway node, as the lab's egress
            // mode says.
            Placement.PodToExternal => new([Topology.External], Topology.Pod(1, 1), Topology.External.At(family), null),
            _ => throw new TargetException($"placement {placement} is not available on the lab target"),
        };

    public async Task<IReadOnlyDictionary<string, double>> BeginCaseAsync(
        PlannedCase plannedCase,
        CancellationToken cancellationToken
    )
    {
        var metrics = await ReconcileAsync(Desired(plannedCase.Dataplane), cancellationToken);
        if (plannedCase.Dataplane?.Services is not null && Spec.Proxy != ProxyMode.None)
            metrics[Metrics.AddServiceMs] = (await TimeOneAddedServiceAsync(cancellationToken))
                .MeanPerNode
                .TotalMilliseconds;
        return metrics;
    }

    /// <summary>A server node's agent in its last pod (an endpoint of the lab's Service), a client node's in its
    /// first (where every placement's client runs).</summary>
    public async Task<SiteAgent> AgentAsync(AgentRequest request, CancellationToken cancellationToken)
    {
        var host =
            request.Node == SiteNode.Client
                ? Topology.Pod(1, 1)
                : Topology.Pod(Math.Min(2, Spec.Nodes), Spec.PodsPerNode);
        var family = request.Family == IpFamily.Ipv6 ? LabFamily.V6 : LabFamily.V4;
        // A namespace has one set of fixed data ports: whatever the role, its serving agent is the namespace's server.
        var agent = await EnsureAsync("server", host, cancellationToken, family);
        var hosts = _roles.TryGetValue(request.Role, out var known) ? known : _roles[request.Role] = [];
        if (!hosts.Contains(host))
            hosts.Add(host);
        return new SiteAgent(AgentPool.Handle(agent), request.Role, Topology.Node(host.Node).Namespace);
    }

    /// <summary>Written into every node's tables as the proxy would on a Service create, with a cluster IP past the
    /// dummies'.</summary>
    public async Task<string> ServiceAsync(string role, IpFamily family, CancellationToken cancellationToken)
    {
        var f = family == IpFamily.Ipv6 ? LabFamily.V6 : LabFamily.V4;
        if (Spec.Proxy == ProxyMode.None)
            throw new TargetException($"lab: a Service for {role} needs a proxy; this lab's is none");
        var hosts = _roles.TryGetValue(role, out var known)
            ? known
            : throw new TargetException($"lab: no agents of role {role} for a Service");
        if (_added.TryGetValue((role, f), out var written))
            return written[0].ClusterIp;
        string clusterIp = f.Dummy(DataplaneSettings.MaxServices + 1 + _added.Count);
        var services = LabServices.Real(
            hosts.Select(h => h.At(f)).ToArray(),
            DefaultPorts.Tcp,
            DefaultPorts.Udp,
            DefaultPorts.Http,
            role,
            clusterIp
        );
        var before = Services(f);
        await ServiceProgrammer.UpdateAsync(Topology, Spec.Proxy, before, [.. before, .. services], cancellationToken);
        _added[(role, f)] = services;
        return clusterIp;
    }

    /// <summary>The lab measures its programming when the case begins: nothing to add.</summary>
    public Task<AgentPair> CompleteAsync(
        PlannedCase plannedCase,
        AgentPair pair,
        CancellationToken cancellationToken
    ) => Task.FromResult(pair);

    public Task<double> SettleAsync(
        SiteAgent client,
        string address,
        string what,
        CancellationToken cancellationToken
    ) => ServiceProbe.WaitUntilAnswersAsync(Name, client.Handle, address, what, cancellationToken);

    /// <summary>
    /// Brings the lab to the spec a case needs: rebuilt when routing or MTU differ (a lab of our own only),
    /// re-programmed when the proxy mode or the number of services differ. Returns the programming times.
    /// </summary>
    public async Task<Dictionary<string, double>> ReconcileAsync(LabSpec desired, CancellationToken cancellationToken)
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
            _roles.Clear();
            _added.Clear();
            await LabBuilder.DownAsync(current.Id, cancellationToken);
            programming = (
                await LabBuilder.UpAsync(desired, cancellationToken, Ownership.ProcessOwner.Current())
            ).Programming;
        }
        else
        {
            if (desired.Proxy != current.Proxy)
                await ServiceProgrammer.ClearAsync(Topology, current.Proxy, cancellationToken);
            // The tables are written afresh with the lab's own services: features add theirs again when they ask.
            _added.Clear();
            programming = await ServiceProgrammer.ProgramAsync(new LabTopology(desired), cancellationToken);
            if (desired.Egress != current.Egress)
                await LabBuilder.WriteEgressAsync(new LabTopology(desired), cancellationToken);
            await LabBuilder.SaveAsync(desired, cancellationToken);
        }
        Topology = new LabTopology(desired);
        _unreported = null;
        var metrics = new Dictionary<string, double>();
        if (programming.PerNode.Count > 0)
        {
            metrics[Metrics.ProgramTableMs] = programming.MeanPerNode.TotalMilliseconds;
            metrics[Metrics.RenderMs] = programming.Render.TotalMilliseconds;
        }
        return metrics;
    }

    /// <summary>Adds one service as the proxy would on a Service create, times it on every node, and takes it away
    /// again.</summary>
    private async Task<ProgrammingTime> TimeOneAddedServiceAsync(CancellationToken cancellationToken)
    {
        var before = Services(Topology.Families[0]);
        var added = LabServices.Dummies(DataplaneSettings.MaxServices + 1, Topology.Families[0]).Last();
        IReadOnlyList<LabService> after = [added, .. before];
        var time = await ServiceProgrammer.UpdateAsync(Topology, Spec.Proxy, before, after, cancellationToken);
        await ServiceProgrammer.UpdateAsync(Topology, Spec.Proxy, after, before, cancellationToken);
        return time;
    }

    /// <summary>An agent of a role in a namespace, one per IP family: IPv6 agents listen on :: (IPv6 only), IPv4 ones
    /// on 0.0.0.0.</summary>
    public Task<AgentProcess> EnsureAsync(
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
                    ["NODE_NAME"] = host.Node == 0 ? "external" : Topology.Node(host.Node).Namespace,
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

    public async ValueTask DisposeAsync()
    {
        await Parts.DisposeAsync();
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
        // Give the user's lab back with the services it was built with, and without those features added.
        try
        {
            if (Spec != _original)
                await ReconcileAsync(_original, CancellationToken.None);
            else
                foreach (var family in _added.Keys.Select(k => k.Family).Distinct().ToArray())
                    await ServiceProgrammer.UpdateAsync(
                        Topology,
                        Spec.Proxy,
                        Services(family),
                        ServiceProgrammer.ServicesOf(Topology, family),
                        CancellationToken.None
                    );
        }
        catch (LabException e)
        {
            Console.Error.WriteLine($"cnibench: could not restore lab {_original.Id}'s services: {e.Message}");
        }
        LabBuilder.Release(_original.Id);
    }
}
