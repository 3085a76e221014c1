using System.Diagnostics;
using CniBench.Cli.Targets.Kube.Api;

namespace CniBench.Tests.Support.TestBed;

/// <summary>
/// The real Kubernetes control plane (etcd, kube-apiserver, controller-manager, scheduler) that
/// ../shared/k8s/control-plane.sh starts, on ports of its own and a fresh etcd each time; the binaries and
/// certificates are kept between test runs in <see cref="StateDirectory"/> (unpacking takes seconds).
/// </summary>
public sealed class ControlPlane : IAsyncDisposable
{
    public const string StateDirectory = "/tmp/cnibench-testbed";
    public const int ApiPort = 16443,
        EtcdPort = 12379;

    private readonly string _script;
    private readonly Dictionary<string, string> _environment;

    private ControlPlane(string script, string advertise)
    {
        _script = script;
        _environment = new()
        {
            ["K8S_DIR"] = StateDirectory,
            ["K8S_ADVERTISE"] = advertise,
            ["K8S_PORT"] = $"{ApiPort}",
            ["K8S_ETCD_PORT"] = $"{EtcdPort}",
        };
    }

    /// <summary>The admin kubeconfig (https://127.0.0.1:PORT) for the controller and the test.</summary>
    public string Kubeconfig => Path.Combine(StateDirectory, "admin.kubeconfig");

    /// <summary>The admin kubeconfig that reaches the API at the advertised address: for kube-proxy inside node
    /// namespaces.</summary>
    public string AdvertisedKubeconfig => Path.Combine(StateDirectory, "admin-advertised.kubeconfig");

    public string BinDirectory => Path.Combine(StateDirectory, "bin");
    public string Logs => Path.Combine(StateDirectory, "logs");

    /// <summary>Where the scripts and binaries are: ../shared/k8s from the repository, or $CNIBENCH_K8S_DIR.</summary>
    public static string? FindScript()
    {
        if (Environment.GetEnvironmentVariable("CNIBENCH_K8S_DIR") is { Length: > 0 } dir)
            return Path.Combine(dir, "control-plane.sh");
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            var candidate = Path.Combine(d.FullName, "shared", "k8s", "control-plane.sh");
            if (File.Exists(candidate))
                return candidate;
        }
        return null;
    }

    /// <summary>Why the control plane cannot run here, or null.</summary>
    public static string? Missing()
    {
        if (!Environment.IsPrivilegedProcess)
            return "not root: the test bed creates network namespaces and runs kube-proxy";
        var script = FindScript();
        if (script is null || !File.Exists(Path.Combine(Path.GetDirectoryName(script)!, "kube-apiserver.xz")))
            return "the Kubernetes control-plane binaries are not here (../shared/k8s or $CNIBENCH_K8S_DIR)";
        var tools = new[] { "etcd", "openssl", "curl", "xz", "ip", "iptables-restore", "nft" }
            .Where(t => !Requires.OnPath(t))
            .ToArray();
        return tools.Length > 0
            ? $"the test bed needs {string.Join(", ", tools)} (apt-get install etcd-server openssl curl xz-utils "
                + $"iproute2 iptables nftables; .ci/run does)"
            : null;
    }

    /// <summary>Starts it with an empty etcd; <paramref name="advertise"/> is the address pods reach the API server
    /// at.</summary>
    public static async Task<ControlPlane> StartAsync(string advertise, CancellationToken cancellationToken)
    {
        var plane = new ControlPlane(FindScript()!, advertise);
        await plane.RunScriptAsync("stop", cancellationToken);
        // A fresh cluster every time: no objects left from an earlier run; certificates are remade when the address
        // changes.
        if (Directory.Exists(Path.Combine(StateDirectory, "etcd")))
            Directory.Delete(Path.Combine(StateDirectory, "etcd"), recursive: true);
        var marker = Path.Combine(StateDirectory, "advertised");
        if (
            File.Exists(marker)
            && File.ReadAllText(marker) != advertise
            && Directory.Exists(Path.Combine(StateDirectory, "pki"))
        )
            Directory.Delete(Path.Combine(StateDirectory, "pki"), recursive: true);
        Directory.CreateDirectory(StateDirectory);
        File.WriteAllText(marker, advertise);
        if (Directory.Exists(plane.Logs))
            Directory.Delete(plane.Logs, recursive: true);
        var (code, output) = await plane.RunScriptAsync("start", cancellationToken);
        if (code != 0)
            throw new InvalidOperationException($"control-plane.sh start failed ({code}): {output}");
        return plane;
    }

    public KubeClient Client() => new(KubeConfig.Load(Kubeconfig, null, null));

    private async Task<(int Code, string Output)> RunScriptAsync(string verb, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            RedirectStandardInput = true, // not the test process's stdin: it carries the test runner's protocol
        };
        start.ArgumentList.Add(_script);
        start.ArgumentList.Add(verb);
        foreach (var (k, v) in _environment)
            start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var stderr = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(TimeSpan.FromMinutes(4));
        await process.WaitForExitAsync(bounded.Token);
        return (process.ExitCode, (await stdout) + (await stderr));
    }

    public async ValueTask DisposeAsync() => await RunScriptAsync("stop", CancellationToken.None);
}
