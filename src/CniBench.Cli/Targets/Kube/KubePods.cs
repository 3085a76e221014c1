using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using CniBench.Cli.Agents;
using CniBench.Cli.Targets.Kube.Api;
using CniBench.Contracts.Protocol;

namespace CniBench.Cli.Targets.Kube;

/// <summary>A run's agent pod as the target keeps it: its control client through the pod proxy, what it said of itself,
/// the pod.</summary>
public sealed record KubeAgent(AgentClient Client, AgentInfo Info, JsonObject Pod)
{
    public string Name => (string?)Pod["metadata"]?["name"] ?? "";
}

/// <summary>
/// The agent pods of a run: created pinned to a node and waited for until Ready (or failed with the reason
/// the cluster gives), those of a DaemonSet found once it is ready on every node, each reached through the
/// API server's pod proxy with the agents' token beside the API's credentials; a watch on the run's pods
/// tells a case at once when its agent's pod ended.
/// </summary>
public sealed class KubePods(KubeClient kube, string ns, KubeTargetOptions options, string token) : IAsyncDisposable
{
    // Filled by connections made in parallel (a Deployment's pods).
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, KubeAgent> _agents = new();
    private readonly ConcurrentDictionary<string, string> _deaths = new();
    private readonly CancellationTokenSource _stopWatch = new();
    private Task? _watch;

    /// <summary>The agent pod of a placement, created and waited for on first use.</summary>
    public async Task<KubeAgent> EnsureAsync(AgentPlacement placement, CancellationToken cancellationToken)
    {
        if (_agents.TryGetValue(placement.Name, out var existing))
            return existing;
        var manifest = KubeObjects.Checked(
            AgentManifests.AgentPod(ns, options.RunId, placement, options.Image, options.Deadline, new AgentResources())
        );
        await kube.CreateAsync(KubeResource.Core("pods", ns), manifest, cancellationToken);
        var pod = await WaitReadyAsync(placement.Name, cancellationToken);
        return await ConnectAsync(placement.Name, pod, cancellationToken);
    }

    public AgentHandle Handle(string role, KubeAgent agent) =>
        new(role, agent.Info, agent.Client, () => _deaths.TryGetValue(agent.Name, out var notice) ? notice : null);

    /// <summary>Waits for a DaemonSet of agents (its name is their role) to have a ready pod on every node it schedules
    /// to, and connects to each.</summary>
    public Task<IReadOnlyList<(string Node, AgentHandle Agent)>> DaemonSetAsync(
        string role,
        CancellationToken cancellationToken,
        int controlPort = AgentManifests.ControlPort
    ) =>
        ReadyPodsAsync(
            new KubeResource("apps", "v1", "daemonsets", ns, role),
            s => ((long?)s?["desiredNumberScheduled"] ?? 0, (long?)s?["numberReady"] ?? 0),
            role,
            controlPort,
            cancellationToken
        );

    /// <summary>Waits for a Deployment of agents (its name is their role) to have all its replicas ready, and connects
    /// to each.</summary>
    public Task<IReadOnlyList<(string Node, AgentHandle Agent)>> DeploymentAsync(
        string role,
        CancellationToken cancellationToken
    ) =>
        ReadyPodsAsync(
            new KubeResource("apps", "v1", "deployments", ns, role),
            s => ((long?)s?["replicas"] ?? 0, (long?)s?["readyReplicas"] ?? 0),
            role,
            AgentManifests.ControlPort,
            cancellationToken
        );

    /// <summary>One GET of the workload's status until enough pods are ready, one list by label selector, then a
    /// client per pod: no call per pod while waiting.</summary>
    private async Task<IReadOnlyList<(string Node, AgentHandle Agent)>> ReadyPodsAsync(
        KubeResource workload,
        Func<JsonNode?, (long Desired, long Ready)> readiness,
        string role,
        int controlPort,
        CancellationToken cancellationToken
    )
    {
        var deadline = DateTimeOffset.UtcNow + options.ReadyTimeout;
        string selector = $"{AgentManifests.RunLabel}={options.RunId},{AgentManifests.RoleLabel}={role}";
        while (true)
        {
            var (desired, ready) = readiness((await kube.GetAsync(workload, cancellationToken))["status"]);
            if (desired > 0 && ready >= desired)
                break;
            if (DateTimeOffset.UtcNow > deadline)
                throw new TargetException(
                    $"kube: the {role} {(workload.Plural == "daemonsets" ? "DaemonSet" : "Deployment")} "
                        + $"{ns}/{role} has {ready} of {desired} pods ready after "
                        + $"{options.ReadyTimeout.TotalSeconds:0}s "
                        + $"({await KubeObjects.WhyPodsWaitAsync(kube, ns, selector, role, cancellationToken)})"
                );
            await Task.Delay(500, cancellationToken);
        }
        var (pods, _) = await kube.ListAsync(KubeResource.Core("pods", ns), selector, cancellationToken);
        var readyPods = pods.Where(KubeObjects.IsReady)
            .OrderBy(p => (string?)p["spec"]?["nodeName"], StringComparer.Ordinal)
            .ThenBy(p => (string?)p["metadata"]?["name"], StringComparer.Ordinal)
            .ToArray();
        // Each pod's agent is asked once who it is, a few dozen at a time: thousands of pods take seconds, not minutes.
        var agents = new (string, AgentHandle)[readyPods.Length];
        await JobTracker.ForAllAsync(
            Enumerable.Range(0, readyPods.Length),
            async (i, token) =>
            {
                var name = (string?)readyPods[i]["metadata"]?["name"] ?? "";
                agents[i] = (
                    (string?)readyPods[i]["spec"]?["nodeName"] ?? name,
                    Handle(role, await ConnectAsync(name, readyPods[i], token, controlPort))
                );
            },
            cancellationToken
        );
        return agents;
    }

    /// <summary>A client for a pod's agent through the API server's pod proxy, kept (and disposed) with the run's
    /// agents.</summary>
    private async Task<KubeAgent> ConnectAsync(
        string podName,
        JsonObject pod,
        CancellationToken cancellationToken,
        int controlPort = AgentManifests.ControlPort
    )
    {
        var proxy = new Uri(kube.Connection.Server, $"/api/v1/namespaces/{ns}/pods/{podName}:{controlPort}/proxy/");
        var client = new AgentClient(
            proxy,
            token,
            TimeSpan.FromSeconds(10),
            kube.CreateProxyHandler(new Dictionary<string, string> { [ControlProtocol.ProxyTokenHeader] = token })
        );
        try
        {
            var info = await client.InfoAsync(cancellationToken);
            return _agents[podName] = new KubeAgent(client, info, pod);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Waits for the pod to be Ready; a pod that cannot become so (image pull, scheduling) fails with the
    /// reason the cluster gives.</summary>
    private async Task<JsonObject> WaitReadyAsync(string name, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + options.ReadyTimeout;
        string last = "not scheduled yet";
        while (true)
        {
            var pod = await kube.GetAsync(KubeResource.Core("pods", ns, name), cancellationToken);
            var status = pod["status"] as JsonObject;
            if (KubeObjects.IsReady(pod))
                return pod;
            var waiting = (status?["containerStatuses"] as JsonArray)
                ?.OfType<JsonObject>()
                .Select(c => c["state"]?["waiting"] as JsonObject)
                .OfType<JsonObject>()
                .FirstOrDefault();
            if (waiting is not null)
                last = $"{(string?)waiting["reason"]}: {(string?)waiting["message"]}";
            else if ((string?)status?["phase"] is { } phase)
                last = $"phase {phase}";
            if (
                (string?)status?["phase"] is "Failed" or "Succeeded"
                || (string?)waiting?["reason"]
                    is "ErrImagePull"
                        or "ImagePullBackOff"
                        or "InvalidImageName"
                        or "CreateContainerConfigError"
            )
                throw new TargetException(
                    $"kube: agent pod {ns}/{name} cannot start: {last} (image {options.Image}; --agent-image sets "
                        + $"another)"
                );
            if (DateTimeOffset.UtcNow > deadline)
                throw new TargetException(
                    $"kube: agent pod {ns}/{name} not Ready within {options.ReadyTimeout.TotalSeconds:0}s: {last}"
                );
            await Task.Delay(500, cancellationToken);
        }
    }

    /// <summary>
    /// Watches the run's pods so that a case learns at once when its agent's pod failed or was deleted
    /// (evicted, OOM-killed, its node gone) instead of waiting for the agent to fall silent.
    /// </summary>
    public void Watch()
    {
        var watcher = new KubeWatcher(
            kube,
            KubeResource.Core("pods", ns),
            $"{AgentManifests.RunLabel}={options.RunId}"
        );
        _watch = Task.Run(async () =>
        {
            try
            {
                await watcher.RunAsync(
                    _ => Task.CompletedTask,
                    e =>
                    {
                        var name = (string?)e.Object["metadata"]?["name"] ?? "";
                        var status = e.Object["status"];
                        var terminated = (status?["containerStatuses"] as JsonArray)
                            ?.OfType<JsonObject>()
                            .Select(c => c["state"]?["terminated"])
                            .OfType<JsonObject>()
                            .FirstOrDefault();
                        if (e.Type == "DELETED")
                            _deaths[name] = $"agent pod {ns}/{name} was deleted";
                        else if ((string?)status?["phase"] is "Failed" or "Succeeded" || terminated is not null)
                        {
                            string? reason = (string?)terminated?["reason"] ?? (string?)status?["reason"];
                            reason ??= (string?)status?["phase"];
                            string message = (string?)status?["message"] is { } m ? $" ({m})" : "";
                            _deaths[name] = $"agent pod {ns}/{name} ended: {reason}{message}";
                        }
                        return Task.CompletedTask;
                    },
                    _stopWatch.Token
                );
            }
            catch (Exception e) when (e is OperationCanceledException or KubeApiException or KubeConnectionException)
            {
                // Without the watch, a dead agent is still found by its silence.
            }
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _stopWatch.CancelAsync();
        if (_watch is not null)
            await _watch;
        _stopWatch.Dispose();
        foreach (var a in _agents.Values)
            a.Client.Dispose();
    }
}
