using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using CniBench.Cli.Targets;

namespace CniBench.Tests.Support;

/// <summary>
/// A cluster as the kube target sees it, on an in-process API server: nodes, namespaces, secrets, pods,
/// services, a DaemonSet and a Deployment as the API returns them, and the pods' proxy subresource
/// forwarding to real agents that the fake "kubelet" starts on loopback for every agent pod (with the token
/// from the run's Secret). The endpoints Deployment has a controller of its own (<see cref="FakeEndpoints"/>).
/// </summary>
public sealed class FakeCluster : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, (JsonObject Pod, TestAgentServer Agent)> _pods = new();
    private readonly HttpClient _forward = new();
    private readonly System.Threading.Channels.Channel<JsonObject> _podEvents =
        System.Threading.Channels.Channel.CreateUnbounded<JsonObject>();
    private readonly CancellationTokenSource _closing = new();
    private readonly ConcurrentDictionary<string, TcpForwarder> _forwarders = new();
    private readonly ConcurrentDictionary<string, int> _reachPorts = new();
    private readonly List<(TcpForwarder Forwarder, long CreatedUnixUs)> _reachDelays = new();

    /// <summary>Every reach Service created, in order: how long after its create it really began to answer (ms), null
    /// if it never did.</summary>
    public IReadOnlyList<double?> ReachDelaysMs
    {
        get
        {
            lock (_reachDelays)
                return _reachDelays
                    .Select(r => (r.Forwarder.ListeningSinceUnixUs - r.CreatedUnixUs) / 1000.0)
                    .ToArray();
        }
    }
    private string _token = "";

    public FakeCluster(TimeSpan? dataplaneDelay = null)
    {
        Api = new FakeApiServer(HandleAsync);
        Endpoints = new FakeEndpoints(dataplaneDelay ?? TimeSpan.FromMilliseconds(100));
        _gateway = new TcpForwarder(PickSplitBackend);
    }

    private readonly TcpForwarder _gateway;
    private (int A, int B) _weights;
    private long _routeGeneration;

    /// <summary>The port the fake Gateway listens on (127.0.0.1): each connection goes to split-a or split-b by the
    /// HTTPRoute's weights.</summary>
    public int GatewayPort => _gateway.Port;

    private IPEndPoint? PickSplitBackend()
    {
        var (a, b) = _weights;
        var name = Random.Shared.Next(a + b) < a ? "split-a" : "split-b";
        return _pods.TryGetValue(name, out var pod)
            ? new IPEndPoint(IPAddress.Loopback, pod.Agent.Info.Ports.Http)
            : null;
    }

    public FakeApiServer Api { get; }
    public FakeEndpoints Endpoints { get; }
    public string? PodWaitingReason { get; init; }

    /// <summary>How long a newly created Service takes to answer through its ClusterIP.</summary>
    public TimeSpan ServiceDelay { get; init; } = TimeSpan.FromMilliseconds(300);
    public static readonly string[] NodeNames = ["node-a", "node-b"];

    /// <summary>A client for this cluster with a bearer token, as a kubeconfig would give it.</summary>
    public CniBench.Cli.Targets.Kube.Api.KubeClient Client() =>
        new(
            new CniBench.Cli.Targets.Kube.Api.KubeConnection(
                Api.Uri,
                "default",
                "fake",
                null,
                false,
                null,
                null,
                null,
                "api-token",
                null,
                null
            )
        );

    /// <summary>What a test's kube target deploys with: a made-up image (the fake "kubelet" runs agents itself), a
    /// short ready timeout.</summary>
    public static CniBench.Cli.Targets.Kube.KubeTargetOptions Options(string runId) =>
        new("registry.example/cnibench-agent:test", runId, TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(5));

    /// <summary>Runs a scenario on a kube target against this cluster (checked valid first); the target is gone, its
    /// namespace deleted, when this returns.</summary>
    public async Task<CniBench.Cli.Running.RunOutcome> RunAsync(
        string scenarioYaml,
        CniBench.Cli.Targets.Kube.KubeTargetOptions options
    )
    {
        using var dir = new TempDirectory();
        using var store = CniBench.Cli.Storage.ResultStore.Open(dir.File("kube.db"));
        // The fake's agents share this host's network namespace with every other test, whose connections linger in
        // TIME_WAIT: an automatic cool-down would wait for them at each repetition (CooldownTests test it on its own).
        var scenario = CniBench.Cli.Features.SuiteFeatures.Scenarios.Load(
            scenarioYaml.Contains("cooldown:") ? scenarioYaml : "cooldown: none\n" + scenarioYaml,
            "kube.yaml"
        );
        await using var kube = new CniBench.Cli.Targets.Kube.KubeTarget(Client(), options);
        var target = new CniBench.Cli.Running.FeatureTarget(kube, CniBench.Cli.Features.SuiteFeatures.All);
        Xunit.Assert.Empty(target.Validate(scenario));
        return await new CniBench.Cli.Running.RunOrchestrator(
            target,
            store,
            new CniBench.Cli.Running.SilentObserver(),
            TimeSpan.FromMilliseconds(200)
        ).RunAsync(scenario, "fake", new Dictionary<string, string>(), CancellationToken.None);
    }

    /// <summary>The pod's agent dies and the watch reports the pod ended, as the kubelet would after an OOM
    /// kill.</summary>
    public async Task FailPodAsync(string name, string reason)
    {
        var (pod, agent) = _pods[name];
        await agent.DisposeAsync();
        var ended = pod.DeepClone().AsObject();
        ended["status"] = new JsonObject
        {
            ["phase"] = "Failed",
            ["containerStatuses"] = new JsonArray(
                new JsonObject
                {
                    ["state"] = new JsonObject
                    {
                        ["terminated"] = new JsonObject { ["reason"] = reason, ["exitCode"] = 137 },
                    },
                }
            ),
        };
        ended["metadata"]!["resourceVersion"] = "7";
        await _podEvents.Writer.WriteAsync(new JsonObject { ["type"] = "MODIFIED", ["object"] = ended });
    }

    /// <summary>API groups this cluster does not serve (their paths answer 404, as for a CRD not installed).</summary>
    public IReadOnlyList<string> MissingGroups { get; init; } = [];

    /// <summary>Objects of someone else already in the cluster, by path: a create of one is refused (409), as a real
    /// API server refuses it.</summary>
    public IReadOnlyCollection<string> Existing { get; init; } = [];

    private async Task HandleAsync(FakeApiServer.Request r, HttpListenerResponse response)
    {
        // The kube target makes each named object of a run with a create, then applies it: the create of a name is
        // served as the apply of that name.
        if (r.Method == "POST" && NamedCreate(r) is { } named)
        {
            if (Existing.Contains(named))
            {
                await FakeApiServer.Status(response, 409, "AlreadyExists", $"{named} already exists");
                return;
            }
            r = r with { Method = "PATCH", PathAndQuery = named };
        }
        var path = r.PathAndQuery.Split('?')[0];
        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments is ["apis", var group, ..] && MissingGroups.Contains(group))
        {
            await FakeApiServer.Status(response, 404, "NotFound", "the server could not find the requested resource");
            return;
        }
        if (path == "/version")
        {
            await FakeApiServer.Json(response, new JsonObject { ["gitVersion"] = "v1.31.0" });
            return;
        }
        if (path == "/api/v1/nodes")
        {
            await FakeApiServer.Json(
                response,
                new JsonObject
                {
                    ["kind"] = "NodeList",
                    ["metadata"] = new JsonObject { ["resourceVersion"] = "1" },
                    ["items"] = new JsonArray(NodeNames.Select(n => (JsonNode)Node(n)).ToArray()),
                }
            );
            return;
        }
        if (path == "/apis/apps/v1/namespaces/kube-system/daemonsets")
        {
            await FakeApiServer.Json(
                response,
                new JsonObject
                {
                    ["items"] = new JsonArray(
                        new JsonObject
                        {
                            ["metadata"] = new JsonObject { ["name"] = "cilium" },
                            ["spec"] = new JsonObject
                            {
                                ["template"] = new JsonObject
                                {
                                    ["spec"] = new JsonObject
                                    {
                                        ["containers"] = new JsonArray(
                                            new JsonObject { ["image"] = "quay.io/cilium/cilium:v1.16.3@sha256:abc" }
                                        ),
                                    },
                                },
                            },
                        }
                    ),
                }
            );
            return;
        }
        if (path == "/api/v1/namespaces/kube-system/configmaps/kube-proxy")
        {
            await FakeApiServer.Status(response, 404, "NotFound", "configmaps \"kube-proxy\" not found");
            return;
        }
        // /api/v1/namespaces/NS/pods/NAME:7200/proxy/REST → the agent's control API
        if (segments.Length >= 7 && segments[4] == "pods" && segments[6] == "proxy")
        {
            var name = segments[5].Split(':')[0];
            await ForwardAsync(
                _pods[name].Agent,
                "/"
                    + string.Join('/', segments[7..])
                    + (r.PathAndQuery.Contains('?') ? "?" + r.PathAndQuery.Split('?')[1] : ""),
                r,
                response
            );
            return;
        }
        if (r.Method == "PATCH" && segments.Length == 6 && segments[4] == "secrets")
        {
            _token = (string?)JsonNode.Parse(r.Body)!["stringData"]!["token"] ?? "";
            await FakeApiServer.Json(response, JsonNode.Parse(r.Body)!);
            return;
        }
        if (segments is ["apis", "apps", "v1", "namespaces", _, "daemonsets", var daemonSetName])
        {
            await DaemonSetAsync(daemonSetName, r, response);
            return;
        }
        if (segments is ["apis", "apps", "v1", "namespaces", _, "deployments", _] && r.Method == "PATCH")
        {
            var deployment = JsonNode.Parse(r.Body)!.AsObject();
            Endpoints.Apply(
                (int)deployment["spec"]!["replicas"]!,
                (string?)
                    deployment["spec"]!["template"]!["metadata"]!["annotations"]?[
                        CniBench.Cli.Targets.Kube.Api.AgentManifests.RestartedAtAnnotation
                    ]
            );
            await FakeApiServer.Json(response, deployment);
            return;
        }
        if (segments is ["apis", "gateway.networking.k8s.io", "v1", "namespaces", _, "gateways", _])
        {
            var gateway = r.Method == "PATCH" ? JsonNode.Parse(r.Body)!.AsObject() : new JsonObject();
            gateway["status"] = new JsonObject
            {
                ["addresses"] = new JsonArray(new JsonObject { ["type"] = "IPAddress", ["value"] = "127.0.0.1" }),
                ["conditions"] = new JsonArray(
                    new JsonObject
                    {
                        ["type"] = "Programmed",
                        ["status"] = "True",
                        ["reason"] = "Programmed",
                    }
                ),
            };
            await FakeApiServer.Json(response, gateway);
            return;
        }
        if (segments is ["apis", "gateway.networking.k8s.io", "v1", "namespaces", _, "httproutes", _])
        {
            var route =
                r.Method == "PATCH"
                    ? JsonNode.Parse(r.Body)!.AsObject()
                    : new JsonObject { ["metadata"] = new JsonObject() };
            if (r.Method == "PATCH")
            {
                var refs = route["spec"]!["rules"]![0]!["backendRefs"]!.AsArray();
                _weights = ((int)refs[0]!["weight"]!, (int)refs[1]!["weight"]!);
                _routeGeneration++;
            }
            route["metadata"]!["generation"] = _routeGeneration;
            route["status"] = new JsonObject
            {
                ["parents"] = new JsonArray(
                    new JsonObject
                    {
                        ["parentRef"] = new JsonObject { ["name"] = "cnibench" },
                        ["conditions"] = new JsonArray(
                            new JsonObject
                            {
                                ["type"] = "Accepted",
                                ["status"] = "True",
                                ["observedGeneration"] = _routeGeneration,
                            }
                        ),
                    }
                ),
            };
            await FakeApiServer.Json(response, route);
            return;
        }
        // The API server's own endpoints: it is on loopback here, as its pod proxy's connections are.
        if (segments is ["apis", "discovery.k8s.io", "v1", "namespaces", "default", "endpointslices"])
        {
            var endpoint = new JsonObject { ["addresses"] = new JsonArray("127.0.0.1") };
            var slice = new JsonObject { ["endpoints"] = new JsonArray(endpoint) };
            await FakeApiServer.Json(response, new JsonObject { ["items"] = new JsonArray(slice) });
            return;
        }
        if (segments is ["apis", "discovery.k8s.io", "v1", "namespaces", _, "endpointslices"])
        {
            await Endpoints.SlicesAsync(r, response, _closing.Token);
            return;
        }
        if (r.Method == "POST" && segments.Length == 5 && segments[4] == "pods")
        {
            var pod = JsonNode.Parse(r.Body)!.AsObject();
            var name = (string)pod["metadata"]!["name"]!;
            _pods[name] = (
                pod,
                new TestAgentServer(pod: name, token: _token, node: (string)pod["spec"]!["nodeName"]!, dualStack: true)
            );
            await FakeApiServer.Json(response, pod, 201);
            return;
        }
        if (r.Method == "GET" && segments.Length == 5 && segments[4] == "pods")
        {
            if (!r.PathAndQuery.Contains("watch=1"))
            {
                var selector = Selector(r.PathAndQuery);
                var items = _pods
                    .Values.Select(p => p.Pod)
                    .Where(p => selector.All(s => (string?)p["metadata"]!["labels"]?[s.Key] == s.Value))
                    .Select(p => (JsonNode)Running(p))
                    .ToArray();
                await FakeApiServer.Json(
                    response,
                    new JsonObject
                    {
                        ["kind"] = "PodList",
                        ["metadata"] = new JsonObject { ["resourceVersion"] = "5" },
                        ["items"] = new JsonArray(items),
                    }
                );
                return;
            }
            // A watch held open, as the API server holds it, sending pod events as they happen.
            response.StatusCode = 200;
            response.SendChunked = true;
            try
            {
                await foreach (var e in _podEvents.Reader.ReadAllAsync(_closing.Token))
                {
                    await response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(e.ToJsonString() + "\n"));
                    await response.OutputStream.FlushAsync();
                }
            }
            catch (OperationCanceledException) { }
            return;
        }
        if (r.Method == "GET" && segments.Length == 6 && segments[4] == "pods")
        {
            var pod = _pods[segments[5]].Pod;
            await FakeApiServer.Json(
                response,
                PodWaitingReason is { } reason
                    ? With(
                        pod,
                        new JsonObject
                        {
                            ["phase"] = "Pending",
                            ["containerStatuses"] = new JsonArray(
                                new JsonObject
                                {
                                    ["state"] = new JsonObject
                                    {
                                        ["waiting"] = new JsonObject
                                        {
                                            ["reason"] = reason,
                                            ["message"] = "Back-off pulling image",
                                        },
                                    },
                                }
                            ),
                        }
                    )
                    : Running(pod)
            );
            return;
        }
        if (r.Method == "POST" && segments.Length == 5 && segments[4] == "services")
        {
            var service = JsonNode.Parse(r.Body)!.AsObject();
            var name = (string)service["metadata"]!["name"]!;
            service["spec"]!["clusterIP"] = "127.0.0.1";
            service["spec"]!["clusterIPs"] = new JsonArray("127.0.0.1", "::1");
            // A Service made to time reachability answers only once its "rules are written", ServiceDelay later.
            // Created again with its ClusterIP, it gets its port back.
            if (name.StartsWith("reach-", StringComparison.Ordinal))
            {
                var server = _pods["server"].Agent;
                var forwarder = new TcpForwarder(
                    () => new IPEndPoint(IPAddress.Loopback, server.Info.Ports.Http),
                    ServiceDelay,
                    _reachPorts.GetValueOrDefault(name)
                );
                _forwarders[name] = forwarder;
                lock (_reachDelays)
                    _reachDelays.Add((forwarder, CniBench.Contracts.Protocol.UnixClock.NowMicroseconds()));
                _reachPorts[name] = forwarder.Port;
                service["spec"]!["ports"] = new JsonArray(new JsonObject { ["port"] = forwarder.Port });
            }
            await FakeApiServer.Json(response, service, 201);
            return;
        }
        if (
            r.Method == "DELETE"
            && segments.Length == 6
            && segments[4] == "services"
            && _forwarders.TryRemove(segments[5], out var gone)
        )
        {
            await gone.DisposeAsync();
            await FakeApiServer.Json(response, new JsonObject { ["kind"] = "Status", ["status"] = "Success" });
            return;
        }
        if (segments.Length == 6 && segments[4] == "services")
        {
            var service =
                r.Method == "PATCH"
                    ? JsonNode.Parse(r.Body)!.AsObject()
                    : new JsonObject { ["spec"] = new JsonObject() };
            service["spec"]!["clusterIP"] = "127.0.0.1";
            service["spec"]!["clusterIPs"] = new JsonArray("127.0.0.1", "::1");
            // The churn Service's ClusterIP is the fake dataplane's proxy.
            if (segments[5] == CniBench.Cli.Targets.Kube.Api.AgentManifests.ChurnService)
                service["spec"]!["ports"] = new JsonArray(new JsonObject { ["port"] = Endpoints.ProxyPort });
            await FakeApiServer.Json(response, service);
            return;
        }
        // A namespace deleted is gone at once (its pods are not waited for here).
        if (segments is ["api", "v1", "namespaces", var namespaceName])
        {
            if (r.Method == "DELETE")
                _deletedNamespaces[namespaceName] = 0;
            else if (r.Method == "POST")
                _deletedNamespaces.TryRemove((string?)JsonNode.Parse(r.Body)!["metadata"]?["name"] ?? "", out _);
            else if (r.Method == "GET" && _deletedNamespaces.ContainsKey(namespaceName))
            {
                await FakeApiServer.Status(response, 404, "NotFound", $"namespaces \"{namespaceName}\" not found");
                return;
            }
        }
        await FakeApiServer.Json(
            response,
            r.Body.Length > 0
                ? JsonNode.Parse(r.Body)!
                : new JsonObject { ["kind"] = "Status", ["status"] = "Success" },
            r.Method == "POST" ? 201 : 200
        );
    }

    private readonly ConcurrentDictionary<string, byte> _deletedNamespaces = new();

    /// <summary>The path of the object a POST creates, for the kinds whose first write is a create (not pods,
    /// namespaces, or the Services service-scale makes and deletes by the hundred).</summary>
    private static string? NamedCreate(FakeApiServer.Request r)
    {
        var collection = r.PathAndQuery.Split('?')[0];
        if (
            !(
                collection.EndsWith("/secrets", StringComparison.Ordinal)
                || collection.EndsWith("/services", StringComparison.Ordinal)
                || collection.EndsWith("/daemonsets", StringComparison.Ordinal)
                || collection.EndsWith("/deployments", StringComparison.Ordinal)
                || collection.EndsWith("/gateways", StringComparison.Ordinal)
                || collection.EndsWith("/httproutes", StringComparison.Ordinal)
                || collection.EndsWith("/networkpolicies", StringComparison.Ordinal)
            )
        )
            return null;
        var name = (string?)JsonNode.Parse(r.Body)?["metadata"]?["name"];
        return name is null || name.StartsWith("reach-", StringComparison.Ordinal) ? null : $"{collection}/{name}";
    }

    /// <summary>A DaemonSet of agents: applying it starts a pod (a real agent) on every node; its status counts them
    /// ready.</summary>
    private async Task DaemonSetAsync(string daemonSetName, FakeApiServer.Request r, HttpListenerResponse response)
    {
        if (r.Method == "PATCH")
        {
            var daemonSet = JsonNode.Parse(r.Body)!.AsObject();
            foreach (var node in NodeNames)
            {
                var name = $"{daemonSetName}-{node}";
                var pod = new JsonObject
                {
                    ["metadata"] = new JsonObject
                    {
                        ["name"] = name,
                        ["labels"] = daemonSet["spec"]!["template"]!["metadata"]!["labels"]!.DeepClone(),
                    },
                    ["spec"] = new JsonObject { ["nodeName"] = node },
                };
                _pods.GetOrAdd(name, _ =>
                    (pod, new TestAgentServer(pod: name, token: _token, node: node, dualStack: true))
                );
            }
            await FakeApiServer.Json(response, daemonSet);
            return;
        }
        await FakeApiServer.Json(
            response,
            new JsonObject
            {
                ["status"] = new JsonObject
                {
                    ["desiredNumberScheduled"] = NodeNames.Length,
                    ["numberReady"] = NodeNames.Length,
                },
            }
        );
    }

    private static JsonObject Running(JsonObject pod) =>
        With(
            pod,
            new JsonObject
            {
                ["phase"] = "Running",
                ["podIP"] = "127.0.0.1",
                ["podIPs"] = new JsonArray(new JsonObject { ["ip"] = "127.0.0.1" }, new JsonObject { ["ip"] = "::1" }),
                ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = "True" }),
            }
        );

    private static JsonObject With(JsonObject pod, JsonObject status)
    {
        var copy = pod.DeepClone().AsObject();
        copy["status"] = status;
        return copy;
    }

    /// <summary>labelSelector=a=b,c=d as pairs.</summary>
    public static Dictionary<string, string> Selector(string pathAndQuery)
    {
        var query = System.Web.HttpUtility.ParseQueryString(
            pathAndQuery.Contains('?') ? pathAndQuery[(pathAndQuery.IndexOf('?') + 1)..] : ""
        );
        return (query["labelSelector"] ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split('='))
            .ToDictionary(p => p[0], p => p[1]);
    }

    private async Task ForwardAsync(
        TestAgentServer agent,
        string rest,
        FakeApiServer.Request r,
        HttpListenerResponse response
    )
    {
        using var request = new HttpRequestMessage(
            new HttpMethod(r.Method),
            new Uri(agent.ControlUri, rest.TrimStart('/'))
        );
        foreach (var name in new[] { "CniBench-Protocol", "X-CniBench-Token", "X-CniBench-Controller" })
            if (r.Headers[name] is { } value)
                request.Headers.TryAddWithoutValidation(name, value);
        if (r.Body.Length > 0)
            request.Content = new StringContent(r.Body, Encoding.UTF8, "application/json");
        using var answer = await _forward.SendAsync(request);
        response.StatusCode = (int)answer.StatusCode;
        response.ContentType = "application/json";
        var body = await answer.Content.ReadAsByteArrayAsync();
        response.ContentLength64 = body.Length;
        await response.OutputStream.WriteAsync(body);
    }

    private static JsonObject Node(string name) =>
        new()
        {
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["labels"] = new JsonObject { ["topology.kubernetes.io/zone"] = "zone-" + name[^1] },
            },
            ["status"] = new JsonObject
            {
                ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = "True" }),
                ["addresses"] = new JsonArray(
                    new JsonObject { ["type"] = "InternalIP", ["address"] = "127.0.0.1" },
                    new JsonObject { ["type"] = "InternalIP", ["address"] = "::1" }
                ),
                ["nodeInfo"] = new JsonObject
                {
                    ["kernelVersion"] = "6.8.0",
                    ["osImage"] = "Debian",
                    ["containerRuntimeVersion"] = "containerd://1.7",
                },
            },
        };

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync();
        foreach (var p in _pods.Values)
            await p.Agent.DisposeAsync();
        await Endpoints.DisposeAsync();
        await _gateway.DisposeAsync();
        foreach (var f in _forwarders.Values)
            await f.DisposeAsync();
        _forward.Dispose();
        await Api.DisposeAsync();
    }
}
