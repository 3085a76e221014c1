using System.Globalization;
using System.Text;

namespace CniBench.Cli.Targets.Lab.Network.Services;

/// <summary>
/// kube-proxy's nftables layout: one verdict map from (cluster IP, protocol, port) to a per-service chain,
/// which picks an endpoint with `numgen random mod N vmap`; NodePorts in a second map. Lookups are hashed,
/// so the cost per new connection does not grow with the number of services, and a change is written as
/// the elements and chains it touches, not as a new table.
/// </summary>
public static class NftablesRules
{
    public const string Table = "kube-proxy";

    public static string Render(IReadOnlyList<LabService> services, LabFamily? family = null)
    {
        var f = family ?? (services.Count > 0 ? services[0].Family : null) ?? LabFamily.V4;
        var sb = new StringBuilder();
        // Re-create the table in one transaction: add (so delete cannot fail) then delete, then define.
        sb.Append(
            CultureInfo.InvariantCulture,
            $"add table {f.Nft} {Table}\ndelete table {f.Nft} {Table}\ntable {f.Nft} {Table} {{\n"
        );
        sb.Append("  chain mark-for-masquerade { meta mark set meta mark | 0x4000; }\n");
        sb.Append(
            "  chain masquerading { meta mark & 0x4000 == 0 return; meta mark set meta mark ^ 0x4000; masquerade "
                + "fully-random; }\n"
        );
        sb.Append(
            "  chain nat-prerouting { type nat hook prerouting priority dstnat; policy accept; jump services; }\n"
        );
        sb.Append("  chain nat-output { type nat hook output priority -100; policy accept; jump services; }\n");
        sb.Append(
            "  chain nat-postrouting { type nat hook postrouting priority srcnat; policy accept; jump masquerading; }\n"
        );
        sb.Append(
            CultureInfo.InvariantCulture,
            $"  map service-ips {{ type {f.NftAddressType} . inet_proto . inet_service : verdict; }}\n"
        );
        sb.Append("  map service-nodeports { type inet_proto . inet_service : verdict; }\n");
        sb.Append(
            CultureInfo.InvariantCulture,
            $"  chain services {{ {f.Nft} daddr . meta l4proto . th dport vmap @service-ips; fib daddr type local "
                + $"meta l4proto . th dport vmap @service-nodeports; }}\n"
        );
        sb.Append("}\n");
        return sb.Append(Update([], services, f)).ToString();
    }

    /// <summary>
    /// The change from one set of services to another as one transaction: new chains first (a map element
    /// may only point at a chain that exists), then the service chains rewritten, then what is gone.
    /// </summary>
    // Runs a few times per process over tables of thousands of services: compiled optimized at once,
    // not first as quick tier-0 code (which doubled the lab's own share of rule programming).
    [System.Runtime.CompilerServices.MethodImpl(
        System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization
    )]
    public static string Update(
        IReadOnlyList<LabService> before,
        IReadOnlyList<LabService> after,
        LabFamily? family = null
    )
    {
        var f = family ?? after.Concat(before).FirstOrDefault()?.Family ?? LabFamily.V4;
        string t = $"{f.Nft} {Table}";
        var old = before.ToDictionary(Key);
        var current = after.ToDictionary(Key);
        var sb = new StringBuilder();
        foreach (var s in after)
        {
            old.TryGetValue(Key(s), out var previous);
            if (previous is not null && Same(previous, s))
                continue;
            // Chain names are SHA-256 based: each is worked out once per write.
            var chains = s.Endpoints.Select(e => $"endpoint-{Endpoint(s, e)}").ToArray();
            for (int i = 0; i < chains.Length; i++)
            {
                var e = s.Endpoints[i];
                if (previous is not null && previous.Endpoints.Contains(e))
                    continue;
                string chain = chains[i];
                sb.Append(CultureInfo.InvariantCulture, $"add chain {t} {chain}\n");
                sb.Append(
                    CultureInfo.InvariantCulture,
                    $"add rule {t} {chain} {f.Nft} saddr {e.Address} jump mark-for-masquerade\n"
                );
                sb.Append(
                    CultureInfo.InvariantCulture,
                    $"add rule {t} {chain} meta l4proto {s.Protocol} dnat to {f.Endpoint(e.Address, e.Port)}\n"
                );
            }
            string hash = s.Hash;
            string service = $"service-{hash}";
            sb.Append(CultureInfo.InvariantCulture, $"add chain {t} {service}\nflush chain {t} {service}\n");
            sb.Append(
                CultureInfo.InvariantCulture,
                $"add rule {t} {service} {f.Nft} daddr {s.ClusterIp} {s.Protocol} dport {s.Port} {f.Nft} saddr != "
                    + $"{f.ClusterCidr} jump mark-for-masquerade\n"
            );
            if (s.Endpoints.Count > 0)
            {
                sb.Append(
                    CultureInfo.InvariantCulture,
                    $"add rule {t} {service} numgen random mod {s.Endpoints.Count} vmap {{ "
                );
                for (int i = 0; i < chains.Length; i++)
                    sb.Append(CultureInfo.InvariantCulture, $"{(i == 0 ? "" : ", ")}{i} : goto {chains[i]}");
                sb.Append(" }\n");
            }
            else
            {
                // kube-proxy rejects connections to a service without endpoints rather than letting them hang.
                sb.Append(CultureInfo.InvariantCulture, $"add rule {t} {service} reject\n");
            }
            if (previous is null)
            {
                sb.Append(
                    CultureInfo.InvariantCulture,
                    $"add element {t} service-ips {{ {s.ClusterIp} . {s.Protocol} . {s.Port} : goto {service} }}\n"
                );
                if (s.NodePort is int nodePort)
                {
                    sb.Append(CultureInfo.InvariantCulture, $"add chain {t} external-{hash}\n");
                    sb.Append(
                        CultureInfo.InvariantCulture,
                        $"add rule {t} external-{hash} jump mark-for-masquerade\nadd rule {t} external-{hash} goto "
                            + $"{service}\n"
                    );
                    sb.Append(
                        CultureInfo.InvariantCulture,
                        $"add element {t} service-nodeports {{ {s.Protocol} . {nodePort} : goto external-{hash} }}\n"
                    );
                }
            }
            foreach (var e in previous?.Endpoints.Where(e => !s.Endpoints.Contains(e)) ?? [])
                sb.Append(CultureInfo.InvariantCulture, $"delete chain {t} endpoint-{Endpoint(s, e)}\n");
        }
        foreach (var s in before.Where(s => !current.ContainsKey(Key(s))))
        {
            sb.Append(
                CultureInfo.InvariantCulture,
                $"delete element {t} service-ips {{ {s.ClusterIp} . {s.Protocol} . {s.Port} }}\n"
            );
            if (s.NodePort is int nodePort)
            {
                sb.Append(
                    CultureInfo.InvariantCulture,
                    $"delete element {t} service-nodeports {{ {s.Protocol} . {nodePort} }}\n"
                );
                sb.Append(CultureInfo.InvariantCulture, $"delete chain {t} external-{s.Hash}\n");
            }
            sb.Append(CultureInfo.InvariantCulture, $"delete chain {t} service-{s.Hash}\n");
            foreach (var e in s.Endpoints)
                sb.Append(CultureInfo.InvariantCulture, $"delete chain {t} endpoint-{Endpoint(s, e)}\n");
        }
        return sb.ToString();
    }

    private static bool Same(LabService a, LabService b) =>
        a.ClusterIp == b.ClusterIp
        && a.Port == b.Port
        && a.NodePort == b.NodePort
        && a.Endpoints.SequenceEqual(b.Endpoints);

    private static string Key(LabService s) => $"{s.Name}/{s.Protocol}";

    private static string Endpoint(LabService s, ServiceEndpoint e) =>
        LabService.ChainHash($"{s.Name}/{s.Protocol}/{e.Address}:{e.Port}");
}
