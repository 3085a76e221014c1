using System.Net;
using System.Net.Sockets;

namespace CniBench.Cli.Transfer;

/// <summary>Where an address lives: on a node (a pod's or the node's own), in a zone only (a private endpoint), or
/// outside the cluster.</summary>
public sealed record AddressPlace(string? Node, string? Zone)
{
    public static readonly AddressPlace Outside = new(null, null);
    public bool InCluster => Zone is not null;
}

/// <summary>
/// The cluster's ranges as a target knows them (pod CIDRs per node, node addresses, pods' and private endpoints'
/// addresses): a single address placed on its own wins, then the first range that holds the address; an address in
/// none is outside the cluster. Single addresses are looked up by hash, so thousands of pods cost no more per flow.
/// </summary>
public sealed class AddressBook
{
    private readonly Dictionary<IPAddress, AddressPlace> _hosts = new();
    private readonly List<(IPNetwork Range, AddressPlace Place)> _ranges = new();

    public AddressBook(IReadOnlyList<(IPNetwork Range, AddressPlace Place)> ranges)
    {
        foreach (var (range, place) in ranges)
        {
            bool host =
                range.PrefixLength == (range.BaseAddress.AddressFamily == AddressFamily.InterNetworkV6 ? 128 : 32);
            if (!host)
                _ranges.Add((range, place));
            else
                _hosts.TryAdd(range.BaseAddress, place);
        }
    }

    public static IPNetwork Range(string cidr) =>
        cidr.Contains('/')
            ? IPNetwork.Parse(cidr)
            : new IPNetwork(IPAddress.Parse(cidr), cidr.Contains(':') ? 128 : 32);

    public AddressPlace Locate(string address)
    {
        if (!IPAddress.TryParse(address, out var ip))
            return AddressPlace.Outside;
        if (ip.IsIPv4MappedToIPv6)
            ip = ip.MapToIPv4();
        if (_hosts.TryGetValue(ip, out var host))
            return host;
        foreach (var (range, place) in _ranges)
            if (range.Contains(ip))
                return place;
        return AddressPlace.Outside;
    }

    public static string FamilyOf(string address) => address.Contains(':') ? "ipv6" : "ipv4";
}
