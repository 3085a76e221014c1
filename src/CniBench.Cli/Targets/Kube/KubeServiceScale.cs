using System.Globalization;
using CniBench.Cli.Convergence;
using CniBench.Cli.Kube;
using CniBench.Cli.Running;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Targets.Kube;

/// <summary>
/// The service-scale suite on a cluster: N dummy ClusterIP Services beside the run's own (created and
/// removed to match each case, eight API calls at a time), and, black-box for whatever proxy the cluster
/// runs, how long one more Service takes to answer through its ClusterIP from the client pod: the time
/// from its create call returning to a prober's first success at it.
/// </summary>
public sealed class KubeServiceScale(KubeClient kube, string ns, string runId)
{
    private const int ApiParallelism = 8;
    private static readonly TimeSpan ReachTimeout = TimeSpan.FromSeconds(60);
    private readonly HashSet<int> _dummies = new();
    private int _reachProbes;

    private static string DummyName(int index) => string.Create(CultureInfo.InvariantCulture, $"dummy-{index:D5}");

    /// <summary>Creates or deletes dummies until there are exactly <paramref name="count"/>.</summary>
    public async Task EnsureAsync(int count, CancellationToken cancellationToken)
    {
        var services = KubeResource.Core("services", ns);
        var options = new ParallelOptions { MaxDegreeOfParallelism = ApiParallelism, CancellationToken = cancellationToken };
        int[] create, delete;
        lock (_dummies)
        {
            create = Enumerable.Range(0, count).Where(i => !_dummies.Contains(i)).ToArray();
            delete = _dummies.Where(i => i >= count).ToArray();
        }
        await Parallel.ForEachAsync(create, options, async (i, token) =>
        {
            var manifest = AgentManifests.DummyService(ns, runId, DummyName(i));
            KubeTarget.Check(manifest);
            await kube.CreateAsync(services, manifest, token);
            lock (_dummies) _dummies.Add(i);
        });
        await Parallel.ForEachAsync(delete, options, async (i, token) =>
        {
            await kube.DeleteAsync(services.Named(DummyName(i)), token);
            lock (_dummies) _dummies.Remove(i);
        });
    }

    /// <summary>Milliseconds from creating one more Service to the client's first answer through it; the Service is deleted again.</summary>
    public async Task<double> TimeToReachNewServiceAsync(AgentHandle client, bool v6, CancellationToken cancellationToken)
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"reach-{++_reachProbes}");
        var resource = KubeResource.Core("services", ns, name);
        var (offset, uncertainty) = await ClockOffset.MeasureAsync(client.Client, cancellationToken);
        var manifest = AgentManifests.DummyService(ns, runId, name);
        KubeTarget.Check(manifest);
        var service = await kube.CreateAsync(KubeResource.Core("services", ns), manifest, cancellationToken);
        long createdUs = UnixClock.NowMicroseconds();
        try
        {
            var ip = KubeTarget.Pick(v6, service["spec"]?["clusterIPs"], (string?)service["spec"]?["clusterIP"], $"service {ns}/{name}");
            int port = (int?)service["spec"]?["ports"]?[0]?["port"] ?? 80;
            var probe = WorkloadDefaults.For(WorkloadKind.Probe) with { Rate = 1000, TimeoutMs = 200, Target = Endpoints.Format(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(ip), port)) };
            var job = new JobTracker(client);
            await job.CreateAsync(new JobSpec(probe, 0, (int)ReachTimeout.TotalMilliseconds), cancellationToken);
            await job.StartAsync(0, cancellationToken);
            // Follow until a second's sample shows an answer, then end the window and fetch the exact instant.
            using (var answered = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                try { await job.FollowAsync(TimeSpan.FromMilliseconds(100), JobTracker.SilenceLimit, s => { if (s.Transactions > 0) answered.Cancel(); }, answered.Token); }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested) { }
            }
            await job.FinishAsync(cancellationToken);
            await job.FollowAsync(TimeSpan.FromMilliseconds(100), JobTracker.SilenceLimit, _ => { }, cancellationToken);
            var seen = job.Status?.Result?.Probe?.Backends.Values.Select(b => (long?)b.FirstUnixUs).Min()
                ?? throw new TargetException($"kube: a new Service {ns}/{name} ({probe.Target}) did not answer the client pod within {ReachTimeout.TotalSeconds:0}s{(job.Status?.Error is { } e ? $": {e}" : "")}");
            return Math.Max(0, (seen - ClockOffset.Proven(offset, uncertainty) - createdUs) / 1000.0);
        }
        finally
        {
            try { await kube.DeleteAsync(resource, CancellationToken.None); }
            catch (Exception e) when (e is KubeApiException or KubeConnectionException) { }
        }
    }
}
