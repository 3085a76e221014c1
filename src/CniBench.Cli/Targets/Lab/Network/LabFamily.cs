using System.Globalization;
using System.Text.Json.Serialization;

namespace CniBench.Cli.Targets.Lab.Network;

/// <summary>Which IP families a lab's pods and services have (the underlay always keeps IPv4 for the lab's own
/// plumbing).</summary>
[JsonConverter(typeof(CniBench.Contracts.Json.KebabEnumConverter<LabIpFamily>))]
public enum LabIpFamily
{
    Ipv4,
    Ipv6,
    Dual,
}

/// <summary>
/// Every address a lab hands out in one IP family, and how the tools spell that family. IPv6 mirrors the
/// IPv4 plan: nodes fd00:200::i, pod CIDRs fd00:244:0:i::/64 inside the cluster's fd00:244::/48, services
/// fd00:96::/fd00:97::, the external host
/// 2001:db8:113::10 (documentation range), all inside the lab's own namespaces.
/// </summary>
public sealed record LabFamily(string Name, bool IsV6)
{
    public static LabFamily V4 { get; } = new("ipv4", false);
    public static LabFamily V6 { get; } = new("ipv6", true);

    /// <summary>The iproute2 invocation for this family (batch lines cannot carry -6 themselves).</summary>
    public string Ip => IsV6 ? "ip -6" : "ip";
    public string Nft => IsV6 ? "ip6" : "ip";
    public string NftAddressType => IsV6 ? "ipv6_addr" : "ipv4_addr";
    public int HostBits => IsV6 ? 128 : 32;
    public int SubnetBits => IsV6 ? 64 : 24;

    public string Node(int i) => IsV6 ? $"fd00:200::{Hex(i)}" : $"192.168.200.{i}";

    public string PodGateway(int i) => IsV6 ? $"fd00:244:0:{Hex(i)}::1" : $"10.244.{i}.1";

    public string Pod(int i, int j) => IsV6 ? $"fd00:244:0:{Hex(i)}::{Hex(j + 1)}" : $"10.244.{i}.{j + 1}";

    public string PodCidr(int i) => IsV6 ? $"fd00:244:0:{Hex(i)}::/64" : $"10.244.{i}.0/24";

    public string Overlay(int i) => IsV6 ? $"fd00:245::{Hex(i)}" : $"10.245.0.{i}";

    public int OverlayBits => IsV6 ? 64 : 16;
    public string ClusterCidr => IsV6 ? "fd00:244::/48" : "10.244.0.0/16";
    public string ClusterIp => IsV6 ? "fd00:96::10" : "10.96.0.10";
    public string ExternalRouter => IsV6 ? "fd00:200::fe" : "192.168.200.254";
    public string External => IsV6 ? "2001:db8:113::10" : "203.0.113.10";
    public string ExternalNetwork => IsV6 ? "2001:db8:113::/64" : "203.0.113.0/24";

    /// <summary>A private endpoint of a cloud service on the node network, as providers offer for their log and storage
    /// services: IPv4 only, as many still are, so IPv6 clients of that service go to its public address (the external
    /// host).</summary>
    public string? PrivateEndpoint => IsV6 ? null : "192.168.200.250";

    /// <summary>Dummy service k's cluster IP, and its two endpoints that do not exist (only the tables grow).</summary>
    public string Dummy(int k) => IsV6 ? $"fd00:97::{Hex(k + 1)}" : $"10.97.{k / 250}.{k % 250 + 1}";

    public string DummyEndpoint(int k, int which) =>
        IsV6 ? $"fd00:243:{which}::{Hex(k + 1)}" : $"10.{243 - which}.{k / 250}.{k % 250 + 1}";

    /// <summary>address:port, bracketed for IPv6.</summary>
    public string Endpoint(string address, int port) =>
        IsV6
            ? $"[{address}]:{port.ToString(CultureInfo.InvariantCulture)}"
            : $"{address}:{port.ToString(CultureInfo.InvariantCulture)}";

    public static LabFamily Of(string address) => address.Contains(':') ? V6 : V4;

    private static string Hex(int n) => n.ToString("x", CultureInfo.InvariantCulture);
}
