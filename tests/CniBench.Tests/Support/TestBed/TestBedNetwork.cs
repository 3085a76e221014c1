using CniBench.Cli.Targets.Lab.Network;

namespace CniBench.Tests.Support.TestBed;

/// <summary>
/// The test bed's wires, every one in namespaces named "cnbk-…" that this class alone makes and removes:
///
///   this host: cnbk0 10.99.0.1/24 (the API server's advertised address), routes to every node's pod CIDR
///     └─ veth into the underlay namespace cnbk-ul (bridge br0)
///          ├─ node i (namespace cnbk-n{i}): eth0 10.99.0.(10+i), bridge cbr0 = first address of its pod CIDR,
///          │    routes to the other nodes' pod CIDRs through their eth0; kube-proxy runs here
///          │     └─ pod (namespace cnbk-n{i}-{pod}): eth0 an address of the node's pod CIDR, default route via cbr0,
///          │       its bridge port in hairpin mode (as the kubelet sets it: a pod may reach a Service it backs)
/// Pods reach the API server (10.96.0.1 through kube-proxy, or 10.99.0.1 directly) through their node, and the
/// API server's pod proxy reaches pods through the host's routes, as on a real cluster.
/// </summary>
public sealed class TestBedNetwork
{
    public const string Prefix = "cnbk-";
    public const string HostAddress = "10.99.0.1";
    private const string HostLink = "cnbk0",
        Underlay = Prefix + "ul";

    public static string NodeNamespace(int node) => $"{Prefix}n{node}";

    public static string NodeAddress(int node) => $"10.99.0.{10 + node}";

    /// <summary>Removes whatever an earlier test bed left behind (namespaces, the host link, routes through it go with
    /// it).</summary>
    public static async Task SweepAsync()
    {
        var listed = await LabShell.RunAsync("ip", ["netns", "list"], null, CancellationToken.None);
        var ours = listed
            .Split('\n')
            .Select(l => l.Split(' ')[0])
            .Where(n => n.StartsWith(Prefix, StringComparison.Ordinal))
            .ToArray();
        // Every process first, then the namespaces: a process left in one would keep its veth alive.
        foreach (var ns in ours)
            await KillAllInAsync(ns);
        foreach (var ns in ours)
            await TryAsync("ip", "netns", "delete", ns);
        await TryAsync("ip", "link", "delete", HostLink);
    }

    /// <summary>The host side and the underlay: needed before the API server starts (it advertises <see
    /// cref="HostAddress"/>).</summary>
    public static async Task CreateUnderlayAsync(CancellationToken cancellationToken)
    {
        await BatchAsync(
            null,
            $"""
            netns add {Underlay}
            link add {HostLink} type veth peer name up0 netns {Underlay}
            addr add {HostAddress}/24 dev {HostLink}
            link set {HostLink} up
            """,
            cancellationToken
        );
        await BatchAsync(
            Underlay,
            """
            link add br0 type bridge
            link set br0 up
            link set up0 master br0
            link set up0 up
            link set lo up
            """,
            cancellationToken
        );
    }

    /// <summary>Node <paramref name="node"/>'s namespace, wired to the underlay, its pod bridge on <paramref
    /// name="podCidr"/> (a /24).</summary>
    public static async Task AddNodeAsync(int node, string podCidr, CancellationToken cancellationToken)
    {
        var ns = NodeNamespace(node);
        await BatchAsync(
            null,
            $"""
            netns add {ns}
            link add n{node} netns {Underlay} type veth peer name eth0 netns {ns}
            route replace {podCidr} via {NodeAddress(node)} dev {HostLink}
            """,
            cancellationToken
        );
        await BatchAsync(
            Underlay,
            $"""
            link set n{node} master br0
            link set n{node} up
            """,
            cancellationToken
        );
        await BatchAsync(
            ns,
            $"""
            link set lo up
            addr add {NodeAddress(node)}/24 dev eth0
            link set eth0 up
            link add cbr0 type bridge
            addr add {Gateway(podCidr)}/24 dev cbr0
            link set cbr0 up
            route add default via {HostAddress}
            """,
            cancellationToken
        );
        // Routing and bridged traffic through iptables/nftables, as kube-proxy needs; per namespace, so the host is
        // untouched.
        await LabShell.RunAsync(
            "ip",
            [
                "netns",
                "exec",
                ns,
                "sysctl",
                "-q",
                "-w",
                "net.ipv4.ip_forward=1",
                "net.bridge.bridge-nf-call-iptables=1",
                "net.ipv4.conf.all.route_localnet=1",
            ],
            null,
            cancellationToken
        );
    }

    /// <summary>Every node learns the route to every other node's pod CIDR (called as nodes join).</summary>
    public static async Task RouteAsync(IReadOnlyDictionary<int, string> podCidrs, CancellationToken cancellationToken)
    {
        foreach (var a in podCidrs.Keys)
            await BatchAsync(
                NodeNamespace(a),
                string.Join(
                    '\n',
                    podCidrs.Where(b => b.Key != a).Select(b => $"route replace {b.Value} via {NodeAddress(b.Key)}")
                ),
                cancellationToken
            );
    }

    /// <summary>A pod's namespace with <paramref name="address"/> from its node's pod CIDR.</summary>
    public static async Task AddPodAsync(
        int node,
        string podNamespace,
        string link,
        string address,
        string podCidr,
        CancellationToken cancellationToken
    )
    {
        var ns = NodeNamespace(node);
        await BatchAsync(
            null,
            $"""
            netns add {podNamespace}
            link add {link} netns {ns} type veth peer name eth0 netns {podNamespace}
            """,
            cancellationToken
        );
        await BatchAsync(
            ns,
            $"""
            link set {link} master cbr0
            link set {link} type bridge_slave hairpin on
            link set {link} up
            """,
            cancellationToken
        );
        await BatchAsync(
            podNamespace,
            $"""
            link set lo up
            addr add {address}/24 dev eth0
            link set eth0 up
            route add default via {Gateway(podCidr)}
            """,
            cancellationToken
        );
    }

    public static async Task DeletePodAsync(string podNamespace)
    {
        await KillAllInAsync(podNamespace);
        await TryAsync("ip", "netns", "delete", podNamespace);
    }

    public static string Gateway(string podCidr) => PodAddress(podCidr, 1);

    public static string PodAddress(string podCidr, int index)
    {
        var prefix = podCidr.Split('/')[0].Split('.');
        return $"{prefix[0]}.{prefix[1]}.{prefix[2]}.{index}";
    }

    private static Task BatchAsync(string? ns, string commands, CancellationToken cancellationToken) =>
        commands.Trim().Length == 0
            ? Task.CompletedTask
            : LabShell.RunAsync(
                "ip",
                ns is null ? ["-batch", "-"] : ["-n", ns, "-batch", "-"],
                commands,
                cancellationToken
            );

    private static async Task KillAllInAsync(string ns)
    {
        try
        {
            var pids = await LabShell.RunAsync("ip", ["netns", "pids", ns], null, CancellationToken.None);
            foreach (var pid in pids.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                ChildProcess.KillPid(
                    int.Parse(pid, System.Globalization.CultureInfo.InvariantCulture),
                    ChildProcess.SIGKILL
                );
        }
        catch (LabException) { }
    }

    private static async Task TryAsync(string tool, params string[] args)
    {
        try
        {
            await LabShell.RunAsync(tool, args, null, CancellationToken.None);
        }
        catch (LabException) { }
    }
}
