using System.Text.Json.Nodes;
using CniBench.Tests.Support;

namespace CniBench.Tests.Kube;

/// <summary>`cnibench kube cleanup|check` and `run --target kube` bad input, as processes against an in-process API
/// server.</summary>
[Trait(Category.Name, Category.Integration)]
public class KubeCliTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private static string Kubeconfig(TempDirectory dir, Uri server, string token = "t0k")
    {
        var path = dir.File("kubeconfig");
        File.WriteAllText(
            path,
            $"""
            apiVersion: v1
            kind: Config
            current-context: fake
            clusters:
              - name: fake
                cluster:
                  server: "{server}"
            contexts:
              - name: fake
                context:
                  cluster: fake
                  user: me
            users:
              - name: me
                user:
                  token: {token}
            """
        );
        return path;
    }

    [Fact]
    public async Task Cleanup_deletes_the_namespaces_crashed_runs_left_and_nothing_else()
    {
        await using var api = new FakeApiServer(
            (r, response) =>
                r.Method == "GET" && r.PathAndQuery.StartsWith("/apis/crd.antrea.io/", StringComparison.Ordinal)
                    ? FakeApiServer.Status(
                        response,
                        404,
                        "NotFound",
                        "the server could not find the requested resource"
                    )
                : r.Method == "GET" && r.PathAndQuery.StartsWith("/apis/cilium.io/", StringComparison.Ordinal)
                    ? FakeApiServer.Json(
                        response,
                        new JsonObject
                        {
                            ["items"] = new JsonArray(
                                new JsonObject { ["metadata"] = new JsonObject { ["name"] = "cnibench-aa11" } }
                            ),
                        }
                    )
                : r.Method == "GET"
                    ? FakeApiServer.Json(
                        response,
                        new JsonObject
                        {
                            ["kind"] = "NamespaceList",
                            ["metadata"] = new JsonObject { ["resourceVersion"] = "3" },
                            ["items"] = new JsonArray(
                                new JsonObject
                                {
                                    ["metadata"] = new JsonObject
                                    {
                                        ["name"] = "cnibench-aa11",
                                        ["labels"] = new JsonObject { ["cnibench.dev/run"] = "aa11" },
                                    },
                                },
                                new JsonObject
                                {
                                    ["metadata"] = new JsonObject
                                    {
                                        ["name"] = "cnibench-bb22",
                                        ["labels"] = new JsonObject { ["cnibench.dev/run"] = "bb22" },
                                    },
                                }
                            ),
                        }
                    )
                : FakeApiServer.Json(response, new JsonObject { ["kind"] = "Namespace" })
        );
        using var dir = new TempDirectory();
        var (code, stdout, stderr) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "kube",
            "cleanup",
            "--kubeconfig",
            Kubeconfig(dir, api.Uri)
        );
        Assert.True(code == 0, stderr);
        Assert.Contains("deleted namespace cnibench-aa11 (run aa11)", stdout);
        Assert.Contains("2 namespace(s) and 1 egress policies removed from context fake", stdout);
        Assert.Equal(
            "/api/v1/namespaces?labelSelector=app.kubernetes.io%2Fmanaged-by%3Dcnibench",
            api.Requests[0].PathAndQuery
        );
        // Cluster-scoped egress policies do not go with a namespace; a CNI's kind the cluster lacks (404) is passed
        // over.
        Assert.Equal(
            [
                "/api/v1/namespaces/cnibench-aa11",
                "/api/v1/namespaces/cnibench-bb22",
                "/apis/cilium.io/v2/ciliumegressgatewaypolicies/cnibench-aa11",
            ],
            api.Requests.Where(r => r.Method == "DELETE").Select(r => r.PathAndQuery)
        );
    }

    [Fact]
    public async Task Check_names_each_missing_permission_and_fails()
    {
        await using var api = new FakeApiServer(
            (r, response) =>
            {
                var path = r.PathAndQuery.Split('?')[0];
                if (path == "/version")
                    return FakeApiServer.Json(response, new JsonObject { ["gitVersion"] = "v1.30.2" });
                if (path.EndsWith("/selfsubjectaccessreviews", StringComparison.Ordinal))
                {
                    var review = JsonNode.Parse(r.Body)!.AsObject();
                    var attributes = review["spec"]!["resourceAttributes"]!;
                    bool allowed =
                        !(
                            (string?)attributes["resource"] == "pods"
                            && (string?)attributes["subresource"] == "proxy"
                            && (string?)attributes["verb"] == "create"
                        )
                        && (string?)attributes["group"] != "cilium.io";
                    review["status"] = new JsonObject { ["allowed"] = allowed };
                    return FakeApiServer.Json(response, review, 201);
                }
                if (path == "/api/v1/nodes")
                    return FakeApiServer.Json(
                        response,
                        new JsonObject
                        {
                            ["items"] = new JsonArray(
                                new JsonObject
                                {
                                    ["metadata"] = new JsonObject
                                    {
                                        ["name"] = "n1",
                                        ["labels"] = new JsonObject { ["agenttype"] = "server" },
                                    },
                                }
                            ),
                        }
                    );
                return FakeApiServer.Status(response, 403, "Forbidden", "forbidden");
            }
        );
        using var dir = new TempDirectory();
        var (code, stdout, _) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "kube",
            "check",
            "--kubeconfig",
            Kubeconfig(dir, api.Uri)
        );
        Assert.Equal(1, code);
        var (doctorCode, doctorOut, _) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "doctor",
            "--target",
            "kube",
            "--kubeconfig",
            Kubeconfig(dir, api.Uri)
        );
        Assert.Equal(1, doctorCode);
        Assert.Contains("the kube target cannot run here", doctorOut);
        Assert.Contains("missing: create pods/proxy", doctorOut);
        Assert.Contains("Kubernetes v1.30.2", stdout);
        Assert.Contains(
            "FAIL  permissions                  missing: create pods/proxy (deploy/rbac.yaml grants them)",
            stdout
        );
        Assert.Contains(
            "warn  traffic-split/egress permissions missing: patch ciliumegressgatewaypolicies.cilium.io, delete "
                + "ciliumegressgatewaypolicies.cilium.io (only traffic-split, egress policies and --network-policy "
                + "need them)",
            stdout
        );
        Assert.Contains(
            "1 node(s): cross-node and host-to-host cases need 2; 1 labelled agenttype=server/client",
            stdout
        );
        // the CNI: kube-system's DaemonSets are forbidden here
        Assert.Contains("not readable with these credentials", stdout);
    }

    [Fact]
    public async Task Run_on_kube_takes_the_placement_sampler_and_egress_flags_and_stores_what_it_measured()
    {
        await using var cluster = new FakeCluster();
        using var dir = new TempDirectory();
        File.WriteAllText(
            dir.File("kube.yaml"),
            "name: kube\ncooldown: none\nrepetitions: 1\nwarmup: 0s\nduration: 1s\ncases:\n  - workload: tcp-rr\n    "
                + "placement: [pod-to-pod-cross-node, pod-to-external]\n"
        );
        var (code, stdout, stderr) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            TimeSpan.FromSeconds(120),
            "run",
            "--target",
            "kube",
            "--kubeconfig",
            Kubeconfig(dir, cluster.Api.Uri),
            "-f",
            dir.File("kube.yaml"),
            "--no-report",
            "--server-node",
            "node-b",
            "--zones",
            "cross",
            "--node-sampler",
            "--external-address",
            "127.0.0.1"
        );
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("run ", stdout);
        var requests = cluster.Api.Requests;
        var pods = requests
            .Where(r => r.Method == "POST" && r.PathAndQuery.Contains("/pods?"))
            .Select(r => JsonNode.Parse(r.Body)!)
            .ToArray();
        Assert.Equal(
            ["server@node-b", "client@node-a"],
            pods.Select(p => $"{p["metadata"]!["name"]}@{p["spec"]!["nodeName"]}")
        );
        Assert.Contains(requests, r => r.Writes("/daemonsets/node-sampler"));
        Assert.Contains(requests, r =>
            r.Method == "DELETE" && r.PathAndQuery.StartsWith("/api/v1/namespaces/cnibench-", StringComparison.Ordinal)
        );
        using var store = CniBench.Cli.Storage.ResultStore.Open(dir.File("cnibench.db"));
        var results = store.Results(store.ListRuns().Single().Id);
        Assert.Equal(
            ["pod-to-pod-cross-node", "pod-to-external (direct), source seen 127.0.0.1"],
            results.Select(r => r.AchievedPlacement)
        );
        Assert.All(results, r =>
            Assert.True(r.Metrics.ContainsKey(CniBench.Contracts.Measurement.Metrics.NodeClientCpuPercent))
        );
    }

    [Theory]
    [InlineData("--context", "prod", "--context: no context 'prod'; allowed: fake")]
    [InlineData("--kubeconfig", "/no/such/kubeconfig", "--kubeconfig: /no/such/kubeconfig: no such file")]
    [InlineData("--zones", "diagonal", "--zones: 'diagonal' is not known; allowed: any, same, cross")]
    [InlineData("--egress-policy", "calico", "--egress-policy: 'calico' is not known; allowed: none, cilium, antrea")]
    [InlineData("--external-address", "my-laptop", "--external-address: 'my-laptop' is not an IP address")]
    [InlineData(
        "--external-agent",
        "ftp://10.0.0.1",
        "--external-agent: 'ftp://10.0.0.1' is not an agent URL; allowed: http://IP:PORT"
    )]
    public async Task Run_on_kube_with_a_bad_kubeconfig_or_context_says_what_and_exits_2(
        string flag,
        string value,
        string message
    )
    {
        using var dir = new TempDirectory();
        var kubeconfig = Kubeconfig(dir, new Uri("http://127.0.0.1:9/"));
        string[] args =
            flag == "--kubeconfig"
                ? ["run", "--target", "kube", flag, value]
                : ["run", "--target", "kube", "--kubeconfig", kubeconfig, flag, value];
        var (code, _, stderr) = await ChildProcess.RunAsync("cnibench", dir.Path, Limit, args);
        Assert.True(code == 2, stderr);
        Assert.Contains(message, stderr);
        Assert.DoesNotContain("   at ", stderr);
    }
}
