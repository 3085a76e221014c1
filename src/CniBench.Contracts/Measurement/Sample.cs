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
/// <param name="Colliding">Asked with the server's endpoint: the sockets in TIME_WAIT towards it, the only ones that
/// can hold a port the next connection to it needs (null when not asked).</param>
public sealed record NetStack(
    long TimeWait,
    int EphemeralPorts,
    long? Conntrack,
    long? ConntrackMax,
    long ListenOverflows,
    long ListenDrops,
    long? Colliding = null
)
{
    /// <summary>Above these a case is warned about, and an automatic cool-down waits for the namespace to fall
    /// below.</summary>
    public const double TimeWaitPortsLimitPercent = 25,
        ConntrackLimitPercent = 80;

    public double TimeWaitPortsPercent => 100.0 * TimeWait / Math.Max(1, EphemeralPorts);

    /// <summary>The TIME_WAIT sockets that matter to the next connections: those towards the server when asked,
    /// else all of the namespace's.</summary>
    public long Pinning => Colliding ?? TimeWait;

    public double PinnedPortsPercent => 100.0 * Pinning / Math.Max(1, EphemeralPorts);

    public double? ConntrackPercent =>
        Conntrack is { } count && ConntrackMax is > 0 ? 100.0 * count / ConntrackMax.Value : null;

    public bool Quiet => PinnedPortsPercent <= TimeWaitPortsLimitPercent && ConntrackQuiet;

    public bool ConntrackQuiet => !(ConntrackPercent > ConntrackLimitPercent);
}
