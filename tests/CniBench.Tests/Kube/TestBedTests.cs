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
}
