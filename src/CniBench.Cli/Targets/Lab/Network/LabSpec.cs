using CniBench.Cli.Scenarios;

namespace CniBench.Cli.Targets.Lab.Network;

/// <summary>What `cnibench lab up` builds. Stored next to the lab so later commands find it.</summary>
public sealed record LabSpec(
    string Id,
    int Nodes,
    int PodsPerNode,
    LabRouting Routing,
    int Mtu,
    CniBench.Cli.Scenarios.ProxyMode Proxy = CniBench.Cli.Scenarios.ProxyMode.Iptables,
    int Services = 0,
    IptablesBackend Iptables = IptablesBackend.Nft,
    EgressMode Egress = EgressMode.Direct,
    LabIpFamily IpFamily = LabIpFamily.Ipv4,
    int Zones = 1
)
{
    public const int MaxNodes = 16,
        MaxPodsPerNode = 32;

    public const string IdFormat = "four lowercase hexadecimal digits, as 'lab up' prints them (e.g. 3fa2)";

    /// <summary>A lab id names files, a socket directory and cgroups that root deletes and whose processes it kills:
    /// anything but the exact form `lab up` draws (no '/', no '..', nothing long) is refused before it touches a
    /// path.</summary>
    public static bool IsValidId(string? id) =>
        id is { Length: 4 } && id.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');

    public static string NewId() =>
        Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(2)).ToLowerInvariant();

    public IReadOnlyList<string> Check()
    {
        var problems = new List<string>();
        if (Nodes is < 1 or > MaxNodes)
            problems.Add($"--nodes: {Nodes} is out of range; allowed: 1..{MaxNodes}");
        if (PodsPerNode is < 1 or > MaxPodsPerNode)
            problems.Add($"--pods-per-node: {PodsPerNode} is out of range; allowed: 1..{MaxPodsPerNode}");
        if (Mtu is < DataplaneSettings.MinMtu or > DataplaneSettings.MaxMtu)
            problems.Add(
                $"--mtu: {Mtu} is out of range; allowed: {DataplaneSettings.MinMtu}..{DataplaneSettings.MaxMtu}"
            );
        if (Services is < 0 or > DataplaneSettings.MaxServices)
            problems.Add($"--services: {Services} is out of range; allowed: 0..{DataplaneSettings.MaxServices}");
        if (Proxy == CniBench.Cli.Scenarios.ProxyMode.Ebpf && IpFamily != LabIpFamily.Ipv4)
            problems.Add(
                "--proxy ebpf: the socket balancer handles IPv4 only so far; use --ip-family ipv4, or iptables or "
                    + "nftables for IPv6"
            );
        if (Zones < 1 || Zones > Math.Max(1, Nodes))
            problems.Add($"--zones: {Zones} is out of range; allowed: 1..{Math.Max(1, Nodes)} (at most one per node)");
        if (Egress == EgressMode.Gateway && Nodes < 2)
            problems.Add("--egress gateway: needs --nodes 2 or more (pods on one node leave through another)");
        return problems;
    }
}
