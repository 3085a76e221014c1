using System.Diagnostics;
using CniBench.Cli.Results;
using CniBench.Contracts.Sampling;

namespace CniBench.Cli.Running;

/// <summary>
/// What else ran on this host in a case's window, for targets whose agents run here (local, lab): the
/// CPU of every process other than the agents and this controller, from two readings of /proc, and
/// the kernel's own threads (softirq, workers: dataplane work) apart. So a busy machine is told from a
/// CPU-bound benchmark.
/// </summary>
public static class HostActivity
{
    public const string AgentProcessName = "cnibench-agent";
    private const int TopProcesses = 5;

    public sealed record Reading(Dictionary<int, (string Name, long Ticks)> Processes, long Timestamp);

    public static Reading Read() => new(ProcessCpu.Read(null), Stopwatch.GetTimestamp());

    /// <summary>A reading taken at <paramref name="at"/> (the window's start), or at once if that has passed.</summary>
    public static async Task<Reading> ReadAtAsync(DateTimeOffset at, CancellationToken cancellationToken)
    {
        var wait = at - DateTimeOffset.UtcNow;
        if (wait > TimeSpan.Zero)
            await Task.Delay(wait, cancellationToken);
        return Read();
    }

    /// <summary>Other processes' CPU since <paramref name="before"/>: their total, the kernel threads' total, and the
    /// busiest few.</summary>
    public static (double Other, double KernelThreads, IReadOnlyList<ProcessShare> Top) Since(Reading before)
    {
        var perProcess = OthersBetween(before, Read()).Select(p => (p.Name, p.Percent)).ToArray();
        var kernel = perProcess.Where(p => IsKernelWork(p.Name)).Sum(p => p.Percent);
        var others = perProcess
            .Where(p => !IsKernelWork(p.Name))
            .GroupBy(p => p.Name)
            .Select(g => new ProcessShare(g.Key, g.Sum(p => p.Percent)))
            .OrderByDescending(p => p.CpuPercent)
            .ToArray();
        return (others.Sum(p => p.CpuPercent), kernel, others.Take(TopProcesses).ToArray());
    }

    /// <summary>Every process but the agents and this one, with the CPU it used between two readings (percent of a
    /// core).</summary>
    public static IReadOnlyList<(int Pid, string Name, double Percent)> OthersBetween(Reading before, Reading after)
    {
        double seconds = Stopwatch.GetElapsedTime(before.Timestamp, after.Timestamp).TotalSeconds;
        var self = Environment.ProcessId;
        return after
            .Processes.Where(p => p.Key != self && p.Value.Name != AgentProcessName)
            .Select(p =>
                (
                    p.Key,
                    p.Value.Name,
                    Percent: 100.0
                        * (
                            p.Value.Ticks
                            - (
                                before.Processes.TryGetValue(p.Key, out var then) && then.Name == p.Value.Name
                                    ? then.Ticks
                                    : 0
                            )
                        )
                        / ProcessCpu.TicksPerSecond
                        / Math.Max(1e-6, seconds)
                )
            )
            .Where(p => p.Percent > 0)
            .ToArray();
    }

    /// <summary>Kernel threads that carry network work (softirq, workqueues, interrupt threads): the dataplane's, not
    /// another program's.</summary>
    private static bool IsKernelWork(string name) =>
        name.StartsWith("ksoftirqd", StringComparison.Ordinal)
        || name.StartsWith("kworker", StringComparison.Ordinal)
        || name.StartsWith("irq/", StringComparison.Ordinal);
}
