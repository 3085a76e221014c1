using System.Text.Json.Nodes;
using CniBench.Cli.Features.Convergence;
using CniBench.Cli.Results;
using CniBench.Cli.Running;
using CniBench.Cli.Targets;
using CniBench.Cli.Targets.Kube;
using CniBench.Cli.Targets.Kube.Api;
using CniBench.Contracts.Measurement;
using CniBench.Contracts.Protocol;
using CniBench.Tests.Support;

namespace CniBench.Tests.Kube;

/// <summary>
/// The kube target end to end against an in-process API server: nodes, namespaces, secrets, pods and
/// services as the API returns them, and the pods' proxy subresource forwarding to real agents that the
/// fake "kubelet" starts on loopback for every pod created (with the token from the run's Secret).
/// </summary>
[Trait(Category.Name, Category.Integration)]
public class KubeTargetTests
{
    private static KubeTarget Target(FakeCluster cluster, string runId) =>
        new(cluster.Client(), FakeCluster.Options(runId));

    [Fact]
    public async Task A_run_deploys_agents_as_pods_drives_them_through_the_pod_proxy_and_deletes_its_namespace()
    {
        await using var cluster = new FakeCluster();
        using var dir = new TempDirectory();
        using var store = CniBench.Cli.Storage.ResultStore.Open(dir.File("kube.db"));
        var scenario = CniBench.Cli.Features.SuiteFeatures.Scenarios.Load(
            "name: kube\ncooldown: none\nrepetitions: 1\nwarmup: 0s\nduration: 500ms\ncases:\n  - workload: tcp-rr\n "
                + "   placement: [pod-to-pod-cross-node, pod-to-cluster-ip, host-to-host]\n  - name: dual\n    "
                + "workload: tcp-rr\n    ipFamily: ipv6\n    placement: [pod-to-pod-cross-node, pod-to-cluster-ip]\n",
            "kube.yaml"
        );
        RunOutcome outcome;
        IReadOnlyDictionary<string, string> environment;
        await using (var target = Target(cluster, "r1"))
        {
            Assert.Empty(target.Validate(scenario));
            environment = await target.DescribeEnvironmentAsync(CancellationToken.None);
            outcome = await new RunOrchestrator(
                target,
                store,
                new SilentObserver(),
                TimeSpan.FromMilliseconds(200)
            ).RunAsync(scenario, "cilium", environment, CancellationToken.None);
        }
        Assert.True(outcome.State == RunState.Completed, Support.Results.Failures(outcome));
        Assert.All(outcome.Results, r => Assert.True(r.Metrics[Metrics.TransactionsPerSecond] > 100));
        // The fake kubelet's agents are reached over loopback, so the interface they report is loopback's (a pod's eth0
        // on a cluster).
        Assert.All(outcome.Results, r =>
            Assert.Equal(
                CniBench.Agent.Sampling.InterfaceMtu.ForAddress("127.0.0.1"),
                (int?)r.Metrics.GetValueOrDefault(Metrics.PathMtu)
            )
        );
        // IPv6 cases go to the pod's and the Service's IPv6 addresses (a dual-stack cluster gives both).
        Assert.All(outcome.Results.Where(r => r.IpFamily == "ipv6"), r =>
            Assert.StartsWith("[::1]:", r.Workload.Target)
        );
        Assert.All(outcome.Results.Where(r => r.IpFamily == "ipv4"), r =>
            Assert.StartsWith("127.0.0.1:", r.Workload.Target)
        );
        Assert.Equal(
            "PreferDualStack",
            (string?)
                JsonNode.Parse(cluster.Api.Requests.First(r => r.Writes("/services/")).Body)!["spec"]!["ipFamilyPolicy"]
        );
        Assert.Equal("cilium v1.16.3", environment["cni"]);
        Assert.Equal("not found", environment["kube_proxy.mode"]);
        Assert.Equal("v1.31.0", environment["kube.version"]);

        var requests = cluster.Api.Requests;
        var ns = JsonNode.Parse(
            requests
                .First(r =>
                    r.Method == "POST" && r.PathAndQuery.StartsWith("/api/v1/namespaces?", StringComparison.Ordinal)
                )
                .Body
        )!;
        Assert.Equal("cnibench-r1", (string?)ns["metadata"]!["name"]);
        Assert.Equal("cnibench", (string?)ns["metadata"]!["labels"]![AgentManifests.ManagedBy]);
        var pods = requests
            .Where(r =>
                r.Method == "POST"
                && r.PathAndQuery.StartsWith("/api/v1/namespaces/cnibench-r1/pods?", StringComparison.Ordinal)
            )
            .Select(r => JsonNode.Parse(r.Body)!)
            .ToArray();
        Assert.Equal(
            ["server", "client", "server-host", "client-host"],
            pods.Select(p => (string?)p["metadata"]!["name"])
        );
        Assert.Equal(["node-a", "node-b", "node-a", "node-b"], pods.Select(p => (string?)p["spec"]!["nodeName"]));
        Assert.Equal([false, false, true, true], pods.Select(p => (bool)p["spec"]!["hostNetwork"]!));
        Assert.All(pods, p =>
            Assert.True(
                ManifestRules.Check(p.AsObject()).Count == 0,
                string.Join("; ", ManifestRules.Check(p.AsObject()))
            )
        );
        // Agents were reached only through the API server, with the API's credentials and the agent's token beside
        // them.
        var proxied = requests.Where(r => r.PathAndQuery.Contains("/proxy/v1/")).ToArray();
        Assert.NotEmpty(proxied);
        Assert.All(proxied, r => Assert.Equal("Bearer api-token", r.Authorization));
        Assert.Contains(requests, r => r.Method == "DELETE" && r.PathAndQuery == "/api/v1/namespaces/cnibench-r1");
        // Everything the run asked of the API is granted by the role the project ships.
        DeployFiles.AssertGranted(DeployFiles.Permissions(requests));
    }

    [Fact]
    public async Task In_a_users_namespace_only_what_the_run_made_is_deleted_and_kinds_the_cluster_lacks_are_skipped()
    {
        await using var cluster = new FakeCluster { MissingGroups = ["gateway.networking.k8s.io"] };
        var outcome = await cluster.RunAsync(
            "name: kube\nrepetitions: 1\nwarmup: 0s\nduration: 300ms\ncases:\n  - workload: tcp-rr\n    placement: "
                + "pod-to-pod-cross-node\n",
            FakeCluster.Options("u1") with
            {
                Namespace = "mine",
            }
        );
        Assert.Equal(RunState.Completed, outcome.State);
        var deletes = cluster.Api.Requests.Where(r => r.Method == "DELETE").Select(r => r.PathAndQuery).ToArray();
        Assert.DoesNotContain(deletes, d =>
            d.StartsWith("/api/v1/namespaces/mine?", StringComparison.Ordinal) || d == "/api/v1/namespaces/mine"
        );
        foreach (
            var kind in new[]
            {
                "/apis/apps/v1/namespaces/mine/deployments?",
                "/apis/apps/v1/namespaces/mine/daemonsets?",
                "/apis/gateway.networking.k8s.io/v1/namespaces/mine/gateways?",
                "/api/v1/namespaces/mine/pods?",
                "/api/v1/namespaces/mine/services?",
                "/api/v1/namespaces/mine/secrets?",
            }
        )
            Assert.Contains(deletes, d =>
                d.StartsWith(kind, StringComparison.Ordinal) && d.Contains("labelSelector=cnibench.dev%2Frun%3Du1")
            );
        // The shipped deployment's token Secret, agent-token, is not the run's: never written, never deleted.
        Assert.DoesNotContain(cluster.Api.Requests, r => r.PathAndQuery.Contains("agent-token"));
        Assert.Contains(cluster.Api.Requests, r => r.Method == "POST" && r.Writes("/secrets/cnibench-token-u1"));
    }

    [Fact]
    public async Task With_network_policy_the_control_port_admits_the_api_server_alone_and_goes_with_the_run()
    {
        await using var cluster = new FakeCluster();
        var outcome = await cluster.RunAsync(
            "name: kube\nrepetitions: 1\nwarmup: 0s\nduration: 300ms\ncases:\n  - workload: tcp-rr\n    placement: "
                + "pod-to-pod-cross-node\n",
            FakeCluster.Options("np1") with
            {
                Namespace = "mine",
                NetworkPolicy = true,
            }
        );
        Assert.True(outcome.State == RunState.Completed, CniBench.Tests.Support.Results.Failures(outcome));
        var policy = JsonNode
            .Parse(cluster.Api.Requests.Single(r => r.Writes("/networkpolicies/cnibench-control-np1")).Body)!
            .AsObject();
        Assert.Empty(ManifestRules.Check(policy));
        var ingress = policy["spec"]!["ingress"]!.AsArray();
        Assert.Equal("np1", (string?)policy["spec"]!["podSelector"]!["matchLabels"]!["cnibench.dev/run"]);
        Assert.Null(ingress[0]!["from"]); // the data ports: from anywhere
        Assert.Equal([7201, 7202, 7280], ingress[0]!["ports"]!.AsArray().Select(p => (int)p!["port"]!));
        Assert.Equal(7200, (int)ingress[1]!["ports"]![0]!["port"]!);
        Assert.Equal("127.0.0.1/32", (string?)ingress[1]!["from"]![0]!["ipBlock"]!["cidr"]);
        Assert.Contains(cluster.Api.Requests, r =>
            r.Method == "DELETE"
            && r.PathAndQuery.StartsWith(
                "/apis/networking.k8s.io/v1/namespaces/mine/networkpolicies?",
                StringComparison.Ordinal
            )
            && r.PathAndQuery.Contains("labelSelector=cnibench.dev%2Frun%3Dnp1")
        );
        DeployFiles.AssertGranted(DeployFiles.Permissions(cluster.Api.Requests));
    }

    [Fact]
    public async Task An_object_of_the_users_with_a_name_the_run_uses_is_refused_not_taken_over()
    {
        const string Theirs = "/api/v1/namespaces/mine/services/agents";
        await using var cluster = new FakeCluster { Existing = [Theirs] };
        var refused = await Assert.ThrowsAsync<CniBench.Cli.Targets.TargetException>(() =>
            cluster.RunAsync(
                "name: kube\nrepetitions: 1\nwarmup: 0s\nduration: 300ms\ncases:\n  - workload: tcp-rr\n    "
                    + "placement: pod-to-cluster-ip\n",
                FakeCluster.Options("u9") with
                {
                    Namespace = "mine",
                }
            )
        );
        Assert.Contains(
            "services 'agents' already exists in namespace mine and this run did not make it",
            refused.Message
        );
        // Asked to be made, refused, and then left alone: no apply over it, no delete of it by name.
        Assert.DoesNotContain(cluster.Api.Requests, r =>
            r.Method is "PATCH" or "DELETE" && r.PathAndQuery.Split('?')[0] == Theirs
        );
    }

    [Fact]
    public async Task A_pod_that_cannot_start_fails_the_run_with_the_clusters_reason_and_the_namespace_still_goes()
    {
        await using var cluster = new FakeCluster { PodWaitingReason = "ImagePullBackOff" };
        var scenario = CniBench.Cli.Features.SuiteFeatures.Scenarios.Load(
            "name: kube\nrepetitions: 1\ncases:\n  - workload: tcp-rr\n    placement: pod-to-pod-cross-node\n",
            "kube.yaml"
        );
        using var dir = new TempDirectory();
        using var store = CniBench.Cli.Storage.ResultStore.Open(dir.File("kube.db"));
        await using (var target = Target(cluster, "r2"))
        {
            var e = await Assert.ThrowsAsync<CniBench.Cli.Targets.TargetException>(() =>
                new RunOrchestrator(target, store, new SilentObserver()).RunAsync(
                    scenario,
                    "x",
                    new Dictionary<string, string>(),
                    CancellationToken.None
                )
            );
            Assert.Equal(
                "kube: agent pod cnibench-r2/server cannot start: ImagePullBackOff: Back-off pulling image (image "
                    + "registry.example/cnibench-agent:test; --agent-image sets another)",
                e.Message
            );
        }
        Assert.Contains(cluster.Api.Requests, r =>
            r.Method == "DELETE" && r.PathAndQuery == "/api/v1/namespaces/cnibench-r2"
        );
    }

    [Fact]
    public async Task An_agent_pod_that_ends_mid_case_fails_the_case_with_what_the_cluster_says()
    {
        await using var cluster = new FakeCluster();
        using var dir = new TempDirectory();
        using var store = CniBench.Cli.Storage.ResultStore.Open(dir.File("kube.db"));
        var scenario = CniBench.Cli.Features.SuiteFeatures.Scenarios.Load(
            "name: kube\ncooldown: none\nrepetitions: 1\nwarmup: 0s\nduration: 3s\ncases:\n  - workload: tcp-rr\n    "
                + "placement: pod-to-pod-cross-node\n",
            "kube.yaml"
        );
        await using var target = Target(cluster, "r3");
        var run = new RunOrchestrator(target, store, new SilentObserver(), TimeSpan.FromMilliseconds(200)).RunAsync(
            scenario,
            "x",
            new Dictionary<string, string>(),
            CancellationToken.None
        );
        // Once the case runs, the server's pod is OOM-killed.
        for (
            int i = 0;
            i < 100 && !cluster.Api.Requests.Any(r => r.PathAndQuery.EndsWith("/start", StringComparison.Ordinal));
            i++
        )
            await Task.Delay(100);
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
        Assert.Empty(
            ManifestRules.Check(
                AgentManifests.AgentPod(
                    "cnibench-r1",
                    "r1",
                    placement,
                    "img:1",
                    TimeSpan.FromMinutes(30),
                    new AgentResources()
                )
            )
        );
        Assert.Empty(
            ManifestRules.Check(
                AgentManifests.AgentService("cnibench-r1", "r1", "agents-nodeport", true, "PreferDualStack")
            )
        );
        Assert.Empty(ManifestRules.Check(AgentManifests.Namespace("cnibench-r1", "r1")));

        var bad = AgentManifests.AgentPod(
            "ns",
            "run id!",
            placement with
            {
                Name = "Server_1",
            },
            "",
            TimeSpan.FromMinutes(1),
            new AgentResources()
        );
        bad["spec"]!["containers"]![0]!["ports"]!
            .AsArray()
            .Add(
                new JsonObject
                {
                    ["name"] = "a-very-long-port-name",
                    ["containerPort"] = 70000,
                    ["protocol"] = "ICMP",
                }
            );
        var problems = ManifestRules.Check(bad);
        Assert.Contains(problems, p =>
            p.StartsWith(
                "Pod/Server_1: metadata.name: 'Server_1' is not a DNS-1123 subdomain",
                StringComparison.Ordinal
            )
        );
        Assert.Contains(problems, p =>
            p.Contains("metadata.labels[cnibench.dev/run]: 'run id!' is not a valid label value")
        );
        Assert.Contains(problems, p => p.Contains("spec.containers[agent].image: missing"));
        Assert.Contains(problems, p => p.Contains("'a-very-long-port-name' must be a unique IANA service name"));
        Assert.Contains(problems, p => p.Contains("containerPort: 70000 is not a port (1-65535)"));
        Assert.Contains(problems, p => p.Contains("protocol: allowed: TCP, UDP, SCTP"));

        var service = AgentManifests.AgentService("ns", "r", "agents", false, "Sometimes");
        service["spec"]!["ports"]![0]!["nodePort"] = 80;
        var serviceProblems = ManifestRules.Check(service);
        Assert.Contains(serviceProblems, p =>
            p.Contains("spec.ipFamilyPolicy: allowed: SingleStack, PreferDualStack, RequireDualStack")
        );
        Assert.Contains(serviceProblems, p => p.Contains("nodePort: only with type NodePort or LoadBalancer"));
        Assert.Contains(serviceProblems, p => p.Contains("80 is outside the default NodePort range 30000-32767"));
    }
}

/// <summary>Convergence on a cluster: the EndpointSlice watch turned into changes, and a whole case against a fake
/// cluster with a real dataplane.</summary>
[Trait(Category.Name, Category.Integration)]
public class KubeConvergenceTests(ITestOutputHelper output)
{
    private static JsonObject SliceEvent(
        string type,
        string name,
        string resourceVersion,
        params (string Ip, bool? Ready)[] endpoints
    ) =>
        new()
        {
            ["type"] = type,
            ["object"] = new JsonObject
            {
                ["metadata"] = new JsonObject { ["name"] = name, ["resourceVersion"] = resourceVersion },
                ["addressType"] = "IPv4",
                ["endpoints"] = new JsonArray(
                    endpoints
                        .Select(e =>
                            (JsonNode)
                                new JsonObject
                                {
                                    ["addresses"] = new JsonArray(e.Ip),
                                    ["conditions"] = e.Ready is bool ready
                                        ? new JsonObject { ["ready"] = ready, ["terminating"] = !ready }
                                        : new JsonObject(),
                                }
                        )
                        .ToArray()
                ),
            },
        };

    [Fact]
    public void A_recorded_sequence_of_slice_events_becomes_changes_and_each_nodes_latency_to_them()
    {
        const long t0 = 1_800_000_000_000_000;
        var tracker = new EndpointSliceTracker("IPv4");
        tracker.Reset([SliceEvent("ADDED", "churn-a", "1", ("10.1.0.5", true))["object"]!.AsObject()], t0 - 5_000_000);
        tracker.StartRecording();
        // Scale 1→3 over two slices; a missing ready condition counts as ready; an IPv6 slice is another family's.
        (string Type, JsonObject Event, long At)[] recorded =
        [
            ("MODIFIED", SliceEvent("MODIFIED", "churn-a", "2", ("10.1.0.5", true), ("10.1.0.6", false)), t0),
            ("MODIFIED", SliceEvent("MODIFIED", "churn-a", "3", ("10.1.0.5", true), ("10.1.0.6", true)), t0 + 100_000),
            ("ADDED", SliceEvent("ADDED", "churn-b", "4", ("10.2.0.7", null)), t0 + 150_000),
            (
                "ADDED",
                new JsonObject
                {
                    ["type"] = "ADDED",
                    ["object"] = new JsonObject
                    {
                        ["metadata"] = new JsonObject { ["name"] = "churn-v6" },
                        ["addressType"] = "IPv6",
                        ["endpoints"] = new JsonArray(new JsonObject { ["addresses"] = new JsonArray("fd00::9") }),
                    },
                },
                t0 + 160_000
            ),
            // Restart of 10.1.0.5: its replacement ready and the old one terminating in one update, then the old one
            // gone.
            (
                "MODIFIED",
                SliceEvent("MODIFIED", "churn-a", "5", ("10.1.0.5", false), ("10.1.0.6", true), ("10.1.0.8", true)),
                t0 + 400_000
            ),
            ("MODIFIED", SliceEvent("MODIFIED", "churn-a", "6", ("10.1.0.6", true), ("10.1.0.8", true)), t0 + 450_000),
            // A slice deleted takes its endpoints with it.
            ("DELETED", SliceEvent("DELETED", "churn-b", "7"), t0 + 600_000),
        ];
        foreach (var (type, e, at) in recorded)
            tracker.Apply(type, e["object"]!.AsObject(), at);

        var changes = tracker.Changes;
        Assert.Equal(
            [
                "add 10.1.0.6 @100",
                "add 10.2.0.7 @150",
                "add 10.1.0.8 @400",
                "remove 10.1.0.5 @400",
                "remove 10.2.0.7 @600",
            ],
            changes.Select(c => $"{c.Kind} {c.Added ?? c.Removed} @{(c.IssuedUnixUs - t0) / 1000}")
        );
        Assert.Equal(Enumerable.Range(1, 5), changes.Select(c => c.Index));
        Assert.Equal(["10.1.0.6", "10.1.0.8"], tracker.Ready.Order());
        Assert.Equal(["10.1.0.6", "10.1.0.8"], tracker.Present.Order());

        // What one node's prober saw (on the controller's clock after its offset of +2 ms was taken off).
        var seen = new ProbeTotals(
            new Dictionary<string, BackendSeen>
            {
                // 30 ms of traffic after its removal was seen
                ["10.1.0.5"] = new(t0 - 4_000_000 + 2_000, t0 + 430_000 + 2_000, 900),
                ["10.1.0.6"] = new(t0 + 118_000 + 2_000, t0 + 900_000, 300),
                ["10.2.0.7"] = new(t0 + 190_000 + 2_000, t0 + 590_000, 200),
                ["10.1.0.8"] = new(t0 + 425_000 + 2_000, t0 + 900_000, 100),
            },
            [new ProbeFailure(t0 + 410_000 + 2_000, "reset")],
            0
        );
        var data = ConvergenceCalculator.Compute(changes, [("node-a", ConvergenceRunner.Shift(seen, 2_000), 6.0)]);
        Assert.Equal([18.0, 40.0, 25.0, null, null], data.Nodes[0].ReachedMs);
        // 10.2.0.7 was last seen before its slice went
        Assert.Equal([null, null, null, 30.0, null], data.Nodes[0].StaleMs);
        var m = ConvergenceCalculator.MetricsOf(data);
        Assert.Equal(0, m[Metrics.ConvergenceUnreached]); // removals have nothing to reach
        Assert.Equal(25.0, m[Metrics.ConvergenceP50Ms]);
        Assert.Equal(1, m[Metrics.ChurnFailures]);
    }

    [Fact]
    public async Task A_convergence_case_scales_and_restarts_the_deployment_and_times_each_nodes_dataplane_by_watch()
    {
        await using var cluster = new FakeCluster(dataplaneDelay: TimeSpan.FromMilliseconds(150));
        var outcome = await cluster.RunAsync(
            "name: convergence\nrepetitions: 2\nplacement: pod-to-cluster-ip\ncases:\n  - workload: probe\n    rate: "
                + "400\n    endpoints: 4\n",
            FakeCluster.Options("c1") with
            {
                ChurnStepTimeout = TimeSpan.FromSeconds(20),
            }
        );
        Assert.True(outcome.State == RunState.Completed, Support.Results.Failures(outcome));
        foreach (var result in outcome.Results)
        {
            var data = result.Extension<ConvergenceData>(ConvergenceFeature.Key)!;
            output.WriteLine(
                $"repetition {result.Repetition}: p50 {result.Metrics[Metrics.ConvergenceP50Ms]:0.0} ms, max "
                    + $"{result.Metrics[Metrics.ConvergenceMaxMs]:0.0} ms, failures "
                    + $"{result.Metrics[Metrics.ChurnFailures]}, clocks "
                    + string.Join(", ", data.Clocks.Select(c => $"{c.Node} {c.OffsetMs:0.000}±{c.UncertaintyMs:0.000}"))
                    + $", {(result.FinishedAt - result.StartedAt).TotalSeconds:0.0} s"
            );
            // 1→4 is three adds; the restart replaces all four: four adds and four removals.
            Assert.Equal(3 + 4, data.Changes.Count(c => c.Kind == "add"));
            Assert.Equal(4, data.Changes.Count(c => c.Kind == "remove"));
            // The control plane's part: from each request to the first slice change it caused (the fake controller
            // takes 40 ms a step).
            Assert.Equal(["scale to 4", "rollout restart"], data.Actions.Select(a => a.Name));
            var firstAfterScale = data.Changes[0].IssuedUnixUs - data.Actions[0].AtUnixUs;
            var firstAfterRestart =
                data.Changes.First(c => c.IssuedUnixUs > data.Actions[1].AtUnixUs).IssuedUnixUs
                - data.Actions[1].AtUnixUs;
            Assert.InRange(firstAfterScale / 1000.0, 30, 500);
            Assert.InRange(firstAfterRestart / 1000.0, 30, 500);
            Assert.Equal(FakeCluster.NodeNames, data.Nodes.Select(n => n.Node));
            // Every node's dataplane followed each slice 150 ms after it was published; the first probe to the new pod
            // comes
            // after that. Held against when the fake proxy really began to send to the pod, as the controller saw the
            // change:
            // on a busy machine the controller reads the watch event late and the rules go in late, and either moves
            // the figure.
            var reached = data.Nodes.SelectMany(n => n.ReachedMs).OfType<double>().ToArray();
            Assert.Equal(7 * 2, reached.Length);
            foreach (var node in data.Nodes)
            {
                foreach (var (change, ms) in data.Changes.Zip(node.ReachedMs).Where(x => x.First.Added is not null))
                {
                    double programmed =
                        (cluster.Endpoints.FirstProgrammedUnixUs(change.Added!)!.Value - change.IssuedUnixUs) / 1000.0;
                    // Below by up to 50 ms: a probe is stamped when it starts, and on a busy machine one started just
                    // before
                    // the switch may take that long to connect through it.
                    Assert.True(
                        ms is { } r && r >= programmed - 50 && r <= programmed + 1000,
                        $"{node.Node}: {change.Added} reached {ms:0.0} ms after the controller saw it added; the "
                            + $"proxy sent to it from {programmed:0.0} ms"
                    );
                }
            }
            Assert.InRange(result.Metrics[Metrics.ConvergenceP50Ms], 100, 600);
            // Pods that terminated stopped serving at once while the rules still sent to them for 150 ms.
            Assert.True(result.Metrics[Metrics.ChurnFailures] > 0);
            // One machine, one clock: the readings prove no difference, so nothing was moved.
            Assert.All(data.Clocks, c => Assert.Equal(0, c.CorrectionMs));
            Assert.Equal(2, data.Clocks.Count);
            // The probers were finished once the rollout settled, not after the whole budget.
            Assert.InRange(result.FinishedAt - result.StartedAt, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(20));
        }
        var requests = cluster.Api.Requests;
        var deployments = requests
            .Where(r => r.Writes("/deployments/endpoint"))
            .Select(r => JsonNode.Parse(r.Body)!)
            .ToArray();
        // Per repetition: back to 1, scaled to 4, restarted; the restart stamp is kept when scaling back.
        Assert.Equal([1, 4, 4, 1, 4, 4], deployments.Select(d => (int)d["spec"]!["replicas"]!));
        Assert.Equal(
            deployments[2]["spec"]!["template"]!["metadata"]!["annotations"]!.ToJsonString(),
            deployments[3]["spec"]!["template"]!["metadata"]!["annotations"]!.ToJsonString()
        );
        Assert.All(
            deployments.Concat(
                requests.Where(r => r.Writes("/daemonsets/prober")).Select(r => JsonNode.Parse(r.Body)!)
            ),
            d =>
                Assert.True(
                    ManifestRules.Check(d.AsObject()).Count == 0,
                    string.Join("; ", ManifestRules.Check(d.AsObject()))
                )
        );
        Assert.Contains(requests, r =>
            r.PathAndQuery.Contains("/endpointslices?")
            && r.PathAndQuery.Contains("watch=1")
            && r.PathAndQuery.Contains("kubernetes.io%2Fservice-name%3Dchurn")
        );
        DeployFiles.AssertGranted(DeployFiles.Permissions(requests));
    }

    [Fact]
    public void Agent_pods_carry_the_annotations_a_prometheus_scrapes_them_by()
    {
        var template = AgentManifests.EndpointDeployment("ns", "r1", "img:1", 2, "2026-11-22T08:00:00Z")["spec"]![
            "template"
        ]!["metadata"]!["annotations"]!;
        Assert.Equal("true", (string?)template["prometheus.io/scrape"]);
        Assert.Equal($"{AgentManifests.HttpPort}", (string?)template["prometheus.io/port"]);
        Assert.Equal("/metrics", (string?)template["prometheus.io/path"]);
        Assert.Equal("2026-11-22T08:00:00Z", (string?)template[AgentManifests.RestartedAtAnnotation]); // kept
    }

    [Fact]
    public void Workload_manifests_keep_the_rules_the_api_adds_for_templates()
    {
        Assert.Empty(ManifestRules.Check(AgentManifests.ProberDaemonSet("ns", "r1", "img:1")));
        Assert.Empty(
            ManifestRules.Check(AgentManifests.EndpointDeployment("ns", "r1", "img:1", 44, "2026-11-22T08:00:00Z"))
        );
        Assert.Empty(ManifestRules.Check(AgentManifests.ChurnServiceManifest("ns", "r1")));
        var bad = AgentManifests.EndpointDeployment("ns", "r1", "img:1", -1, null);
        bad["spec"]!["template"]!["spec"]!["activeDeadlineSeconds"] = 60;
        bad["spec"]!["template"]!["spec"]!["restartPolicy"] = "Never";
        bad["spec"]!["selector"]!["matchLabels"]![AgentManifests.RoleLabel] = "other";
        var problems = ManifestRules.Check(bad);
        Assert.Contains("Deployment/endpoint: spec.replicas: must be 0 or more", problems);
        Assert.Contains(
            "Deployment/endpoint: spec.template.metadata.labels: `selector` does not match template `labels`",
            problems
        );
        Assert.Contains(
            "Deployment/endpoint: spec.template.spec.restartPolicy: Deployment pods: allowed: Always",
            problems
        );
        Assert.Contains(
            "Deployment/endpoint: spec.template.spec.activeDeadlineSeconds: not supported in a Deployment",
            problems
        );
    }
}

[Trait(Category.Name, Category.Integration)]
public class KubeServiceScaleTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Cases_set_the_number_of_services_and_each_repetition_times_a_new_service_until_it_answers()
    {
        await using var cluster = new FakeCluster { ServiceDelay = TimeSpan.FromMilliseconds(300) };
        var outcome = await cluster.RunAsync(
            "name: service-scale\nrepetitions: 2\nwarmup: 0s\nduration: 500ms\nplacement: "
                + "pod-to-cluster-ip\ncases:\n  - workload: tcp-crr\n    services: [20, 3]\n",
            FakeCluster.Options("s1")
        );
        Assert.True(outcome.State == RunState.Completed, Support.Results.Failures(outcome));
        var reach = outcome.Results.Select(r => r.Metrics[Metrics.ServiceReachableMs]).ToArray();
        output.WriteLine($"reachable after {string.Join(", ", reach.Select(ms => $"{ms:0.0}"))} ms");
        Assert.Equal(4, reach.Length);
        // The fake answers 300 ms after the create, or later when this busy host runs that delay late: each figure
        // is held against when its Service really began to answer (every second create of a reach Service is timed).
        var actual = cluster.ReachDelaysMs.Where((_, i) => i % 2 == 1).ToArray();
        output.WriteLine($"the fake began answering after {string.Join(", ", actual.Select(ms => $"{ms:0.0}"))} ms");
        Assert.Equal(reach.Length, actual.Length);
        foreach (var (measured, real) in reach.Zip(actual))
        {
            Assert.InRange(real!.Value, 290, double.MaxValue);
            Assert.InRange(measured, real.Value - 50, real.Value + 100);
        }
        var requests = cluster.Api.Requests;
        string[] Names(string method) =>
            requests
                .Where(r => r.Method == method && r.PathAndQuery.Contains("/services"))
                .Select(r =>
                    method == "POST"
                        ? (string)JsonNode.Parse(r.Body)!["metadata"]!["name"]!
                        : r.PathAndQuery.Split('/')[^1].Split('?')[0]
                )
                .ToArray();
        // 19 dummies beside the run's own Service, then 17 of them deleted for the case with 3; one reach probe per
        // repetition, each deleted.
        Assert.Equal(19, Names("POST").Count(n => n.StartsWith("dummy-", StringComparison.Ordinal)));
        Assert.Equal(
            Enumerable.Range(2, 17).Select(i => $"dummy-{i:D5}").Order(),
            Names("DELETE").Where(n => n.StartsWith("dummy-", StringComparison.Ordinal)).Order()
        );
        // Per repetition a reach Service: created to learn its address, deleted until that stops answering, created
        // again with it (and deleted).
        Assert.Equal(8, Names("POST").Count(n => n.StartsWith("reach-", StringComparison.Ordinal)));
        Assert.Equal(
            Names("POST").Where(n => n.StartsWith("reach-", StringComparison.Ordinal)).Order(),
            Names("DELETE").Where(n => n.StartsWith("reach-", StringComparison.Ordinal)).Order()
        );
        var again = requests
            .Where(r => r.Method == "POST" && r.Body.Contains("\"reach-1\""))
            .Select(r => JsonNode.Parse(r.Body)!["spec"]!["clusterIP"])
            .ToArray();
        Assert.Equal([null, "127.0.0.1"], again.Select(ip => (string?)ip));
        // The report draws it against the number of services and puts it in the summary table.
        var summaries = CniBench.Cli.Analysis.CaseSummary.From(outcome.Results);
        Assert.Contains(CniBench.Cli.Charts.ReportCharts.ScaleCurves(summaries, "s-"), c =>
            c.Title.Contains("one more Service")
        );
        Assert.Contains(CniBench.Cli.Reporting.Format.ColumnsFor(summaries), c => c.Header == "new service answers ms");
        DeployFiles.AssertGranted(DeployFiles.Permissions(requests));
    }
}

[Trait(Category.Name, Category.Integration)]
public class KubeEgressTests
{
    private static async Task<(RunOutcome Outcome, IReadOnlyList<FakeApiServer.Request> Requests)> RunAsync(
        KubeEgressOptions egress,
        string runId
    )
    {
        await using var cluster = new FakeCluster();
        var outcome = await cluster.RunAsync(
            "name: egress\nrepetitions: 1\nwarmup: 0s\nduration: 500ms\nplacement: pod-to-external\ncases:\n  - "
                + "workload: tcp-rr\n    egress: [direct, gateway]\n",
            FakeCluster.Options(runId) with
            {
                Egress = egress,
            }
        );
        return (outcome, cluster.Api.Requests);
    }

    [Fact]
    public async Task Pods_reach_an_agent_here_directly_and_through_the_runs_egress_policy_and_the_source_is_checked()
    {
        var (outcome, requests) = await RunAsync(
            new KubeEgressOptions(
                "127.0.0.1",
                Policy: "cilium",
                EgressIp: "127.0.0.1",
                EgressNode: "node-a",
                PolicyWait: TimeSpan.FromSeconds(2)
            ),
            "e1"
        );
        Assert.True(outcome.State == RunState.Completed, Support.Results.Failures(outcome));
        Assert.Equal(
            ["pod-to-external (direct), source seen 127.0.0.1", "pod-to-external (gateway), source seen 127.0.0.1"],
            outcome.Results.Select(r => r.AchievedPlacement)
        );
        Assert.All(outcome.Results, r => Assert.True(r.Metrics[Metrics.TransactionsPerSecond] > 100));
        Assert.All(outcome.Results, r => Assert.StartsWith("127.0.0.1:", r.Workload.Target));
        // The policy went in for the gateway case only, for the run's client pods to the external server, and left with
        // the run.
        var applied = requests
            .Where(r =>
                r.PathAndQuery.StartsWith(
                    "/apis/cilium.io/v2/ciliumegressgatewaypolicies/cnibench-e1",
                    StringComparison.Ordinal
                )
            )
            .ToArray();
        Assert.Equal(["PATCH", "DELETE"], applied.Select(r => r.Method));
        var policy = JsonNode.Parse(applied[0].Body)!;
        Assert.Equal("127.0.0.1/32", (string?)policy["spec"]!["destinationCIDRs"]![0]);
        Assert.Equal("127.0.0.1", (string?)policy["spec"]!["egressGateway"]!["egressIP"]);
        Assert.Equal(
            "node-a",
            (string?)policy["spec"]!["egressGateway"]!["nodeSelector"]!["matchLabels"]!["kubernetes.io/hostname"]
        );
        Assert.Equal(
            "client",
            (string?)policy["spec"]!["selectors"]![0]!["podSelector"]!["matchLabels"]![AgentManifests.RoleLabel]
        );
        Assert.True(
            requests.ToList().FindIndex(r => r.Method == "PATCH" && r.PathAndQuery.Contains("ciliumegress"))
                > requests.ToList().FindIndex(r => r.PathAndQuery.Contains("/proxy/v1/jobs")),
            "the policy must not be in place for the direct case"
        );
        DeployFiles.AssertGranted(DeployFiles.Permissions(requests));
        Assert.False(
            File.Exists(Path.Combine(Path.GetTempPath(), "cnibench-e1-external.sock")),
            "the external agent's control socket outlived the run"
        );
    }

    [Fact]
    public async Task A_source_other_than_the_egress_ip_fails_the_case_and_pod_to_external_needs_an_external_server()
    {
        var (outcome, _) = await RunAsync(
            new KubeEgressOptions(
                "127.0.0.1",
                Policy: "antrea",
                EgressIp: "127.0.0.9",
                PolicyWait: TimeSpan.FromSeconds(1)
            ),
            "e2"
        );
        Assert.Equal(ResultState.Ok, outcome.Results[0].State);
        Assert.Equal(ResultState.Failed, outcome.Results[1].State);
        Assert.Equal(
            "source check: the server saw 127.0.0.1; expected 127.0.0.9 (the antrea egress policy's address "
                + "(--egress-ip))",
            outcome.Results[1].Error
        );

        var scenario = CniBench.Cli.Features.SuiteFeatures.Scenarios.Load(
            "name: egress\nplacement: pod-to-external\ncases:\n  - workload: tcp-rr\n    egress: gateway\n",
            "kube.yaml"
        );
        var problems = Featured
            .On(new KubeTarget(null!, new("img", "r", TimeSpan.FromHours(1), TimeSpan.FromMinutes(1))))
            .Validate(scenario);
        Assert.Contains(problems, p =>
            p.Contains(
                "pod-to-external needs --external-address (the address the cluster reaches this machine at) or "
                    + "--external-agent"
            )
        );
        Assert.Contains(problems, p => p.Contains("egress gateway needs --egress-ip"));
    }
}

[Trait(Category.Name, Category.Integration)]
public class KubeTrafficSplitTests(ITestOutputHelper output)
{
    [Fact]
    public async Task A_gateway_splits_by_the_routes_weights_and_each_window_shows_how_close_it_kept_to_them()
    {
        await using var cluster = new FakeCluster();
        // A new connection per request: the fake gateway balances connections, a real one balances requests.
        var outcome = await cluster.RunAsync(
            "name: traffic-split\nrepetitions: 1\nwarmup: 0s\nduration: 6s\nplacement: pod-to-gateway\ncases:\n  - "
                + "workload: http\n    parallel: 8\n    keepAlive: false\n    weights: [80/20, 60/40]\n",
            FakeCluster.Options("t1") with
            {
                GatewayClass = "example-gw",
                GatewayPort = cluster.GatewayPort,
            }
        );
        Assert.True(outcome.State == RunState.Completed, Support.Results.Failures(outcome));
        double[] configured = [20, 40];
        foreach (var (result, expected) in outcome.Results.Zip(configured))
        {
            output.WriteLine(
                $"{result.Case}: share {result.Metrics[Metrics.SplitSharePercent]:0.00}% (configured {expected}), "
                    + $"distance {result.Metrics[Metrics.SplitDistancePercent]:0.00} points, "
                    + $"{result.Metrics[Metrics.TransactionsPerSecond]:0} req/s"
            );
            Assert.Equal($"pod-to-gateway ({(expected == 20 ? "80/20" : "60/40")})", result.AchievedPlacement);
            Assert.InRange(result.Metrics[Metrics.SplitSharePercent], expected - 5, expected + 5);
            Assert.InRange(result.Metrics[Metrics.SplitDistancePercent], 0, 5);
            // 6 s measured: two 5-second windows, the second one shorter (a third when answers still in flight at
            // the window's end land after it, as on a loaded host); every answer counted in one of them.
            var windows = result.Client!.Result!.BackendWindows!;
            Assert.InRange(windows.Count, 2, 3);
            Assert.Equal(result.Client.Result.Backends.Values.Sum(), windows.Sum(w => w.Values.Sum()));
            Assert.Equal(["split-a", "split-b"], windows[0].Keys.Order());
        }
        var requests = cluster.Api.Requests;
        var gateway = JsonNode.Parse(requests.Single(r => r.Writes("/gateways/cnibench")).Body)!;
        Assert.Equal("example-gw", (string?)gateway["spec"]!["gatewayClassName"]);
        var routes = requests
            .Where(r => r.Writes("/httproutes/cnibench"))
            .Select(r => JsonNode.Parse(r.Body)!)
            .ToArray();
        Assert.Equal(
            ["80/20", "60/40"],
            routes.Select(route =>
                $"{route["spec"]!["rules"]![0]!["backendRefs"]![0]!["weight"]}/"
                + $"{route["spec"]!["rules"]![0]!["backendRefs"]![1]!["weight"]}"
            )
        );
        DeployFiles.AssertGranted(DeployFiles.Permissions(requests));

        var first = outcome.Results.Take(1).ToArray();
        var chart = CniBench
            .Cli.Charts.ReportCharts.ForCase(
                first[0].Case,
                CniBench.Cli.Analysis.CaseSummary.From(first),
                first,
                "t-",
                CniBench.Cli.Features.SuiteFeatures.Report().Charts
            )
            .Single(c => c.Id == "t-split");
        Assert.Contains("configured 20%", chart.Svg);
        Assert.Contains("split-b", chart.Svg);
    }
}

[Trait(Category.Name, Category.Integration)]
public class KubeNodeSamplerTests
{
    [Fact]
    public async Task With_the_node_sampler_each_case_reports_both_nodes_cpu_and_memory_and_the_dataplanes_processes()
    {
        await using var cluster = new FakeCluster();
        var outcome = await cluster.RunAsync(
            "name: kube\nrepetitions: 1\nwarmup: 200ms\nduration: 1s\ncases:\n  - workload: tcp-rr\n    placement: "
                + "[pod-to-pod-cross-node, pod-to-pod-same-node]\n",
            FakeCluster.Options("n1") with
            {
                NodeSampler = true,
            }
        );
        Assert.True(outcome.State == RunState.Completed, Support.Results.Failures(outcome));
        foreach (var result in outcome.Results)
        {
            // The fake's nodes are this machine: its CPU is busy with the case itself.
            Assert.InRange(result.Metrics[Metrics.NodeServerCpuPercent], 1, 100.0 * Environment.ProcessorCount);
            Assert.InRange(result.Metrics[Metrics.NodeClientCpuPercent], 1, 100.0 * Environment.ProcessorCount);
            Assert.True(result.Metrics[Metrics.NodeServerMemoryMiB] > 0);
            Assert.Equal(0, result.Metrics[Metrics.KubeProxyCpuPercent]); // no kube-proxy runs here
            Assert.True(result.Metrics.ContainsKey(Metrics.CniCpuPercent));
        }
        var daemonSet = JsonNode
            .Parse(cluster.Api.Requests.Single(r => r.Writes("/daemonsets/node-sampler")).Body)!
            .AsObject();
        Assert.Empty(ManifestRules.Check(daemonSet));
        Assert.True((bool)daemonSet["spec"]!["template"]!["spec"]!["hostPID"]!);
        Assert.Equal("Exists", (string?)daemonSet["spec"]!["template"]!["spec"]!["tolerations"]![0]!["operator"]);
        // Monitor jobs ran on the samplers of both nodes, asking for the dataplane's processes.
        var jobs = cluster
            .Api.Requests.Where(r =>
                r.Method == "POST"
                && r.PathAndQuery.Contains("/pods/node-sampler-")
                && r.PathAndQuery.EndsWith("/v1/jobs", StringComparison.Ordinal)
            )
            .ToArray();
        Assert.Equal(
            ["node-sampler-node-a", "node-sampler-node-b", "node-sampler-node-a"],
            jobs.Select(r => r.PathAndQuery.Split("/pods/")[1].Split(':')[0])
        );
        Assert.All(jobs, r => Assert.Contains("kube-proxy", r.Body));
    }
}

[Trait(Category.Name, Category.Integration)]
public class KubePlacementTests
{
    private static async Task<(RunOutcome? Outcome, string? Error, FakeCluster Cluster)> RunAsync(
        KubeNodePlacement placement
    )
    {
        var cluster = new FakeCluster();
        try
        {
            return (
                await cluster.RunAsync(
                    "name: kube\nrepetitions: 1\nwarmup: 0s\nduration: 300ms\ncases:\n  - workload: tcp-rr\n    "
                        + "placement: pod-to-pod-cross-node\n",
                    FakeCluster.Options("p1") with
                    {
                        Placement = placement,
                    }
                ),
                null,
                cluster
            );
        }
        catch (CniBench.Cli.Targets.TargetException e)
        {
            return (null, e.Message, cluster);
        }
    }

    [Fact]
    public async Task Nodes_are_named_or_chosen_by_zone_and_an_impossible_choice_says_why()
    {
        var (outcome, _, cluster) = await RunAsync(new KubeNodePlacement(ServerNode: "node-b"));
        await using (cluster)
        {
            Assert.Equal(RunState.Completed, outcome!.State);
            var pods = cluster
                .Api.Requests.Where(r => r.Method == "POST" && r.PathAndQuery.Contains("/pods?"))
                .Select(r => JsonNode.Parse(r.Body)!)
                .ToArray();
            Assert.Equal(
                ["server@node-b", "client@node-a"],
                pods.Select(p => $"{p["metadata"]!["name"]}@{p["spec"]!["nodeName"]}")
            );
        }
        var (_, sameZone, c2) = await RunAsync(new KubeNodePlacement(Zones: ZonePlacement.Same));
        await c2.DisposeAsync();
        Assert.Equal("kube: --zones same: no other Ready node in zone zone-a of node-a", sameZone);
        var (crossed, _, c3) = await RunAsync(new KubeNodePlacement(Zones: ZonePlacement.Cross));
        await c3.DisposeAsync();
        Assert.Equal(RunState.Completed, crossed!.State);
        var (_, unknown, c4) = await RunAsync(new KubeNodePlacement(ClientNode: "node-x"));
        await c4.DisposeAsync();
        Assert.Equal(
            "kube: --client-node node-x: no Ready, schedulable node of that name; allowed: node-a, node-b",
            unknown
        );
    }
}
