using System.Net;
using System.Text;
using System.Text.Json.Nodes;

namespace CniBench.Tests.Support;

/// <summary>
/// For convergence tests, three parts of a cluster in one: the endpoints Deployment's controller (scale one
/// pod at a time; a restart replaces each pod: the new one ready, then the old one terminating and gone),
/// the EndpointSlice controller (one IPv4 slice, listed and watched with resourceVersions as the API serves
/// them), and a node's proxy: a real TCP balancer on loopback that follows each slice state a fixed delay
/// after it was published, as kube-proxy follows the watch. Pod addresses are 127.0.0.10 and up, all served
/// by one real agent listening on every address, so the agent's echo names the pod address a probe reached.
/// A terminating pod stops serving at once: connections the proxy still sends to it are reset.
/// </summary>
public sealed class FakeEndpoints : IAsyncDisposable
{
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(40);
    private readonly TimeSpan _dataplaneDelay;
    private readonly TestAgentServer _pods = new(pod: "endpoints", token: "not-used", dualStack: true);
    private readonly TcpForwarder _proxy;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<(long ResourceVersion, JsonObject Event)> _events = new();
    private readonly List<(string Ip, bool Ready)> _slice = new();
    private readonly HashSet<string> _dead = new();
    private TaskCompletionSource _published = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _controller = Task.CompletedTask;
    private (long Version, string[] Ips) _programmed = (0, []);
    private readonly Dictionary<string, long> _firstProgrammedUs = new();
    private string? _restartedAt;
    private long _resourceVersion = 100;
    private int _nextIp = 10;

    public FakeEndpoints(TimeSpan dataplaneDelay)
    {
        _dataplaneDelay = dataplaneDelay;
        _proxy = new TcpForwarder(Pick);
    }

    public int ProxyPort => _proxy.Port;

    /// <summary>Every slice state published, in order, with the ready addresses of each.</summary>
    public IReadOnlyList<IReadOnlyList<string>> Published
    {
        get
        {
            lock (_gate)
                return _events.Select(e => (IReadOnlyList<string>)ReadyOf(e.Event["object"]!.AsObject())).ToArray();
        }
    }

    /// <summary>When the fake proxy really began to send to an address (µs, wall clock): on a busy machine later than
    /// the delay says.</summary>
    public long? FirstProgrammedUnixUs(string address)
    {
        lock (_gate)
            return _firstProgrammedUs.TryGetValue(address, out var at) ? at : null;
    }

    private static string[] ReadyOf(JsonObject slice) =>
        slice["endpoints"]!
            .AsArray()
            .Where(e => (bool)e!["conditions"]!["ready"]!)
            .Select(e => (string)e!["addresses"]![0]!)
            .ToArray();

    /// <summary>The Deployment was applied: reconcile to it after whatever the controller is still doing.</summary>
    public void Apply(int replicas, string? restartedAt)
    {
        lock (_gate)
            _controller = _controller.ContinueWith(_ => ReconcileAsync(replicas, restartedAt)).Unwrap();
    }

    private async Task ReconcileAsync(int replicas, string? restartedAt)
    {
        string[] current;
        lock (_gate)
            current = _slice.Select(e => e.Ip).ToArray();
        if (restartedAt != _restartedAt && current.Length > 0)
        {
            foreach (var old in current)
            {
                await Change(() => _slice.Add((NewIp(), true)));
                await Change(() =>
                {
                    _slice[_slice.FindIndex(e => e.Ip == old)] = (old, false);
                    _dead.Add(old);
                });
                await Change(() => _slice.RemoveAll(e => e.Ip == old));
            }
        }
        _restartedAt = restartedAt;
        while (Count() < replicas)
            await Change(() => _slice.Add((NewIp(), true)));
        while (Count() > replicas)
        {
            var last = _slice[^1].Ip;
            await Change(() =>
            {
                _slice[^1] = (last, false);
                _dead.Add(last);
            });
            await Change(() => _slice.RemoveAll(e => e.Ip == last));
        }
    }

    private int Count()
    {
        lock (_gate)
            return _slice.Count;
    }

    private string NewIp() => $"127.0.0.{_nextIp++}";

    /// <summary>One change to the slice: published as a watch event now, in the proxy's rules after the dataplane
    /// delay.</summary>
    private async Task Change(Action change)
    {
        await Task.Delay(Step);
        long version;
        string[] ready;
        lock (_gate)
        {
            change();
            version = ++_resourceVersion;
            var slice = Slice(version);
            ready = ReadyOf(slice);
            _events.Add(
                (version, new JsonObject { ["type"] = _events.Count == 0 ? "ADDED" : "MODIFIED", ["object"] = slice })
            );
            _published.TrySetResult();
            _published = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        _ = Task.Delay(_dataplaneDelay)
            .ContinueWith(_ =>
            {
                lock (_gate)
                {
                    if (version <= _programmed.Version)
                        return;
                    _programmed = (version, ready);
                    long now = CniBench.Contracts.Protocol.UnixClock.NowMicroseconds();
                    foreach (var ip in ready)
                        _firstProgrammedUs.TryAdd(ip, now);
                }
            });
    }

    private JsonObject Slice(long version) =>
        new()
        {
            ["kind"] = "EndpointSlice",
            ["apiVersion"] = "discovery.k8s.io/v1",
            ["metadata"] = new JsonObject
            {
                ["name"] = "churn-x7k2p",
                ["resourceVersion"] = version.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["labels"] = new JsonObject { ["kubernetes.io/service-name"] = "churn" },
            },
            ["addressType"] = "IPv4",
            ["endpoints"] = new JsonArray(
                _slice
                    .Select(e =>
                        (JsonNode)
                            new JsonObject
                            {
                                ["addresses"] = new JsonArray(e.Ip),
                                ["conditions"] = new JsonObject
                                {
                                    ["ready"] = e.Ready,
                                    ["serving"] = e.Ready,
                                    ["terminating"] = !e.Ready,
                                },
                            }
                    )
                    .ToArray()
            ),
            ["ports"] = new JsonArray(
                new JsonObject
                {
                    ["name"] = "http",
                    ["port"] = _pods.Info.Ports.Http,
                    ["protocol"] = "TCP",
                }
            ),
        };

    /// <summary>GET endpointslices: a list with the current resourceVersion, or a watch streaming every event after the
    /// one asked for.</summary>
    public async Task SlicesAsync(
        FakeApiServer.Request r,
        HttpListenerResponse response,
        CancellationToken cancellationToken
    )
    {
        var query = System.Web.HttpUtility.ParseQueryString(
            r.PathAndQuery.Contains('?') ? r.PathAndQuery[(r.PathAndQuery.IndexOf('?') + 1)..] : ""
        );
        if (query["watch"] != "1")
        {
            JsonObject list;
            lock (_gate)
                list = new JsonObject
                {
                    ["kind"] = "EndpointSliceList",
                    ["metadata"] = new JsonObject
                    {
                        ["resourceVersion"] = _resourceVersion.ToString(
                            System.Globalization.CultureInfo.InvariantCulture
                        ),
                    },
                    ["items"] = _events.Count == 0 ? new JsonArray() : new JsonArray(Slice(_resourceVersion)),
                };
            await FakeApiServer.Json(response, list);
            return;
        }
        long after = long.Parse(query["resourceVersion"] ?? "0", System.Globalization.CultureInfo.InvariantCulture);
        response.StatusCode = 200;
        response.SendChunked = true;
        using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        try
        {
            while (true)
            {
                JsonObject[] pending;
                Task next;
                lock (_gate)
                {
                    pending = _events.Where(e => e.ResourceVersion > after).Select(e => e.Event).ToArray();
                    next = _published.Task;
                }
                foreach (var e in pending)
                {
                    await response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(e.ToJsonString() + "\n"), both.Token);
                    await response.OutputStream.FlushAsync(both.Token);
                    after = long.Parse(
                        (string)e["object"]!["metadata"]!["resourceVersion"]!,
                        System.Globalization.CultureInfo.InvariantCulture
                    );
                }
                await next.WaitAsync(both.Token);
            }
        }
        catch (OperationCanceledException) { }
    }

    /// <summary>A new connection goes to a random endpoint of the rules in force; one sent to a gone pod is
    /// reset.</summary>
    private IPEndPoint? Pick()
    {
        lock (_gate)
        {
            var rules = _programmed.Ips;
            if (rules.Length == 0)
                return null;
            var ip = rules[Random.Shared.Next(rules.Length)];
            return _dead.Contains(ip) ? null : new IPEndPoint(IPAddress.Parse(ip), _pods.Info.Ports.Http);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _proxy.DisposeAsync();
        await _pods.DisposeAsync();
        _stop.Dispose();
    }
}
