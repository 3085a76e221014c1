using System.Text.Json.Serialization;

namespace CniBench.Cli.Lab;

[JsonConverter(typeof(CniBench.Contracts.Protocol.KebabEnumConverter<LabRouting>))]
public enum LabRouting { Native, Vxlan }

/// <summary>How pods reach the external host: each node SNATs its own pods, or all go through the gateway node.</summary>
[JsonConverter(typeof(CniBench.Contracts.Protocol.KebabEnumConverter<EgressMode>))]
public enum EgressMode { Direct, Gateway }

/// <summary>What `cnibench lab up` builds. Stored next to the lab so later commands find it.</summary>
public sealed record LabSpec(string Id, int Nodes, int PodsPerNode, LabRouting Routing, int Mtu,
    Services.ProxyMode Proxy = Services.ProxyMode.Iptables, int Services = 0, Services.IptablesBackend Iptables = Services.IptablesBackend.Nft,
    EgressMode Egress = EgressMode.Direct, LabIpFamily IpFamily = LabIpFamily.Ipv4)
{
    public const int MaxNodes = 16, MaxPodsPerNode = 32, MinMtu = 1280, MaxMtu = 9000, MaxServices = 50_000;

    public IReadOnlyList<string> Check()
    {
        var problems = new List<string>();
        if (Nodes is < 1 or > MaxNodes) problems.Add($"--nodes: {Nodes} is out of range; allowed: 1..{MaxNodes}");
        if (PodsPerNode is < 1 or > MaxPodsPerNode) problems.Add($"--pods-per-node: {PodsPerNode} is out of range; allowed: 1..{MaxPodsPerNode}");
        if (Mtu is < MinMtu or > MaxMtu) problems.Add($"--mtu: {Mtu} is out of range; allowed: {MinMtu}..{MaxMtu}");
        if (Services is < 0 or > MaxServices) problems.Add($"--services: {Services} is out of range; allowed: 0..{MaxServices}");
        if (Proxy == CniBench.Cli.Lab.Services.ProxyMode.Ebpf && IpFamily != LabIpFamily.Ipv4) problems.Add("--proxy ebpf: the socket balancer handles IPv4 only so far; use --ip-family ipv4, or iptables or nftables for IPv6");
        if (Egress == EgressMode.Gateway && Nodes < 2) problems.Add("--egress gateway: needs --nodes 2 or more (pods on one node leave through another)");
        return problems;
    }
}
