using System.Text.Json.Nodes;
using CniBench.Cli.Targets.Kube.Api;

namespace CniBench.Tests.Support.TestBed;

/// <summary>
/// A real Kubernetes v1.32 cluster on this machine for the kube tests: the control plane, three nodes (two in
/// zone-a, one in zone-b) as network namespaces with the real kube-proxy in each, and <see cref="TestKubelet"/>
/// running the pods. Started once for the tests that share it; everything it made is gone when it is disposed.
/// Where it cannot run (not root, no binaries, no etcd) <see cref="SkipReason"/> says why.
/// </summary>
public sealed class TestBed : IAsyncLifetime
{
    public const string ClusterCidr = "10.244.0.0/16";
    private static readonly (string Name, string Zone)[] NodePlan =
    [
        ("tb-1", "zone-a"),
        ("tb-2", "zone-a"),
        ("tb-3", "zone-b"),
    ];

    private ControlPlane? _plane;
    private KubeClient? _kube;
    private TestKubelet? _kubelet;
    private KubeProxies? _proxies;

    public string? SkipReason { get; private set; }
    public IReadOnlyList<TestNode> Nodes { get; private set; } = [];
    public string LogDirectory { get; } = Directory.CreateTempSubdirectory("cnibench-testbed-logs-").FullName;

    public ControlPlane Plane => _plane ?? throw new InvalidOperationException("the test bed is not up");
    public KubeClient Kube => _kube ?? throw new InvalidOperationException("the test bed is not up");
    public TestKubelet Kubelet => _kubelet ?? throw new InvalidOperationException("the test bed is not up");

    /// <summary>Skips the calling test, with the reason, when the test bed cannot run here.</summary>
    /// <summary>The CLI's arguments for one short repetition of each case of a built-in suite on this cluster, into
    /// the test's own database, without a report.</summary>
    public string[] ShortSuiteRun(string suite, string database) =>
        [
            "run",
            "--target",
            "kube",
            "--suite",
            suite,
            "--kubeconfig",
            Plane.Kubeconfig,
            "-r",
            "1",
            "-d",
            "1s",
            "--warmup",
            "0s",
            "--no-report",
            "--db",
            database,
        ];

    public void Require()
    {
        if (SkipReason is not null)
            Assert.Skip(SkipReason);
        if (StartFailure is not null)
            Assert.Fail(StartFailure);
    }

    public async ValueTask InitializeAsync()
    {
        SkipReason = ControlPlane.Missing();
        if (SkipReason is not null)
            return;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(4));
        var ct = timeout.Token;
        try
        {
            await TestBedNetwork.SweepAsync();
            await TestBedNetwork.CreateUnderlayAsync(ct);
            _plane = await ControlPlane.StartAsync(TestBedNetwork.HostAddress, ct);
            _kube = _plane.Client();
            Nodes = await RegisterNodesAsync(_kube, ct);
            _kubelet = new TestKubelet(
                _kube,
                Nodes,
                Path.Combine(AppContext.BaseDirectory, "cnibench-agent"),
                LogDirectory
            );
            await _kubelet.HeartbeatOnceAsync(ct);
            _kubelet.Start();
            _proxies = new KubeProxies(
                Path.Combine(_plane.BinDirectory, "kube-proxy"),
                _plane.AdvertisedKubeconfig,
                ClusterCidr,
                Nodes,
                LogDirectory
            );
            await _proxies.StartAsync("iptables", ct);
        }
        catch (Exception e)
        {
            // Not a skip: the machine has everything, yet the cluster did not come up. Each test fails with this.
            SkipReason = null;
            StartFailure =
                $"the test bed did not come up: {e.Message} (logs: {LogDirectory}, {ControlPlane.StateDirectory}/logs)";
        }
    }

    public string? StartFailure { get; private set; }

    /// <summary>kube-proxy in this mode on every node (iptables or nftables), the other mode's rules cleared.</summary>
    public Task UseProxyModeAsync(string mode, CancellationToken cancellationToken) =>
        _proxies!.StartAsync(mode, cancellationToken);

    public string? ProxyMode => _proxies?.Mode;

    private static async Task<IReadOnlyList<TestNode>> RegisterNodesAsync(
        KubeClient kube,
        CancellationToken cancellationToken
    )
    {
        var nodes = new List<TestNode>();
        for (int i = 0; i < NodePlan.Length; i++)
        {
            var (name, zone) = NodePlan[i];
            await kube.CreateAsync(
                KubeResource.Core("nodes"),
                new JsonObject
                {
                    ["apiVersion"] = "v1",
                    ["kind"] = "Node",
                    ["metadata"] = new JsonObject
                    {
                        ["name"] = name,
                        ["labels"] = new JsonObject
                        {
                            ["kubernetes.io/hostname"] = name,
                            ["kubernetes.io/os"] = "linux",
                            ["kubernetes.io/arch"] = "amd64",
                            ["topology.kubernetes.io/zone"] = zone,
                        },
                    },
                },
                cancellationToken
            );
            // The controller-manager gives each node a /24 of the cluster CIDR shortly after it appears.
            string? cidr = null;
            while (cidr is null)
            {
                cidr = (string?)
                    (await kube.GetAsync(KubeResource.Core("nodes", null, name), cancellationToken))["spec"]?[
                        "podCIDR"
                    ];
                if (cidr is null)
                    await Task.Delay(200, cancellationToken);
            }
            var node = new TestNode(i + 1, name, zone, cidr);
            await TestBedNetwork.AddNodeAsync(node.Index, cidr, cancellationToken);
            nodes.Add(node);
        }
        await TestBedNetwork.RouteAsync(nodes.ToDictionary(n => n.Index, n => n.PodCidr), cancellationToken);
        return nodes;
    }

    public async ValueTask DisposeAsync()
    {
        if (_kubelet is not null)
            await _kubelet.DisposeAsync();
        if (_proxies is not null)
            await _proxies.DisposeAsync();
        _kube?.Dispose();
        if (_plane is not null)
            await _plane.DisposeAsync();
        if (SkipReason is null)
            await TestBedNetwork.SweepAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class TestBedCollection : ICollectionFixture<TestBed>
{
    public const string Name = "test bed";
}
