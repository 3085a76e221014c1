using System.Globalization;
using System.Threading.Channels;
using CniBench.Cli.Targets.Lab.Network;
using CniBench.Cli.Targets.Lab.Network.Services;
using CniBench.Contracts.Protocol;

namespace CniBench.Cli.Features.Convergence;

/// <summary>
/// The convergence service of a lab: ClusterIP 10.96.0.20:80, its endpoints extra addresses on the endpoint
/// pods (served by the agents already there, which listen on every address). Each node has its own syncer,
/// as each node has its own kube-proxy: it writes the latest issued endpoints, in the node's proxy mode,
/// the churn's injected delay after they were issued. Changes are issued on a fixed beat, 1→N and then each
/// replaced (<see cref="ChurnPlan"/>), without waiting for the writes. Disposing stops the syncers and removes the
/// service
/// and the addresses.
/// </summary>
public sealed class LabChurn : IEndpointChurn
{
    public const string ClusterIp = "10.96.0.20";
    public const int Port = 80;
    private readonly LabTopology _topology;
    private readonly IReadOnlyList<LabService> _others;
    private readonly IReadOnlyList<(LabHost Pod, string Address)> _pool;
    private readonly Churn _spec;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly List<NodeWrite> _writes = new();
    private readonly List<Syncer> _syncers = new();
    private (int Version, IReadOnlyList<string> Endpoints, long IssuedUs) _desired;
    private Exception? _failure;

    private LabChurn(
        LabTopology topology,
        IReadOnlyList<LabService> others,
        IReadOnlyList<(LabHost, string)> pool,
        IReadOnlyList<Prober> probers,
        Churn spec
    )
    {
        _topology = topology;
        _others = others;
        _pool = pool;
        _spec = spec;
        Probers = probers;
        _desired = (0, [pool[0].Item2], 0);
    }

    public IReadOnlyList<Prober> Probers { get; }
    public string ServiceAddress => $"{ClusterIp}:{Port.ToString(CultureInfo.InvariantCulture)}";
    public TimeSpan Budget => _spec.Interval * _spec.Changes + _spec.InjectedDelay;

    /// <summary>Adds the addresses (two per endpoint: the first N, then their replacements) to the endpoint pods,
    /// writes the service with the first one, starts a syncer per node.</summary>
    public static async Task<LabChurn> CreateAsync(
        LabTopology topology,
        IReadOnlyList<LabService> others,
        Churn spec,
        IReadOnlyList<Prober> probers,
        CancellationToken cancellationToken
    )
    {
        int addresses = spec.Endpoints * 2;
        var pods = topology.Endpoints.ToArray();
        // Spread over the endpoint pods of every node, above the pods' own addresses (.2 upwards).
        var pool = Enumerable
            .Range(0, addresses)
            .Select(k => (pods[k % pods.Length], $"10.244.{pods[k % pods.Length].Node}.{100 + k / pods.Length}"))
            .ToArray();
        var churn = new LabChurn(topology, others, pool, probers, spec);
        foreach (var group in pool.GroupBy(p => p.Item1.Namespace))
            await LabShell.RunAsync(
                "ip",
                ["-n", group.Key, "-batch", "-"],
                string.Join('\n', group.Select(p => $"addr add {p.Item2}/32 dev eth0")) + "\n",
                cancellationToken
            );
        await ServiceProgrammer.UpdateAsync(
            topology,
            topology.Spec.Proxy,
            churn._others,
            churn.Services(churn._desired.Endpoints),
            cancellationToken
        );
        foreach (var node in topology.Nodes)
            churn._syncers.Add(new Syncer(churn, node));
        return churn;
    }

    private IReadOnlyList<LabService> Services(IReadOnlyList<string> endpoints) =>
        [
            .. _others,
            new LabService(
                "cnibench/churn:http",
                ClusterIp,
                "tcp",
                Port,
                null,
                endpoints.Select(a => new ServiceEndpoint(a, DefaultPorts.Http)).ToArray()
            ),
        ];

    public async Task<ChurnRecord> DriveAsync(DateTimeOffset firstChangeAt, CancellationToken cancellationToken)
    {
        var plan = ChurnPlan.Of(_spec, _pool.Select(p => p.Address).ToArray());
        var issued = new List<long>();
        for (int i = 0; i < plan.Count; i++)
        {
            var wait = firstChangeAt + _spec.Interval * i - DateTimeOffset.UtcNow;
            if (wait > TimeSpan.Zero)
                await Task.Delay(wait, cancellationToken);
            issued.Add(UnixClock.NowMicroseconds());
            Issue(i + 1, plan[i].After, issued[^1]);
        }
        var writes = await SettleAsync(cancellationToken);
        var changes = plan.Select(
                (c, i) =>
                    new EndpointChange(
                        i + 1,
                        c.Kind,
                        c.Added,
                        c.Removed,
                        issued[i],
                        ChurnPlan.WrittenEverywhere(writes, i + 1)
                    )
            )
            .ToArray();
        return new ChurnRecord(changes, writes);
    }

    private void Issue(int version, IReadOnlyList<string> endpoints, long issuedUnixUs)
    {
        lock (_gate)
            _desired = (version, endpoints, issuedUnixUs);
        foreach (var s in _syncers)
            s.Wake();
    }

    private (int Version, IReadOnlyList<string> Endpoints, long IssuedUs) Desired
    {
        get
        {
            lock (_gate)
                return _desired;
        }
    }

    private async Task<IReadOnlyList<NodeWrite>> SettleAsync(CancellationToken cancellationToken)
    {
        int target = Desired.Version;
        while (true)
        {
            lock (_gate)
            {
                if (_failure is not null)
                    throw new LabException($"a node's proxy failed to write the service: {_failure.Message}");
                if (_syncers.All(s => s.Applied >= target))
                    return _writes.ToArray();
            }
            await Task.Delay(5, cancellationToken);
        }
    }

    /// <summary>One node's proxy: waits for a change, waits out the injected delay, writes the latest endpoints it
    /// knows.</summary>
    private sealed class Syncer
    {
        private readonly LabChurn _owner;
        public LabHost Node { get; }
        private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(
            new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite }
        );

        public Syncer(LabChurn owner, LabHost node)
        {
            _owner = owner;
            Node = node;
            Written = owner._desired.Endpoints;
            Loop = Task.Run(RunAsync);
        }

        public int Applied { get; private set; }
        public IReadOnlyList<string> Written { get; private set; }
        public Task Loop { get; }

        public void Wake() => _wake.Writer.TryWrite(true);

        private async Task RunAsync()
        {
            var token = _owner._stop.Token;
            try
            {
                while (await _wake.Reader.WaitToReadAsync(token))
                {
                    _wake.Reader.TryRead(out _);
                    var desired = _owner.Desired;
                    if (desired.Version <= Applied)
                        continue;
                    // Timers may fire a millisecond or two early: wait until the wall clock says so.
                    long due = desired.IssuedUs + (long)_owner._spec.InjectedDelay.TotalMicroseconds;
                    for (long left; (left = due - UnixClock.NowMicroseconds()) > 0; )
                        await Task.Delay(TimeSpan.FromMicroseconds(Math.Max(left, 1000)), token);
                    long started = UnixClock.NowMicroseconds();
                    await ServiceProgrammer.UpdateNodeAsync(
                        _owner._topology,
                        Node,
                        _owner.Services(Written),
                        _owner.Services(desired.Endpoints),
                        token
                    );
                    Written = desired.Endpoints;
                    lock (_owner._gate)
                    {
                        Applied = desired.Version;
                        _owner._writes.Add(
                            new NodeWrite(Node.Namespace, desired.Version, started, UnixClock.NowMicroseconds())
                        );
                    }
                    // A change that arrived during the write is picked up on the next turn.
                    if (_owner.Desired.Version > Applied)
                        Wake();
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested) { }
            catch (Exception e) when (e is LabException or InvalidOperationException)
            {
                lock (_owner._gate)
                    _owner._failure ??= e;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        foreach (var s in _syncers)
            await s.Loop;
        try
        {
            // Each node may have stopped at a different version: take the service away from what each one wrote.
            foreach (var s in _syncers)
                await ServiceProgrammer.UpdateNodeAsync(
                    _topology,
                    s.Node,
                    Services(s.Written),
                    _others,
                    CancellationToken.None
                );
            foreach (var group in _pool.GroupBy(p => p.Pod.Namespace))
                await LabShell.RunAsync(
                    "ip",
                    ["-n", group.Key, "-batch", "-"],
                    string.Join('\n', group.Select(p => $"addr del {p.Address}/32 dev eth0")) + "\n",
                    CancellationToken.None
                );
        }
        catch (LabException e)
        {
            // The lab may be going down already (interrupted run); its namespaces take all of this with them.
            Console.Error.WriteLine($"cnibench: removing the convergence service: {e.Message}");
        }
        _stop.Dispose();
    }
}
