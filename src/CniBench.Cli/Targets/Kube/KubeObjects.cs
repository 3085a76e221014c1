using System.Text.Json.Nodes;
using CniBench.Cli.Targets.Kube.Api;

namespace CniBench.Cli.Targets.Kube;

/// <summary>Reading the API's objects as the kube target needs them, and checking ours before they are sent.</summary>
public static class KubeObjects
{
    /// <summary>The address of the case's family among an object's addresses (podIPs, clusterIPs, a node's
    /// InternalIPs).</summary>
    public static string Pick(bool v6, JsonNode? list, string? single, string what)
    {
        var all = (list as JsonArray)?.Select(n => (string?)n).OfType<string>().ToList() ?? [];
        if (single is not null && !all.Contains(single))
            all.Add(single);
        return all.FirstOrDefault(a => a.Contains(':') == v6)
            ?? throw new TargetException(
                $"kube: {what} has no {(v6 ? "IPv6" : "IPv4")} address "
                    + $"({(all.Count == 0 ? "none" : string.Join(", ", all))})"
                    + (v6 ? "; ipFamily ipv6 needs a dual-stack or IPv6 cluster" : "")
            );
    }

    /// <summary>A Service's ClusterIP of the family.</summary>
    public static string ClusterIp(bool v6, JsonObject service) =>
        Pick(
            v6,
            service["spec"]?["clusterIPs"],
            (string?)service["spec"]?["clusterIP"],
            $"service {(string?)service["metadata"]?["namespace"]}/{(string?)service["metadata"]?["name"]}"
        );

    /// <summary>A node's InternalIP of the family.</summary>
    public static string NodeAddress(bool v6, JsonObject node)
    {
        var addresses = (node["status"]?["addresses"] as JsonArray)
            ?.OfType<JsonObject>()
            .Where(a => (string?)a["type"] == "InternalIP")
            .Select(a => (JsonNode?)a["address"]?.DeepClone());
        return Pick(v6, new JsonArray(addresses?.ToArray() ?? []), null, $"node {(string?)node["metadata"]?["name"]}");
    }

    public static bool IsReady(JsonObject pod) =>
        (pod["status"]?["conditions"] as JsonArray)
            ?.OfType<JsonObject>()
            .Any(c => (string?)c["type"] == "Ready" && (string?)c["status"] == "True") == true;

    /// <summary>The manifest, once <see cref="ManifestRules"/> found nothing wrong with it.</summary>
    public static JsonObject Checked(JsonObject manifest)
    {
        var problems = ManifestRules.Check(manifest);
        if (problems.Count > 0)
            throw new TargetException(
                $"kube: a generated manifest breaks the API's rules: {string.Join("; ", problems)}"
            );
        return manifest;
    }

    /// <summary>The first reason a not-ready pod of a selector gives (unschedulable, image pull, crash), and how many
    /// wait.</summary>
    public static async Task<string> WhyPodsWaitAsync(
        KubeClient kube,
        string ns,
        string selector,
        string what,
        CancellationToken cancellationToken
    )
    {
        var (pods, _) = await kube.ListAsync(KubeResource.Core("pods", ns), selector, cancellationToken);
        var waiting = pods.Where(p => !IsReady(p)).ToArray();
        var reason = waiting
            .Select(p =>
                (p["status"]?["containerStatuses"] as JsonArray)
                    ?.OfType<JsonObject>()
                    .Select(c => (string?)c["state"]?["waiting"]?["reason"])
                    .FirstOrDefault(r => r is not null)
                ?? (p["status"]?["conditions"] as JsonArray)
                    ?.OfType<JsonObject>()
                    .Where(c => (string?)c["status"] == "False")
                    .Select(c => (string?)c["message"])
                    .FirstOrDefault(m => m is not null)
            )
            .FirstOrDefault(r => r is not null);
        return $"{waiting.Length} of {pods.Count} {what} pods not ready{(reason is null ? "" : $": {reason}")}";
    }
}
