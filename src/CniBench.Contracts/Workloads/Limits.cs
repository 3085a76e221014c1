namespace CniBench.Contracts.Workloads;

/// <summary>Bounds shared by every entry point (agent flags, scenario files, control protocol).</summary>
public static class Limits
{
    public const int MaxParallel = 1024;
    public const int MaxMessageSize = 16 * 1024 * 1024;
    public const int UdpHeaderSize = 24;
    public const int MaxUdpPayload = 65507;
    public const long MaxBitrate = 400_000_000_000;
    public const double MaxHttpRate = 1_000_000;
    public const double MaxProbeRate = 20_000;
    public static readonly TimeSpan MaxDuration = TimeSpan.FromHours(1);
    public static readonly TimeSpan MinDuration = TimeSpan.FromMilliseconds(100);
    public static readonly TimeSpan MaxWarmup = TimeSpan.FromMinutes(10);

    /// <summary>Every problem with a spec, as "field: what is wrong; allowed: ..."; empty when valid.</summary>
    public static IReadOnlyList<string> Check(WorkloadSpec spec)
    {
        var errors = new List<string>();
        void Range(string field, long value, long min, long max)
        {
            if (value < min || value > max)
                errors.Add($"{field}: {value} is out of range; allowed: {min}..{max}");
        }

        Range("parallel", spec.Parallel, 1, MaxParallel);
        Range("timeout", spec.TimeoutMs, 1, 60_000);
        switch (spec.Kind)
        {
            case WorkloadKind.TcpStream:
                Range("messageSize", spec.MessageSize, 1, MaxMessageSize);
                break;
            case WorkloadKind.UdpStream:
                Range("messageSize", spec.MessageSize, UdpHeaderSize, MaxUdpPayload);
                Range("bitrate", spec.Bitrate, 0, MaxBitrate);
                break;
            case WorkloadKind.UdpRr:
                Range("requestSize", spec.RequestSize, UdpHeaderSize, MaxUdpPayload);
                Range("responseSize", spec.ResponseSize, UdpHeaderSize, MaxUdpPayload);
                break;
            case WorkloadKind.TcpRr or WorkloadKind.TcpCrr:
                Range("requestSize", spec.RequestSize, 1, MaxMessageSize);
                Range("responseSize", spec.ResponseSize, 1, MaxMessageSize);
                break;
            case WorkloadKind.Http:
                Range("responseSize", spec.ResponseSize, 0, MaxMessageSize);
                // Written as "not inside" so that NaN, which compares false with everything, is refused too.
                if (spec.HttpModel == HttpModel.Open && !(spec.Rate > 0 && spec.Rate <= MaxHttpRate))
                    errors.Add($"rate: {spec.Rate} is out of range for the open model; allowed: >0..{MaxHttpRate}");
                break;
            case WorkloadKind.Probe:
                if (!(spec.Rate > 0 && spec.Rate <= MaxProbeRate))
                    errors.Add($"rate: {spec.Rate} is out of range for probes; allowed: >0..{MaxProbeRate}");
                break;
        }
        if (spec.Processes is { } processes && (spec.Kind != WorkloadKind.Monitor || processes.Count > 64 || processes.Any(p => p.Length is 0 or > 15)))
            errors.Add($"processes: allowed for monitor jobs only, at most 64 names of 1..15 characters");
        if (spec.Kind != WorkloadKind.Monitor && !Endpoints.TryParse(spec.Target, out _))
            errors.Add($"target: '{spec.Target}' is not an address; allowed: host:port or [ipv6]:port");
        return errors;
    }
}
