namespace CniBench.Contracts.Measurement;

[System.Text.Json.Serialization.JsonConverter(typeof(CniBench.Contracts.Json.KebabEnumConverter<Phase>))]
public enum Phase
{
    Warmup,
    Measured,
}

/// <summary>
/// One interval of an agent's job (about one second). Counters are deltas over the interval;
/// CPU is in percent of one core; memory is the resident size at the end of the interval.
/// Warm-up samples are kept and tagged, never counted in results.
/// </summary>
/// <param name="ProcessAllocatedBytes">Managed memory the agent process allocated over the interval: a steady
/// workload allocates next to nothing per transaction.</param>
public sealed record Sample(
    int Index,
    Phase Phase,
    long TimestampUnixMs,
    double Seconds,
    long Bytes,
    long Transactions,
    long Errors,
    double HostCpuPercent,
    double ProcessCpuPercent,
    double ProcessMemoryMiB,
    long TcpRetransmits,
    NetStack? Stack = null,
    long ProcessAllocatedBytes = 0
);

/// <summary>
/// The agent's network namespace at the end of an interval: sockets in TIME_WAIT against the ephemeral ports there
/// are, the connection-tracking table's fill (null where conntrack is not loaded), and the listen queues'
/// overflows and drops so far (counters since boot). A connection-rate case can end up measuring these, not the path.
/// </summary>
public sealed record NetStack(
    long TimeWait,
    int EphemeralPorts,
    long? Conntrack,
    long? ConntrackMax,
    long ListenOverflows,
    long ListenDrops
)
{
    /// <summary>Above these a case is warned about, and an automatic cool-down waits for the namespace to fall
    /// below.</summary>
    public const double TimeWaitPortsLimitPercent = 25,
        ConntrackLimitPercent = 80;

    public double TimeWaitPortsPercent => 100.0 * TimeWait / Math.Max(1, EphemeralPorts);

    public double? ConntrackPercent =>
        Conntrack is { } count && ConntrackMax is > 0 ? 100.0 * count / ConntrackMax.Value : null;

    public bool Quiet =>
        TimeWaitPortsPercent <= TimeWaitPortsLimitPercent && !(ConntrackPercent > ConntrackLimitPercent);
}
