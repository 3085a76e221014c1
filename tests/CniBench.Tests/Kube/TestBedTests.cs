using CniBench.Tests.Support;
using CniBench.Tests.Support.TestBed;

namespace CniBench.Tests.Kube;

/// <summary>
/// The kube target, end to end through the CLI, against a real Kubernetes v1.32 control plane with the real
/// kube-proxy on every node (see <see cref="TestBed"/>).
/// </summary>
[Collection(TestBedCollection.Name)]
[Trait(Category.Name, Category.Integration)]
public class TestBedTests(TestBed bed, ITestOutputHelper output)
{
    private static readonly TimeSpan RunLimit = TimeSpan.FromMinutes(20);

    /// <summary>The scale of the convergence and service-scale runs: small by default; the full suites' sizes for
    /// figures
    /// (CNIBENCH_TESTBED_ENDPOINTS=44 CNIBENCH_TESTBED_RATE=500 CNIBENCH_TESTBED_SERVICES="1, 1000").</summary>
    private static string Setting(string name, string fallback) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } v ? v : fallback;

    /// <summary>Runs the CLI; what it printed goes to the test's output (dotnet test --logger
    /// "console;verbosity=detailed" shows it).</summary>
    private async Task<(int Code, string Stdout, string Stderr)> CliAsync(TempDirectory dir, params string[] args)
    {
        var result = await ChildProcess.RunAsync("cnibench", dir.Path, RunLimit, args);
        output.WriteLine($"cnibench {string.Join(' ', args)}\n{result.Stdout}{result.Stderr}");
        if (bed.Kubelet.Errors.Count > 0)
            output.WriteLine($"test bed kubelet: {string.Join("; ", bed.Kubelet.Errors)}");
        return result;
    }

    [Fact]
    public async Task Kube_check_passes_against_the_real_control_plane()
    {
        bed.Require();
        using var dir = new TempDirectory();
        var (code, stdout, stderr) = await CliAsync(dir, "kube", "check", "--kubeconfig", bed.Plane.Kubeconfig);
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("v1.32", stdout);
    }

    [Fact]
    public async Task The_dataplane_suite_completes_with_every_case_ok()
    {
        bed.Require();
        using var dir = new TempDirectory();
        var (code, stdout, stderr) = await CliAsync(dir, bed.ShortSuiteRun("dataplane", dir.File("results.db")));
        Assert.True(code == 0, $"{stdout}\n{stderr}\nlogs: {bed.LogDirectory}");
        Assert.DoesNotContain("failed", stdout);
        // The run ended once its namespace was gone, not while its pods were still stopping.
        var (left, _) = await bed.Kube.ListAsync(
            CniBench.Cli.Targets.Kube.Api.KubeResource.Core("namespaces"),
            "app.kubernetes.io/managed-by=cnibench",
            TestContext.Current.CancellationToken
        );
        Assert.Empty(left.Select(n => (string?)n["metadata"]?["name"]));
    }

    [Theory]
    [InlineData("iptables")]
    [InlineData("nftables")]
    public async Task Convergence_is_measured_through_the_real_kube_proxy(string mode)
    {
        bed.Require();
        await bed.UseProxyModeAsync(mode, TestContext.Current.CancellationToken);
        using var dir = new TempDirectory();
        File.WriteAllText(
            dir.File("convergence.yaml"),
            $$"""
            name: convergence-small
            repetitions: 1
            placement: pod-to-cluster-ip
            cases:
              - name: scale-and-restart
                workload: probe
                rate: {{Setting("CNIBENCH_TESTBED_RATE", "200")}}
                endpoints: {{Setting("CNIBENCH_TESTBED_ENDPOINTS", "6")}}
            """
        );
        var (code, stdout, stderr) = await CliAsync(
            dir,
            "run",
            "--target",
            "kube",
            "-f",
            dir.File("convergence.yaml"),
            "--kubeconfig",
            bed.Plane.Kubeconfig,
            "--config",
            $"kube-proxy-{mode}",
            "--no-report",
            "--db",
            dir.File("results.db")
        );
        Assert.True(code == 0, $"{stdout}\n{stderr}\nlogs: {bed.LogDirectory}");
        Assert.True(
            stdout.Contains("1/1 ok", StringComparison.Ordinal)
                && stdout.Contains("converged p50 ms", StringComparison.Ordinal),
            stdout
        );
        // Endpoints the rollout deleted before a node reached them are shown apart, not failed.
        Assert.Contains("removed before reached", stdout);
        // The rules that carried it are the mode's own: kube-proxy's nftables table, or its iptables chains.
        var node = bed.Nodes[0].Namespace;
        var rules =
            mode == "nftables"
                ? await CniBench.Cli.Targets.Lab.Network.LabShell.RunAsync(
                    "ip",
                    ["netns", "exec", node, "nft", "list", "table", "ip", "kube-proxy"],
                    null,
                    default
                )
                : await CniBench.Cli.Targets.Lab.Network.LabShell.RunAsync(
                    "ip",
                    ["netns", "exec", node, "iptables-save", "-t", "nat"],
                    null,
                    default
                );
        Assert.Contains(mode == "nftables" ? "service-" : "KUBE-SVC-", rules);
    }

    [Theory]
    [InlineData("iptables")]
    [InlineData("nftables")]
    public async Task Service_scale_runs_at_1_and_200_services(string mode)
    {
        bed.Require();
        await bed.UseProxyModeAsync(mode, TestContext.Current.CancellationToken);
        using var dir = new TempDirectory();
        var services = Setting("CNIBENCH_TESTBED_SERVICES", "1, 200");
        File.WriteAllText(
            dir.File("scale.yaml"),
            $$"""
            name: service-scale-small
            repetitions: 1
            warmup: 0s
            duration: 1s
            placement: pod-to-cluster-ip
            cases:
              - name: tcp-crr
                workload: tcp-crr
                parallel: 2
                requestSize: 1
                responseSize: 1
                services: [{{services}}]
              - name: tcp-rr
                workload: tcp-rr
                parallel: 2
                requestSize: 1
                responseSize: 1
                services: [{{services}}]
            """
        );
        var (code, stdout, stderr) = await CliAsync(
            dir,
            "run",
            "--target",
            "kube",
            "-f",
            dir.File("scale.yaml"),
            "--kubeconfig",
            bed.Plane.Kubeconfig,
            "--config",
            $"kube-proxy-{mode}",
            "--node-sampler",
            "--no-report",
            "--db",
            dir.File("results.db")
        );
        Assert.True(code == 0, $"{stdout}\n{stderr}\nlogs: {bed.LogDirectory}");
        Assert.Equal(
            2 * services.Split(',').Length,
            stdout.Split('\n').Count(l => l.Contains("1/1 ok", StringComparison.Ordinal))
        );
        // Every case began once its Service answered and, read by the node samplers, the proxies had gone quiet.
        using var store = CniBench.Cli.Storage.ResultStore.Open(dir.File("results.db"));
        var results = store.Results(store.ListRuns().Single().Id);
        foreach (var r in results)
        {
            Assert.True(r.Metrics.ContainsKey(CniBench.Contracts.Measurement.Metrics.ServiceSettleMs), r.Case);
            Assert.InRange(
                r.Metrics[CniBench.Contracts.Measurement.Metrics.DataplaneQuietMs],
                900,
                CniBench.Cli.Targets.Kube.DataplaneQuiet.Limit.TotalMilliseconds + 5000
            );
            Assert.True(r.Metrics.ContainsKey(CniBench.Contracts.Measurement.Metrics.KubeProxyCpuPercent), r.Case);
            output.WriteLine(
                $"{r.Case}: quiet after {r.Metrics[CniBench.Contracts.Measurement.Metrics.DataplaneQuietMs]:0} ms, "
                    + $"kube-proxy {r.Metrics[CniBench.Contracts.Measurement.Metrics.KubeProxyCpuPercent]:0.0}% in the "
                    + $"window"
            );
        }
    }

    [Fact]
    public async Task A_transfer_case_counts_its_pods_bytes_and_classes_the_nodes_flows_by_zone()
    {
        bed.Require();
        await bed.UseProxyModeAsync("iptables", TestContext.Current.CancellationToken);
        using var dir = new TempDirectory();
        // The built-in suite's case, with two client pods and two servers: two Deployments behind one Service.
        File.WriteAllText(
            dir.File("transfer.yaml"),
            CniBench
                .Cli.Scenarios.ScenarioLoader.BuiltInText("transfer", "kube")!
                .Replace("    parallel: 200\n", "    parallel: 50\n    clientPods: 2\n    servers: 2\n")
        );
        var (code, stdout, stderr) = await CliAsync(
            dir,
            "run",
            "--target",
            "kube",
            "-f",
            dir.File("transfer.yaml"),
            "--warmup",
            "1s",
            "--duration",
            "3s",
            "--kubeconfig",
            bed.Plane.Kubeconfig,
            "--node-sampler",
            "--no-report",
            "--db",
            dir.File("results.db")
        );
        Assert.True(code == 0, $"{stdout}\n{stderr}\nlogs: {bed.LogDirectory}");
        using var store = CniBench.Cli.Storage.ResultStore.Open(dir.File("results.db"));
        var result = Assert.Single(store.Results(store.ListRuns().Single().Id));
        var t = result.Extension<CniBench.Cli.Transfer.TransferData>(CniBench.Cli.Transfer.TransferData.Key)!;
        Assert.Null(t.Balance);
        Assert.Equal(bed.Nodes.Select(n => n.Name).Order(), t.Nodes.Select(n => n.Node).Order());
        Assert.All(t.Nodes, n => Assert.Null(n.Unavailable));
        Assert.Equal(bed.Nodes.Select(n => n.Zone).Distinct().Order(), t.Nodes.Select(n => n.Zone).Distinct().Order());
        // Every byte the pods sent, once, in the flow classes: conntrack counts IP bytes, the interfaces also count
        // each frame's 14-byte Ethernet header, a fifth of a bare ACK's 66 (one clean run read 0.84).
        long podsSent = t.Pods.Sum(p => p.SentBytes);
        long benchmark = t.Classes.Where(c => c.Benchmark).Sum(c => c.Bytes);
        Assert.InRange(benchmark, podsSent * 0.78, podsSent * 1.02);
        // Other traffic (kube-proxy's watch of the API server, an address outside the cluster's ranges) may leave;
        // the benchmark's never does.
        Assert.DoesNotContain(t.Classes, c =>
            c.Benchmark && c.Class == CniBench.Cli.Transfer.TrafficClass.ToInternet && c.Bytes > 0
        );
        Assert.Equal(2, t.Pods.Count(p => p.Role == "client"));
        Assert.Equal(2, t.Pods.Count(p => p.Role == "server"));
        // Both client pods sent: the second ran the case's workload beside the first.
        Assert.All(t.Pods.Where(p => p.Role == "client"), p => Assert.True(p.SentBytes > 100_000, p.Pod));
        foreach (var c in t.Classes.Where(c => c.Benchmark))
            output.WriteLine($"{c.Family} {c.Class}: {c.Bytes} B");
        output.WriteLine($"{benchmark} B of {podsSent} B the pods sent");
    }

    private const string SmallDataplane = """
        name: dataplane-small
        repetitions: 1
        warmup: 0s
        duration: 1s
        placement: [pod-to-pod-cross-node, pod-to-cluster-ip, pod-to-node-port]
        cases:
          - name: tcp-rr
            workload: tcp-rr
            requestSize: 1
            responseSize: 1
          - name: tls-crr
            workload: tls-crr
            placement: pod-to-cluster-ip
        """;

    [Fact]
    public async Task A_run_works_with_a_service_account_bound_only_to_the_shipped_role()
    {
        bed.Require();
        var ct = TestContext.Current.CancellationToken;
        // deploy/rbac.yaml as shipped: the ClusterRole, bound to ServiceAccount default/cnibench.
        foreach (var document in DeployFiles.Documents(Path.Combine(DeployFiles.Root(), "deploy", "rbac.yaml")))
        {
            var kind = (string)document["kind"]!;
            var name = (string)document["metadata"]!["name"]!;
            await bed.Kube.ApplyAsync(
                new CniBench.Cli.Targets.Kube.Api.KubeResource(
                    "rbac.authorization.k8s.io",
                    "v1",
                    kind == "ClusterRole" ? "clusterroles" : "clusterrolebindings",
                    null,
                    name
                ),
                document,
                ct
            );
        }
        await bed.Kube.ApplyAsync(
            CniBench.Cli.Targets.Kube.Api.KubeResource.Core("serviceaccounts", "default", "cnibench"),
            new System.Text.Json.Nodes.JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "ServiceAccount",
                ["metadata"] = new System.Text.Json.Nodes.JsonObject
                {
                    ["name"] = "cnibench",
                    ["namespace"] = "default",
                },
            },
            ct
        );
        var issued = await bed.Kube.CreateAsync(
            CniBench.Cli.Targets.Kube.Api.KubeResource.Core("serviceaccounts", "default", "cnibench") with
            {
                Subresource = "token",
            },
            new System.Text.Json.Nodes.JsonObject
            {
                ["apiVersion"] = "authentication.k8s.io/v1",
                ["kind"] = "TokenRequest",
                ["spec"] = new System.Text.Json.Nodes.JsonObject { ["expirationSeconds"] = 3600 },
            },
            ct
        );
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("token"), (string)issued["status"]!["token"]!);
        File.WriteAllText(
            dir.File("sa.kubeconfig"),
            $$"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: bed
              cluster:
                server: "https://127.0.0.1:{{ControlPlane.ApiPort}}"
                certificate-authority: {{ControlPlane.StateDirectory}}/pki/ca.crt
            users:
            - name: cnibench
              user: {tokenFile: {{dir.File("token")}}}
            contexts:
            - name: bed
              context: {cluster: bed, user: cnibench}
            current-context: bed
            """
        );
        File.WriteAllText(dir.File("small.yaml"), SmallDataplane);
        var (checkCode, checkOut, checkErr) = await CliAsync(
            dir,
            "kube",
            "check",
            "--kubeconfig",
            dir.File("sa.kubeconfig")
        );
        Assert.True(checkCode == 0, checkOut + checkErr);
        var (code, stdout, stderr) = await CliAsync(
            dir,
            "run",
            "--target",
            "kube",
            "-f",
            dir.File("small.yaml"),
            "--kubeconfig",
            dir.File("sa.kubeconfig"),
            "--node-sampler",
            "--no-report",
            "--db",
            dir.File("results.db")
        );
        Assert.True(code == 0, $"{stdout}\n{stderr}\nlogs: {bed.LogDirectory}");
        Assert.Equal(4, stdout.Split('\n').Count(l => l.Contains("1/1 ok", StringComparison.Ordinal)));
        Assert.Contains("tls-crr 1/1 ok", stdout, StringComparison.Ordinal);
        // The service account may not do more than the role says: it cannot read the cluster's own secrets.
        using var limited = new CniBench.Cli.Targets.Kube.Api.KubeClient(
            CniBench.Cli.Targets.Kube.Api.KubeConfig.Load(dir.File("sa.kubeconfig"), null, null)
        );
        var denied = await Assert.ThrowsAsync<CniBench.Cli.Targets.Kube.Api.KubeApiException>(() =>
            limited.ListAsync(CniBench.Cli.Targets.Kube.Api.KubeResource.Core("clusterroles"), null, ct)
        );
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, denied.Status);
    }

    [Fact]
    public async Task After_the_controller_is_killed_mid_run_kube_cleanup_leaves_nothing_of_the_run()
    {
        bed.Require();
        Requires.SignalReachesChildren(ChildProcess.SIGKILL);
        var ct = TestContext.Current.CancellationToken;
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("long.yaml"), SmallDataplane.Replace("duration: 1s", "duration: 60s"));
        await using (
            var cli = ChildProcess.Start(
                "cnibench",
                dir.Path,
                "run",
                "--target",
                "kube",
                "-f",
                dir.File("long.yaml"),
                "--kubeconfig",
                bed.Plane.Kubeconfig,
                "--no-report",
                "--db",
                dir.File("results.db")
            )
        )
        {
            // Killed once its agents run: no cleanup of its own happens.
            var deadline = DateTime.UtcNow.AddMinutes(2);
            while (bed.Kubelet.RunningPods < 2 && DateTime.UtcNow < deadline)
                await Task.Delay(200, ct);
            Assert.True(bed.Kubelet.RunningPods >= 2, $"the run's agents never started: {cli.Stdout}{cli.Stderr}");
            await Task.Delay(TimeSpan.FromSeconds(3), ct);
            cli.Signal(ChildProcess.SIGKILL);
            await cli.WaitAsync(TimeSpan.FromSeconds(10));
        }
        var (left, _) = await bed.Kube.ListAsync(
            CniBench.Cli.Targets.Kube.Api.KubeResource.Core("namespaces"),
            "app.kubernetes.io/managed-by=cnibench",
            ct
        );
        Assert.NotEmpty(left); // the run's namespace outlived its controller

        var (code, stdout, stderr) = await CliAsync(dir, "kube", "cleanup", "--kubeconfig", bed.Plane.Kubeconfig);
        Assert.True(code == 0, stdout + stderr);
        var gone = DateTime.UtcNow.AddMinutes(2);
        while (DateTime.UtcNow < gone)
        {
            (left, _) = await bed.Kube.ListAsync(
                CniBench.Cli.Targets.Kube.Api.KubeResource.Core("namespaces"),
                "app.kubernetes.io/managed-by=cnibench",
                ct
            );
            if (left.Count == 0 && bed.Kubelet.RunningPods == 0)
                break;
            await Task.Delay(500, ct);
        }
        Assert.Empty(left.Select(n => (string?)n["metadata"]?["name"]));
        Assert.Equal(0, bed.Kubelet.RunningPods); // every agent process of the run stopped, every pod namespace removed
    }
}
