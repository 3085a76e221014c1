using System.Globalization;

namespace CniBench.Agent.Sampling;

/// <summary>
/// Reads host CPU (/proc/stat), this process's CPU and resident memory, and TCP retransmits
/// (/proc/net/snmp, for the whole network namespace), as deltas between two calls.
/// </summary>
public sealed class ResourceSampler
{
    private CpuTimes _lastHost;
    private TimeSpan _lastProcess;
    private long _lastRetransmits;
    private long _lastAllocated;
    private long _lastTimestamp;

    public ResourceSampler() => Reset();

    public readonly record struct Reading(
        double HostCpuPercent,
        double ProcessCpuPercent,
        double ProcessMemoryMiB,
        long TcpRetransmits,
        long ProcessAllocatedBytes
    );

    private readonly record struct CpuTimes(long Busy, long Total);

    public void Reset()
    {
        _lastHost = ReadHostCpu();
        _lastProcess = Environment.CpuUsage.TotalTime;
        _lastRetransmits = ReadRetransmits();
        _lastAllocated = GC.GetTotalAllocatedBytes(precise: true);
        _lastTimestamp = System.Diagnostics.Stopwatch.GetTimestamp();
    }

    /// <summary>Figures since the previous call; CPU in percent of one core (200 = two cores busy).</summary>
    public Reading Read()
    {
        var host = ReadHostCpu();
        var process = Environment.CpuUsage.TotalTime;
        long retransmits = ReadRetransmits();
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        long now = System.Diagnostics.Stopwatch.GetTimestamp();
        double wallSeconds = Math.Max(1e-6, (now - _lastTimestamp) / (double)System.Diagnostics.Stopwatch.Frequency);

        long totalDelta = host.Total - _lastHost.Total;
        double hostPercent =
            totalDelta > 0 ? 100.0 * Environment.ProcessorCount * (host.Busy - _lastHost.Busy) / totalDelta : 0;
        double processPercent = 100.0 * (process - _lastProcess).TotalSeconds / wallSeconds;
        var reading = new Reading(
            hostPercent,
            processPercent,
            Environment.WorkingSet / (1024.0 * 1024.0),
            Math.Max(0, retransmits - _lastRetransmits),
            allocated - _lastAllocated
        );

        _lastHost = host;
        _lastProcess = process;
        _lastRetransmits = retransmits;
        _lastAllocated = allocated;
        _lastTimestamp = now;
        return reading;
    }

    private static CpuTimes ReadHostCpu()
    {
        try
        {
            using var reader = new StreamReader("/proc/stat");
            var line = reader.ReadLine();
            if (line is null || !line.StartsWith("cpu ", StringComparison.Ordinal))
                return default;
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries)
                .Skip(1)
                .Select(f => long.Parse(f, CultureInfo.InvariantCulture))
                .ToArray();
            // user nice system idle iowait irq softirq steal [guest guest_nice: already inside user/nice]
            long total = fields.Take(8).Sum();
            long idle = fields[3] + (fields.Length > 4 ? fields[4] : 0);
            return new CpuTimes(total - idle, total);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException)
        {
            return default;
        }
    }

    internal static long ReadRetransmits()
    {
        try
        {
            return ParseRetransmits(File.ReadAllLines("/proc/net/snmp"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return 0;
        }
    }

    /// <summary>/proc/net/snmp has a "Tcp:" header line of names followed by a "Tcp:" line of values.</summary>
    internal static long ParseRetransmits(IReadOnlyList<string> lines)
    {
        for (int i = 0; i + 1 < lines.Count; i++)
        {
            if (
                !lines[i].StartsWith("Tcp:", StringComparison.Ordinal)
                || !lines[i + 1].StartsWith("Tcp:", StringComparison.Ordinal)
            )
                continue;
            var names = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var values = lines[i + 1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int index = Array.IndexOf(names, "RetransSegs");
            if (
                index > 0
                && index < values.Length
                && long.TryParse(values[index], CultureInfo.InvariantCulture, out long value)
            )
                return value;
        }
        return 0;
    }
}
