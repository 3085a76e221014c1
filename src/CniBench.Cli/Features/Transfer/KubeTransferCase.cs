using System.Net;
using CniBench.Cli.Agents;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets;
using CniBench.Cli.Targets.Kube;
using CniBench.Cli.Targets.Kube.Api;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Features.Transfer;

/// <summary>
/// Transfer cases on a cluster, kept for the run: client and server pods as two Deployments of the case's sizes, the
/// servers behind the transfer Service, and a flow sampler on every node (a DaemonSet, made once).
/// </summary>
public sealed class KubeTransferCase(KubeSite site)
{
    private readonly KubeTargetOptions options = site.Options;
    private IReadOnlyList<(string Node, AgentHandle Agent)>? _flowSamplers;

    /// <summary>The transfer case being prepared: its client pods (the first is the case's client) and server pods,
    /// and what every client sends.</summary>
    private (
        IReadOnlyList<(string Node, AgentHandle Agent)> Clients,
        IReadOnlyList<(string Node, AgentHandle Agent)> Servers,
        WorkloadSpec Workload
    )? _transfer;

    /// <summary>
    /// Transfer cases: client and server pods as two Deployments of the case's sizes (clientPods, servers), the servers
    /// behind the transfer Service; the case waits until that Service answers from the first client.
    /// </summary>
    public async Task<AgentPair> PrepareAsync(
        PlannedCase plannedCase,
        TransferOptions sizes,
        CancellationToken cancellationToken
    )
    {
        await site.EnsureNamespaceAsync(cancellationToken);
        foreach (
            var (role, replicas) in new[]
            {
                (AgentManifests.TransferServerRole, sizes.Servers),
                (AgentManifests.TransferClientRole, sizes.ClientPods),
            }
        )
            await site.Objects.ApplyAsync(
                new KubeResource("apps", "v1", "deployments", site.Namespace, role),
                KubeObjects.Checked(
                    AgentManifests.AgentDeployment(site.Namespace, options.RunId, options.Image, role, replicas)
                ),
                cancellationToken
            );
        await site.Objects.ApplyAsync(
            KubeResource.Core("services", site.Namespace, AgentManifests.TransferService),
            KubeObjects.Checked(
                AgentManifests.AgentService(
                    site.Namespace,
                    options.RunId,
                    AgentManifests.TransferService,
                    false,
                    "PreferDualStack",
                    AgentManifests.TransferServerRole
                )
            ),
            cancellationToken
        );
        var servers = await site.Pods.DeploymentAsync(AgentManifests.TransferServerRole, cancellationToken);
        var clients = await site.Pods.DeploymentAsync(AgentManifests.TransferClientRole, cancellationToken);
        var service = await site.Kube.GetAsync(
            KubeResource.Core("services", site.Namespace, AgentManifests.TransferService),
            cancellationToken
        );
        string ip = KubeObjects.ClusterIp(plannedCase.IpFamily == IpFamily.Ipv6, service);
        var server = servers[0].Agent;
        var address = Endpoints.Format(new IPEndPoint(IPAddress.Parse(ip), AgentManifests.HttpPort));
        var settle = await ServiceProbe.WaitUntilAnswersAsync(
            site.Name,
            clients[0].Agent,
            address,
            $"the Service {site.Namespace}/{AgentManifests.TransferService}",
            cancellationToken
        );
        _transfer = (clients, servers, plannedCase.Workload with { Target = address });
        return new AgentPair(server, clients[0].Agent, address, plannedCase.Placement.ToName())
        {
            TargetMetrics = new Dictionary<string, double> { [Contracts.Measurement.Metrics.ServiceSettleMs] = settle },
        };
    }

    /// <summary>Transfer cases: the client's and the server's pod count their interfaces, a flow sampler on every node
    /// its flows, classed by the nodes' zones (topology.kubernetes.io/zone) and the pods' and nodes'
    /// addresses.</summary>
    public async Task<TransferHook> HookAsync(AgentPair pair, CancellationToken cancellationToken)
    {
        if (_flowSamplers is null)
        {
            await site.Objects.ApplyAsync(
                new KubeResource("apps", "v1", "daemonsets", site.Namespace, AgentManifests.FlowSamplerRole),
                KubeObjects.Checked(AgentManifests.FlowSamplerDaemonSet(site.Namespace, options.RunId, options.Image)),
                cancellationToken
            );
            _flowSamplers = await site.Pods.DaemonSetAsync(
                AgentManifests.FlowSamplerRole,
                cancellationToken,
                AgentManifests.FlowSamplerControlPort
            );
        }
        var (nodes, _) = await site.Kube.ListAsync(KubeResource.Core("nodes"), null, cancellationToken);
        var (pods, _) = await site.Kube.ListAsync(
            KubeResource.Core("pods", site.Namespace),
            $"{AgentManifests.RunLabel}={options.RunId}",
            cancellationToken
        );
        var book = KubeTransfer.AddressBook(nodes, pods);
        string Zone(string? node) => KubeTransfer.ZoneOf(nodes, node);
        TransferPod Pod(string role, AgentHandle agent) =>
            new(role, agent.Info.Identity.Name, agent.Info.Identity.Node ?? "", Zone(agent.Info.Identity.Node), agent);
        var (clients, servers, workload) = _transfer!.Value;
        return new TransferHook(
            [.. clients.Select(c => Pod("client", c.Agent)), .. servers.Select(s => Pod("server", s.Agent))],
            _flowSamplers.Select(s => new TransferNode(s.Node, Zone(s.Node), null, s.Agent)).ToArray(),
            [pair.Server.Info.Ports.Http, pair.Server.Info.Ports.Tcp],
            book,
            null,
            clients.Skip(1).Select(c => c.Agent).ToArray(),
            workload
        );
    }
}
