using System.Security.Cryptography;
using System.Text.Json.Nodes;
using CniBench.Cli.Agents;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets.Hooks;
using CniBench.Cli.Targets.Kube.Api;

namespace CniBench.Cli.Targets.Kube;

/// <summary>
/// A cluster's infrastructure for one run, reached only through its API: the run's namespace (labelled, deleted at the
/// end however the run ends), its agent pods on the chosen nodes, the Services in front of them, and whatever else the
/// run made there; what features ask of a target (<see cref="IInfrastructure"/>), on a cluster.
/// </summary>
public sealed class KubeSite(KubeClient kube, KubeTargetOptions options) : IInfrastructure, IAsyncDisposable
{
    private readonly string _token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
    private KubePods? _pods;
    private (string Server, string Client, JsonObject ServerNode, JsonObject ClientNode)? _nodes;
    private readonly HashSet<string> _servicesApplied = new();
    private readonly RunObjects _objects = new(kube);
    private bool _namespaceCreated;
    private KubeServiceScale? _scale;
    private IReadOnlyList<(string Node, AgentHandle Agent)>? _samplers;

    public string Name => "kube";

    public bool AgentsOnThisHost => false;

    public string Namespace => options.Namespace ?? AgentManifests.NamespaceFor(options.RunId);

    public KubeClient Kube => kube;

    public KubeTargetOptions Options => options;

    public RunParts Parts { get; } = new();

    public string Token => _token;

    public RunObjects Objects => _objects;

    public KubeServiceScale Scale => _scale ??= new KubeServiceScale(kube, Namespace, options.RunId);

    public async Task<IReadOnlyDictionary<string, double>> BeginCaseAsync(
        PlannedCase plannedCase,
        CancellationToken cancellationToken
    )
    {
        await EnsureNamespaceAsync(cancellationToken);
        if (plannedCase.Dataplane?.Services is int services)
            await Scale.EnsureAsync(services - 1, cancellationToken);
        return new Dictionary<string, double>();
    }

    public async Task<SiteAgent> AgentAsync(AgentRequest request, CancellationToken cancellationToken)
    {
        var (serverNode, clientNode, _, _) = await NodesAsync(cancellationToken);
        string node = request.Node == SiteNode.Server ? serverNode : clientNode;
        var agent = await EnsureAgentAsync(
            new AgentPlacement(request.Role, request.Role, node, false),
            cancellationToken
        );
        return new SiteAgent(
            Pods.Handle(request.Role, agent),
            request.Role,
            (string?)agent.Pod["spec"]?["nodeName"] ?? node
        );
    }

    public async Task<string> ServiceAsync(string role, IpFamily family, CancellationToken cancellationToken)
    {
        string name = $"agents-{role}";
        if (_servicesApplied.Add(name))
            await _objects.ApplyAsync(
                KubeResource.Core("services", Namespace, name),
                KubeObjects.Checked(
                    AgentManifests.AgentService(Namespace, options.RunId, name, false, "PreferDualStack", role)
                ),
                cancellationToken
            );
        var service = await kube.GetAsync(KubeResource.Core("services", Namespace, name), cancellationToken);
        return KubeObjects.ClusterIp(family == IpFamily.Ipv6, service);
    }

    /// <summary>What every case's agents get on a cluster, however they were placed: the path's MTU and, with
    /// --node-sampler, the samplers of the case's nodes (after waiting for the dataplane to go quiet when the case
    /// made Services).</summary>
    public async Task<AgentPair> CompleteAsync(
        PlannedCase plannedCase,
        AgentPair pair,
        CancellationToken cancellationToken
    )
    {
        // The path's MTU as the agents see their interfaces: where a CNI's overlay or encryption takes its share.
        if (
            new[] { pair.Server.Info.Mtu, pair.Client.Info.Mtu }.OfType<int>().DefaultIfEmpty().Min() is > 0 and var mtu
        )
            pair = pair with
            {
                TargetMetrics = new Dictionary<string, double>(pair.TargetMetrics)
                {
                    [Contracts.Measurement.Metrics.PathMtu] = mtu,
                },
            };
        if (!options.NodeSampler)
            return pair;
        if (_samplers is null)
        {
            await _objects.ApplyAsync(
                new KubeResource("apps", "v1", "daemonsets", Namespace, AgentManifests.SamplerRole),
                KubeObjects.Checked(AgentManifests.NodeSamplerDaemonSet(Namespace, options.RunId, options.Image)),
                cancellationToken
            );
            _samplers = await Pods.DaemonSetAsync(AgentManifests.SamplerRole, cancellationToken);
        }
        string serverNode = pair.Server.Info.Identity.Node ?? "",
            clientNode = pair.Client.Info.Identity.Node ?? "";
        var samplers = _samplers
            .Where(s => s.Node == serverNode || s.Node == clientNode)
            .Select(s => new NodeSampler(s.Node, s.Node == serverNode, s.Node == clientNode, s.Agent))
            .ToArray();
        if (plannedCase.Dataplane?.Services is not null)
        {
            // The newest Service answering proves the client's rules are in place, not that the proxies have finished.
            var quiet = await DataplaneQuiet.WaitAsync(samplers, cancellationToken);
            pair = pair with
            {
                TargetMetrics = new Dictionary<string, double>(pair.TargetMetrics)
                {
                    [Contracts.Measurement.Metrics.DataplaneQuietMs] = quiet.WaitedMs,
                },
            };
            if (!quiet.Quiet)
                Console.Error.WriteLine(
                    $"cnibench: {plannedCase.Name}: the dataplane's processes still used "
                        + $"{quiet.LastPercent.ToString("0", System.Globalization.CultureInfo.InvariantCulture)}% of a "
                        + $"core after {DataplaneQuiet.Limit.TotalSeconds:0}s; the case starts anyway"
                );
        }
        return pair with { Hooks = [.. pair.Hooks, new NodeSamplersHook(samplers)] };
    }

    public Task<double> SettleAsync(
        SiteAgent client,
        string address,
        string what,
        CancellationToken cancellationToken
    ) => ServiceProbe.WaitUntilAnswersAsync(Name, client.Handle, address, what, cancellationToken);

    /// <summary>The server's and the client's node (<see cref="KubeNodes.Choose"/>), chosen once per run.</summary>
    public async Task<(string, string, JsonObject, JsonObject)> NodesAsync(CancellationToken cancellationToken)
    {
        if (_nodes is { } known)
            return known;
        var (items, _) = await kube.ListAsync(KubeResource.Core("nodes"), null, cancellationToken);
        _nodes = KubeNodes.Choose(items, options.Placement);
        return _nodes.Value;
    }

    public async Task EnsureNamespaceAsync(CancellationToken cancellationToken)
    {
        if (_namespaceCreated)
            return;
        _namespaceCreated = true; // from here on, dispose removes it whatever happens next
        if (options.Namespace is null)
            await kube.CreateAsync(
                KubeResource.Core("namespaces"),
                KubeObjects.Checked(AgentManifests.Namespace(Namespace, options.RunId)),
                cancellationToken
            );
        await _objects.ApplyAsync(
            KubeResource.Core("secrets", Namespace, AgentManifests.TokenSecretName(options.RunId)),
            KubeObjects.Checked(AgentManifests.TokenSecret(Namespace, options.RunId, _token)),
            cancellationToken
        );
        if (options.NetworkPolicy)
            await _objects.ApplyAsync(
                NetworkPolicies.Named(AgentManifests.ControlPolicyName(options.RunId)),
                KubeObjects.Checked(
                    AgentManifests.ControlNetworkPolicy(
                        Namespace,
                        options.RunId,
                        await ApiServerAddressesAsync(cancellationToken)
                    )
                ),
                cancellationToken
            );
        Pods.Watch();
    }

    private KubeResource NetworkPolicies => new("networking.k8s.io", "v1", "networkpolicies", Namespace);

    /// <summary>Where the API server's pod proxy connects from: the endpoints of default/kubernetes.</summary>
    private async Task<IReadOnlyList<string>> ApiServerAddressesAsync(CancellationToken cancellationToken)
    {
        var (slices, _) = await kube.ListAsync(
            new KubeResource("discovery.k8s.io", "v1", "endpointslices", "default"),
            "kubernetes.io/service-name=kubernetes",
            cancellationToken
        );
        var addresses = slices
            .SelectMany(s => s["endpoints"]?.AsArray() ?? [])
            .SelectMany(e => e?["addresses"]?.AsArray() ?? [])
            .Select(a => (string?)a)
            .OfType<string>()
            .Distinct()
            .ToArray();
        return addresses.Length > 0
            ? addresses
            : throw new TargetException(
                "--network-policy: the API server's addresses are not in the EndpointSlices of default/kubernetes; "
                    + "run without --network-policy, or admit the controller with a policy of your own"
            );
    }

    public KubePods Pods => _pods ??= new KubePods(kube, Namespace, options, _token);

    public async Task<KubeAgent> EnsureAgentAsync(AgentPlacement placement, CancellationToken cancellationToken)
    {
        await EnsureNamespaceAsync(cancellationToken);
        return await Pods.EnsureAsync(placement, cancellationToken);
    }

    public static string ServiceName(bool nodePort) => nodePort ? "agents-nodeport" : "agents";

    /// <summary>The Service in front of the servers: both families where the cluster has both
    /// (PreferDualStack).</summary>
    public async Task<JsonObject> ServiceAsync(bool nodePort, CancellationToken cancellationToken)
    {
        string name = ServiceName(nodePort);
        if (_servicesApplied.Add(name))
            await _objects.ApplyAsync(
                KubeResource.Core("services", Namespace, name),
                KubeObjects.Checked(
                    AgentManifests.AgentService(Namespace, options.RunId, name, nodePort, "PreferDualStack")
                ),
                cancellationToken
            );
        return await kube.GetAsync(KubeResource.Core("services", Namespace, name), cancellationToken);
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
            return;
        if (_pods is not null)
            await _pods.DisposeAsync();
        try
        {
            // What features made outside the run's objects (an external server, an egress policy) goes first.
            await Parts.DisposeAsync();
            if (_namespaceCreated)
                await DeleteWhatWeMadeAsync();
        }
        finally
        {
            kube.Dispose();
        }
    }

    private async Task DeleteWhatWeMadeAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            if (options.Namespace is null)
            {
                await kube.DeleteAsync(KubeResource.Core("namespaces", null, Namespace), timeout.Token);
                await WaitNamespaceGoneAsync(TimeSpan.FromSeconds(60));
            }
            else
            {
                // A namespace the user gave: only what this run made goes, found by its run label.
                // Workloads first, so their controllers do not make new pods while the pods go.
                KubeResource[] kinds =
                [
                    new("apps", "v1", "deployments", Namespace),
                    new("apps", "v1", "daemonsets", Namespace),
                    GatewayManifests.Routes with
                    {
                        Namespace = Namespace,
                    },
                    GatewayManifests.Gateways with
                    {
                        Namespace = Namespace,
                    },
                    KubeResource.Core("pods", Namespace),
                    KubeResource.Core("services", Namespace),
                    KubeResource.Core("secrets", Namespace),
                    NetworkPolicies,
                ];
                foreach (var kind in kinds)
                {
                    try
                    {
                        await kube.DeleteCollectionAsync(
                            kind,
                            $"{AgentManifests.RunLabel}={options.RunId}",
                            timeout.Token
                        );
                    }
                    catch (KubeApiException e) when (e.Status == System.Net.HttpStatusCode.NotFound)
                    {
                        // A kind this cluster does not serve (no Gateway API): nothing of it was made.
                    }
                }
            }
        }
        catch (Exception e) when (e is KubeApiException or KubeConnectionException or OperationCanceledException)
        {
            Console.Error.WriteLine(
                $"cnibench: could not delete namespace {Namespace}: {e.Message}; 'cnibench kube cleanup' removes it "
                    + $"later"
            );
        }
    }

    /// <summary>
    /// A namespace goes once every pod in it has stopped, which waits for the kubelets: the run ends when it is
    /// gone or, after <paramref name="limit"/>, says that it is still terminating and what will finish it.
    /// </summary>
    private async Task WaitNamespaceGoneAsync(TimeSpan limit)
    {
        var deadline = DateTimeOffset.UtcNow + limit;
        while (DateTimeOffset.UtcNow < deadline)
        {
            try
            {
                await kube.GetAsync(KubeResource.Core("namespaces", null, Namespace), CancellationToken.None);
            }
            catch (KubeApiException e) when (e.Status == System.Net.HttpStatusCode.NotFound)
            {
                return;
            }
            await Task.Delay(500);
        }
        Console.Error.WriteLine(
            $"cnibench: namespace {Namespace} is still terminating after {limit.TotalSeconds:0}s (its pods wait for "
                + $"their nodes); it goes by itself, or 'cnibench kube cleanup' finishes it"
        );
    }
}
