using System.Text.Json.Nodes;

namespace CniBench.Cli.Targets.Kube;

/// <summary>Which of a cluster's nodes a run's servers and clients go to.</summary>
public static class KubeNodes
{
    /// <summary>
    /// The server's and the client's node: named ones (--server-node, --client-node) first, then nodes labelled
    /// agenttype=server/client (the CyPerf agent deployment notes), then the first Ready, schedulable ones; the
    /// client's node in the server's zone or another one when --zones says so (topology.kubernetes.io/zone).
    /// </summary>
    public static (string Server, string Client, JsonObject ServerNode, JsonObject ClientNode) Choose(
        IReadOnlyList<JsonObject> items,
        KubeNodePlacement placement
    )
    {
        var ready = items
            .Where(n =>
                (bool?)n["spec"]?["unschedulable"] != true
                && (n["status"]?["conditions"] as JsonArray)
                    ?.OfType<JsonObject>()
                    .Any(c => (string?)c["type"] == "Ready" && (string?)c["status"] == "True") == true
            )
            .ToArray();
        if (ready.Length == 0)
            throw new TargetException("kube: no Ready, schedulable node in the cluster");
        static string NameOf(JsonObject n) => (string?)n["metadata"]?["name"] ?? "";
        static string? ZoneOf(JsonObject n) => (string?)n["metadata"]?["labels"]?["topology.kubernetes.io/zone"];
        JsonObject? Named(string? name, string flag) =>
            name is null
                ? null
                : ready.FirstOrDefault(n => NameOf(n) == name)
                    ?? throw new TargetException(
                        $"kube: {flag} {name}: no Ready, schedulable node of that name; allowed: "
                            + $"{string.Join(", ", ready.Select(NameOf))}"
                    );
        JsonObject? Labelled(string value) =>
            ready.FirstOrDefault(n => (string?)n["metadata"]?["labels"]?["agenttype"] == value);
        var server = Named(placement.ServerNode, "--server-node") ?? Labelled("server") ?? ready[0];
        var others = ready.Where(n => NameOf(n) != NameOf(server)).ToArray();
        var inZone = placement.Zones switch
        {
            ZonePlacement.Same => others.Where(n => ZoneOf(n) == ZoneOf(server)).ToArray(),
            ZonePlacement.Cross => others.Where(n => ZoneOf(n) != ZoneOf(server)).ToArray(),
            _ => others,
        };
        if (placement.Zones != ZonePlacement.Any && placement.ClientNode is null && inZone.Length == 0)
            throw new TargetException(
                $"kube: --zones {placement.Zones.ToString().ToLowerInvariant()}: no other Ready node "
                    + $"{(placement.Zones == ZonePlacement.Same ? "in" : "outside")} zone "
                    + $"{ZoneOf(server) ?? "(none)"} of {NameOf(server)}"
            );
        var client = Named(placement.ClientNode, "--client-node")
            ?? inZone.FirstOrDefault(n => (string?)n["metadata"]?["labels"]?["agenttype"] == "client")
            ?? inZone.FirstOrDefault()
            ?? server;
        return (NameOf(server), NameOf(client), server, client);
    }
}
