using CniBench.Cli.Agents;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Targets;

/// <summary>A node sampler serving a case: the node it runs on and which of the case's sides (server, client, or both)
/// live there.</summary>
public sealed record NodeSampler(string Node, bool Server, bool Client, AgentHandle Agent)
{
    /// <summary>The node agents of common CNIs (as /proc/PID/comm names them) and kube-proxy: the processes that
    /// program the dataplane.</summary>
    public static readonly string[] CniProcesses =
    [
        "cilium-agent",
        "cilium-envoy",
        "antrea-agent",
        "ovs-vswitchd",
        "ovsdb-server",
        "calico-node",
        "bird",
        "flanneld",
        "kube-router",
        "kindnetd",
        "aws-k8s-agent",
        "weaver",
    ];
    public const string KubeProxy = "kube-proxy";

    public static WorkloadSpec Monitor =>
        new() { Kind = WorkloadKind.Monitor, Processes = [.. CniProcesses, KubeProxy] };
}
