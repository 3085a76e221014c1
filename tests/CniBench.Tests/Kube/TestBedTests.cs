using CniBench.Tests.Support;
using CniBench.Tests.Support.TestBed;

namespace CniBench.Tests.Kube;

/// <summary>
/// The kube target, end to end through the CLI, against a real Kubernetes v1.32 control plane with the real
/// kube-proxy on every node (see <see cref="TestBed"/>).
/// </summary>
[Collection(TestBedCollection.Name)]
[Trait(Category.Name, Category.Integration)]
public class TestBedTests(TestBed bed)
{
    private static readonly TimeSpan RunLimit = TimeSpan.FromMinutes(8);

    private async Task<(int Code, string Stdout, string Stderr)> CliAsync(TempDirectory dir, params string[] args)
    {
        var result = await ChildProcess.RunAsync("cnibench", dir.Path, RunLimit, args);
        if (bed.Kubelet.Errors.Count > 0) Console.WriteLine($"test bed kubelet: {string.Join("; ", bed.Kubelet.Errors)}");
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
        var (code, stdout, stderr) = await CliAsync(dir, "run", "--target", "kube", "--suite", "dataplane", "--kubeconfig", bed.Plane.Kubeconfig,
            "-r", "1", "-d", "1s", "--warmup", "0s", "--no-report", "--db", dir.File("results.db"));
        Assert.True(code == 0, $"{stdout}\n{stderr}\nlogs: {bed.LogDirectory}");
        Assert.DoesNotContain("failed", stdout);
    }

    [Theory]
    [InlineData("iptables")]
    [InlineData("nftables")]
    public async Task Convergence_is_measured_through_the_real_kube_proxy(string mode)
    {
        bed.Require();
        await bed.UseProxyModeAsync(mode, TestContext.Current.CancellationToken);
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("convergence.yaml"), """
            name: convergence-small
            repetitions: 1
            placement: pod-to-cluster-ip
            cases:
              - name: scale-and-restart
                workload: probe
                rate: 200
                endpoints: 6
            """);
        var (code, stdout, stderr) = await CliAsync(dir, "run", "--target", "kube", "-f", dir.File("convergence.yaml"), "--kubeconfig", bed.Plane.Kubeconfig,
            "--config", $"kube-proxy-{mode}", "--no-report", "--db", dir.File("results.db"));
        Assert.True(code == 0, $"{stdout}\n{stderr}\nlogs: {bed.LogDirectory}");
        Assert.True(stdout.Contains("1/1 ok", StringComparison.Ordinal) && stdout.Contains("converged p50 ms", StringComparison.Ordinal), stdout);
        // The rules that carried it are the mode's own: kube-proxy's nftables table, or its iptables chains.
        var node = bed.Nodes[0].Namespace;
        var rules = mode == "nftables"
            ? await CniBench.Cli.Lab.LabShell.RunAsync("ip", ["netns", "exec", node, "nft", "list", "table", "ip", "kube-proxy"], null, default)
            : await CniBench.Cli.Lab.LabShell.RunAsync("ip", ["netns", "exec", node, "iptables-save", "-t", "nat"], null, default);
        Assert.Contains(mode == "nftables" ? "service-" : "KUBE-SVC-", rules);
    }

    [Fact]
    public async Task Service_scale_runs_at_1_and_200_services()
    {
        bed.Require();
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("scale.yaml"), """
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
                services: [1, 200]
            """);
        var (code, stdout, stderr) = await CliAsync(dir, "run", "--target", "kube", "-f", dir.File("scale.yaml"), "--kubeconfig", bed.Plane.Kubeconfig,
            "--no-report", "--db", dir.File("results.db"));
        Assert.True(code == 0, $"{stdout}\n{stderr}\nlogs: {bed.LogDirectory}");
        Assert.Equal(2, stdout.Split('\n').Count(l => l.Contains("1/1 ok", StringComparison.Ordinal)));
    }
}
