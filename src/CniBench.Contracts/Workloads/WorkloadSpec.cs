namespace CniBench.Contracts.Workloads;

/// <summary>
/// What one client job sends. A flat record so that it travels as plain JSON between controller
/// and agent; fields that do not apply to a workload keep their defaults.
/// </summary>
public sealed record WorkloadSpec
{
    public WorkloadKind Kind { get; init; }

    /// <summary>Server address as host:port or [v6]:port (the data port for the workload's protocol).</summary>
    public string Target { get; init; } = "";

    /// <summary>Parallel connections (TCP, UDP sockets) or virtual users (HTTP).</summary>
    public int Parallel { get; init; } = 1;

    /// <summary>tcp-stream / udp-stream: bytes per send.</summary>
    public int MessageSize { get; init; } = 128 * 1024;

    public StreamDirection Direction { get; init; } = StreamDirection.Send;

    /// <summary>Request/response workloads: bytes per request and per response (HTTP: response body).</summary>
    public int RequestSize { get; init; } = 1;
    public int ResponseSize { get; init; } = 1;

    /// <summary>udp-stream: bits per second over all sockets; 0 sends as fast as possible.</summary>
    public long Bitrate { get; init; }

    public HttpModel HttpModel { get; init; } = HttpModel.Closed;

    /// <summary>HTTP open model: arrivals per second over all users.</summary>
    public double Rate { get; init; }

    /// <summary>HTTP: reuse the connection (true) or open a new one per request.</summary>
    public bool KeepAlive { get; init; } = true;

    /// <summary>
    /// HTTP closed model: how long each user waits after an answer before its next request, as a client loop of
    /// request-then-sleep does; many such users are many slow independent clients, each with its own connection.
    /// </summary>
    public int ThinkTimeMs { get; init; }

    /// <summary>tcp-crr, tls-crr: how each connection ends (<see cref="ConnectionClose"/>).</summary>
    public ConnectionClose Close { get; init; } = ConnectionClose.Fin;

    /// <summary>Per-operation timeout (connect, response).</summary>
    public int TimeoutMs { get; init; } = 2000;

    /// <summary>
    /// monitor: processes (by name, as /proc/PID/comm has it: at most 15 characters) whose CPU the job measures
    /// over the window, summed per name; a node sampler with the host's PID namespace sees every process of its node.
    /// </summary>
    public IReadOnlyList<string>? Processes { get; init; }

    /// <summary>
    /// monitor: the benchmark's ports. The job ranks the node's flows over the window from connection tracking's
    /// byte counters twice: those with one of these ports on either side, and all the others.
    /// </summary>
    public IReadOnlyList<int>? FlowPorts { get; init; }

    /// <summary>monitor: what each interface of the job's network namespace carried over the window.</summary>
    public bool CountInterfaces { get; init; }
}

public static class WorkloadDefaults
{
    /// <summary>A spec with the defaults that suit the workload (from <see cref="WorkloadCatalog"/>).</summary>
    public static WorkloadSpec For(WorkloadKind kind) => WorkloadCatalog.Of(kind).Defaults;
}
