using System.Globalization;
using System.Text;

namespace CniBench.Cli.Lab.Services;

/// <summary>
/// kube-proxy's nftables layout: one verdict map from (cluster IP, protocol, port) to a per-service chain,
/// which picks an endpoint with `numgen random mod N vmap`; NodePorts in a second map. Lookups are hashed,
/// so the cost per new connection does not grow with the number of services.
/// </summary>
public static class NftablesRules
{
    public const string Table = "kube-proxy";

    public static string Render(IReadOnlyList<LabService> services)
    {
        var sb = new StringBuilder();
        // Re-create the table in one transaction: add (so delete cannot fail) then delete, then define.
        sb.Append(CultureInfo.InvariantCulture, $"add table ip {Table}\ndelete table ip {Table}\ntable ip {Table} {{\n");
        sb.Append("  chain mark-for-masquerade { meta mark set meta mark | 0x4000; }\n");
        sb.Append("  chain masquerading { meta mark & 0x4000 == 0 return; meta mark set meta mark ^ 0x4000; masquerade fully-random; }\n");
        sb.Append("  chain nat-prerouting { type nat hook prerouting priority dstnat; policy accept; jump services; }\n");
        sb.Append("  chain nat-output { type nat hook output priority -100; policy accept; jump services; }\n");
        sb.Append("  chain nat-postrouting { type nat hook postrouting priority srcnat; policy accept; jump masquerading; }\n");
        sb.Append("  map service-ips { type ipv4_addr . inet_proto . inet_service : verdict; ");
        Elements(sb, services.Select(s => $"{s.ClusterIp} . {s.Protocol} . {s.Port} : goto service-{s.Hash}"));
        sb.Append("; }\n  map service-nodeports { type inet_proto . inet_service : verdict; ");
        Elements(sb, services.Where(s => s.NodePort is not null).Select(s => $"{s.Protocol} . {s.NodePort} : goto external-{s.Hash}"));
        sb.Append("; }\n");
        sb.Append("  chain services { ip daddr . meta l4proto . th dport vmap @service-ips; fib daddr type local meta l4proto . th dport vmap @service-nodeports; }\n");
        foreach (var s in services)
        {
            sb.Append(CultureInfo.InvariantCulture, $"  chain service-{s.Hash} {{ ip daddr {s.ClusterIp} {s.Protocol} dport {s.Port} ip saddr != {LabServices.ClusterCidr} jump mark-for-masquerade; ");
            sb.Append(CultureInfo.InvariantCulture, $"numgen random mod {s.Endpoints.Count} vmap {{ ");
            sb.Append(string.Join(", ", s.Endpoints.Select((e, i) => $"{i} : goto endpoint-{Endpoint(s, e)}")));
            sb.Append(" }; }\n");
            if (s.NodePort is not null)
                sb.Append(CultureInfo.InvariantCulture, $"  chain external-{s.Hash} {{ jump mark-for-masquerade; goto service-{s.Hash}; }}\n");
            foreach (var e in s.Endpoints)
                sb.Append(CultureInfo.InvariantCulture, $"  chain endpoint-{Endpoint(s, e)} {{ ip saddr {e.Address} jump mark-for-masquerade; meta l4proto {s.Protocol} dnat to {e.Address}:{e.Port}; }}\n");
        }
        return sb.Append("}\n").ToString();
    }

    private static string Endpoint(LabService s, ServiceEndpoint e) => LabService.ChainHash($"{s.Name}/{s.Protocol}/{e.Address}:{e.Port}");

    private static void Elements(StringBuilder sb, IEnumerable<string> elements)
    {
        var list = elements.ToList();
        if (list.Count > 0) sb.Append("elements = { ").Append(string.Join(", ", list)).Append(" }");
    }
}
