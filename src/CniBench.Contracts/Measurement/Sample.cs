namespace CniBench.Contracts.Measurement;

[System.Text.Json.Serialization.JsonConverter(typeof(CniBench.Contracts.Protocol.KebabEnumConverter<Phase>))]
public enum Phase { Warmup, Measured }

/// <summary>
/// One interval of an agent's job (about one second). Counters are deltas over the interval;
/// CPU is in percent of one core; memory is the resident size at the end of the interval.
/// Warm-up samples are kept and tagged, never counted in results.
/// </summary>
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
    long TcpRetransmits);
