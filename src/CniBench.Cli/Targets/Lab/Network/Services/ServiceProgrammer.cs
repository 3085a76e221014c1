using System.Diagnostics;
using CniBench.Cli.Scenarios;
using CniBench.Contracts.Protocol;

namespace CniBench.Cli.Targets.Lab.Network.Services;

/// <summary>
/// How long one write of the service rules took: generating the rules (the lab's own work) and loading
/// them into each node (the kernel's and the tool's work, outside our control).
/// </summary>
public sealed record ProgrammingTime(TimeSpan Render, IReadOnlyList<TimeSpan> PerNode)
{
    public static ProgrammingTime None { get; } = new(TimeSpan.Zero, []);

    public TimeSpan MeanPerNode =>
        PerNode.Count == 0 ? TimeSpan.Zero : TimeSpan.FromTicks((long)PerNode.Average(t => t.Ticks));
}

/// <summary>
/// Writes services into every node namespace as kube-proxy would on every node: iptables mode rewrites the
/// whole nat table on each change, nftables mode sends only the elements and chains that changed.
/// </summary>
public static class ServiceProgrammer
{
    /// <summary>The lab's services in one family (default: its first, IPv4 unless the lab is IPv6 only).</summary>
    public static IReadOnlyList<LabService> ServicesOf(LabTopology topology, LabFamily? family = null)
    {
        var f = family ?? topology.Families[0];
        return LabServices
            .Dummies(topology.Spec.Services, f)
            .Concat(
                LabServices.Real(
                    topology.Endpoints.Select(e => e.At(f)).ToArray(),
                    DefaultPorts.Tcp,
                    DefaultPorts.Udp,
                    DefaultPorts.Http
                )
            )
            .ToArray();
    }

    /// <summary>Programs the lab's services from nothing (a lab just built, or the whole table again), every
    /// family.</summary>
    public static async Task<ProgrammingTime> ProgramAsync(LabTopology topology, CancellationToken cancellationToken)
    {
        var mode = topology.Spec.Proxy;
        if (mode == ProxyMode.None)
            return ProgrammingTime.None;
        if (mode == ProxyMode.Ebpf)
            return Balance(topology, (b, root) => b.Program(root, ServicesOf(topology, LabFamily.V4)));
        var total = ProgrammingTime.None;
        foreach (var family in topology.Families)
        {
            var services = ServicesOf(topology, family);
            var time = await WriteAsync(topology, mode, family, () => Full(mode, services), cancellationToken);
            total =
                total.PerNode.Count == 0
                    ? time
                    : new ProgrammingTime(
                        total.Render + time.Render,
                        total.PerNode.Zip(time.PerNode, (a, b) => a + b).ToArray()
                    );
        }
        return total;
    }

    /// <summary>
    /// The ebpf mode's write on every node: map updates by syscall, timed per node. There is no text to
    /// generate, so the lab's own work and the kernel's are one here.
    /// </summary>
    private static ProgrammingTime Balance(LabTopology topology, Action<Ebpf.SocketBalancer, string> write)
    {
        var root = Ebpf.SocketBalancer.CgroupRoot()
            ?? throw new LabException(
                "--proxy ebpf: cgroup v2 is not mounted; the socket balancer attaches to a cgroup v2 directory"
            );
        var times = new List<TimeSpan>();
        foreach (var node in topology.Nodes)
        {
            var clock = Stopwatch.StartNew();
            try
            {
                write(new Ebpf.SocketBalancer(topology.Spec.Id, node.Node), root);
            }
            catch (Ebpf.BpfException e)
            {
                throw new LabException($"{node.Namespace}: {e.Message}");
            }
            times.Add(clock.Elapsed);
        }
        return new ProgrammingTime(TimeSpan.Zero, times);
    }

    /// <summary>
    /// Brings every node from one set of services to another, as the mode's kube-proxy would, one node after
    /// another so that each node's time is its own.
    /// </summary>
    public static Task<ProgrammingTime> UpdateAsync(
        LabTopology topology,
        ProxyMode mode,
        IReadOnlyList<LabService> before,
        IReadOnlyList<LabService> after,
        CancellationToken cancellationToken
    ) =>
        mode switch
        {
            ProxyMode.Iptables => WriteAsync(
                topology,
                mode,
                FamilyOf(before, after),
                () => IptablesRules.Render(after),
                cancellationToken
            ),
            ProxyMode.Nftables => WriteAsync(
                topology,
                mode,
                FamilyOf(before, after),
                () => NftablesRules.Update(before, after),
                cancellationToken
            ),
            ProxyMode.Ebpf => Task.FromResult(Balance(topology, (b, _) => b.Update(before, after))),
            _ => Task.FromResult(ProgrammingTime.None),
        };

    /// <summary>One node's proxy writing a change, as it would on its own schedule; returns how long the write
    /// took.</summary>
    public static async Task<TimeSpan> UpdateNodeAsync(
        LabTopology topology,
        LabHost node,
        IReadOnlyList<LabService> before,
        IReadOnlyList<LabService> after,
        CancellationToken cancellationToken
    )
    {
        var mode = topology.Spec.Proxy;
        if (mode == ProxyMode.None)
            return TimeSpan.Zero;
        if (mode == ProxyMode.Ebpf)
        {
            var balancer = Stopwatch.StartNew();
            await Task.Run(
                () => new Ebpf.SocketBalancer(topology.Spec.Id, node.Node).Update(before, after),
                cancellationToken
            );
            return balancer.Elapsed;
        }
        string rules = mode == ProxyMode.Iptables ? IptablesRules.Render(after) : NftablesRules.Update(before, after);
        var clock = Stopwatch.StartNew();
        await LoadAsync(topology, node, mode, FamilyOf(before, after), rules, cancellationToken);
        return clock.Elapsed;
    }

    private static LabFamily FamilyOf(IReadOnlyList<LabService> before, IReadOnlyList<LabService> after) =>
        after.Concat(before).FirstOrDefault()?.Family ?? LabFamily.V4;

    /// <summary>Removes a mode's rules from every node (switching modes, as a cluster migrating kube-proxy
    /// would).</summary>
    public static async Task ClearAsync(LabTopology topology, ProxyMode mode, CancellationToken cancellationToken)
    {
        if (mode == ProxyMode.None)
            return;
        if (mode == ProxyMode.Ebpf)
        {
            if (Ebpf.SocketBalancer.CgroupRoot() is { } root)
                foreach (var node in topology.Nodes)
                    new Ebpf.SocketBalancer(topology.Spec.Id, node.Node).Detach(root);
            return;
        }
        // An empty nat table, or adding then deleting the table: both succeed whether or not rules are there.
        foreach (var family in topology.Families)
        {
            string text =
                mode == ProxyMode.Iptables
                    ? "*nat\nCOMMIT\n"
                    : $"add table {family.Nft} {NftablesRules.Table}\n"
                        + $"delete table {family.Nft} {NftablesRules.Table}\n";
            foreach (var node in topology.Nodes)
                await LoadAsync(topology, node, mode, family, text, cancellationToken);
        }
    }

    private static string Full(ProxyMode mode, IReadOnlyList<LabService> services) =>
        mode == ProxyMode.Iptables ? IptablesRules.Render(services) : NftablesRules.Render(services);

    private static async Task<ProgrammingTime> WriteAsync(
        LabTopology topology,
        ProxyMode mode,
        LabFamily family,
        Func<string> render,
        CancellationToken cancellationToken
    )
    {
        var clock = Stopwatch.StartNew();
        string rules = render();
        var renderTime = clock.Elapsed;
        var times = new List<TimeSpan>();
        foreach (var node in topology.Nodes)
        {
            clock.Restart();
            await LoadAsync(topology, node, mode, family, rules, cancellationToken);
            times.Add(clock.Elapsed);
        }
        return new ProgrammingTime(renderTime, times);
    }

    private static Task<string> LoadAsync(
        LabTopology topology,
        LabHost node,
        ProxyMode mode,
        LabFamily family,
        string rules,
        CancellationToken cancellationToken
    ) =>
        mode == ProxyMode.Iptables
            ? LabShell.RunAsync(
                "ip",
                ["netns", "exec", node.Namespace, topology.Spec.Iptables.RestoreTool(family), "-w"],
                rules,
                cancellationToken
            )
            : LabShell.RunAsync("ip", ["netns", "exec", node.Namespace, "nft", "-f", "-"], rules, cancellationToken);
}
