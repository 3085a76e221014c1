using System.Net;
using CniBench.Cli.Agents;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets.Kube;
using CniBench.Cli.Targets.Kube.Api;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Features.Convergence;

/// <summary>
/// Convergence on a cluster, kept for the run: the probers (a DaemonSet, made once, each prober's clock offset
/// measured per case), the churn Service and its endpoints Deployment back at one replica for each case, and the
/// EndpointSlice watch following it.
/// </summary>
public sealed class KubeConvergence(KubeSite site)
{
    private KubeEndpoints? _endpoints;
    private IReadOnlyList<(string Node, AgentHandle Agent)>? _probers;

    public async Task<IEndpointChurn> PrepareAsync(
        PlannedCase plannedCase,
        int endpoints,
        CancellationToken cancellationToken
    )
    {
        // The run's namespace and the case's number of Services, as for any case.
        await site.BeginCaseAsync(plannedCase, cancellationToken);
        bool v6 = plannedCase.IpFamily == IpFamily.Ipv6;
        var options = site.Options;
        string ns = site.Namespace;
        if (_endpoints is null)
        {
            _endpoints = new KubeEndpoints(
                site.Objects,
                site.Kube,
                ns,
                options.RunId,
                options.Image,
                options.ChurnStepTimeout ?? TimeSpan.FromMinutes(5)
            );
            await site.Objects.ApplyAsync(
                new KubeResource("apps", "v1", "daemonsets", ns, AgentManifests.ProberRole),
                KubeObjects.Checked(AgentManifests.ProberDaemonSet(ns, options.RunId, options.Image)),
                cancellationToken
            );
            await site.Objects.ApplyAsync(
                KubeResource.Core("services", ns, AgentManifests.ChurnService),
                KubeObjects.Checked(AgentManifests.ChurnServiceManifest(ns, options.RunId)),
                cancellationToken
            );
        }
        await _endpoints.ApplyDeploymentAsync(1, cancellationToken);
        _probers ??= await site.Pods.DaemonSetAsync(AgentManifests.ProberRole, cancellationToken);
        // Clocks drift: every case reads them afresh.
        var probers = new List<Prober>();
        foreach (var (node, agent) in _probers)
        {
            var (offset, uncertainty) = await ClockOffset.MeasureAsync(agent.Client, cancellationToken);
            probers.Add(new Prober(node, agent, offset, uncertainty));
        }
        var service = await site.Kube.GetAsync(
            KubeResource.Core("services", ns, AgentManifests.ChurnService),
            cancellationToken
        );
        var ip = KubeObjects.ClusterIp(v6, service);
        int port = (int?)service["spec"]?["ports"]?[0]?["port"] ?? 80;
        var address = Endpoints.Format(new IPEndPoint(IPAddress.Parse(ip), port));
        return await KubeChurn.StartAsync(site.Kube, _endpoints, endpoints, v6, probers, address, cancellationToken);
    }
}
