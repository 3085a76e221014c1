using CniBench.Cli.Targets;
using CniBench.Contracts.Measurement;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Running;

/// <summary>A node sampler serving a case: the node it runs on and which of the case's sides (server, client, or both) live there.</summary>
public sealed record NodeSampler(string Node, bool Server, bool Client, AgentHandle Agent);

/// <summary>
/// The node samplers' part of a case: a monitor job on each, in the case's window, watching the processes
/// that program the dataplane; their figures become the node and dataplane metrics.
/// </summary>
public static class NodeSampling
{
    /// <summary>The node agents of common CNIs (as /proc/PID/comm names them) and kube-proxy.</summary>
    public static readonly string[] CniProcesses =
        ["cilium-agent", "cilium-envoy", "antrea-agent", "ovs-vswitchd", "ovsdb-server", "calico-node", "bird", "flanneld", "kube-router", "kindnetd", "aws-k8s-agent", "weaver"];
    public const string KubeProxy = "kube-proxy";

    public static WorkloadSpec Monitor => new() { Kind = WorkloadKind.Monitor, Processes = [.. CniProcesses, KubeProxy] };

    public static Dictionary<string, double> MetricsOf(IReadOnlyList<(NodeSampler Sampler, JobResult? Result, IReadOnlyList<Sample> Samples)> sampled)
    {
        var m = new Dictionary<string, double>();
        double cni = 0, kubeProxy = 0;
        bool any = false;
        foreach (var (sampler, result, samples) in sampled)
        {
            var measured = samples.Where(s => s.Phase == Phase.Measured).ToList();
            if (measured.Count > 0)
            {
                double cpu = MetricsCalculator.Fold(measured, s => s.HostCpuPercent, Metrics.NodeServerCpuPercent);
                if (sampler.Server) m[Metrics.NodeServerCpuPercent] = cpu;
                if (sampler.Client) m[Metrics.NodeClientCpuPercent] = cpu;
            }
            if (result?.Node is not { } node) continue;
            any = true;
            if (sampler.Server) m[Metrics.NodeServerMemoryMiB] = node.MemoryUsedMiB;
            if (sampler.Client) m[Metrics.NodeClientMemoryMiB] = node.MemoryUsedMiB;
            cni += node.ProcessCpuPercent.Where(p => p.Key != KubeProxy).Sum(p => p.Value);
            kubeProxy += node.ProcessCpuPercent.GetValueOrDefault(KubeProxy);
        }
        if (any)
        {
            m[Metrics.CniCpuPercent] = cni;
            m[Metrics.KubeProxyCpuPercent] = kubeProxy;
        }
        return m;
    }
}
