using System.Diagnostics;
using CniBench.Cli.Targets.Lab.Network;

namespace CniBench.Tests.Support.TestBed;

/// <summary>The real kube-proxy, one per node namespace, in iptables or nftables mode; switching mode clears the
/// other's rules first.</summary>
public sealed class KubeProxies(
    string binary,
    string kubeconfig,
    string clusterCidr,
    IReadOnlyList<TestNode> nodes,
    string logDirectory
) : IAsyncDisposable
{
    private readonly List<Process> _processes = [];

    public string? Mode { get; private set; }

    public async Task StartAsync(string mode, CancellationToken cancellationToken)
    {
        if (Mode == mode)
            return;
        await StopAsync();
        foreach (var node in nodes)
        {
            // What another mode left in this namespace would otherwise keep answering for it (nothing to clean is no
            // error).
            try
            {
                await LabShell.RunAsync(
                    "ip",
                    ["netns", "exec", node.Namespace, binary, "--cleanup"],
                    null,
                    cancellationToken
                );
            }
            catch (LabException) { }
            var process = NamespaceProcess.Start(
                node.Namespace,
                binary,
                [
                    "--kubeconfig",
                    kubeconfig,
                    "--hostname-override",
                    node.Name,
                    "--cluster-cidr",
                    clusterCidr,
                    "--proxy-mode",
                    mode,
                    "--conntrack-max-per-core=0",
                    "--v=1",
                ],
                Path.Combine(logDirectory, $"kube-proxy-{node.Name}-{mode}.log")
            );
            _processes.Add(process);
        }
        Mode = mode;
        // Healthy once each has synced its rules (its healthz on the node's loopback answers 200).
        var deadline = DateTime.UtcNow.AddSeconds(60);
        foreach (var node in nodes)
            while (true)
            {
                if (_processes.Any(p => p.HasExited))
                    throw new InvalidOperationException($"kube-proxy ({mode}) exited; see {logDirectory}");
                try
                {
                    var answer = await LabShell.RunAsync(
                        "ip",
                        ["netns", "exec", node.Namespace, "curl", "-sf", "http://127.0.0.1:10256/healthz"],
                        null,
                        cancellationToken
                    );
                    if (answer.Contains("lastUpdated", StringComparison.Ordinal))
                        break;
                }
                catch (LabException) when (DateTime.UtcNow < deadline) { }
                await Task.Delay(250, cancellationToken);
            }
    }

    public async Task StopAsync()
    {
        foreach (var process in _processes)
        {
            try
            {
                process.Kill();
                await process.WaitForExitAsync(CancellationToken.None);
            }
            catch (InvalidOperationException) { }
            process.Dispose();
        }
        _processes.Clear();
        Mode = null;
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
