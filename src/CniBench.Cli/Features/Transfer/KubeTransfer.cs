using System.Net;
using System.Text.Json.Nodes;
using CniBench.Cli.Transfer;

namespace CniBench.Cli.Features.Transfer;

/// <summary>A cluster's address book for transfer cases, from its Node objects and the run's pods.</summary>
public static class KubeTransfer
{
    public const string ZoneLabel = "topology.kubernetes.io/zone";

    /// <summary>Nodes without the zone label share one zone of this name.</summary>
    public const string Unlabelled = "no-zone";

    public static string ZoneOf(IReadOnlyList<JsonObject> nodes, string? node) =>
        nodes.FirstOrDefault(n => (string?)n["metadata"]?["name"] == node)?["metadata"]?["labels"]?[ZoneLabel]
            is JsonValue zone
            ? (string?)zone ?? Unlabelled
            : Unlabelled;

    /// <summary>
    /// Each pod's addresses and each node's pod CIDRs and addresses, placed on that node and its zone; anything else is
    /// outside the cluster (a Service's address never appears: flows are read with their real ends).
    /// </summary>
    public static AddressBook AddressBook(IReadOnlyList<JsonObject> nodes, IReadOnlyList<JsonObject> pods)
    {
        var ranges = new List<(IPNetwork, AddressPlace)>();
        void Add(string? address, AddressPlace place)
        {
            if (address is not null && (IPNetwork.TryParse(address, out _) || IPAddress.TryParse(address, out _)))
                ranges.Add((CniBench.Cli.Transfer.AddressBook.Range(address), place));
        }
        foreach (var pod in pods)
        {
            string? node = (string?)pod["spec"]?["nodeName"];
            var place = new AddressPlace(node, ZoneOf(nodes, node));
            foreach (var ip in (pod["status"]?["podIPs"] as JsonArray)?.OfType<JsonObject>() ?? [])
                Add((string?)ip["ip"], place);
        }
        foreach (var node in nodes)
        {
            string? name = (string?)node["metadata"]?["name"];
            var place = new AddressPlace(name, ZoneOf(nodes, name));
            foreach (var cidr in (node["spec"]?["podCIDRs"] as JsonArray ?? []).Select(c => (string?)c))
                Add(cidr, place);
            foreach (var address in (node["status"]?["addresses"] as JsonArray)?.OfType<JsonObject>() ?? [])
                if ((string?)address["type"] is "InternalIP" or "ExternalIP")
                    Add((string?)address["address"], place);
        }
        return new CniBench.Cli.Transfer.AddressBook(ranges);
    }
}
