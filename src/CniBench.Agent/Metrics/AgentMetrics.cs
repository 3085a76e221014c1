using CniBench.Contracts.Sampling;

namespace CniBench.Agent.Metrics;

/// <summary>A served port's counters, read at each scrape.</summary>
/// <param name="Requests">Requests answered, for a port that speaks HTTP.</param>
public sealed record ServedPort(string Name, Func<int> Open, Func<long> Accepted, Func<long>? Requests = null);

/// <summary>
/// The agent's /metrics page: its network namespace's interface counters (a pod's tx/rx), what its servers
/// accepted and answered, and what its client jobs did. Read at each scrape; nothing is kept between scrapes.
/// </summary>
public sealed class AgentMetrics(WorkloadTotals workloads, Func<IReadOnlyList<ServedPort>> ports)
{
    public string Render()
    {
        var text = new PrometheusText();
        WriteInterfaces(text, InterfaceCounters.Read());
        WritePorts(text, ports());
        workloads.Write(text);
        return text.ToString();
    }

    private static void WriteInterfaces(PrometheusText text, IReadOnlyList<InterfaceCounters.Counters> interfaces)
    {
        (string Name, string Help, Func<InterfaceCounters.Counters, long> Value)[] families =
        [
            ("cnibench_network_receive_bytes_total", "Bytes received by the interface.", c => c.ReceivedBytes),
            ("cnibench_network_transmit_bytes_total", "Bytes sent by the interface.", c => c.SentBytes),
            ("cnibench_network_receive_packets_total", "Packets received by the interface.", c => c.ReceivedPackets),
            ("cnibench_network_transmit_packets_total", "Packets sent by the interface.", c => c.SentPackets),
        ];
        foreach (var (name, help, value) in families)
        {
            text.Family(name, "counter", help);
            foreach (var device in interfaces)
                text.Sample(name, value(device), ("device", device.Device));
        }
    }

    private static void WritePorts(PrometheusText text, IReadOnlyList<ServedPort> ports)
    {
        text.Family("cnibench_server_connections_accepted_total", "counter", "Connections accepted, by port.");
        foreach (var port in ports)
            text.Sample("cnibench_server_connections_accepted_total", port.Accepted(), ("port", port.Name));
        text.Family("cnibench_server_connections_active", "gauge", "Connections open and waiting, by port.");
        foreach (var port in ports)
            text.Sample("cnibench_server_connections_active", port.Open(), ("port", port.Name));
        text.Family("cnibench_server_requests_total", "counter", "HTTP requests answered, by port.");
        foreach (var port in ports)
            if (port.Requests is { } requests)
                text.Sample("cnibench_server_requests_total", requests(), ("port", port.Name));
    }
}
