using CniBench.Cli.Scenarios;

namespace CniBench.Cli.Targets.Lab.Network;

/// <summary>One namespace of the lab and its addresses on the lab's networks (IPv6 only where the lab has
/// it).</summary>
public sealed record LabHost(string Namespace, string Address, int Node, int Pod, string? Address6 = null)
{
    public string At(LabFamily family) =>
        family.IsV6
            ? Address6 ?? throw new LabException($"{Namespace} has no IPv6 address (lab up --ip-family ipv6 or dual)")
            : Address;
}

/// <summary>
/// Names and addresses of a lab, computed from its spec alone (so `down` needs no state beyond the id).
/// Every namespace starts with "cnb-{id}-": nothing of a lab lives outside namespaces it created.
///
///   underlay namespace (bridge br0, 192.168.200.0/24 and fd00:200::/64)
///     ├─ node i: eth0 192.168.200.i — bridge cbr0 10.244.i.1/24 — pod j: eth0 10.244.i.(j+1)
///     ├─ ... routes to other nodes' pod CIDRs: native (via their underlay address) or a VXLAN overlay
///     └─ external host (outside the cluster): eth0 192.168.200.254, serving on 203.0.113.10; it has no
///        route to pod CIDRs, so pods reach it only through SNAT: on their own node, or on the gateway node
/// With IPv6 the same plan is laid in fd00:: addresses (see <see cref="LabFamily"/>); an ipv6 lab's pods and
/// services have IPv6 only, the underlay keeps its IPv4 addresses for the lab's own plumbing.
/// </summary>
public sealed class LabTopology(LabSpec spec)
{
    public const string Prefix = "cnb-";
    public const int VxlanOverhead = 50;
    public const string EgressTable = "cnibench-egress";

    public LabSpec Spec { get; } = spec;
    public string Underlay => $"{Prefix}{Spec.Id}-ul";

    public bool HasV4 => Spec.IpFamily != LabIpFamily.Ipv6;
    public bool HasV6 => Spec.IpFamily != LabIpFamily.Ipv4;

    /// <summary>The families pods and services have.</summary>
    public IReadOnlyList<LabFamily> Families =>
        [.. HasV4 ? [LabFamily.V4] : Array.Empty<LabFamily>(), .. HasV6 ? [LabFamily.V6] : Array.Empty<LabFamily>()];

    public LabHost External =>
        new($"{Prefix}{Spec.Id}-ext", LabFamily.V4.External, 0, 0, HasV6 ? LabFamily.V6.External : null);

    /// <summary>The node pods leave through in gateway mode: the last one (pod 1 of node 1 is the usual client
    /// elsewhere).</summary>
    public LabHost Gateway => Node(Spec.Nodes);

    /// <summary>The address the external host must see for traffic from a pod on <paramref
    /// name="clientNode"/>.</summary>
    public string EgressSource(int clientNode, LabFamily family) =>
        (Spec.Egress == EgressMode.Gateway ? Gateway : Node(clientNode)).At(family);

    public LabHost Node(int node) =>
        new($"{Prefix}{Spec.Id}-n{node}", LabFamily.V4.Node(node), node, 0, HasV6 ? LabFamily.V6.Node(node) : null);

    public LabHost Pod(int node, int pod) =>
        new(
            $"{Prefix}{Spec.Id}-n{node}p{pod}",
            LabFamily.V4.Pod(node, pod),
            node,
            pod,
            HasV6 ? LabFamily.V6.Pod(node, pod) : null
        );

    /// <summary>The pods behind the lab's service: the last pod of every node (so pod 1 can be a client
    /// elsewhere).</summary>
    public IEnumerable<LabHost> Endpoints => Enumerable.Range(1, Spec.Nodes).Select(n => Pod(n, Spec.PodsPerNode));

    public IEnumerable<LabHost> Nodes => Enumerable.Range(1, Spec.Nodes).Select(Node);

    /// <summary>The zone a node is labelled with: nodes go round the zones in turn.</summary>
    public string ZoneOf(int node) => $"zone-{(char)('a' + (node - 1) % Math.Max(1, Spec.Zones))}";

    /// <summary>The lab's ranges by node and zone; the private endpoint sits in the first node's zone.</summary>
    public Transfer.AddressBook AddressBook()
    {
        var ranges = new List<(System.Net.IPNetwork, Transfer.AddressPlace)>();
        foreach (var node in Nodes)
        {
            var place = new Transfer.AddressPlace(node.Namespace, ZoneOf(node.Node));
            foreach (var f in Families)
                ranges.Add((Transfer.AddressBook.Range(f.PodCidr(node.Node)), place));
            ranges.Add((Transfer.AddressBook.Range(node.Address), place));
            if (node.Address6 is { } v6)
                ranges.Add((Transfer.AddressBook.Range(v6), place));
        }
        ranges.Add((Transfer.AddressBook.Range(LabFamily.V4.PrivateEndpoint!), new(null, ZoneOf(1))));
        return new Transfer.AddressBook(ranges);
    }

    public IEnumerable<LabHost> Pods =>
        Enumerable.Range(1, Spec.Nodes).SelectMany(n => Enumerable.Range(1, Spec.PodsPerNode).Select(p => Pod(n, p)));

    /// <summary>Every namespace, in the order they are created (deleted in reverse).</summary>
    public IEnumerable<string> Namespaces =>
        new[] { Underlay, External.Namespace }
            .Concat(Nodes.Select(n => n.Namespace))
            .Concat(Pods.Select(p => p.Namespace));

    public static bool IsLabNamespace(string name) => name.StartsWith(Prefix, StringComparison.Ordinal);

    public static string? IdOf(string namespaceName)
    {
        if (!IsLabNamespace(namespaceName))
            return null;
        var rest = namespaceName[Prefix.Length..];
        int dash = rest.IndexOf('-');
        return dash > 0 ? rest[..dash] : null;
    }

    /// <summary>The commands that build the lab, in order; LabBuilder runs consecutive ones of the same namespace and
    /// tool as one batch.</summary>
    public IReadOnlyList<LabCommand> BuildCommands()
    {
        var c = new List<LabCommand>();
        int mtu = Spec.Mtu;
        var v4 = LabFamily.V4;
        // The underlay carries both families when pods have IPv6; IPv6 addresses skip duplicate address
        // detection, which would leave them unusable for the first second or two.
        var underlay = HasV6 ? [v4, LabFamily.V6] : new[] { v4 };
        static string Nodad(LabFamily f) => f.IsV6 ? " nodad" : "";

        c.Add(new(Underlay, "ip", $"link add br0 mtu {mtu} type bridge"));
        c.Add(new(Underlay, "ip", "link set br0 up"));
        c.Add(new(Underlay, "ip", "link set lo up"));
        var ext = External.Namespace;
        c.Add(new(Underlay, "ip", $"link add ext mtu {mtu} type veth peer name eth0 mtu {mtu} netns {ext}"));
        c.Add(new(Underlay, "ip", "link set ext master br0 up"));
        c.Add(new(ext, "ip", "link set lo up"));
        foreach (var f in underlay)
        {
            c.Add(new(ext, "ip", $"addr add {f.External}/{f.HostBits} dev lo"));
            c.Add(new(ext, "ip", $"addr add {f.ExternalRouter}/{f.SubnetBits} dev eth0{Nodad(f)}"));
        }
        c.Add(new(ext, "ip", "link set eth0 up"));
        foreach (var node in Nodes)
        {
            int i = node.Node;
            c.Add(
                new(
                    Underlay,
                    "ip",
                    $"link add n{i} mtu {mtu} type veth peer name eth0 mtu {mtu} netns {node.Namespace}"
                )
            );
            c.Add(new(Underlay, "ip", $"link set n{i} master br0 up"));
            c.Add(new(node.Namespace, "ip", "link set lo up"));
            foreach (var f in underlay)
                c.Add(new(node.Namespace, "ip", $"addr add {node.At(f)}/{f.SubnetBits} dev eth0{Nodad(f)}"));
            c.Add(new(node.Namespace, "ip", "link set eth0 up"));
            c.Add(new(node.Namespace, "ip", $"link add cbr0 mtu {PodMtu} type bridge"));
            foreach (var f in Families)
            {
                c.Add(new(node.Namespace, f.Ip, $"route add {f.ExternalNetwork} via {f.ExternalRouter}"));
                // Pods' traffic to the outside follows table 100, which egress mode points at the right node.
                c.Add(
                    new(
                        node.Namespace,
                        f.Ip,
                        $"rule add from {f.ClusterCidr} to {f.ExternalNetwork} lookup 100 pref 100"
                    )
                );
                c.Add(new(node.Namespace, f.Ip, $"route add {f.ExternalNetwork} via {f.ExternalRouter} table 100"));
                c.Add(new(node.Namespace, "ip", $"addr add {f.PodGateway(i)}/{f.SubnetBits} dev cbr0{Nodad(f)}"));
            }
            c.Add(new(node.Namespace, "ip", "link set cbr0 up"));
            for (int j = 1; j <= Spec.PodsPerNode; j++)
            {
                var pod = Pod(i, j);
                c.Add(
                    new(
                        node.Namespace,
                        "ip",
                        $"link add p{j} mtu {PodMtu} type veth peer name eth0 mtu {PodMtu} netns {pod.Namespace}"
                    )
                );
                c.Add(new(node.Namespace, "ip", $"link set p{j} master cbr0 up"));
                // As the kubelet's hairpin-veth mode: a pod's frames may go back out of the port they came in by, or a
                // pod cannot reach a Service whose endpoint is itself (the bridge hook turns the DNAT around at L2).
                c.Add(new(node.Namespace, "ip", $"link set p{j} type bridge_slave hairpin on"));
                c.Add(new(pod.Namespace, "ip", "link set lo up"));
                foreach (var f in Families)
                    c.Add(new(pod.Namespace, "ip", $"addr add {pod.At(f)}/{f.SubnetBits} dev eth0{Nodad(f)}"));
                c.Add(new(pod.Namespace, "ip", "link set eth0 up"));
                foreach (var f in Families)
                    c.Add(new(pod.Namespace, f.Ip, $"route add default via {f.PodGateway(i)}"));
            }
            if (Spec.Routing == LabRouting.Vxlan)
            {
                c.Add(
                    new(
                        node.Namespace,
                        "ip",
                        $"link add vxlan0 mtu {mtu - VxlanOverhead} type vxlan id 42 dev eth0 local {node.Address} "
                            + $"dstport 4789 nolearning"
                    )
                );
                foreach (var f in Families)
                    c.Add(new(node.Namespace, "ip", $"addr add {f.Overlay(i)}/{f.OverlayBits} dev vxlan0{Nodad(f)}"));
                c.Add(new(node.Namespace, "ip", "link set vxlan0 up"));
            }
        }
        foreach (var node in Nodes)
        {
            foreach (var other in Nodes.Where(o => o.Node != node.Node))
            {
                // Head-end replication: broadcast and unknown frames (ARP, neighbour discovery) go to every other node.
                if (Spec.Routing == LabRouting.Vxlan)
                    c.Add(
                        new(node.Namespace, "bridge", $"fdb append 00:00:00:00:00:00 dev vxlan0 dst {other.Address}")
                    );
                foreach (var f in Families)
                {
                    c.Add(
                        new(
                            node.Namespace,
                            f.Ip,
                            Spec.Routing == LabRouting.Native
                                ? $"route add {f.PodCidr(other.Node)} via {other.At(f)}"
                                : $"route add {f.PodCidr(other.Node)} via {f.Overlay(other.Node)} dev vxlan0"
                        )
                    );
                }
            }
        }
        return c;
    }

    /// <summary>
    /// Egress as the spec says, per family: where each node sends its pods' external traffic (table 100)
    /// and which nodes SNAT it (an nftables table of the lab's own, apart from the proxy's tables so that
    /// a proxy's full rewrite leaves it alone). Written on build and again when a case switches modes.
    /// </summary>
    public IEnumerable<(LabHost Node, IReadOnlyList<LabCommand> Routes, string Nft)> EgressRules()
    {
        foreach (var node in Nodes)
        {
            bool viaGateway = Spec.Egress == EgressMode.Gateway && node.Node != Gateway.Node;
            var routes = Families
                .Select(f => new LabCommand(
                    node.Namespace,
                    f.Ip,
                    $"route replace {f.ExternalNetwork} via {(viaGateway ? Gateway.At(f) : f.ExternalRouter)} table 100"
                ))
                .ToArray();
            var nft = Families.Select(f =>
                $"add table {f.Nft} {EgressTable}\ndelete table {f.Nft} {EgressTable}\n"
                + (
                    viaGateway
                        ? ""
                        : $"table {f.Nft} {EgressTable} {{ chain postrouting {{ type nat hook postrouting priority "
                            + $"srcnat + 10; policy accept; {f.Nft} saddr {f.ClusterCidr} {f.Nft} daddr "
                            + $"{f.ExternalNetwork} masquerade; }}; }}\n"
                )
            );
            yield return (node, routes, string.Concat(nft));
        }
    }

    /// <summary>
    /// Per-namespace kernel settings: nodes forward; every sender may reuse TIME_WAIT ports and use a
    /// wide port range (connect-rate workloads run out otherwise). Bridged traffic passes the node's
    /// netfilter hooks: without that, a client whose service backend sits on its own node's bridge never
    /// sees the DNAT undone and hangs in connect.
    /// </summary>
    public IEnumerable<(string Namespace, string[] Settings)> Sysctls()
    {
        string[] client = ["net.ipv4.tcp_tw_reuse=1", "net.ipv4.ip_local_port_range=1024 65000"];
        string[] v6 = HasV6 ? ["net.ipv6.conf.all.forwarding=1", "net.bridge.bridge-nf-call-ip6tables=1"] : [];
        foreach (var node in Nodes)
            yield return (
                node.Namespace,
                ["net.ipv4.ip_forward=1", "net.bridge.bridge-nf-call-iptables=1", .. v6, .. client]
            );
        foreach (var pod in Pods)
            yield return (pod.Namespace, client);
    }

    /// <summary>Pods see the overlay's smaller MTU, as a CNI sets it.</summary>
    public int PodMtu => Spec.Routing == LabRouting.Vxlan ? Spec.Mtu - VxlanOverhead : Spec.Mtu;
}

/// <summary>One command of the lab: `ip`, `ip -6` or `bridge`, run inside a namespace.</summary>
public sealed record LabCommand(string Namespace, string Tool, string Command)
{
    /// <summary>Runs commands of one namespace and tool as one batch: a lab is a few dozen processes, not
    /// hundreds.</summary>
    public static Task RunBatchAsync(
        string ns,
        string tool,
        IEnumerable<string> commands,
        CancellationToken cancellationToken
    )
    {
        var words = tool.Split(' ');
        return LabShell.RunAsync(
            words[0],
            [.. words[1..], "-n", ns, "-batch", "-"],
            string.Join('\n', commands) + "\n",
            cancellationToken
        );
    }
}
