using System.Globalization;
using CniBench.Cli.Targets;
using CniBench.Cli.Targets.Kube.Api;
using CniBench.Contracts.Protocol;

namespace CniBench.Cli.Features.Convergence;

/// <summary>
/// Convergence on a real cluster, black-box for any CNI and proxy: the endpoints Deployment is scaled 1→N
/// and then restarted as `kubectl rollout restart` does it, while a prober on every node sends to the
/// churn Service. Each change is what the EndpointSlice watch showed and when the controller saw it; the
/// probers' first success at every new pod address (and last at every removed one) gives the time each
/// node's dataplane took, whatever programs it.
/// </summary>
public sealed class KubeChurn : IEndpointChurn
{
    /// <summary>
    /// Between the scale-up and the restart: the restart deletes the newest pods first, and an endpoint deleted before
    /// the nodes reached it is a measurement lost (counted as withdrawn), so the proxies get time to program them.
    /// </summary>
    private static readonly TimeSpan BetweenSteps = TimeSpan.FromSeconds(3);
    private readonly KubeEndpoints _endpoints;
    private readonly int _count;
    private readonly EndpointSliceTracker _tracker;
    private readonly CancellationTokenSource _stopWatch;
    private readonly Task _watch;

    private KubeChurn(
        KubeEndpoints endpoints,
        int count,
        EndpointSliceTracker tracker,
        IReadOnlyList<Prober> probers,
        string serviceAddress,
        CancellationTokenSource stopWatch,
        Task watch
    )
    {
        _endpoints = endpoints;
        _count = count;
        _tracker = tracker;
        Probers = probers;
        ServiceAddress = serviceAddress;
        _stopWatch = stopWatch;
        _watch = watch;
    }

    public IReadOnlyList<Prober> Probers { get; }
    public string ServiceAddress { get; }

    /// <summary>The watch shows the last change before any proxy has it; a proxy that has not got there 5 s later
    /// counts as never reaching it.</summary>
    public TimeSpan Tail => TimeSpan.FromSeconds(5);

    /// <summary>Scale-up and rollout may each take up to the step timeout.</summary>
    public TimeSpan Budget => _endpoints.StepTimeout * 2 + BetweenSteps;

    /// <summary>Starts following the churn Service's slices and waits until its single endpoint is in place and nothing
    /// else is left in them.</summary>
    /// <param name="count">How many endpoints the Deployment is scaled to (N).</param>
    public static async Task<KubeChurn> StartAsync(
        KubeClient kube,
        KubeEndpoints endpoints,
        int count,
        bool v6,
        IReadOnlyList<Prober> probers,
        string serviceAddress,
        CancellationToken cancellationToken
    )
    {
        var tracker = new EndpointSliceTracker(v6 ? "IPv6" : "IPv4");
        var stop = new CancellationTokenSource();
        var watcher = new KubeWatcher(
            kube,
            new KubeResource("discovery.k8s.io", "v1", "endpointslices", endpoints.Namespace),
            $"kubernetes.io/service-name={AgentManifests.ChurnService}"
        );
        var listed = new TaskCompletionSource();
        var watch = Task.Run(
            async () =>
            {
                try
                {
                    await watcher.RunAsync(
                        items =>
                        {
                            tracker.Reset(items, UnixClock.NowMicroseconds());
                            listed.TrySetResult();
                            return Task.CompletedTask;
                        },
                        e =>
                        {
                            tracker.Apply(e.Type, e.Object, UnixClock.NowMicroseconds());
                            return Task.CompletedTask;
                        },
                        stop.Token
                    );
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested) { }
                catch (Exception e) when (e is KubeApiException or KubeConnectionException)
                {
                    listed.TrySetException(
                        new TargetException(
                            $"kube: cannot watch the EndpointSlices of Service "
                                + $"{endpoints.Namespace}/{AgentManifests.ChurnService}: {e.Message}"
                        )
                    );
                    throw;
                }
            },
            CancellationToken.None
        ); // stopped by its own token, on dispose
        var churn = new KubeChurn(endpoints, count, tracker, probers, serviceAddress, stop, watch);
        try
        {
            await listed.Task.WaitAsync(cancellationToken);
            await churn.WaitForAsync(
                "the churn Service to have its single endpoint",
                () => tracker.Ready.Count == 1 && tracker.Present.Count == 1,
                cancellationToken
            );
            return churn;
        }
        catch
        {
            await churn.DisposeAsync();
            throw;
        }
    }

    public async Task<ChurnRecord> DriveAsync(DateTimeOffset firstChangeAt, CancellationToken cancellationToken)
    {
        var wait = firstChangeAt - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero)
            await Task.Delay(wait, cancellationToken);
        _tracker.StartRecording();
        int n = _count;
        var actions = new List<ChurnAction>();

        actions.Add(new ChurnAction($"scale to {n}", UnixClock.NowMicroseconds()));
        await _endpoints.ApplyDeploymentAsync(n, cancellationToken);
        await WaitForAsync(
            $"{n} ready endpoints after scaling to {n}",
            () => _tracker.Ready.Count >= n,
            cancellationToken
        );
        var beforeRestart = _tracker.Present;

        await Task.Delay(BetweenSteps, cancellationToken);
        _endpoints.RestartedAt = DateTimeOffset.UtcNow.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        actions.Add(new ChurnAction("rollout restart", UnixClock.NowMicroseconds()));
        await _endpoints.ApplyDeploymentAsync(n, cancellationToken);
        await WaitForAsync(
            $"the rollout restart to replace all {n} endpoints",
            () =>
            {
                var ready = _tracker.Ready;
                return ready.Count >= n && !ready.Overlaps(beforeRestart) && !_tracker.Present.Overlaps(beforeRestart);
            },
            cancellationToken
        );
        return new ChurnRecord(_tracker.Changes, []) { Actions = actions };
    }

    private async Task WaitForAsync(string what, Func<bool> done, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + _endpoints.StepTimeout;
        while (!done())
        {
            if (_watch.IsFaulted)
                throw new TargetException(
                    $"kube: the EndpointSlice watch ended while waiting for {what}: "
                        + $"{_watch.Exception!.InnerException!.Message}"
                );
            if (DateTimeOffset.UtcNow > deadline)
                throw new TargetException(
                    $"kube: waited {_endpoints.StepTimeout.TotalSeconds:0}s for {what}; the slices show "
                        + $"{_tracker.Ready.Count} ready of {_tracker.Present.Count} endpoints "
                        + $"({await _endpoints.WhyPodsWaitAsync(cancellationToken)})"
                );
            await Task.Delay(20, cancellationToken);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopWatch.CancelAsync();
        try
        {
            await _watch;
        }
        catch (Exception e) when (e is KubeApiException or KubeConnectionException) { }
        _stopWatch.Dispose();
    }
}
