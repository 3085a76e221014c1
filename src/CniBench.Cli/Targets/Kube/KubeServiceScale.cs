using System.Globalization;
using CniBench.Cli.Agents;
using CniBench.Cli.Targets.Kube.Api;
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
    private readonly HashSet<int> _dummies = new();
    private int _reachProbes;

    private static string DummyName(int index) => string.Create(CultureInfo.InvariantCulture, $"dummy-{index:D5}");

    /// <summary>Creates or deletes dummies until there are exactly <paramref name="count"/>.</summary>
    public async Task EnsureAsync(int count, CancellationToken cancellationToken)
    {
        var services = KubeResource.Core("services", ns);
        var options = new ParallelOptions
        {
            MaxDegreeOfParallelism = ApiParallelism,
            CancellationToken = cancellationToken,
        };
        int[] create,
            delete;
        lock (_dummies)
        {
            create = Enumerable.Range(0, count).Where(i => !_dummies.Contains(i)).ToArray();
            delete = _dummies.Where(i => i >= count).ToArray();
        }
        await Parallel.ForEachAsync(create, options, async (i, token) =>
        {
            var manifest = KubeObjects.Checked(AgentManifests.DummyService(ns, runId, DummyName(i)));
            if (!await CreateAgainAsync(services, manifest, TimeSpan.FromSeconds(60), token))
                throw new TargetException(
                    $"kube: Service {ns}/{DummyName(i)} could not be created again within 60s (an earlier one of "
                        + $"that name is still being deleted)"
                );
            lock (_dummies)
                _dummies.Add(i);
        });
        await Parallel.ForEachAsync(delete, options, async (i, token) =>
        {
            // Background: the name and its ClusterIP are free at once; its EndpointSlices go after.
            await kube.DeleteAsync(services.Named(DummyName(i)), token, foreground: false);
            lock (_dummies)
                _dummies.Remove(i);
        });
    }

    /// <summary>
    /// Milliseconds from creating one more Service to the client's first answer through its ClusterIP, with a
    /// prober already running at that address when the create returns (so its own start is not counted): the
    /// Service is created once to learn an address, deleted until a prober sees the address stop answering,
    /// then created again with that ClusterIP. Null, with a warning, if the cluster will not give the address back.
    /// </summary>
    public async Task<double?> TimeToReachNewServiceAsync(
        AgentHandle client,
        bool v6,
        CancellationToken cancellationToken
    )
    {
        var name = string.Create(CultureInfo.InvariantCulture, $"reach-{++_reachProbes}");
        var services = KubeResource.Core("services", ns);
        var manifest = KubeObjects.Checked(AgentManifests.DummyService(ns, runId, name));
        var first = await kube.CreateAsync(services, manifest, cancellationToken);
        try
        {
            var ip = KubeObjects.ClusterIp(v6, first);
            int port = (int?)first["spec"]?["ports"]?[0]?["port"] ?? 80;
            var probe = WorkloadDefaults.For(WorkloadKind.Probe) with
            {
                Rate = 1000,
                TimeoutMs = 200,
                Target = Endpoints.Format(new System.Net.IPEndPoint(System.Net.IPAddress.Parse(ip), port)),
            };

            await kube.DeleteAsync(services.Named(name), cancellationToken, foreground: false);
            var gone = await ServiceProbe.StartAsync(client, probe, cancellationToken);
            if (!await gone.FollowUntilAsync(s => s.Transactions == 0 && s.Errors > 0, cancellationToken))
                throw new TargetException(
                    $"kube: {probe.Target} still answered {ServiceProbe.ReachTimeout.TotalSeconds:0}s after Service "
                        + $"{ns}/{name} was deleted"
                );
            await gone.FinishAsync(cancellationToken);

            var (offset, uncertainty) = await ClockOffset.MeasureAsync(client.Client, cancellationToken);
            var job = await ServiceProbe.StartAsync(client, probe, cancellationToken);
            // running, and the address still silent for a second
            await job.FollowUntilAsync(_ => true, cancellationToken);
            manifest["spec"]!["clusterIP"] = ip;
            manifest["spec"]!["clusterIPs"] = new System.Text.Json.Nodes.JsonArray(ip);
            if (!await CreateAgainAsync(services, manifest, TimeSpan.FromSeconds(10), cancellationToken))
            {
                await job.CancelQuietlyAsync();
                Console.Error.WriteLine(
                    $"cnibench: the cluster would not give ClusterIP {ip} to a new Service {ns}/{name}; "
                        + $"{Contracts.Measurement.Metrics.ServiceReachableMs} is not measured"
                );
                return null;
            }
            long createdUs = UnixClock.NowMicroseconds();
            await job.FollowUntilAsync(s => s.Transactions > 0, cancellationToken);
            await job.FinishAsync(cancellationToken);
            await job.FollowAsync(TimeSpan.FromMilliseconds(100), JobTracker.SilenceLimit, _ => { }, cancellationToken);
            var seen = job.Status?.Result?.Probe?.Backends.Values.Select(b => (long?)b.FirstUnixUs).Min()
                ?? throw new TargetException(
                    $"kube: a new Service {ns}/{name} ({probe.Target}) did not answer the client pod within "
                        + $"{ServiceProbe.ReachTimeout.TotalSeconds:0}s{(job.Status?.Error is { } e ? $": {e}" : "")}"
                );
            return Math.Max(0, (seen - ClockOffset.Proven(offset, uncertainty) - createdUs) / 1000.0);
        }
        finally
        {
            try
            {
                await kube.DeleteAsync(services.Named(name), CancellationToken.None);
            }
            catch (Exception e) when (e is KubeApiException or KubeConnectionException) { }
        }
    }

    /// <summary>
    /// Creates a Service whose name (or ClusterIP) an earlier one may still hold while it is being deleted:
    /// tried again until <paramref name="patience"/> is spent; false then.
    /// </summary>
    private async Task<bool> CreateAgainAsync(
        KubeResource services,
        System.Text.Json.Nodes.JsonObject manifest,
        TimeSpan patience,
        CancellationToken cancellationToken
    )
    {
        var deadline = DateTimeOffset.UtcNow + patience;
        while (true)
        {
            try
            {
                await kube.CreateAsync(services, manifest, cancellationToken);
                return true;
            }
            catch (KubeApiException e)
                when (e.Status is System.Net.HttpStatusCode.UnprocessableEntity or System.Net.HttpStatusCode.Conflict)
            {
                if (DateTimeOffset.UtcNow > deadline)
                    return false;
                await Task.Delay(250, cancellationToken);
            }
        }
    }
}
