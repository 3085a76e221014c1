using System.Net;

namespace CniBench.Cli.Transfer;

/// <summary>Where an address lives: on a node (a pod's or the node's own), in a zone only (a private endpoint), or
/// outside the cluster.</summary>
public sealed record AddressPlace(string? Node, string? Zone)
{
    public static readonly AddressPlace Outside = new(null, null);
    public bool InCluster => Zone is not null;
}

/// <summary>
/// The cluster's ranges as a target knows them (pod CIDRs per node, node addresses, service and private ranges), in
/// order: the first range that holds an address places it; an address in none is outside the cluster.
/// </summary>
public sealed class AddressBook(IReadOnlyList<(IPNetwork Range, AddressPlace Place)> ranges)
{
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
        foreach (var (range, place) in ranges)
            if (range.Contains(ip))
                return place;
        return AddressPlace.Outside;
    }

    public static string FamilyOf(string address) => address.Contains(':') ? "ipv6" : "ipv4";
}
