using System.Globalization;
using System.Text;

namespace CniBench.Cli.Targets.Lab.Network.Services;

/// <summary>
/// The nat table as kube-proxy's iptables mode writes it (KUBE-SERVICES → KUBE-SVC-* → KUBE-SEP-* with
/// `-m statistic --mode random --probability`, KUBE-MARK-MASQ, KUBE-NODEPORTS, KUBE-POSTROUTING), as one
/// iptables-restore input: every update rewrites the whole table, which is what makes large tables slow.
/// Services are matched in order, so the real one goes last to pay the full linear walk.
/// </summary>
public static class IptablesRules
{
    // Runs a few times per process over tables of thousands of services: compiled optimized at once,
    // not first as quick tier-0 code (which doubled the lab's own share of rule programming).
    [System.Runtime.CompilerServices.MethodImpl(
        System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization
    )]
    public static string Render(IReadOnlyList<LabService> services, LabFamily? family = null)
    {
        var f = family ?? (services.Count > 0 ? services[0].Family : null) ?? LabFamily.V4;
        var chains = new StringBuilder();
        var rules = new StringBuilder();
        chains.Append(
            "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
        );
        chains.Append(
            ":KUBE-SERVICES - [0:0]\n:KUBE-NODEPORTS - [0:0]\n:KUBE-POSTROUTING - [0:0]\n:KUBE-MARK-MASQ - [0:0]\n"
        );
        rules.Append("-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n");
        rules.Append("-A OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES\n");
        rules.Append("-A POSTROUTING -m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING\n");
        rules.Append("-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000\n");
        rules.Append("-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN\n");
        rules.Append("-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0\n");
        rules.Append(
            "-A KUBE-POSTROUTING -m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE "
                + "--random-fully\n"
        );

        foreach (var s in services)
        {
            string hash = s.Hash; // SHA-256 based: worked out once per service
            string svc = $"KUBE-SVC-{hash}",
                ext = $"KUBE-EXT-{hash}";
            chains.Append(CultureInfo.InvariantCulture, $":{svc} - [0:0]\n");
            rules.Append(
                CultureInfo.InvariantCulture,
                $"-A KUBE-SERVICES -d {s.ClusterIp}/{f.HostBits} -p {s.Protocol} -m comment --comment \"{s.Name} "
                    + $"cluster IP\" -m {s.Protocol} --dport {s.Port} -j {svc}\n"
            );
            rules.Append(
                CultureInfo.InvariantCulture,
                $"-A {svc} ! -s {f.ClusterCidr} -d {s.ClusterIp}/{f.HostBits} -p {s.Protocol} -m {s.Protocol} "
                    + $"--dport {s.Port} -j KUBE-MARK-MASQ\n"
            );
            if (s.NodePort is int nodePort)
            {
                chains.Append(CultureInfo.InvariantCulture, $":{ext} - [0:0]\n");
                rules.Append(
                    CultureInfo.InvariantCulture,
                    $"-A KUBE-NODEPORTS -p {s.Protocol} -m comment --comment \"{s.Name}\" -m {s.Protocol} --dport "
                        + $"{nodePort} -j {ext}\n"
                );
                rules.Append(CultureInfo.InvariantCulture, $"-A {ext} -j KUBE-MARK-MASQ\n-A {ext} -j {svc}\n");
            }
            for (int i = 0; i < s.Endpoints.Count; i++)
            {
                var e = s.Endpoints[i];
                string sep = $"KUBE-SEP-{LabService.ChainHash($"{s.Name}/{s.Protocol}/{e.Address}:{e.Port}")}";
                chains.Append(CultureInfo.InvariantCulture, $":{sep} - [0:0]\n");
                // Endpoint i of n is taken with probability 1/(n-i): overall, every endpoint gets 1/n.
                string pick =
                    i < s.Endpoints.Count - 1
                        ? "-m statistic --mode random --probability "
                            + (1.0 / (s.Endpoints.Count - i)).ToString("0.00000000000", CultureInfo.InvariantCulture)
                            + " "
                        : "";
                rules.Append(
                    CultureInfo.InvariantCulture,
                    $"-A {svc} -m comment --comment \"{s.Name} -> {e.Address}:{e.Port}\" {pick}-j {sep}\n"
                );
                rules.Append(CultureInfo.InvariantCulture, $"-A {sep} -s {e.Address}/{f.HostBits} -j KUBE-MARK-MASQ\n");
                rules.Append(
                    CultureInfo.InvariantCulture,
                    $"-A {sep} -p {s.Protocol} -m {s.Protocol} -j DNAT --to-destination "
                        + $"{f.Endpoint(e.Address, e.Port)}\n"
                );
            }
        }
        // NodePorts are looked at after every cluster IP, as kube-proxy does.
        rules.Append(
            "-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports\" -m addrtype --dst-type LOCAL -j "
                + "KUBE-NODEPORTS\n"
        );
        return chains.Append(rules).Append("COMMIT\n").ToString();
    }
}
