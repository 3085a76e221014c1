namespace CniBench.Contracts.Workloads;

/// <summary>The workloads, named as the rows of <see cref="WorkloadCatalog"/>.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(Json.KebabEnumConverter<WorkloadKind>))]
public enum WorkloadKind
{
    TcpStream,
    TcpRr,
    TcpCrr,

    /// <summary>tcp-rr inside a TLS 1.3 session kept for the whole run.</summary>
    TlsRr,

    /// <summary>tcp-crr with a full TLS 1.3 handshake on every connection.</summary>
    TlsCrr,
    UdpStream,
    UdpRr,
    Http,

    /// <summary>Paced HTTP requests, each on a new connection, noting when each backend first and last
    /// answered.</summary>
    Probe,

    /// <summary>No traffic: samples CPU and memory only (used on the server side of a case).</summary>
    Monitor,
}

/// <summary>Which of an agent's data ports a workload's client sends to (none: it sends nothing).</summary>
public enum DataPortKind
{
    None,
    Tcp,
    Udp,
    Http,
}

/// <summary>What one unit of a workload is: bytes of a stream, a transaction, a request, a probe, or nothing.</summary>
public enum WorkloadShape
{
    Stream,
    RequestResponse,
    Requests,
    Probes,
    Monitor,
}

/// <summary>The allowed range of one integer field of a spec (a size or a bitrate) for one workload.</summary>
public sealed record FieldBound(string Field, long Min, long Max);

/// <summary>A workload as every side knows it: the name users type, the port it uses, its shape, its
/// defaults.</summary>
/// <param name="Defaults">The spec a case starts from before its scenario fields are applied.</param>
public sealed record WorkloadDescriptor(
    WorkloadKind Kind,
    string Name,
    DataPortKind Port,
    WorkloadShape Shape,
    WorkloadSpec Defaults
)
{
    /// <summary>Whether a scenario or a flag may ask for it (a monitor job is internal).</summary>
    public bool UserFacing { get; init; } = true;

    /// <summary>Request/response: a new connection for every transaction, so each one includes the handshake.</summary>
    public bool ConnectionPerTransaction { get; init; }

    /// <summary>Its TCP connections carry TLS 1.3 (on the same port: the server tells them apart by the first
    /// byte).</summary>
    public bool Tls { get; init; }

    /// <summary>The sizes and rates this workload reads, with their ranges (checked wherever a spec enters).</summary>
    public IReadOnlyList<FieldBound> Bounds { get; init; } = [];

    /// <summary>The most requests per second it may be paced at; 0 when it is not paced.</summary>
    public double MaxRate { get; init; }

    /// <summary>Scenario fields it reads besides its bounds and rate.</summary>
    public IReadOnlyList<string> OtherFields { get; init; } = [];

    /// <summary>Every per-workload scenario field that applies to it.</summary>
    public IEnumerable<string> Fields =>
        Bounds.Select(b => b.Field).Concat(MaxRate > 0 ? ["rate"] : []).Concat(OtherFields);

    /// <summary>
    /// Its traffic is TCP connections whose counters (retransmits) belong to the measurement. A prober's are left out:
    /// its failures during a change are its data, not the path's cost.
    /// </summary>
    public bool MeasuresTcp => Port == DataPortKind.Tcp || Shape == WorkloadShape.Requests;
}

/// <summary>
/// The one table of workloads: names, ports, shapes, bounds, scenario fields and defaults are read from here (the
/// loader, the schema, the agent's factory and flags, the agent pool, the metrics), so a new workload is a row here and
/// its client and server in the agent.
/// </summary>
public static class WorkloadCatalog
{
    private static readonly FieldBound[] RequestResponseSizes =
    [
        new("requestSize", 1, Limits.MaxMessageSize),
        new("responseSize", 1, Limits.MaxMessageSize),
    ];

    public static IReadOnlyList<WorkloadDescriptor> All { get; } =
    [
        new(
            WorkloadKind.TcpStream,
            "tcp-stream",
            DataPortKind.Tcp,
            WorkloadShape.Stream,
            new WorkloadSpec { Kind = WorkloadKind.TcpStream }
        )
        {
            Bounds = [new("messageSize", 1, Limits.MaxMessageSize)],
            OtherFields = ["direction"],
        },
        TcpRequestResponse(WorkloadKind.TcpRr, "tcp-rr", connectionPerTransaction: false, tls: false),
        TcpRequestResponse(WorkloadKind.TcpCrr, "tcp-crr", connectionPerTransaction: true, tls: false),
        TcpRequestResponse(WorkloadKind.TlsRr, "tls-rr", connectionPerTransaction: false, tls: true),
        TcpRequestResponse(WorkloadKind.TlsCrr, "tls-crr", connectionPerTransaction: true, tls: true),
        // Datagrams must fit a UDP packet and carry the sequence header.
        new(
            WorkloadKind.UdpStream,
            "udp-stream",
            DataPortKind.Udp,
            WorkloadShape.Stream,
            new WorkloadSpec { Kind = WorkloadKind.UdpStream, MessageSize = 1400 }
        )
        {
            Bounds =
            [
                new("messageSize", Limits.UdpHeaderSize, Limits.MaxUdpPayload),
                new("bitrate", 0, Limits.MaxBitrate),
            ],
        },
        new(
            WorkloadKind.UdpRr,
            "udp-rr",
            DataPortKind.Udp,
            WorkloadShape.RequestResponse,
            new WorkloadSpec
            {
                Kind = WorkloadKind.UdpRr,
                RequestSize = 64,
                ResponseSize = 64,
            }
        )
        {
            Bounds =
            [
                new("requestSize", Limits.UdpHeaderSize, Limits.MaxUdpPayload),
                new("responseSize", Limits.UdpHeaderSize, Limits.MaxUdpPayload),
            ],
        },
        new(
            WorkloadKind.Http,
            "http",
            DataPortKind.Http,
            WorkloadShape.Requests,
            new WorkloadSpec { Kind = WorkloadKind.Http, ResponseSize = 64 }
        )
        {
            Bounds = [new("responseSize", 0, Limits.MaxMessageSize)],
            MaxRate = Limits.MaxHttpRate,
            OtherFields = ["model", "keepAlive", "thinkTime", "weights", "transfer", "clientPods", "servers"],
        },
        // A probe is an HTTP request on a new connection: the echo says which backend and address it reached. Several
        // loops: a probe whose SYN was lost stalls its loop until the timeout, not the whole prober.
        new(
            WorkloadKind.Probe,
            "probe",
            DataPortKind.Http,
            WorkloadShape.Probes,
            new WorkloadSpec
            {
                Kind = WorkloadKind.Probe,
                Parallel = 4,
                ResponseSize = 0,
                Rate = 500,
                KeepAlive = false,
                TimeoutMs = 500,
            }
        )
        {
            MaxRate = Limits.MaxProbeRate,
            OtherFields = ["endpoints", "changeInterval", "injectDelay"],
        },
        new(
            WorkloadKind.Monitor,
            "monitor",
            DataPortKind.None,
            WorkloadShape.Monitor,
            new WorkloadSpec { Kind = WorkloadKind.Monitor }
        )
        {
            UserFacing = false,
        },
    ];

    /// <summary>Request/response on the TCP port: one connection kept or one per transaction, plain or TLS.</summary>
    private static WorkloadDescriptor TcpRequestResponse(
        WorkloadKind kind,
        string name,
        bool connectionPerTransaction,
        bool tls
    ) =>
        new(kind, name, DataPortKind.Tcp, WorkloadShape.RequestResponse, new WorkloadSpec { Kind = kind })
        {
            Bounds = RequestResponseSizes,
            ConnectionPerTransaction = connectionPerTransaction,
            Tls = tls,
            OtherFields = connectionPerTransaction ? ["close"] : [],
        };

    public static WorkloadDescriptor Of(WorkloadKind kind) => All.First(d => d.Kind == kind);
}
