using CniBench.Contracts.Measurement;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Running;

/// <summary>Derives a case's metrics from what the client and server agents measured in the window.</summary>
public static class MetricsCalculator
{
    public static Dictionary<string, double> Compute(
        WorkloadSpec workload,
        JobResult client,
        IReadOnlyList<Sample> clientSamples,
        IReadOnlyList<Sample> serverSamples
    )
    {
        var kind = workload.Kind;
        var m = new Dictionary<string, double>();
        double seconds = client.MeasuredSeconds;
        if (seconds <= 0)
            return m;
        var measuredClient = clientSamples.Where(s => s.Phase == Phase.Measured).ToList();
        var measuredServer = serverSamples.Where(s => s.Phase == Phase.Measured).ToList();

        double gbps = client.Bytes * 8 / seconds / 1e9;
        double tps = client.Transactions / seconds;
        if (client.Udp is { ReceiverAnswered: true, Sent: > 0 } sentUdp && kind == WorkloadKind.UdpStream)
        {
            // What was sent is not what arrived: the headline is the goodput (datagrams are all one size).
            m[Metrics.UdpSentGbps] = gbps;
            gbps *= Math.Min(1.0, (double)sentUdp.Received / sentUdp.Sent);
        }
        if (kind.IsStream())
            m[Metrics.ThroughputGbps] = gbps;
        else
            m[Metrics.TransactionsPerSecond] = tps;

        var latency = LatencyHistogram.FromSnapshot(client.Latency);
        if (latency.Count > 0)
        {
            m[Metrics.LatencyMeanUs] = latency.Mean / 1000;
            m[Metrics.LatencyP50Us] = latency.ValueAtQuantile(0.50) / 1000;
            m[Metrics.LatencyP90Us] = latency.ValueAtQuantile(0.90) / 1000;
            m[Metrics.LatencyP99Us] = latency.ValueAtQuantile(0.99) / 1000;
            m[Metrics.LatencyP999Us] = latency.ValueAtQuantile(0.999) / 1000;
        }

        long errors = client.Errors.Values.Sum();
        m[Metrics.Errors] = errors;
        if (!kind.IsStream() && client.Transactions + errors > 0)
            m[Metrics.ErrorRatePercent] = 100.0 * errors / (client.Transactions + errors);
        if (client.Udp is { ReceiverAnswered: true, Sent: > 0 } udp)
            m[Metrics.UdpLossPercent] = Math.Max(0, 100.0 * (udp.Sent - udp.Received) / udp.Sent);
        if (client.OpenModel is { } open)
        {
            m[Metrics.HttpDropped] = open.Dropped;
            m[Metrics.HttpLate] = open.Late;
        }
        if (WorkloadCatalog.Of(kind).MeasuresTcp)
            m[Metrics.TcpRetransmits] = Fold(measuredClient, s => s.TcpRetransmits, Metrics.TcpRetransmits);

        if (measuredClient.Count > 0)
        {
            double hostCpu = Fold(measuredClient, s => s.HostCpuPercent, Metrics.HostCpuPercent);
            m[Metrics.HostCpuPercent] = hostCpu;
            m[Metrics.ClientCpuPercent] = Fold(measuredClient, s => s.ProcessCpuPercent, Metrics.ClientCpuPercent);
            m[Metrics.ClientMemoryMiB] = Fold(measuredClient, s => s.ProcessMemoryMiB, Metrics.ClientMemoryMiB);
            if (kind.IsStream() && gbps > 0)
                m[Metrics.HostCpuPerGbps] = hostCpu / gbps;
            // A fixed-rate workload (probe, open-model HTTP) does as many transactions as it is told: CPU per
            // transaction there measures the pacing, not the path, so it is left out.
            if (!kind.IsStream() && tps > 0 && !IsFixedRate(workload))
                m[Metrics.HostCpuPer100kTps] = hostCpu / (tps / 100_000);
        }
        if (measuredServer.Count > 0)
        {
            m[Metrics.ServerCpuPercent] = Fold(measuredServer, s => s.ProcessCpuPercent, Metrics.ServerCpuPercent);
            m[Metrics.ServerMemoryMiB] = Fold(measuredServer, s => s.ProcessMemoryMiB, Metrics.ServerMemoryMiB);
        }
        // The agents' own CPU per unit of work: what compare judges, since host CPU counts whatever else ran.
        if (m.TryGetValue(Metrics.ClientCpuPercent, out double clientCpu))
        {
            double agentsCpu = clientCpu + m.GetValueOrDefault(Metrics.ServerCpuPercent);
            if (kind.IsStream() && gbps > 0)
                m[Metrics.AgentsCpuPerGbps] = agentsCpu / gbps;
            if (!kind.IsStream() && tps > 0 && !IsFixedRate(workload))
                m[Metrics.AgentsCpuPer100kTps] = agentsCpu / (tps / 100_000);
        }
        AddNetStack(m, clientSamples, serverSamples);
        return m;
    }

    /// <summary>
    /// The namespaces' state from the case's first sample (warm-up included) to its last: what TIME_WAIT, the
    /// conntrack table and the listen queues did to it. Agents too old to report it leave these out.
    /// </summary>
    private static void AddNetStack(
        Dictionary<string, double> m,
        IReadOnlyList<Sample> clientSamples,
        IReadOnlyList<Sample> serverSamples
    )
    {
        var client = clientSamples.Select(s => s.Stack).OfType<NetStack>().ToList();
        var server = serverSamples.Select(s => s.Stack).OfType<NetStack>().ToList();
        if (client.Count > 0)
        {
            // The sockets that can hold this client's ports towards the server: the server's own TIME_WAIT (it
            // closes first) and other processes' share the namespace's count but pin none of them. The agent counts
            // them at the case's end (they pile up over it) when the namespace's total passes the warning level;
            // otherwise the total stands in for them.
            var counted = client.Where(s => s.Colliding is not null).ToList();
            var worst = (counted.Count > 0 ? counted : client).MaxBy(s => s.Pinning)!;
            m[Metrics.ClientTimeWait] = worst.Pinning;
            m[Metrics.ClientTimeWaitPortsPercent] = worst.PinnedPortsPercent;
        }
        var fills = client.Concat(server).Select(s => s.ConntrackPercent).OfType<double>().ToList();
        if (fills.Count > 0)
            m[Metrics.ConntrackFillPercent] = fills.Max();
        if (server.Count > 1)
            // the kernel counts every overflow as a drop too
            m[Metrics.ServerListenDrops] = Math.Max(0, server[^1].ListenDrops - server[0].ListenDrops);
    }

    public static bool IsFixedRate(WorkloadSpec workload) =>
        workload.Kind == WorkloadKind.Probe
        || (workload.Kind == WorkloadKind.Http && workload.HttpModel == HttpModel.Open);

    /// <summary>Folds a per-second series as the metric's descriptor says; means are weighted by interval
    /// length.</summary>
    public static double Fold(IReadOnlyList<Sample> samples, Func<Sample, double> value, string metric) =>
        Contracts.Measurement.Metrics.Describe(metric).FoldSamples(samples, value);
}
