namespace CniBench.Contracts.Workloads;

/// <summary>Which of an agent's data ports a workload's client sends to (none: it sends nothing).</summary>
public enum DataPortKind { None, Tcp, Udp, Http }

/// <summary>What one unit of a workload is: bytes of a stream, a transaction, a request, a probe, or nothing.</summary>
public enum WorkloadShape { Stream, RequestResponse, Requests, Probes, Monitor }

/// <summary>A workload as every side knows it: the name users type, the port it uses, its shape, its defaults.</summary>
/// <param name="UserFacing">Whether a scenario or a flag may ask for it (a monitor job is internal).</param>
public sealed record WorkloadDescriptor(WorkloadKind Kind, string Name, DataPortKind Port, WorkloadShape Shape, bool UserFacing, WorkloadSpec Defaults);

/// <summary>
/// The one table of workloads: names, ports, shapes and defaults are read from here (the loader, the agent pool, the
/// agent's flags), so a new workload is a row here, its client and server in the agent, and its metrics.
/// </summary>
public static class WorkloadCatalog
{
    public static IReadOnlyList<WorkloadDescriptor> All { get; } =
    [
        new(WorkloadKind.TcpStream, "tcp-stream", DataPortKind.Tcp, WorkloadShape.Stream, true, new WorkloadSpec { Kind = WorkloadKind.TcpStream }),
        new(WorkloadKind.TcpRr, "tcp-rr", DataPortKind.Tcp, WorkloadShape.RequestResponse, true, new WorkloadSpec { Kind = WorkloadKind.TcpRr }),
        new(WorkloadKind.TcpCrr, "tcp-crr", DataPortKind.Tcp, WorkloadShape.RequestResponse, true, new WorkloadSpec { Kind = WorkloadKind.TcpCrr }),
        // Datagrams must fit a UDP packet.
        new(WorkloadKind.UdpStream, "udp-stream", DataPortKind.Udp, WorkloadShape.Stream, true, new WorkloadSpec { Kind = WorkloadKind.UdpStream, MessageSize = 1400 }),
        new(WorkloadKind.UdpRr, "udp-rr", DataPortKind.Udp, WorkloadShape.RequestResponse, true, new WorkloadSpec { Kind = WorkloadKind.UdpRr, RequestSize = 64, ResponseSize = 64 }),
        new(WorkloadKind.Http, "http", DataPortKind.Http, WorkloadShape.Requests, true, new WorkloadSpec { Kind = WorkloadKind.Http, ResponseSize = 64 }),
        // A probe is an HTTP request on a new connection: the echo says which backend and address it reached. Several
        // loops: a probe whose SYN was lost stalls its loop until the timeout, not the whole prober.
        new(WorkloadKind.Probe, "probe", DataPortKind.Http, WorkloadShape.Probes, true,
            new WorkloadSpec { Kind = WorkloadKind.Probe, Parallel = 4, ResponseSize = 0, Rate = 500, KeepAlive = false, TimeoutMs = 500 }),
        new(WorkloadKind.Monitor, "monitor", DataPortKind.None, WorkloadShape.Monitor, false, new WorkloadSpec { Kind = WorkloadKind.Monitor }),
    ];

    public static WorkloadDescriptor Of(WorkloadKind kind) => All.First(d => d.Kind == kind);
}
