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
    public const int MaxThinkTimeMs = 60_000;
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
        if (spec.ThinkTimeMs != 0 && (spec.Kind != WorkloadKind.Http || spec.HttpModel != HttpModel.Closed))
            errors.Add("thinkTime: allowed for http in the closed model only");
        Range("thinkTime", spec.ThinkTimeMs, 0, MaxThinkTimeMs);
        var workload = WorkloadCatalog.Of(spec.Kind);
        foreach (var bound in workload.Bounds)
            Range(bound.Field, ValueOf(spec, bound.Field), bound.Min, bound.Max);
        // Closed-model HTTP runs as fast as it can; open-model HTTP and probes are paced.
        bool paced =
            workload.MaxRate > 0 && (workload.Shape != WorkloadShape.Requests || spec.HttpModel == HttpModel.Open);
        // Written as "not inside" so that NaN, which compares false with everything, is refused too.
        if (paced && !(spec.Rate > 0 && spec.Rate <= workload.MaxRate))
            errors.Add(
                $"rate: {spec.Rate} is out of range for "
                    + $"{workload.Name}{(workload.Shape == WorkloadShape.Requests ? " in the open model" : "")}; "
                    + $"allowed: >0..{workload.MaxRate}"
            );
        if (
            spec.Processes is { } processes
            && (
                spec.Kind != WorkloadKind.Monitor
                || processes.Count > 64
                || processes.Any(p => p is null || p.Length is 0 or > 15)
            )
        )
            errors.Add($"processes: allowed for monitor jobs only, at most 64 names of 1..15 characters (no nulls)");
        if (
            spec.FlowPorts is { } ports
            && (spec.Kind != WorkloadKind.Monitor || ports.Count > 16 || ports.Any(p => p is < 1 or > 65535))
        )
            errors.Add($"flowPorts: allowed for monitor jobs only, at most 16 ports of 1..65535");
        if (spec.CountInterfaces && spec.Kind != WorkloadKind.Monitor)
            errors.Add("countInterfaces: allowed for monitor jobs only");
        if (spec.Target is null)
            errors.Add("target: null; allowed: host:port or [ipv6]:port");
        else if (spec.Kind != WorkloadKind.Monitor && !Endpoints.TryParse(spec.Target, out _))
            errors.Add($"target: '{spec.Target}' is not an address; allowed: host:port or [ipv6]:port");
        return errors;
    }

    /// <summary>The value of an integer field a <see cref="FieldBound"/> names.</summary>
    public static long ValueOf(WorkloadSpec spec, string field) =>
        field switch
        {
            "messageSize" => spec.MessageSize,
            "requestSize" => spec.RequestSize,
            "responseSize" => spec.ResponseSize,
            "bitrate" => spec.Bitrate,
            _ => throw new ArgumentOutOfRangeException(nameof(field), field, "not a bounded field of a workload spec"),
        };
}
