namespace CniBench.Contracts.Measurement;

/// <summary>The catalogue of every metric a result can carry.</summary>
public static class Metrics
{
    public const string ThroughputGbps = "throughput.gbps";
    public const string TransactionsPerSecond = "transactions.per_sec";
    public const string LatencyMeanUs = "latency.mean.us";
    public const string LatencyP50Us = "latency.p50.us";
    public const string LatencyP90Us = "latency.p90.us";
    public const string LatencyP99Us = "latency.p99.us";
    public const string LatencyP999Us = "latency.p999.us";
    public const string Errors = "errors.total";
    public const string ErrorRatePercent = "errors.percent";
    public const string UdpLossPercent = "udp.loss.percent";
    public const string HttpDropped = "http.dropped";
    public const string HttpLate = "http.late";
    public const string TcpRetransmits = "tcp.retransmits";
    public const string ClientTimeWait = "net.client.time_wait";
    public const string ClientTimeWaitPortsPercent = "net.client.time_wait.ports.pct";
    public const string ConntrackFillPercent = "net.conntrack.fill.pct";
    public const string ServerListenDrops = "net.server.listen_drops";
    public const string CooldownSeconds = "net.cooldown.s";
    public const string HostCpuPercent = "cpu.host.percent";
    public const string ClientCpuPercent = "cpu.client.percent";
    public const string ServerCpuPercent = "cpu.server.percent";
    public const string HostCpuPerGbps = "cpu.host.percent_per_gbps";
    public const string HostCpuPer100kTps = "cpu.host.percent_per_100k_tps";
    public const string AgentsCpuPerGbps = "cpu.agents.percent_per_gbps";
    public const string AgentsCpuPer100kTps = "cpu.agents.percent_per_100k_tps";
    public const string ClientMemoryMiB = "memory.client.mib";
    public const string ServerMemoryMiB = "memory.server.mib";
    public const string ProgramTableMs = "lab.program.table.ms";
    public const string AddServiceMs = "lab.program.add_service.ms";
    public const string RenderMs = "lab.program.render.ms";
    public const string ServiceReachableMs = "kube.service.reachable.ms";
    public const string ServiceSettleMs = "kube.service.settle.ms";
    public const string DataplaneQuietMs = "kube.dataplane.quiet.ms";
    public const string ConvergenceP50Ms = "convergence.p50.ms";
    public const string ConvergenceP99Ms = "convergence.p99.ms";
    public const string ConvergenceMaxMs = "convergence.max.ms";
    public const string ConvergenceUnreached = "convergence.unreached";
    public const string ConvergenceWithdrawn = "convergence.withdrawn";
    public const string ConvergenceStaleMaxMs = "convergence.stale.max.ms";
    public const string NodeServerCpuPercent = "node.server.cpu.pct";
    public const string NodeClientCpuPercent = "node.client.cpu.pct";
    public const string NodeServerMemoryMiB = "node.server.memory.mib";
    public const string NodeClientMemoryMiB = "node.client.memory.mib";
    public const string CniCpuPercent = "cni.cpu.pct";
    public const string KubeProxyCpuPercent = "kube_proxy.cpu.pct";
    public const string PathMtu = "path.mtu";
    public const string SplitSharePercent = "split.share.pct";
    public const string SplitDistancePercent = "split.distance.pct";
    public const string ConvergenceWriteMs = "convergence.write.ms";
    public const string ChurnFailures = "churn.failures";
    public const string OtherProcessesCpuPercent = "cpu.other.percent";
    public const string KernelThreadsCpuPercent = "cpu.kernel_threads.percent";
    public const string UdpSentGbps = "udp.sent.gbps";
    public const string TransferClientsTxMbps = "transfer.clients.tx.mbps";
    public const string TransferClientsRxMbps = "transfer.clients.rx.mbps";
    public const string TransferServersTxMbps = "transfer.servers.tx.mbps";
    public const string TransferServersRxMbps = "transfer.servers.rx.mbps";
    public const string TransferCrossZonePercent = "transfer.cross_zone.pct";
    public const string TransferInternetMbps = "transfer.internet.mbps";
    public const string TransferOtherMbps = "transfer.other.mbps";

    private static MetricDescriptor Transfer(string name, string description) =>
        new(name, "Mbit/s", Direction.Neutral, TimeFold.Last, AgentReduce.Sum, description + " (Mbit/s)", 2);

    /// <summary>What compare shows beside its verdicts but never judges: they vary with the host and with what
    /// earlier cases left, not with the system under test (two runs of the same code differ in them).</summary>
    private static readonly HashSet<string> EnvironmentMetrics =
    [
        UdpSentGbps,
        ClientTimeWait,
        ClientTimeWaitPortsPercent,
        ConntrackFillPercent,
        CooldownSeconds,
        ServerListenDrops,
        HostCpuPercent,
        OtherProcessesCpuPercent,
        KernelThreadsCpuPercent,
        ClientCpuPercent,
        ServerCpuPercent,
        HostCpuPerGbps,
        HostCpuPer100kTps,
        ClientMemoryMiB,
        ServerMemoryMiB,
        NodeServerCpuPercent,
        NodeClientCpuPercent,
        NodeServerMemoryMiB,
        NodeClientMemoryMiB,
    ];

    private static readonly Dictionary<string, MetricCeiling> Ceilings = new()
    {
        [ErrorRatePercent] = MetricCeiling.Hundred,
        [UdpLossPercent] = MetricCeiling.Hundred,
        [ConntrackFillPercent] = MetricCeiling.Hundred,
        [TransferCrossZonePercent] = MetricCeiling.Hundred,
        [SplitSharePercent] = MetricCeiling.Hundred,
        [SplitDistancePercent] = MetricCeiling.Hundred,
        [HostCpuPercent] = MetricCeiling.HundredPerCore,
        [OtherProcessesCpuPercent] = MetricCeiling.HundredPerCore,
        [KernelThreadsCpuPercent] = MetricCeiling.HundredPerCore,
        [ClientCpuPercent] = MetricCeiling.HundredPerCore,
        [ServerCpuPercent] = MetricCeiling.HundredPerCore,
    };

    private static readonly MetricDescriptor[] Catalogue =
    [
        new(
            ThroughputGbps,
            "Gbit/s",
            Direction.HigherIsBetter,
            TimeFold.Mean,
            AgentReduce.Sum,
            "payload throughput (UDP: what arrived, goodput)"
        ),
        new(
            UdpSentGbps,
            "Gbit/s",
            Direction.Neutral,
            TimeFold.Mean,
            AgentReduce.Sum,
            "UDP payload the client sent (what arrived is throughput.gbps, the rest is udp.loss.percent)"
        ),
        new(
            TransactionsPerSecond,
            "tx/s",
            Direction.HigherIsBetter,
            TimeFold.Mean,
            AgentReduce.Sum,
            "completed transactions per second",
            0
        ),
        new(
            LatencyMeanUs,
            "µs",
            Direction.LowerIsBetter,
            TimeFold.Mean,
            AgentReduce.Mean,
            "mean transaction latency",
            1
        ),
        new(
            LatencyP50Us,
            "µs",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Max,
            "median latency (merged histogram)",
            1,
            IsPercentile: true
        ),
        new(
            LatencyP90Us,
            "µs",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Max,
            "90th percentile latency (merged histogram)",
            1,
            IsPercentile: true
        ),
        new(
            LatencyP99Us,
            "µs",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Max,
            "99th percentile latency (merged histogram)",
            1,
            IsPercentile: true
        ),
        new(
            LatencyP999Us,
            "µs",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Max,
            "99.9th percentile latency (merged histogram)",
            1,
            IsPercentile: true
        ),
        new(Errors, "count", Direction.LowerIsBetter, TimeFold.Sum, AgentReduce.Sum, "failed operations", 0),
        new(
            ErrorRatePercent,
            "%",
            Direction.LowerIsBetter,
            TimeFold.Mean,
            AgentReduce.Mean,
            "failed operations per attempted operation"
        ),
        new(
            UdpLossPercent,
            "%",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Mean,
            "datagrams sent but not received"
        ),
        new(
            HttpDropped,
            "count",
            Direction.LowerIsBetter,
            TimeFold.Sum,
            AgentReduce.Sum,
            "open-model arrivals not sent (no free user or scheduler overslept)",
            0
        ),
        new(
            HttpLate,
            "count",
            Direction.LowerIsBetter,
            TimeFold.Sum,
            AgentReduce.Sum,
            "open-model arrivals sent later than their slot",
            0
        ),
        new(
            TcpRetransmits,
            "segments",
            Direction.LowerIsBetter,
            TimeFold.Sum,
            AgentReduce.Max,
            "TCP segments retransmitted (whole network namespace)",
            0
        ),
        new(
            ClientTimeWait,
            "sockets",
            Direction.LowerIsBetter,
            TimeFold.Max,
            AgentReduce.Max,
            "sockets in TIME_WAIT that can hold the client's ports towards the server (most seen in the case; the "
                + "namespace's whole count while it is under 25% of the ports, or from an agent that cannot tell)",
            0
        ),
        new(
            ClientTimeWaitPortsPercent,
            "% of ports",
            Direction.LowerIsBetter,
            TimeFold.Max,
            AgentReduce.Max,
            "the same against the client's ephemeral port range: near 100 a new connection must search for a port or "
                + "collide",
            1
        ),
        new(
            ConntrackFillPercent,
            "% of table",
            Direction.LowerIsBetter,
            TimeFold.Max,
            AgentReduce.Max,
            "fullest connection-tracking table of the client's and server's namespaces (most seen in the case)",
            1
        ),
        new(
            CooldownSeconds,
            "s",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Max,
            "how long the case waited before it began for what earlier cases left (TIME_WAIT sockets, conntrack "
                + "entries) to clear",
            1
        ),
        new(
            ServerListenDrops,
            "connections",
            Direction.LowerIsBetter,
            TimeFold.Sum,
            AgentReduce.Max,
            "connections the server's namespace dropped at its listen queues during the case (ListenDrops, which "
                + "counts the overflows too)",
            0
        ),
        new(
            HostCpuPercent,
            "% of a core",
            Direction.LowerIsBetter,
            TimeFold.Mean,
            AgentReduce.Max,
            "busy CPU of the whole host, 100 = one core",
            1
        ),
        new(
            OtherProcessesCpuPercent,
            "% of a core",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Max,
            "CPU of this host's processes other than the agents and cnibench in the window (local and lab targets): "
                + "a busy machine, not the benchmark",
            1
        ),
        new(
            KernelThreadsCpuPercent,
            "% of a core",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Max,
            "CPU of the kernel's softirq, worker and interrupt threads in the window (local and lab targets): "
                + "dataplane work outside any process",
            1
        ),
        new(
            ClientCpuPercent,
            "% of a core",
            Direction.LowerIsBetter,
            TimeFold.Mean,
            AgentReduce.Sum,
            "CPU of the client agent process",
            1
        ),
        new(
            ServerCpuPercent,
            "% of a core",
            Direction.LowerIsBetter,
            TimeFold.Mean,
            AgentReduce.Sum,
            "CPU of the server agent process",
            1
        ),
        new(
            HostCpuPerGbps,
            "% per Gbit/s",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Max,
            "host CPU normalised per Gbit/s of throughput",
            3
        ),
        new(
            HostCpuPer100kTps,
            "% per 100k tx/s",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Max,
            "host CPU normalised per 100k transactions/s",
            2
        ),
        new(
            AgentsCpuPerGbps,
            "% per Gbit/s",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Max,
            "the client's and server's agents' own CPU per Gbit/s (other processes left out)",
            3
        ),
        new(
            AgentsCpuPer100kTps,
            "% per 100k tx/s",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Max,
            "the client's and server's agents' own CPU per 100k transactions/s (other processes left out)",
            2
        ),
        new(
            ClientMemoryMiB,
            "MiB",
            Direction.LowerIsBetter,
            TimeFold.Max,
            AgentReduce.Sum,
            "client agent resident memory (peak sample)",
            1
        ),
        new(
            ServerMemoryMiB,
            "MiB",
            Direction.LowerIsBetter,
            TimeFold.Max,
            AgentReduce.Sum,
            "server agent resident memory (peak sample)",
            1
        ),
        new(
            ProgramTableMs,
            "ms",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Max,
            "time to load the whole service table into one node (mean over nodes)",
            0
        ),
        new(
            ServiceReachableMs,
            "ms",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Max,
            "time from creating one more Service to the first answer through its ClusterIP from the client pod",
            0
        ),
        new(
            DataplaneQuietMs,
            "ms",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Max,
            "time the case waited, with the node samplers, before it began, for kube-proxy and the CNI agents on its "
                + "nodes to fall under a tenth of a core (the proxies still rewriting rules)",
            0
        ),
        new(
            ServiceSettleMs,
            "ms",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Max,
            "time the case waited, before it began, for its Service to answer the client pod (the proxy still "
                + "programming it)",
            0
        ),
        new(
            AddServiceMs,
            "ms",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Max,
            "time to add one service on one node, as the proxy mode writes it (mean over nodes)",
            1
        ),
        new(
            ConvergenceP50Ms,
            "ms",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Max,
            "median time from an endpoint change to the first success at the new endpoint, over changes and nodes",
            1
        ),
        new(
            ConvergenceP99Ms,
            "ms",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Max,
            "99th percentile of the same",
            1
        ),
        new(
            ConvergenceMaxMs,
            "ms",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Max,
            "slowest change on the slowest node",
            1
        ),
        new(
            ConvergenceUnreached,
            "count",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Sum,
            "(change, node) pairs whose new endpoint was never reached, though it stayed until the end",
            0
        ),
        new(
            ConvergenceWithdrawn,
            "count",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Sum,
            "(change, node) pairs whose new endpoint was removed again before that node reached it (its latency is "
                + "only known to exceed the endpoint's life)",
            0
        ),
        new(
            NodeServerCpuPercent,
            "%",
            Direction.LowerIsBetter,
            TimeFold.Mean,
            AgentReduce.Sum,
            "whole-node CPU of the server's node in the window, node sampler (percent of one core)",
            1
        ),
        new(
            NodeClientCpuPercent,
            "%",
            Direction.LowerIsBetter,
            TimeFold.Mean,
            AgentReduce.Sum,
            "whole-node CPU of the client's node in the window, node sampler (percent of one core)",
            1
        ),
        new(
            NodeServerMemoryMiB,
            "MiB",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Sum,
            "memory in use on the server's node at the end of the window (total − available), node sampler",
            0
        ),
        new(
            NodeClientMemoryMiB,
            "MiB",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Sum,
            "memory in use on the client's node at the end of the window (total − available), node sampler",
            0
        ),
        new(
            CniCpuPercent,
            "%",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Sum,
            "CPU of the CNI's node agents (cilium-agent, antrea-agent, calico-node, ...) on the case's nodes, summed "
                + "(percent of one core)",
            1
        ),
        new(
            KubeProxyCpuPercent,
            "%",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Sum,
            "CPU of kube-proxy on the case's nodes, summed (percent of one core)",
            1
        ),
        Transfer(TransferClientsTxMbps, "what the client pods sent, from their interfaces"),
        Transfer(TransferClientsRxMbps, "what the client pods received, from their interfaces"),
        Transfer(TransferServersTxMbps, "what the server pods sent, from their interfaces"),
        Transfer(TransferServersRxMbps, "what the server pods received, from their interfaces"),
        new(
            TransferCrossZonePercent,
            "%",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Max,
            "share of the bytes the nodes' flow tables counted that crossed from one zone to another",
            1
        ),
        Transfer(TransferInternetMbps, "bytes leaving the cluster (to addresses outside its ranges), all traffic"),
        Transfer(TransferOtherMbps, "bytes of traffic other than the benchmark's that the nodes' flow tables counted"),
        new(
            PathMtu,
            "B",
            Direction.Neutral,
            TimeFold.Last,
            AgentReduce.Max,
            "the smaller MTU of the client's and the server's outgoing interface (an overlay's shows here)",
            0
        ),
        new(
            SplitSharePercent,
            "%",
            Direction.Neutral,
            TimeFold.Last,
            AgentReduce.Max,
            "share of the answers that came from the weighted route's second backend (its configured share is in the "
                + "case's weights)",
            2
        ),
        new(
            SplitDistancePercent,
            "%",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Max,
            "mean over 5-second windows of |second backend's share − its configured share|, in percentage points",
            2
        ),
        new(
            ConvergenceStaleMaxMs,
            "ms",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Max,
            "longest time a removed endpoint still got new connections after its removal was issued",
            1
        ),
        new(
            ConvergenceWriteMs,
            "ms",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Max,
            "time from issuing a change to its rules being written on every node (mean)",
            1
        ),
        new(
            ChurnFailures,
            "count",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Sum,
            "probes that failed or were reset during the churn",
            0
        ),
        new(
            RenderMs,
            "ms",
            Direction.LowerIsBetter,
            TimeFold.Last,
            AgentReduce.Max,
            "time the lab spent generating the rules (its own work, beside the kernel's)",
            1
        ),
    ];

    public static IReadOnlyList<MetricDescriptor> All { get; } =
        Catalogue
            .Select(d =>
                d with
                {
                    Role = EnvironmentMetrics.Contains(d.Name) ? MetricRole.Environment : MetricRole.Performance,
                    Ceiling = Ceilings.GetValueOrDefault(d.Name),
                }
            )
            .ToArray();

    private static readonly Dictionary<string, MetricDescriptor> ByName = All.ToDictionary(m => m.Name);

    public static MetricDescriptor Describe(string name) =>
        ByName.TryGetValue(name, out var d)
            ? d
            : new MetricDescriptor(
                name,
                "",
                Direction.Neutral,
                TimeFold.Mean,
                AgentReduce.Mean,
                name,
                NonNegative: false
            );
}
