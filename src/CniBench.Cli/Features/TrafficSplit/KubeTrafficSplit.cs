using System.Text.Json.Nodes;
using CniBench.Cli.Targets;
using CniBench.Cli.Targets.Kube;
using CniBench.Cli.Targets.Kube.Api;

namespace CniBench.Cli.Features.TrafficSplit;

/// <summary>
/// The traffic-split suite's objects on a cluster: the two backend Services and the Gateway once per run,
/// the HTTPRoute with each case's weights; a case starts once the Gateway is Programmed with an address of
/// the case's family and its controller has accepted the route at its current generation.
/// </summary>
public sealed class KubeTrafficSplit(
    RunObjects objects,
    KubeClient kube,
    string ns,
    string runId,
    string gatewayClass,
    int port,
    TimeSpan readyTimeout
)
{
    private bool _created;

    /// <summary>Applies the case's weights and returns the Gateway's address once the route is in force.</summary>
    public async Task<string> PrepareAsync(SplitWeights weights, bool v6, CancellationToken cancellationToken)
    {
        if (!_created)
        {
            foreach (var backend in new[] { GatewayManifests.BackendA, GatewayManifests.BackendB })
                await objects.ApplyAsync(
                    KubeResource.Core("services", ns, backend),
                    KubeObjects.Checked(GatewayManifests.BackendService(ns, runId, backend)),
                    cancellationToken
                );
            await objects.ApplyAsync(
                Gateway,
                KubeObjects.Checked(GatewayManifests.Gateway(ns, runId, gatewayClass, port)),
                cancellationToken
            );
            _created = true;
        }
        var route = await objects.ApplyAsync(
            Route,
            KubeObjects.Checked(GatewayManifests.Route(ns, runId, weights.A, weights.B)),
            cancellationToken
        );
        long generation = (long?)route["metadata"]?["generation"] ?? 1;

        var deadline = DateTimeOffset.UtcNow + readyTimeout;
        while (true)
        {
            var gateway = await kube.GetAsync(Gateway, cancellationToken);
            var status = await kube.GetAsync(Route, cancellationToken);
            var programmed = Condition(gateway["status"]?["conditions"], "Programmed");
            var accepted = (status["status"]?["parents"] as JsonArray)
                ?.OfType<JsonObject>()
                .Select(p => Condition(p["conditions"], "Accepted"))
                .FirstOrDefault(c => c is not null);
            var addresses = (gateway["status"]?["addresses"] as JsonArray)
                ?.OfType<JsonObject>()
                .Select(a => ((string?)a["type"] ?? "IPAddress", (string?)a["value"] ?? ""))
                .ToArray()
                ?? [];
            var address = addresses
                .Where(a => a.Item1 == "IPAddress" && a.Item2.Contains(':') == v6)
                .Select(a => a.Item2)
                .FirstOrDefault();
            bool routeCurrent =
                accepted is { } a
                && (string?)a["status"] == "True"
                && ((long?)a["observedGeneration"] ?? generation) >= generation;
            if ((string?)programmed?["status"] == "True" && routeCurrent && address is not null)
                return address;
            if (DateTimeOffset.UtcNow > deadline)
            {
                var all = addresses.Select(a => $"{a.Item1} {a.Item2}");
                string listed = addresses.Length == 0 ? "none" : string.Join(", ", all);
                string why =
                    (string?)programmed?["status"] != "True" ? $"Gateway not Programmed ({Reason(programmed)})"
                    : !routeCurrent ? $"HTTPRoute not accepted at generation {generation} ({Reason(accepted)})"
                    : $"the Gateway has no {(v6 ? "IPv6" : "IPv4")} IPAddress ({listed})";
                throw new TargetException(
                    $"kube: gateway {ns}/{GatewayManifests.Name} (class {gatewayClass}) not ready within "
                        + $"{readyTimeout.TotalSeconds:0}s: {why}"
                );
            }
            await Task.Delay(500, cancellationToken);
        }
    }

    private KubeResource Gateway => GatewayManifests.Gateways with { Namespace = ns, Name = GatewayManifests.Name };
    private KubeResource Route => GatewayManifests.Routes with { Namespace = ns, Name = GatewayManifests.Name };

    private static JsonObject? Condition(JsonNode? conditions, string type) =>
        (conditions as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => (string?)c["type"] == type);

    private static string Reason(JsonObject? condition) =>
        condition is null
            ? "no status yet: is a controller for this GatewayClass running?"
            : $"{(string?)condition["reason"]}: {(string?)condition["message"]}";
}
