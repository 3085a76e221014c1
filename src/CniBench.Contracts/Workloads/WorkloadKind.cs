namespace CniBench.Contracts.Workloads;

[System.Text.Json.Serialization.JsonConverter(typeof(CniBench.Contracts.Json.KebabEnumConverter<WorkloadKind>))]
public enum WorkloadKind
{
    TcpStream,
    TcpRr,
    TcpCrr,
    UdpStream,
    UdpRr,
    Http,
    /// <summary>Paced HTTP requests, each on a new connection, noting when each backend first and last answered.</summary>
    Probe,
    /// <summary>No traffic: samples CPU and memory only (used on the server side of a case).</summary>
    Monitor,
}

[System.Text.Json.Serialization.JsonConverter(typeof(CniBench.Contracts.Json.KebabEnumConverter<StreamDirection>))]
public enum StreamDirection { Send, Receive }

[System.Text.Json.Serialization.JsonConverter(typeof(CniBench.Contracts.Json.KebabEnumConverter<HttpModel>))]
public enum HttpModel { Closed, Open }

public static class WorkloadNames
{
    private static readonly (WorkloadKind Kind, string Name)[] Table =
    [
        (WorkloadKind.TcpStream, "tcp-stream"),
        (WorkloadKind.TcpRr, "tcp-rr"),
        (WorkloadKind.TcpCrr, "tcp-crr"),
        (WorkloadKind.UdpStream, "udp-stream"),
        (WorkloadKind.UdpRr, "udp-rr"),
        (WorkloadKind.Http, "http"),
        (WorkloadKind.Probe, "probe"),
        (WorkloadKind.Monitor, "monitor"),
    ];

    /// <summary>Names a user may ask for (monitor is internal).</summary>
    public static IReadOnlyList<string> UserFacing { get; } =
        Table.Where(t => t.Kind != WorkloadKind.Monitor).Select(t => t.Name).ToArray();

    public static string ToName(this WorkloadKind kind) => Table.First(t => t.Kind == kind).Name;

    public static bool TryParse(string? name, out WorkloadKind kind)
    {
        foreach (var (k, n) in Table)
        {
            if (string.Equals(n, name, StringComparison.OrdinalIgnoreCase))
            {
                kind = k;
                return true;
            }
        }
        kind = default;
        return false;
    }

    public static bool IsStream(this WorkloadKind kind) => kind is WorkloadKind.TcpStream or WorkloadKind.UdpStream;
    public static bool IsUdp(this WorkloadKind kind) => kind is WorkloadKind.UdpStream or WorkloadKind.UdpRr;
}
