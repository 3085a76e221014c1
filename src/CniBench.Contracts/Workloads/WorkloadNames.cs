namespace CniBench.Contracts.Workloads;

[System.Text.Json.Serialization.JsonConverter(typeof(CniBench.Contracts.Json.KebabEnumConverter<StreamDirection>))]
public enum StreamDirection
{
    Send,
    Receive,
}

[System.Text.Json.Serialization.JsonConverter(typeof(CniBench.Contracts.Json.KebabEnumConverter<HttpModel>))]
public enum HttpModel
{
    Closed,
    Open,
}

/// <summary>How a connection-per-transaction client ends each connection. Fin closes as an application does and
/// leaves a socket in TIME_WAIT for 60 s per connection (on the server, which closes first, with this agent);
/// reset ends it with an RST (SO_LINGER 0, as neper's tcp_crr does by default): no TIME_WAIT anywhere, so the
/// next case need not wait, but no orderly close is measured either.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(CniBench.Contracts.Json.KebabEnumConverter<ConnectionClose>))]
public enum ConnectionClose
{
    Fin,
    Reset,
}

/// <summary>The names users type for workloads, and the questions every side asks of a kind: read from <see
/// cref="WorkloadCatalog"/>.</summary>
public static class WorkloadNames
{
    /// <summary>Names a user may ask for (monitor is internal).</summary>
    public static IReadOnlyList<string> UserFacing { get; } =
        WorkloadCatalog.All.Where(d => d.UserFacing).Select(d => d.Name).ToArray();

    public static string ToName(this WorkloadKind kind) => WorkloadCatalog.Of(kind).Name;

    public static bool TryParse(string? name, out WorkloadKind kind)
    {
        var found = WorkloadCatalog.All.FirstOrDefault(d =>
            string.Equals(d.Name, name, StringComparison.OrdinalIgnoreCase)
        );
        kind = found?.Kind ?? default;
        return found is not null;
    }

    public static bool IsStream(this WorkloadKind kind) => WorkloadCatalog.Of(kind).Shape == WorkloadShape.Stream;
}
