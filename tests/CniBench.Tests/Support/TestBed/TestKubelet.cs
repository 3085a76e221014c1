using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using CniBench.Cli.Targets.Kube.Api;

namespace CniBench.Tests.Support.TestBed;

/// <summary>One node of the test bed: its Node object's name, zone, index (its namespace and address) and pod
/// CIDR.</summary>
public sealed record TestNode(int Index, string Name, string Zone, string PodCidr)
{
    public string Namespace => TestBedNetwork.NodeNamespace(Index);
    public string Address => TestBedNetwork.NodeAddress(Index);
}

/// <summary>
/// The kubelet of the test bed's nodes, as far as CniBench's pods need one: it keeps the nodes Ready (status
/// and Lease), runs each pod bound to them whose image is the agent's as the agent built from this tree (args,
/// env with fieldRef and secretKeyRef) in a network namespace of its own (hostNetwork: the node's), writes the
/// pod's status as a kubelet does (phase, IPs, conditions, readiness from the readinessProbe), honours
/// deletion (SIGTERM, the grace period, then SIGKILL and the pod is removed) and activeDeadlineSeconds.
/// Other images never start: their pods wait with ErrImagePull, as on a cluster without that image.
/// </summary>
public sealed class TestKubelet(KubeClient kube, IReadOnlyList<TestNode> nodes, string agentPath, string logDirectory)
    : IAsyncDisposable
{
    public const string AgentImageName = "cnibench-agent";
    private static readonly TimeSpan MaxGrace = TimeSpan.FromSeconds(10);

    private readonly KubeClient _kube = kube;
    private readonly string _agentPath = agentPath,
        _logDirectory = logDirectory;
    private readonly ConcurrentDictionary<string, RunningPod> _pods = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<string> _errors = new();
    private readonly bool[] _used = new bool[256 * (nodes.Max(n => n.Index) + 1)];
    private readonly int[] _cursor = new int[nodes.Max(n => n.Index) + 1];
    private Task? _watch,
        _heartbeat;

    /// <summary>What went wrong inside the kubelet (a test asserts it is empty, or prints it on failure).</summary>
    public IReadOnlyCollection<string> Errors => _errors;

    public int RunningPods => _pods.Count;

    public void Start()
    {
        var watcher = new KubeWatcher(_kube, KubeResource.Core("pods"), null)
        {
            Silence = TimeSpan.FromSeconds(30),
            MaxConsecutiveFailures = 1000,
        };
        _watch = Task.Run(() => watcher.RunAsync(OnListAsync, OnEventAsync, _stop.Token));
        _heartbeat = Task.Run(() => HeartbeatAsync(_stop.Token));
    }

    /// <summary>Ready status and a renewed Lease for every node now, then every 10 s (the lifecycle controller allows
    /// 40 s).</summary>
    public async Task HeartbeatOnceAsync(CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        foreach (var node in nodes)
        {
            await _kube.ApplyAsync(
                KubeResource.Core("nodes", null, node.Name) with
                {
                    Subresource = "status",
                },
                NodeStatus(node, now),
                cancellationToken
            );
            await _kube.ApplyAsync(
                new KubeResource("coordination.k8s.io", "v1", "leases", "kube-node-lease", node.Name),
                new JsonObject
                {
                    ["apiVersion"] = "coordination.k8s.io/v1",
                    ["kind"] = "Lease",
                    ["metadata"] = new JsonObject { ["name"] = node.Name, ["namespace"] = "kube-node-lease" },
                    ["spec"] = new JsonObject
                    {
                        ["holderIdentity"] = node.Name,
                        ["leaseDurationSeconds"] = 40,
                        ["renewTime"] = now.UtcDateTime.ToString(
                            "yyyy-MM-dd'T'HH:mm:ss.ffffff'Z'",
                            CultureInfo.InvariantCulture
                        ),
                    },
                },
                cancellationToken
            );
        }
    }

    private async Task HeartbeatAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(10), cancellationToken);
                await HeartbeatOnceAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e)
            {
                _errors.Enqueue($"heartbeat: {e.Message}");
            }
        }
    }

    private static JsonObject NodeStatus(TestNode node, DateTimeOffset now)
    {
        string time = Time(now);
        var resources = new JsonObject
        {
            ["cpu"] = "16",
            ["memory"] = "64Gi",
            ["pods"] = "110",
        };
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Node",
            ["metadata"] = new JsonObject { ["name"] = node.Name },
            ["status"] = new JsonObject
            {
                ["conditions"] = new JsonArray(
                    new JsonObject
                    {
                        ["type"] = "Ready",
                        ["status"] = "True",
                        ["reason"] = "KubeletReady",
                        ["message"] = "test bed kubelet is posting ready status",
                        ["lastHeartbeatTime"] = time,
                        ["lastTransitionTime"] = time,
                    }
                ),
                ["addresses"] = new JsonArray(
                    new JsonObject { ["type"] = "InternalIP", ["address"] = node.Address },
                    new JsonObject { ["type"] = "Hostname", ["address"] = node.Name }
                ),
                ["capacity"] = resources.DeepClone(),
                ["allocatable"] = resources,
                ["daemonEndpoints"] = new JsonObject { ["kubeletEndpoint"] = new JsonObject { ["Port"] = 10250 } },
                ["nodeInfo"] = new JsonObject
                {
                    ["machineID"] = node.Name,
                    ["systemUUID"] = node.Name,
                    ["bootID"] = node.Name,
                    ["kernelVersion"] = Environment.OSVersion.Version.ToString(),
                    ["osImage"] = "CniBench test bed",
                    ["containerRuntimeVersion"] = "cnibench-testbed://1",
                    ["kubeletVersion"] = "v1.32.13",
                    ["kubeProxyVersion"] = "v1.32.13",
                    ["operatingSystem"] = "linux",
                    ["architecture"] = "amd64",
                },
            },
        };
    }

    private static string Time(DateTimeOffset t) =>
        t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private async Task OnListAsync(IReadOnlyList<JsonObject> pods)
    {
        foreach (var pod in pods)
            await OnPodAsync(pod, deleted: false);
    }

    private Task OnEventAsync(WatchEvent e) => OnPodAsync(e.Object, e.Type == "DELETED");

    private Task OnPodAsync(JsonObject pod, bool deleted)
    {
        var uid = (string?)pod["metadata"]?["uid"];
        var nodeName = (string?)pod["spec"]?["nodeName"];
        var node = nodes.FirstOrDefault(n => n.Name == nodeName);
        if (uid is null || node is null)
            return Task.CompletedTask;
        bool terminating = deleted || pod["metadata"]?["deletionTimestamp"] is not null;
        if (_pods.TryGetValue(uid, out var running))
        {
            if (terminating)
                _ = running.TerminateAsync(deleted ? TimeSpan.Zero : Grace(pod), removeObject: !deleted);
            return Task.CompletedTask;
        }
        if (terminating)
        {
            // Never started here (or started before this kubelet): nothing runs, the object can go at once.
            if (!deleted)
                _ = ForceDeleteAsync(pod);
            return Task.CompletedTask;
        }
        if ((string?)pod["status"]?["phase"] is "Succeeded" or "Failed")
            return Task.CompletedTask;
        var started = new RunningPod(this, node, pod);
        if (_pods.TryAdd(uid, started))
            _ = started.RunAsync();
        return Task.CompletedTask;
    }

    private static TimeSpan Grace(JsonObject pod)
    {
        var seconds = (long?)pod["metadata"]?["deletionGracePeriodSeconds"]
            ?? (long?)pod["spec"]?["terminationGracePeriodSeconds"]
            ?? 30;
        return TimeSpan.FromSeconds(Math.Min(seconds, MaxGrace.TotalSeconds));
    }

    private async Task ForceDeleteAsync(JsonObject pod)
    {
        try
        {
            await DeleteNowAsync(pod);
        }
        catch (Exception e)
        {
            _errors.Enqueue($"delete {Name(pod)}: {e.Message}");
        }
    }

    private Task DeleteNowAsync(JsonObject pod) =>
        _kube.DeleteAsync(
            KubeResource.Core("pods", (string?)pod["metadata"]!["namespace"], (string?)pod["metadata"]!["name"]),
            CancellationToken.None,
            gracePeriodSeconds: 0,
            uid: (string?)pod["metadata"]!["uid"]
        );

    private static string Name(JsonObject pod) => $"{pod["metadata"]?["namespace"]}/{pod["metadata"]?["name"]}";

    /// <summary>
    /// The next free address after the last one given, round the pod CIDR, as host-local IPAM does: an address
    /// just freed is not handed out again at once (a rollout would otherwise give a new pod its predecessor's IP).
    /// </summary>
    private int AllocateAddress(TestNode node)
    {
        lock (_used)
        {
            for (int step = 0; step < 253; step++)
            {
                int i = 2 + (_cursor[node.Index] + step) % 253;
                if (_used[node.Index * 256 + i])
                    continue;
                _used[node.Index * 256 + i] = true;
                _cursor[node.Index] = i - 1;
                return i;
            }
        }
        throw new InvalidOperationException($"node {node.Name} has no pod address left");
    }

    private void ReleaseAddress(TestNode node, int index)
    {
        lock (_used)
            _used[node.Index * 256 + index] = false;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        try
        {
            await Task.WhenAll(new[] { _watch, _heartbeat }.OfType<Task>()).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception)
        { /* cancelled or faulted: either way it is over */
        }
        await Task.WhenAll(_pods.Values.Select(p => p.TerminateAsync(TimeSpan.Zero, removeObject: false)));
    }

    /// <summary>One pod on one node: its namespace, its agent process, its status.</summary>
    [System.Diagnostics.CodeAnalysis.SuppressMessage(
        "Design",
        "CA1001",
        Justification = "Its stop source has no timer: nothing to release."
    )]
    private sealed class RunningPod(TestKubelet kubelet, TestNode node, JsonObject pod)
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private Process? _process;
        private int _terminating;
        private int _addressIndex;
        private string? _podNamespace;
        private readonly string _ns = (string)pod["metadata"]!["namespace"]!;
        private readonly string _name = (string)pod["metadata"]!["name"]!;
        private readonly string _uid = (string)pod["metadata"]!["uid"]!;
        private readonly bool _hostNetwork = (bool?)pod["spec"]?["hostNetwork"] ?? false;
        private readonly DateTimeOffset _startTime = DateTimeOffset.UtcNow;
        private string _ip = "";
        private bool _ready;
        private int _restarts;

        private JsonObject Container => (JsonObject)pod["spec"]!["containers"]![0]!;

        public async Task RunAsync()
        {
            try
            {
                var image = (string?)Container["image"] ?? "";
                if (!image.Split('/').Last().StartsWith(AgentImageName, StringComparison.Ordinal))
                {
                    await WriteStatusAsync(
                        "Pending",
                        waitingReason: "ErrImagePull",
                        message: $"the test bed runs only {AgentImageName} images, not {image}"
                    );
                    return;
                }
                if (_hostNetwork)
                    _ip = node.Address;
                else
                {
                    _addressIndex = kubelet.AllocateAddress(node);
                    _ip = TestBedNetwork.PodAddress(node.PodCidr, _addressIndex);
                    _podNamespace = $"{node.Namespace}-{_addressIndex}";
                    await TestBedNetwork.AddPodAsync(
                        node.Index,
                        _podNamespace,
                        $"v{_addressIndex}",
                        _ip,
                        node.PodCidr,
                        _stop.Token
                    );
                }
                var environment = await EnvironmentAsync(_stop.Token);
                if ((long?)pod["spec"]?["activeDeadlineSeconds"] is long deadline)
                    _ = EnforceDeadlineAsync(TimeSpan.FromSeconds(deadline));
                while (!_stop.IsCancellationRequested)
                {
                    _process = StartAgent(environment);
                    _ready = false;
                    await WriteStatusAsync("Running");
                    var probe = ProbeAsync(_stop.Token);
                    await _process.WaitForExitAsync(CancellationToken.None);
                    if (_stop.IsCancellationRequested)
                        break;
                    var policy = (string?)pod["spec"]?["restartPolicy"] ?? "Always";
                    if (policy == "Never" || policy == "OnFailure" && _process.ExitCode == 0)
                    {
                        await WriteStatusAsync(_process.ExitCode == 0 ? "Succeeded" : "Failed");
                        break;
                    }
                    _restarts++;
                    await Task.Delay(TimeSpan.FromSeconds(1), _stop.Token);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested) { }
            catch (Exception e)
            {
                kubelet._errors.Enqueue($"pod {_ns}/{_name}: {e.GetType().Name}: {e.Message}");
            }
            finally
            {
                _ended.TrySetResult();
            }
        }

        private Process StartAgent(IReadOnlyDictionary<string, string> environment) =>
            NamespaceProcess.Start(
                _podNamespace ?? node.Namespace,
                kubelet._agentPath,
                (Container["args"] as JsonArray ?? []).Select(a => (string)a!),
                Path.Combine(kubelet._logDirectory, $"{_ns}_{_name}_{_restarts}.log"),
                environment
            );

        /// <summary>The container's env: plain values, fieldRef (name, namespace, node, IPs) and
        /// secretKeyRef.</summary>
        private async Task<IReadOnlyDictionary<string, string>> EnvironmentAsync(CancellationToken cancellationToken)
        {
            var environment = new Dictionary<string, string>();
            foreach (var variable in (Container["env"] as JsonArray ?? []).OfType<JsonObject>())
            {
                var name = (string)variable["name"]!;
                if ((string?)variable["value"] is { } value)
                    environment[name] = value;
                else if (variable["valueFrom"]?["fieldRef"]?["fieldPath"] is { } path)
                    environment[name] = (string)path! switch
                    {
                        "metadata.name" => _name,
                        "metadata.namespace" => _ns,
                        "spec.nodeName" => node.Name,
                        "status.podIP" => _ip,
                        "status.hostIP" => node.Address,
                        var other => throw new NotSupportedException($"fieldRef {other}"),
                    };
                else if (variable["valueFrom"]?["secretKeyRef"] is JsonObject reference)
                {
                    var secret = await kubelet._kube.GetAsync(
                        KubeResource.Core("secrets", _ns, (string)reference["name"]!),
                        cancellationToken
                    );
                    var encoded = (string?)secret["data"]?[(string)reference["key"]!]
                        ?? throw new InvalidOperationException(
                            $"secret {reference["name"]} has no key {reference["key"]}"
                        );
                    environment[name] = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
                }
            }
            return environment;
        }

        /// <summary>The readinessProbe's httpGet, from this host (routed to pod and node addresses); without a probe,
        /// ready once started.</summary>
        private async Task ProbeAsync(CancellationToken cancellationToken)
        {
            var probe = Container["readinessProbe"]?["httpGet"] as JsonObject;
            var period = TimeSpan.FromSeconds((int?)Container["readinessProbe"]?["periodSeconds"] ?? 10);
            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(1) };
            var process = _process;
            while (!cancellationToken.IsCancellationRequested && process is { HasExited: false })
            {
                bool ready = probe is null;
                if (probe is not null)
                {
                    try
                    {
                        using var answer = await http.GetAsync(
                            $"http://{_ip}:{Port(probe["port"]!)}{(string?)probe["path"] ?? "/"}",
                            cancellationToken
                        );
                        ready = answer.IsSuccessStatusCode;
                    }
                    catch (Exception e)
                        when (e is HttpRequestException or TaskCanceledException
                            && !cancellationToken.IsCancellationRequested
                        ) { }
                }
                if (ready != _ready && _terminating == 0)
                {
                    _ready = ready;
                    await WriteStatusAsync("Running");
                }
                await Task.Delay(
                    ready && probe is null
                        ? TimeSpan.FromDays(1)
                        : TimeSpan.FromMilliseconds(
                            Math.Min(period.TotalMilliseconds, _ready ? period.TotalMilliseconds : 250)
                        ),
                    cancellationToken
                );
            }
        }

        private int Port(JsonNode port) =>
            port.GetValueKind() == System.Text.Json.JsonValueKind.Number
                ? (int)port
                : (int)
                    (Container["ports"] as JsonArray ?? [])
                        .OfType<JsonObject>()
                        .First(p => (string?)p["name"] == (string)port!)["containerPort"]!;

        private async Task EnforceDeadlineAsync(TimeSpan deadline)
        {
            try
            {
                await Task.Delay(deadline - (DateTimeOffset.UtcNow - _startTime), _stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            await _stop.CancelAsync();
            Kill();
            await WriteStatusAsync(
                "Failed",
                reason: "DeadlineExceeded",
                message: $"Pod was active on the node longer than the specified deadline ({deadline.TotalSeconds:0}s)"
            );
        }

        private async Task WriteStatusAsync(
            string phase,
            string? waitingReason = null,
            string? message = null,
            string? reason = null
        )
        {
            bool running = phase == "Running";
            bool ready = running && _ready;
            string now = Time(DateTimeOffset.UtcNow);
            JsonObject Condition(string type, bool status) =>
                new()
                {
                    ["type"] = type,
                    ["status"] = status ? "True" : "False",
                    ["lastTransitionTime"] = now,
                };
            var state =
                waitingReason is not null
                    ? new JsonObject
                    {
                        ["waiting"] = new JsonObject { ["reason"] = waitingReason, ["message"] = message },
                    }
                : running ? new JsonObject { ["running"] = new JsonObject { ["startedAt"] = Time(_startTime) } }
                : new JsonObject
                {
                    ["terminated"] = new JsonObject
                    {
                        ["exitCode"] = _process is { HasExited: true } p ? p.ExitCode : 137,
                        ["reason"] = reason ?? phase,
                        ["finishedAt"] = now,
                    },
                };
            var status = new JsonObject
            {
                ["phase"] = phase,
                ["hostIP"] = node.Address,
                ["hostIPs"] = new JsonArray(new JsonObject { ["ip"] = node.Address }),
                ["startTime"] = Time(_startTime),
                ["conditions"] = new JsonArray(
                    Condition("PodScheduled", true),
                    Condition("Initialized", true),
                    Condition("ContainersReady", ready),
                    Condition("Ready", ready)
                ),
                ["containerStatuses"] = new JsonArray(
                    new JsonObject
                    {
                        ["name"] = (string?)Container["name"],
                        ["image"] = (string?)Container["image"],
                        ["imageID"] = "",
                        ["ready"] = ready,
                        ["started"] = running,
                        ["restartCount"] = _restarts,
                        ["state"] = state,
                    }
                ),
            };
            if (_ip.Length > 0)
            {
                status["podIP"] = _ip;
                status["podIPs"] = new JsonArray(new JsonObject { ["ip"] = _ip });
            }
            if (reason is not null)
                status["reason"] = reason;
            if (message is not null && waitingReason is null)
                status["message"] = message;
            try
            {
                await kubelet._kube.ApplyAsync(
                    KubeResource.Core("pods", _ns, _name) with
                    {
                        Subresource = "status",
                    },
                    new JsonObject
                    {
                        ["apiVersion"] = "v1",
                        ["kind"] = "Pod",
                        ["metadata"] = new JsonObject { ["name"] = _name, ["namespace"] = _ns },
                        ["status"] = status,
                    },
                    CancellationToken.None
                );
            }
            catch (KubeApiException e)
                when (e.Status is System.Net.HttpStatusCode.NotFound or System.Net.HttpStatusCode.Conflict)
            { /* deleted meanwhile */
            }
        }

        private void Kill(int signal = ChildProcess.SIGKILL)
        {
            try
            {
                if (_process is { HasExited: false } p)
                    ChildProcess.KillPid(p.Id, signal);
            }
            catch (InvalidOperationException) { }
        }

        /// <summary>SIGTERM, up to <paramref name="grace"/> to exit, SIGKILL; the namespace goes; then the object
        /// (grace 0), as a kubelet confirms.</summary>
        public async Task TerminateAsync(TimeSpan grace, bool removeObject)
        {
            if (Interlocked.Exchange(ref _terminating, 1) == 1)
            {
                await _ended.Task;
                return;
            }
            await _stop.CancelAsync();
            Kill(ChildProcess.SIGTERM);
            if (_process is { } process)
            {
                using var wait = new CancellationTokenSource(grace);
                try
                {
                    await process.WaitForExitAsync(wait.Token);
                }
                catch (OperationCanceledException)
                {
                    Kill();
                    await process.WaitForExitAsync(CancellationToken.None);
                }
            }
            await _ended.Task.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { });
            if (_podNamespace is not null)
            {
                await TestBedNetwork.DeletePodAsync(_podNamespace);
                kubelet.ReleaseAddress(node, _addressIndex);
            }
            kubelet._pods.TryRemove(_uid, out _);
            if (removeObject)
            {
                try
                {
                    await kubelet.DeleteNowAsync(pod);
                }
                catch (Exception e)
                {
                    kubelet._errors.Enqueue($"delete {_ns}/{_name}: {e.Message}");
                }
            }
        }
    }
}
