using System.Text.Json.Nodes;

namespace CniBench.Cli.Targets.Kube.Api;

/// <summary>
/// The traffic-split objects of a kube run (Gateway API v1): a Gateway of the class the user names with one
/// HTTP listener, an HTTPRoute sending its requests to two backend Services by weight, and those Services in
/// front of one agent pod each (the echo names the pod, so each answer says which backend it came from).
/// </summary>
public static class GatewayManifests
{
    public const string Name = "cnibench";
    public const string BackendA = "split-a",
        BackendB = "split-b";
    public static readonly KubeResource Gateways = new("gateway.networking.k8s.io", "v1", "gateways");
    public static readonly KubeResource Routes = new("gateway.networking.k8s.io", "v1", "httproutes");

    private static JsonObject Metadata(string ns, string runId, string name) =>
        new()
        {
            ["name"] = name,
            ["namespace"] = ns,
            ["labels"] = new JsonObject { [AgentManifests.ManagedBy] = "cnibench", [AgentManifests.RunLabel] = runId },
        };

    public static JsonObject Gateway(string ns, string runId, string gatewayClass, int port) =>
        new()
        {
            ["apiVersion"] = "gateway.networking.k8s.io/v1",
            ["kind"] = "Gateway",
            ["metadata"] = Metadata(ns, runId, Name),
            ["spec"] = new JsonObject
            {
                ["gatewayClassName"] = gatewayClass,
                ["listeners"] = new JsonArray(
                    new JsonObject
                    {
                        ["name"] = "http",
                        ["protocol"] = "HTTP",
                        ["port"] = port,
                        ["allowedRoutes"] = new JsonObject { ["namespaces"] = new JsonObject { ["from"] = "Same" } },
                    }
                ),
            },
        };

    public static JsonObject Route(string ns, string runId, int weightA, int weightB) =>
        new()
        {
            ["apiVersion"] = "gateway.networking.k8s.io/v1",
            ["kind"] = "HTTPRoute",
            ["metadata"] = Metadata(ns, runId, Name),
            ["spec"] = new JsonObject
            {
                ["parentRefs"] = new JsonArray(new JsonObject { ["name"] = Name }),
                ["rules"] = new JsonArray(
                    new JsonObject
                    {
                        ["backendRefs"] = new JsonArray(
                            new JsonObject
                            {
                                ["name"] = BackendA,
                                ["port"] = 80,
                                ["weight"] = weightA,
                            },
                            new JsonObject
                            {
                                ["name"] = BackendB,
                                ["port"] = 80,
                                ["weight"] = weightB,
                            }
                        ),
                    }
                ),
            },
        };

    /// <summary>A backend Service: port 80 to the HTTP port of the agent pod with the backend's role.</summary>
    public static JsonObject BackendService(string ns, string runId, string backend) =>
        new()
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Service",
            ["metadata"] = Metadata(ns, runId, backend),
            ["spec"] = new JsonObject
            {
                ["type"] = "ClusterIP",
                ["selector"] = new JsonObject
                {
                    [AgentManifests.RunLabel] = runId,
                    [AgentManifests.RoleLabel] = backend,
                },
                ["ports"] = new JsonArray(
                    new JsonObject
                    {
                        ["name"] = "http",
                        ["port"] = 80,
                        ["targetPort"] = AgentManifests.HttpPort,
                        ["protocol"] = "TCP",
                    }
                ),
            },
        };
}
