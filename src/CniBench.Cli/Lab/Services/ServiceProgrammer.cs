using System.Diagnostics;
using System.Text.Json.Serialization;

namespace CniBench.Cli.Lab.Services;

[JsonConverter(typeof(CniBench.Contracts.Protocol.KebabEnumConverter<ProxyMode>))]
public enum ProxyMode { None, Iptables, Nftables }

/// <summary>Writes the services into every node namespace, as kube-proxy would on every node, and times each write.</summary>
public static class ServiceProgrammer
{
    public static IReadOnlyList<LabService> ServicesOf(LabTopology topology) =>
        LabServices.Dummies(topology.Spec.Services)
            .Concat(LabServices.Real(topology.Endpoints.Select(e => e.Address).ToArray(), 7201, 7202, 7280))
            .ToArray();

    /// <summary>Programs every node; returns the time each node's rules took to load.</summary>
    public static async Task<IReadOnlyList<TimeSpan>> ProgramAsync(LabTopology topology, CancellationToken cancellationToken)
    {
        var mode = topology.Spec.Proxy;
        if (mode == ProxyMode.None) return [];
        var services = ServicesOf(topology);
        string rules = mode == ProxyMode.Iptables ? IptablesRules.Render(services) : NftablesRules.Render(services);
        var times = new List<TimeSpan>();
        foreach (var node in topology.Nodes)
        {
            // Without this, a client whose backend sits on its own node's bridge never sees the DNAT undone.
            await LabShell.RunAsync("ip", ["netns", "exec", node.Namespace, "sysctl", "-q", "-w", "net.bridge.bridge-nf-call-iptables=1"], null, cancellationToken);
            var clock = Stopwatch.StartNew();
            if (mode == ProxyMode.Iptables)
                await LabShell.RunAsync("ip", ["netns", "exec", node.Namespace, "iptables-restore", "-w"], rules, cancellationToken);
            else
                await LabShell.RunAsync("ip", ["netns", "exec", node.Namespace, "nft", "-f", "-"], rules, cancellationToken);
            times.Add(clock.Elapsed);
        }
        return times;
    }
}
