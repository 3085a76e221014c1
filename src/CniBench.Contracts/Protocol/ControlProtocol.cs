namespace CniBench.Contracts.Protocol;

/// <summary>Constants of the controller ↔ agent protocol (docs/protocol.md).</summary>
public static class ControlProtocol
{
    /// <summary>Bumped on any incompatible change; an agent refuses versions it does not speak.</summary>
    public const int Version = 1;
    public const string VersionHeader = "CniBench-Protocol";
    public const string TokenHeader = "Authorization";
    public const string TokenScheme = "Bearer";

    /// <summary>The environment variable an agent reads its token from (so it never shows in a process list).</summary>
    public const string TokenVariable = "CNIBENCH_TOKEN";

    public const string TokenAllowed = "printable ASCII without spaces (e.g. `openssl rand -hex 16`)";

    /// <summary>A token travels in an HTTP header, which holds ASCII: anything else would be sent as '?' and match
    /// any other token of the same length.</summary>
    public static bool IsValidToken(string token) => token.All(c => c is > ' ' and <= '~');

    /// <summary>
    /// The token in a header of its own, for requests that reach the agent through the Kubernetes API
    /// server's pod proxy, which keeps Authorization for itself.
    /// </summary>
    public const string ProxyTokenHeader = "X-CniBench-Token";

    /// <summary>Which controller sends a request: jobs belong to the controller that created them.</summary>
    public const string ControllerHeader = "X-CniBench-Controller";

    /// <summary>Data-path hello (TCP) and datagram header (UDP) magics.</summary>
    public static ReadOnlySpan<byte> TcpMagic => "CNB1"u8;
    public static ReadOnlySpan<byte> UdpMagic => "CNU1"u8;
    public const int TcpHelloSize = 16;
}

[System.Text.Json.Serialization.JsonConverter(typeof(CniBench.Contracts.Json.KebabEnumConverter<JobState>))]
public enum JobState
{
    Prepared,
    Ready,
    Running,
    Done,
    Failed,
}

public sealed record AgentPorts(int Control, int Tcp, int Udp, int Http);

public sealed record AgentIdentity(string Host, string? Pod, string? Node)
{
    /// <summary>The name a response is counted under: pod if known, else host.</summary>
    public string Name => Pod ?? Host;
}

/// <param name="ControlTlsSha256">When the control port speaks TLS: the SHA-256 of its certificate (hex), for a
/// controller to pin.</param>
/// <param name="AllocatedBytes">Managed memory the agent has allocated since it started: read before and after a
/// load, it shows what the servers allocate per connection or request.</param>
public sealed record AgentInfo(
    int ProtocolVersion,
    string AgentVersion,
    AgentIdentity Identity,
    int Pid,
    string Bind,
    AgentPorts Ports,
    int ProcessorCount,
    string? ControlSocket = null,
    int? Mtu = null,
    string? ControlTlsSha256 = null,
    long? AllocatedBytes = null
);

/// <summary>What the controller asks an agent to run. Times in milliseconds.</summary>
public sealed record JobSpec(
    Workloads.WorkloadSpec Workload,
    int WarmupMs,
    int DurationMs,
    int ControllerTimeoutMs = 10_000
);

public sealed record StartRequest(long StartAtUnixMs);

/// <summary>The answer to a poll: state, samples after the cursor, and the result once done.</summary>
public sealed record JobStatus(
    string Id,
    JobState State,
    string? Error,
    IReadOnlyList<Measurement.Sample> Samples,
    int NextCursor,
    JobResult? Result
);

public sealed record ErrorResponse(string Error);

/// <summary>The agent's wall clock (GET /v1/clock), for the controller to estimate its offset from its own.</summary>
public sealed record ClockReading(long UnixUs);

/// <summary>Wall-clock microseconds since the Unix epoch: the clock probers stamp sightings with and controllers issue
/// changes by.</summary>
public static class UnixClock
{
    public static long NowMicroseconds() =>
        (DateTime.UtcNow - DateTime.UnixEpoch).Ticks / (TimeSpan.TicksPerMillisecond / 1000);
}

/// <summary>Totals of a finished job over the measured window only.</summary>
public sealed record JobResult(
    long StartedUnixMs,
    long EndedUnixMs,
    double MeasuredSeconds,
    long Bytes,
    long Transactions,
    IReadOnlyDictionary<string, long> Errors,
    Measurement.HistogramSnapshot Latency,
    IReadOnlyDictionary<string, long> Backends,
    UdpTotals? Udp,
    OpenModelTotals? OpenModel,
    string? FirstError,
    IReadOnlyDictionary<string, long>? Sources = null,
    ProbeTotals? Probe = null,
    IReadOnlyList<IReadOnlyDictionary<string, long>>? BackendWindows = null,
    NodeTotals? Node = null
)
{
    /// <summary>HTTP jobs count answers per backend in windows of this many seconds of the measured phase (the last may
    /// be shorter).</summary>
    public const int BackendWindowSeconds = 5;
}

/// <summary>
/// What a probe job saw: for each backend address, when it first and last answered (wall clock, µs) and
/// how often; and each failed probe with its time, as many as fit the bound.
/// </summary>
public sealed record ProbeTotals(
    IReadOnlyDictionary<string, BackendSeen> Backends,
    IReadOnlyList<ProbeFailure> Failures,
    long FailuresNotListed
);

/// <summary>
/// What a monitor job with processes to watch saw of its node over the window: CPU per process name (percent
/// of one core, summed over every process of that name) and the node's memory in use (total − available).
/// </summary>
/// <param name="Interfaces">With <see cref="Workloads.WorkloadSpec.CountInterfaces"/>: what each interface of the
/// job's network namespace carried over the window (in a pod, the pod's tx and rx).</param>
public sealed record NodeTotals(
    IReadOnlyDictionary<string, double> ProcessCpuPercent,
    double MemoryUsedMiB,
    double MemoryTotalMiB,
    NodeFlows? Flows = null,
    IReadOnlyList<Sampling.InterfaceCounters.Counters>? Interfaces = null
);

/// <summary>
/// The node's top talkers over the window, each direction of a connection on its own: the benchmark's flows (a port of
/// the job's on either side) and all other flows; or why the node could not say (<paramref name="Unavailable"/>).
/// </summary>
/// <param name="Pairs">Every byte the node tracked, by the pair of addresses that exchanged it (the largest pairs; what
/// the rest carried is <paramref name="UnlistedBytes"/>): what a controller classifies by zone and range.</param>
public sealed record NodeFlows(
    IReadOnlyList<Sampling.FlowBytes> Benchmark,
    IReadOnlyList<Sampling.FlowBytes> Other,
    string? Unavailable = null,
    IReadOnlyList<Sampling.AddressPairBytes>? Pairs = null,
    long UnlistedBytes = 0
);

public sealed record BackendSeen(long FirstUnixUs, long LastUnixUs, long Count);

public sealed record ProbeFailure(long AtUnixUs, string Kind);

public sealed record UdpTotals(long Sent, long Received, bool ReceiverAnswered);

public sealed record OpenModelTotals(long Scheduled, long Sent, long Late, long Dropped);

/// <summary>What `cnibench-agent run --json` prints.</summary>
public sealed record RunOutput(
    Workloads.WorkloadSpec Workload,
    IReadOnlyList<Measurement.Sample> Samples,
    JobResult Result
);
