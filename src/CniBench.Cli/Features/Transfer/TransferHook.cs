using CniBench.Cli.Agents;
using CniBench.Cli.Results;
using CniBench.Cli.Targets;
using CniBench.Cli.Transfer;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;
using M = CniBench.Contracts.Measurement.Metrics;

namespace CniBench.Cli.Features.Transfer;

/// <summary>A pod of a transfer case: its deployment (client or server), where it runs, and its agent.</summary>
public sealed record TransferPod(string Role, string Pod, string Node, string Zone, AgentHandle Agent);

/// <summary>A node sampler of a transfer case; <paramref name="Uplink"/> is the interface that leaves the node (when
/// the target does not know it: the busiest one).</summary>
public sealed record TransferNode(string Node, string Zone, string? Uplink, AgentHandle Agent);

/// <summary>What else runs on the nodes while a transfer case is measured (the lab's log shippers).</summary>
public interface IBackgroundTraffic
{
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Stops it quietly; called on every exit path.</summary>
    Task StopAsync();
}

/// <summary>
/// Transfer cases: every pod of the case counts its interfaces and every node sampler its flows over the window; the
/// flows are classified by the target's address book into same node, same zone, cross zone and the internet. Client
/// pods beyond the case's own client run <paramref name="clientWorkload"/> in the same window.
/// </summary>
public sealed class TransferHook(
    IReadOnlyList<TransferPod> pods,
    IReadOnlyList<TransferNode> nodes,
    IReadOnlyList<int> flowPorts,
    AddressBook book,
    IBackgroundTraffic? background,
    IReadOnlyList<AgentHandle>? moreClients = null,
    WorkloadSpec? clientWorkload = null
) : ICaseHook
{
    /// <summary>How far apart the clients' and the servers' rates may be before the run is called unsteady.</summary>
    public const double BalanceTolerance = 0.10;
    public const int TopTalkers = 10;

    private readonly JobTracker[] _pods = pods.Select(p => new JobTracker(p.Agent)).ToArray();
    private readonly JobTracker[] _nodes = nodes.Select(n => new JobTracker(n.Agent)).ToArray();
    private readonly JobTracker[] _clients = (moreClients ?? []).Select(a => new JobTracker(a)).ToArray();
    private double _windowSeconds;
    private TransferData? _data;

    private IEnumerable<JobTracker> All => _pods.Concat(_nodes).Concat(_clients);

    public int Jobs => _pods.Length + _nodes.Length + _clients.Length;

    public async Task CreateAsync(int warmupMs, int durationMs, CancellationToken cancellationToken)
    {
        _windowSeconds = durationMs / 1000.0;
        if (background is not null)
            await background.StartAsync(cancellationToken);
        var pod = new WorkloadSpec { Kind = WorkloadKind.Monitor, CountInterfaces = true };
        var node = pod with { FlowPorts = flowPorts };
        var work = _pods
            .Select(job => (Job: job, Spec: pod))
            .Concat(_nodes.Select(job => (Job: job, Spec: node)))
            .Concat(_clients.Select(job => (Job: job, Spec: clientWorkload!)));
        await JobTracker.ForAllAsync(
            work,
            (w, token) => w.Job.CreateAsync(new JobSpec(w.Spec, warmupMs, durationMs), token),
            cancellationToken
        );
    }

    public Task StartAsync(long startAtUnixMs, CancellationToken cancellationToken) =>
        JobTracker.ForAllAsync(All, (job, token) => job.StartAsync(startAtUnixMs, token), cancellationToken);

    public async Task FinishAsync(TimeSpan poll, CancellationToken cancellationToken)
    {
        try
        {
            // Many jobs are polled less often (at most every 5 s, inside the agents' 10-s patience): a few hundred
            // polls a second at most, through a cluster's API server too.
            var every = TimeSpan.FromSeconds(Math.Clamp(Jobs / 200.0, poll.TotalSeconds, 5));
            await Task.WhenAll(
                All.Select(job => job.FollowAsync(every, JobTracker.SilenceLimit, _ => { }, cancellationToken))
            );
        }
        finally
        {
            if (background is not null)
                await background.StopAsync();
        }
    }

    public async Task CancelAsync()
    {
        await Task.WhenAll(All.Select(job => job.CancelQuietlyAsync()));
        if (background is not null)
            await background.StopAsync();
    }

    public IReadOnlyDictionary<string, double> Metrics(JobResult? client)
    {
        var data = Data();
        var m = new Dictionary<string, double>();
        if (data is null)
            return m;
        double Mbps(long bytes) => bytes * 8 / 1e6 / Math.Max(1e-9, data.WindowSeconds);
        if (_clients.Length > 0 && client is not null)
            // Every client pod's answers, not only the case's own client's.
            m[M.TransactionsPerSecond] =
                (client.Transactions + _clients.Sum(c => c.Status?.Result?.Transactions ?? 0))
                / Math.Max(1e-9, data.WindowSeconds);
        var clients = data.Pods.Where(p => p.Role == "client").ToArray();
        var servers = data.Pods.Where(p => p.Role == "server").ToArray();
        m[M.TransferClientsTxMbps] = Mbps(clients.Sum(p => p.SentBytes));
        m[M.TransferClientsRxMbps] = Mbps(clients.Sum(p => p.ReceivedBytes));
        m[M.TransferServersTxMbps] = Mbps(servers.Sum(p => p.SentBytes));
        m[M.TransferServersRxMbps] = Mbps(servers.Sum(p => p.ReceivedBytes));
        if (data.TotalBytes > 0)
        {
            m[M.TransferCrossZonePercent] = 100.0 * data.BytesOf(TrafficClass.CrossZone) / data.TotalBytes;
            m[M.TransferInternetMbps] = Mbps(data.BytesOf(TrafficClass.ToInternet));
            m[M.TransferOtherMbps] = Mbps(data.Classes.Where(c => !c.Benchmark).Sum(c => c.Bytes));
        }
        return m;
    }

    public CaseResult Annotate(CaseResult result) => result.WithExtension(TransferData.Key, Data());

    private TransferData? Data()
    {
        if (_data is not null)
            return _data;
        var podTraffic = pods.Zip(_pods)
            .Where(x => x.Second.Status?.Result?.Node?.Interfaces is not null)
            .Select(x =>
            {
                var counted = x.Second.Status!.Result!.Node!.Interfaces!.Where(i => i.Device != "lo").ToArray();
                return new PodTraffic(
                    x.First.Role,
                    x.First.Pod,
                    x.First.Node,
                    x.First.Zone,
                    counted.Sum(i => i.SentBytes),
                    counted.Sum(i => i.ReceivedBytes),
                    counted.Sum(i => i.SentPackets),
                    counted.Sum(i => i.ReceivedPackets)
                );
            })
            .ToArray();
        if (podTraffic.Length == 0)
            return null;
        var nodeTraffic = new List<NodeTraffic>();
        var flows = new List<(string, NodeFlows)>();
        foreach (var (node, job) in nodes.Zip(_nodes))
        {
            var totals = job.Status?.Result?.Node;
            var uplink = node.Uplink is null
                ? totals?.Interfaces?.Where(i => i.Device != "lo").MaxBy(i => i.SentBytes + i.ReceivedBytes)
                : totals?.Interfaces?.FirstOrDefault(i => i.Device == node.Uplink);
            nodeTraffic.Add(
                new NodeTraffic(
                    node.Node,
                    node.Zone,
                    uplink?.SentBytes ?? 0,
                    uplink?.ReceivedBytes ?? 0,
                    totals?.Flows?.Unavailable ?? (totals?.Flows is null ? "the node sampler reported nothing" : null)
                )
            );
            if (totals?.Flows is { Unavailable: null } f)
                flows.Add((node.Node, f));
        }
        var classified = TransferAccounting.Classify(flows, book, TopTalkers);
        _data = new TransferData(
            _windowSeconds,
            podTraffic,
            nodeTraffic,
            classified.Classes,
            classified.Zones,
            classified.TopBenchmark,
            classified.TopOther,
            Balance(podTraffic)
        );
        return _data;
    }

    /// <summary>What makes a transfer figure trustworthy: what the clients sent the servers received, and the other way
    /// round, within <see cref="BalanceTolerance"/>.</summary>
    public static string? Balance(IReadOnlyList<PodTraffic> traffic)
    {
        long clientTx = traffic.Where(p => p.Role == "client").Sum(p => p.SentBytes),
            clientRx = traffic.Where(p => p.Role == "client").Sum(p => p.ReceivedBytes),
            serverTx = traffic.Where(p => p.Role == "server").Sum(p => p.SentBytes),
            serverRx = traffic.Where(p => p.Role == "server").Sum(p => p.ReceivedBytes);
        static bool Apart(long a, long b) => Math.Abs(a - b) > BalanceTolerance * Math.Max(a, b);
        if (clientTx + serverTx == 0)
            return "no traffic was counted on the pods' interfaces";
        var problems = new List<string>();
        if (Apart(clientTx, serverRx))
            problems.Add(FormattableString.Invariant($"clients sent {clientTx} B but servers received {serverRx} B"));
        if (Apart(serverTx, clientRx))
            problems.Add(FormattableString.Invariant($"servers sent {serverTx} B but clients received {clientRx} B"));
        return problems.Count == 0
            ? null
            : FormattableString.Invariant(
                $"not steady: {string.Join("; ", problems)} (more than {BalanceTolerance * 100:0}% apart)"
            );
    }
}
