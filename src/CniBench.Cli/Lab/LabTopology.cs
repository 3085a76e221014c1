using CniBench.Cli.Lab.Services;

namespace CniBench.Cli.Lab;

/// <summary>One namespace of the lab and its address on the lab's networks.</summary>
public sealed record LabHost(string Namespace, string Address, int Node, int Pod);

/// <summary>
/// Names and addresses of a lab, computed from its spec alone (so `down` needs no state beyond the id).
/// Every namespace starts with "cnb-{id}-": nothing of a lab lives outside namespaces it created.
///
///   underlay namespace (bridge br0, 192.168.200.0/24)
///     ├─ node i: eth0 192.168.200.i — bridge cbr0 10.244.i.1/24 — pod j: eth0 10.244.i.(j+1)
///     ├─ ... routes to other nodes' pod CIDRs: native (via their underlay address) or a VXLAN overlay
///     └─ external host (outside the cluster): eth0 192.168.200.254, serving on 203.0.113.10; it has no
///        route to pod CIDRs, so pods reach it only through SNAT: on their own node, or on the gateway node
/// </summary>
public sealed class LabTopology(LabSpec spec)
{
    public const string Prefix = "cnb-";
    public const int VxlanOverhead = 50;

    public LabSpec Spec { get; } = spec;
    public string Underlay => $"{Prefix}{Spec.Id}-ul";
    public const string ExternalNetwork = "203.0.113.0/24";
    public const string ExternalRouter = "192.168.200.254";
    public LabHost External => new($"{Prefix}{Spec.Id}-ext", "203.0.113.10", 0, 0);

    /// <summary>The node pods leave through in gateway mode: the last one (pod 1 of node 1 is the usual client elsewhere).</summary>
    public LabHost Gateway => Node(Spec.Nodes);

    /// <summary>The address the external host must see for traffic from a pod on <paramref name="clientNode"/>.</summary>
    public string EgressSource(int clientNode) => Spec.Egress == EgressMode.Gateway ? Gateway.Address : Node(clientNode).Address;

    public LabHost Node(int node) => new($"{Prefix}{Spec.Id}-n{node}", $"192.168.200.{node}", node, 0);

    public LabHost Pod(int node, int pod) => new($"{Prefix}{Spec.Id}-n{node}p{pod}", $"10.244.{node}.{pod + 1}", node, pod);

    public static string PodGateway(int node) => $"10.244.{node}.1";
    public static string PodCidr(int node) => $"10.244.{node}.0/24";
    public static string OverlayAddress(int node) => $"10.245.0.{node}";

    /// <summary>The pods behind the lab's service: the last pod of every node (so pod 1 can be a client elsewhere).</summary>
    public IEnumerable<LabHost> Endpoints => Enumerable.Range(1, Spec.Nodes).Select(n => Pod(n, Spec.PodsPerNode));

    public IEnumerable<LabHost> Nodes => Enumerable.Range(1, Spec.Nodes).Select(Node);

    public IEnumerable<LabHost> Pods => Enumerable.Range(1, Spec.Nodes).SelectMany(n => Enumerable.Range(1, Spec.PodsPerNode).Select(p => Pod(n, p)));

    /// <summary>Every namespace, in the order they are created (deleted in reverse).</summary>
    public IEnumerable<string> Namespaces => new[] { Underlay, External.Namespace }.Concat(Nodes.Select(n => n.Namespace)).Concat(Pods.Select(p => p.Namespace));

    public static bool IsLabNamespace(string name) => name.StartsWith(Prefix, StringComparison.Ordinal);

    public static string? IdOf(string namespaceName)
    {
        if (!IsLabNamespace(namespaceName)) return null;
        var rest = namespaceName[Prefix.Length..];
        int dash = rest.IndexOf('-');
        return dash > 0 ? rest[..dash] : null;
    }

    /// <summary>The commands that build the lab, in order; LabBuilder runs consecutive ones of the same namespace and tool as one batch.</summary>
    public IReadOnlyList<LabCommand> BuildCommands()
    {
        var c = new List<LabCommand>();
        int mtu = Spec.Mtu;
        c.Add(new(Underlay, "ip", $"link add br0 mtu {mtu} type bridge"));
        c.Add(new(Underlay, "ip", "link set br0 up"));
        c.Add(new(Underlay, "ip", "link set lo up"));
        c.Add(new(Underlay, "ip", $"link add ext mtu {mtu} type veth peer name eth0 mtu {mtu} netns {External.Namespace}"));
        c.Add(new(Underlay, "ip", "link set ext master br0 up"));
        c.Add(new(External.Namespace, "ip", "link set lo up"));
        c.Add(new(External.Namespace, "ip", $"addr add {External.Address}/32 dev lo"));
        c.Add(new(External.Namespace, "ip", $"addr add {ExternalRouter}/24 dev eth0"));
        c.Add(new(External.Namespace, "ip", "link set eth0 up"));
        foreach (var node in Nodes)
        {
            int i = node.Node;
            c.Add(new(Underlay, "ip", $"link add n{i} mtu {mtu} type veth peer name eth0 mtu {mtu} netns {node.Namespace}"));
            c.Add(new(Underlay, "ip", $"link set n{i} master br0 up"));
            c.Add(new(node.Namespace, "ip", "link set lo up"));
            c.Add(new(node.Namespace, "ip", $"addr add {node.Address}/24 dev eth0"));
            c.Add(new(node.Namespace, "ip", "link set eth0 up"));
            c.Add(new(node.Namespace, "ip", $"route add {ExternalNetwork} via {ExternalRouter}"));
            // Pods' traffic to the outside follows table 100, which egress mode points at the right node.
            c.Add(new(node.Namespace, "ip", $"rule add from {LabServices.ClusterCidr} to {ExternalNetwork} lookup 100 pref 100"));
            c.Add(new(node.Namespace, "ip", $"route add {ExternalNetwork} via {ExternalRouter} table 100"));
            c.Add(new(node.Namespace, "ip", $"link add cbr0 mtu {PodMtu} type bridge"));
            c.Add(new(node.Namespace, "ip", $"addr add {PodGateway(i)}/24 dev cbr0"));
            c.Add(new(node.Namespace, "ip", "link set cbr0 up"));
            for (int j = 1; j <= Spec.PodsPerNode; j++)
            {
                var pod = Pod(i, j);
                c.Add(new(node.Namespace, "ip", $"link add p{j} mtu {PodMtu} type veth peer name eth0 mtu {PodMtu} netns {pod.Namespace}"));
                c.Add(new(node.Namespace, "ip", $"link set p{j} master cbr0 up"));
                c.Add(new(pod.Namespace, "ip", "link set lo up"));
                c.Add(new(pod.Namespace, "ip", $"addr add {pod.Address}/24 dev eth0"));
                c.Add(new(pod.Namespace, "ip", "link set eth0 up"));
                c.Add(new(pod.Namespace, "ip", $"route add default via {PodGateway(i)}"));
            }
            if (Spec.Routing == LabRouting.Vxlan)
            {
                c.Add(new(node.Namespace, "ip", $"link add vxlan0 mtu {mtu - VxlanOverhead} type vxlan id 42 dev eth0 local {node.Address} dstport 4789 nolearning"));
                c.Add(new(node.Namespace, "ip", $"addr add {OverlayAddress(i)}/16 dev vxlan0"));
                c.Add(new(node.Namespace, "ip", "link set vxlan0 up"));
            }
        }
        foreach (var node in Nodes)
        {
            foreach (var other in Nodes.Where(o => o.Node != node.Node))
            {
                if (Spec.Routing == LabRouting.Native)
                {
                    c.Add(new(node.Namespace, "ip", $"route add {PodCidr(other.Node)} via {other.Address}"));
                }
                else
                {
                    // Head-end replication: broadcast and unknown frames (ARP) go to every other node.
                    c.Add(new(node.Namespace, "bridge", $"fdb append 00:00:00:00:00:00 dev vxlan0 dst {other.Address}"));
                    c.Add(new(node.Namespace, "ip", $"route add {PodCidr(other.Node)} via {OverlayAddress(other.Node)} dev vxlan0"));
                }
            }
        }
        return c;
    }

    /// <summary>
    /// Egress as the spec says: where each node sends its pods' external traffic (table 100) and which
    /// nodes SNAT it (an nftables table of the lab's own, apart from the proxy's tables so that a proxy's
    /// full rewrite leaves it alone). Written on build and again when a case switches modes.
    /// </summary>
    public IEnumerable<(LabHost Node, string Route, string Nft)> EgressRules()
    {
        foreach (var node in Nodes)
        {
            bool viaGateway = Spec.Egress == EgressMode.Gateway && node.Node != Gateway.Node;
            string route = $"route replace {ExternalNetwork} via {(viaGateway ? Gateway.Address : ExternalRouter)} table 100";
            string nft = $"add table ip {EgressTable}\ndelete table ip {EgressTable}\n" + (viaGateway ? "" :
                $"table ip {EgressTable} {{ chain postrouting {{ type nat hook postrouting priority srcnat + 10; policy accept; ip saddr {LabServices.ClusterCidr} ip daddr {ExternalNetwork} masquerade; }}; }}\n");
            yield return (node, route, nft);
        }
    }

    public const string EgressTable = "cnibench-egress";

    /// <summary>
    /// Per-namespace kernel settings: nodes forward; every sender may reuse TIME_WAIT ports and use a
    /// wide port range (connect-rate workloads run out otherwise). Bridged traffic passes the node's
    /// netfilter hooks: without that, a client whose service backend sits on its own node's bridge never
    /// sees the DNAT undone and hangs in connect.
    /// </summary>
    public IEnumerable<(string Namespace, string[] Settings)> Sysctls()
    {
        string[] client = ["net.ipv4.tcp_tw_reuse=1", "net.ipv4.ip_local_port_range=1024 65000"];
        foreach (var node in Nodes) yield return (node.Namespace, ["net.ipv4.ip_forward=1", "net.bridge.bridge-nf-call-iptables=1", .. client]);
        foreach (var pod in Pods) yield return (pod.Namespace, client);
    }

    /// <summary>Pods see the overlay's smaller MTU, as a CNI sets it.</summary>
    public int PodMtu => Spec.Routing == LabRouting.Vxlan ? Spec.Mtu - VxlanOverhead : Spec.Mtu;
}

/// <summary>One command of the lab: `ip` or `bridge`, run inside a namespace.</summary>
public sealed record LabCommand(string Namespace, string Tool, string Command);
