using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using CniBench.Cli.Kube;
using CniBench.Cli.Running;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets.Kube;
using CniBench.Contracts.Measurement;
using CniBench.Tests.Support;

namespace CniBench.Tests.Kube;

/// <summary>
/// The kube target end to end against an in-process API server: nodes, namespaces, secrets, pods and
/// services as the API returns them, and the pods' proxy subresource forwarding to real agents that the
/// fake "kubelet" starts on loopback for every pod created (with the token from the run's Secret).
/// </summary>
public class KubeTargetTests
{
    private sealed class FakeCluster : IAsyncDisposable
    {
        private readonly ConcurrentDictionary<string, (JsonObject Pod, TestAgentServer Agent)> _pods = new();
        private readonly HttpClient _forward = new();
        private readonly System.Threading.Channels.Channel<JsonObject> _podEvents = System.Threading.Channels.Channel.CreateUnbounded<JsonObject>();
        private readonly CancellationTokenSource _closing = new();
        private string _token = "";

        /// <summary>The pod's agent dies and the watch reports the pod ended, as the kubelet would after an OOM kill.</summary>
        public async Task FailPodAsync(string name, string reason)
        {
            var (pod, agent) = _pods[name];
            await agent.DisposeAsync();
            var ended = pod.DeepClone().AsObject();
            ended["status"] = new JsonObject { ["phase"] = "Failed", ["containerStatuses"] = new JsonArray(new JsonObject { ["state"] = new JsonObject { ["terminated"] = new JsonObject { ["reason"] = reason, ["exitCode"] = 137 } } }) };
            ended["metadata"]!["resourceVersion"] = "7";
            await _podEvents.Writer.WriteAsync(new JsonObject { ["type"] = "MODIFIED", ["object"] = ended });
        }
        public FakeApiServer Api { get; }
        public string? PodWaitingReason { get; init; }

        public FakeCluster() => Api = new FakeApiServer(HandleAsync);

        private async Task HandleAsync(FakeApiServer.Request r, HttpListenerResponse response)
        {
            var path = r.PathAndQuery.Split('?')[0];
            var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
            if (path == "/version") { await FakeApiServer.Json(response, new JsonObject { ["gitVersion"] = "v1.31.0" }); return; }
            if (path == "/api/v1/nodes") { await FakeApiServer.Json(response, new JsonObject { ["kind"] = "NodeList", ["metadata"] = new JsonObject { ["resourceVersion"] = "1" }, ["items"] = new JsonArray(Node("node-a"), Node("node-b")) }); return; }
            if (path == "/apis/apps/v1/namespaces/kube-system/daemonsets")
            {
                await FakeApiServer.Json(response, new JsonObject { ["items"] = new JsonArray(new JsonObject { ["metadata"] = new JsonObject { ["name"] = "cilium" }, ["spec"] = new JsonObject { ["template"] = new JsonObject { ["spec"] = new JsonObject { ["containers"] = new JsonArray(new JsonObject { ["image"] = "quay.io/cilium/cilium:v1.16.3@sha256:abc" }) } } } }) });
                return;
            }
            if (path == "/api/v1/namespaces/kube-system/configmaps/kube-proxy") { await FakeApiServer.Status(response, 404, "NotFound", "configmaps \"kube-proxy\" not found"); return; }
            // /api/v1/namespaces/NS/pods/NAME:7200/proxy/REST → the agent's control API
            if (segments.Length >= 7 && segments[4] == "pods" && segments[6] == "proxy")
            {
                var name = segments[5].Split(':')[0];
                await ForwardAsync(_pods[name].Agent, "/" + string.Join('/', segments[7..]) + (r.PathAndQuery.Contains('?') ? "?" + r.PathAndQuery.Split('?')[1] : ""), r, response);
                return;
            }
            if (r.Method == "PATCH" && segments.Length == 6 && segments[4] == "secrets")
            {
                _token = (string?)JsonNode.Parse(r.Body)!["stringData"]!["token"] ?? "";
                await FakeApiServer.Json(response, JsonNode.Parse(r.Body)!);
                return;
            }
            if (r.Method == "POST" && segments.Length == 5 && segments[4] == "pods")
            {
                var pod = JsonNode.Parse(r.Body)!.AsObject();
                var name = (string)pod["metadata"]!["name"]!;
                var agent = new TestAgentServer(pod: name, token: _token, node: (string)pod["spec"]!["nodeName"]!, dualStack: true);
                _pods[name] = (pod, agent);
                await FakeApiServer.Json(response, pod, 201);
                return;
            }
            if (r.Method == "GET" && segments.Length == 5 && segments[4] == "pods")
            {
                if (!r.PathAndQuery.Contains("watch=1"))
                {
                    await FakeApiServer.Json(response, new JsonObject { ["kind"] = "PodList", ["metadata"] = new JsonObject { ["resourceVersion"] = "5" }, ["items"] = new JsonArray() });
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
                catch (OperationCanceledException)
                {
                }
                return;
            }
            if (r.Method == "GET" && segments.Length == 6 && segments[4] == "pods")
            {
                var pod = _pods[segments[5]].Pod.DeepClone().AsObject();
                pod["status"] = PodWaitingReason is { } reason
                    ? new JsonObject { ["phase"] = "Pending", ["containerStatuses"] = new JsonArray(new JsonObject { ["state"] = new JsonObject { ["waiting"] = new JsonObject { ["reason"] = reason, ["message"] = "Back-off pulling image" } } }) }
                    : new JsonObject
                    {
                        ["phase"] = "Running", ["podIP"] = "127.0.0.1",
                        ["podIPs"] = new JsonArray(new JsonObject { ["ip"] = "127.0.0.1" }, new JsonObject { ["ip"] = "::1" }),
                        ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = "True" }),
                    };
                await FakeApiServer.Json(response, pod);
                return;
            }
            if (segments.Length == 6 && segments[4] == "services")
            {
                var service = r.Method == "PATCH" ? JsonNode.Parse(r.Body)!.AsObject() : new JsonObject();
                service["spec"] ??= new JsonObject();
                service["spec"]!["clusterIP"] = "127.0.0.1";
                service["spec"]!["clusterIPs"] = new JsonArray("127.0.0.1", "::1");
                await FakeApiServer.Json(response, service);
                return;
            }
            await FakeApiServer.Json(response, r.Body.Length > 0 ? JsonNode.Parse(r.Body)! : new JsonObject { ["kind"] = "Status", ["status"] = "Success" }, r.Method == "POST" ? 201 : 200);
        }

        private async Task ForwardAsync(TestAgentServer agent, string rest, FakeApiServer.Request r, HttpListenerResponse response)
        {
            using var request = new HttpRequestMessage(new HttpMethod(r.Method), new Uri(agent.ControlUri, rest.TrimStart('/')));
            foreach (var name in new[] { "CniBench-Protocol", "X-CniBench-Token" })
                if (r.Headers[name] is { } value) request.Headers.TryAddWithoutValidation(name, value);
            if (r.Body.Length > 0) request.Content = new StringContent(r.Body, Encoding.UTF8, "application/json");
            using var answer = await _forward.SendAsync(request);
            response.StatusCode = (int)answer.StatusCode;
            response.ContentType = "application/json";
            await response.OutputStream.WriteAsync(await answer.Content.ReadAsByteArrayAsync());
        }

        private static JsonObject Node(string name) => new()
        {
            ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = new JsonObject { ["topology.kubernetes.io/zone"] = "zone-" + name[^1] } },
            ["status"] = new JsonObject
            {
                ["conditions"] = new JsonArray(new JsonObject { ["type"] = "Ready", ["status"] = "True" }),
                ["addresses"] = new JsonArray(new JsonObject { ["type"] = "InternalIP", ["address"] = "127.0.0.1" }, new JsonObject { ["type"] = "InternalIP", ["address"] = "::1" }),
                ["nodeInfo"] = new JsonObject { ["kernelVersion"] = "6.8.0", ["osImage"] = "Debian", ["containerRuntimeVersion"] = "containerd://1.7" },
            },
        };

        public async ValueTask DisposeAsync()
        {
            await _closing.CancelAsync();
            foreach (var p in _pods.Values) await p.Agent.DisposeAsync();
            _forward.Dispose();
            await Api.DisposeAsync();
        }
    }

    private static KubeTarget Target(FakeCluster cluster, string runId) =>
        new(new KubeClient(new KubeConnection(cluster.Api.Uri, "default", "fake", null, false, null, null, null, "api-token", null, null)),
            new KubeTargetOptions("registry.example/cnibench-agent:test", runId, TimeSpan.FromMinutes(10), TimeSpan.FromSeconds(5)));

    [Fact]
    public async Task A_run_deploys_agents_as_pods_drives_them_through_the_pod_proxy_and_deletes_its_namespace()
    {
        await using var cluster = new FakeCluster();
        using var dir = new TempDirectory();
        using var store = CniBench.Cli.Storage.ResultStore.Open(dir.File("kube.db"));
        var scenario = ScenarioLoader.Load("name: kube\nrepetitions: 1\nwarmup: 0s\nduration: 500ms\ncases:\n  - workload: tcp-rr\n    placement: [pod-to-pod-cross-node, pod-to-cluster-ip, host-to-host]\n  - name: dual\n    workload: tcp-rr\n    ipFamily: ipv6\n    placement: [pod-to-pod-cross-node, pod-to-cluster-ip]\n", "kube.yaml");
        RunOutcome outcome;
        IReadOnlyDictionary<string, string> environment;
        await using (var target = Target(cluster, "r1"))
        {
            Assert.Empty(target.Validate(scenario));
            environment = await target.DescribeEnvironmentAsync(CancellationToken.None);
            outcome = await new RunOrchestrator(target, store, new SilentObserver(), TimeSpan.FromMilliseconds(200)).RunAsync(scenario, "cilium", environment, CancellationToken.None);
        }
        Assert.True(outcome.State == RunState.Completed, string.Join("; ", outcome.Results.Select(r => r.Error)));
        Assert.All(outcome.Results, r => Assert.True(r.Metrics[Metrics.TransactionsPerSecond] > 100));
        // IPv6 cases go to the pod's and the Service's IPv6 addresses (a dual-stack cluster gives both).
        Assert.All(outcome.Results.Where(r => r.IpFamily == "ipv6"), r => Assert.StartsWith("[::1]:", r.Workload.Target));
        Assert.All(outcome.Results.Where(r => r.IpFamily == "ipv4"), r => Assert.StartsWith("127.0.0.1:", r.Workload.Target));
        Assert.Equal("PreferDualStack", (string?)JsonNode.Parse(cluster.Api.Requests.First(r => r.Method == "PATCH" && r.PathAndQuery.Contains("/services/")).Body)!["spec"]!["ipFamilyPolicy"]);
        Assert.Equal("cilium v1.16.3", environment["cni"]);
        Assert.Equal("not found", environment["kube_proxy.mode"]);
        Assert.Equal("v1.31.0", environment["kube.version"]);

        var requests = cluster.Api.Requests;
        var ns = JsonNode.Parse(requests.First(r => r.Method == "POST" && r.PathAndQuery.StartsWith("/api/v1/namespaces?")).Body)!;
        Assert.Equal("cnibench-r1", (string?)ns["metadata"]!["name"]);
        Assert.Equal("cnibench", (string?)ns["metadata"]!["labels"]![AgentManifests.ManagedBy]);
        var pods = requests.Where(r => r.Method == "POST" && r.PathAndQuery.StartsWith("/api/v1/namespaces/cnibench-r1/pods?")).Select(r => JsonNode.Parse(r.Body)!).ToArray();
        Assert.Equal(["server", "client", "server-host", "client-host"], pods.Select(p => (string?)p["metadata"]!["name"]));
        Assert.Equal(["node-a", "node-b", "node-a", "node-b"], pods.Select(p => (string?)p["spec"]!["nodeName"]));
        Assert.Equal([false, false, true, true], pods.Select(p => (bool)p["spec"]!["hostNetwork"]!));
        Assert.All(pods, p => Assert.True(ManifestRules.Check(p.AsObject()).Count == 0, string.Join("; ", ManifestRules.Check(p.AsObject()))));
        // Agents were reached only through the API server, with the API's credentials and the agent's token beside them.
        var proxied = requests.Where(r => r.PathAndQuery.Contains("/proxy/v1/")).ToArray();
        Assert.NotEmpty(proxied);
        Assert.All(proxied, r => Assert.Equal("Bearer api-token", r.Authorization));
        Assert.Contains(requests, r => r.Method == "DELETE" && r.PathAndQuery == "/api/v1/namespaces/cnibench-r1");
        // Everything the run asked of the API is granted by the role the project ships.
        DeployFiles.AssertGranted(DeployFiles.Permissions(requests));
    }

    [Fact]
    public async Task A_pod_that_cannot_start_fails_the_run_with_the_clusters_reason_and_the_namespace_is_still_deleted()
    {
        await using var cluster = new FakeCluster { PodWaitingReason = "ImagePullBackOff" };
        var scenario = ScenarioLoader.Load("name: kube\nrepetitions: 1\ncases:\n  - workload: tcp-rr\n    placement: pod-to-pod-cross-node\n", "kube.yaml");
        using var dir = new TempDirectory();
        using var store = CniBench.Cli.Storage.ResultStore.Open(dir.File("kube.db"));
        await using (var target = Target(cluster, "r2"))
        {
            var e = await Assert.ThrowsAsync<CniBench.Cli.Targets.TargetException>(() =>
                new RunOrchestrator(target, store, new SilentObserver()).RunAsync(scenario, "x", new Dictionary<string, string>(), CancellationToken.None));
            Assert.Equal("kube: agent pod cnibench-r2/server cannot start: ImagePullBackOff: Back-off pulling image (image registry.example/cnibench-agent:test; --agent-image sets another)", e.Message);
        }
        Assert.Contains(cluster.Api.Requests, r => r.Method == "DELETE" && r.PathAndQuery == "/api/v1/namespaces/cnibench-r2");
    }

    [Fact]
    public async Task An_agent_pod_that_ends_mid_case_fails_the_case_with_what_the_cluster_says()
    {
        await using var cluster = new FakeCluster();
        using var dir = new TempDirectory();
        using var store = CniBench.Cli.Storage.ResultStore.Open(dir.File("kube.db"));
        var scenario = ScenarioLoader.Load("name: kube\nrepetitions: 1\nwarmup: 0s\nduration: 3s\ncases:\n  - workload: tcp-rr\n    placement: pod-to-pod-cross-node\n", "kube.yaml");
        await using var target = Target(cluster, "r3");
        var run = new RunOrchestrator(target, store, new SilentObserver(), TimeSpan.FromMilliseconds(200)).RunAsync(scenario, "x", new Dictionary<string, string>(), CancellationToken.None);
        // Once the case runs, the server's pod is OOM-killed.
        for (int i = 0; i < 100 && !cluster.Api.Requests.Any(r => r.PathAndQuery.EndsWith("/start")); i++) await Task.Delay(100);
        await Task.Delay(500);
        await cluster.FailPodAsync("server", "OOMKilled");
        var outcome = await run.WaitAsync(TimeSpan.FromSeconds(30));
        var result = Assert.Single(outcome.Results);
        Assert.Equal(ResultState.Failed, result.State);
        Assert.Equal("agent pod cnibench-r3/server ended: OOMKilled", result.Error);
    }

    [Fact]
    public void Generated_manifests_keep_the_apis_rules_and_broken_ones_are_named_field_by_field()
    {
        var placement = new AgentPlacement("server", "server", "node-a", false);
        Assert.Empty(ManifestRules.Check(AgentManifests.AgentPod("cnibench-r1", "r1", placement, "img:1", TimeSpan.FromMinutes(30), new AgentResources())));
        Assert.Empty(ManifestRules.Check(AgentManifests.AgentService("cnibench-r1", "r1", "agents-nodeport", true, "PreferDualStack")));
        Assert.Empty(ManifestRules.Check(AgentManifests.Namespace("cnibench-r1", "r1")));

        var bad = AgentManifests.AgentPod("ns", "run id!", placement with { Name = "Server_1" }, "", TimeSpan.FromMinutes(1), new AgentResources());
        bad["spec"]!["containers"]![0]!["ports"]!.AsArray().Add(new JsonObject { ["name"] = "a-very-long-port-name", ["containerPort"] = 70000, ["protocol"] = "ICMP" });
        var problems = ManifestRules.Check(bad);
        Assert.Contains(problems, p => p.StartsWith("Pod/Server_1: metadata.name: 'Server_1' is not a DNS-1123 subdomain"));
        Assert.Contains(problems, p => p.Contains("metadata.labels[cnibench.dev/run]: 'run id!' is not a valid label value"));
        Assert.Contains(problems, p => p.Contains("spec.containers[agent].image: missing"));
        Assert.Contains(problems, p => p.Contains("'a-very-long-port-name' must be a unique IANA service name"));
        Assert.Contains(problems, p => p.Contains("containerPort: 70000 is not a port (1-65535)"));
        Assert.Contains(problems, p => p.Contains("protocol: allowed: TCP, UDP, SCTP"));

        var service = AgentManifests.AgentService("ns", "r", "agents", false, "Sometimes");
        service["spec"]!["ports"]![0]!["nodePort"] = 80;
        var serviceProblems = ManifestRules.Check(service);
        Assert.Contains(serviceProblems, p => p.Contains("spec.ipFamilyPolicy: allowed: SingleStack, PreferDualStack, RequireDualStack"));
        Assert.Contains(serviceProblems, p => p.Contains("nodePort: only with type NodePort or LoadBalancer"));
        Assert.Contains(serviceProblems, p => p.Contains("80 is outside the default NodePort range 30000-32767"));
    }
}
