using System.Globalization;
using System.Runtime.InteropServices;

namespace CniBench.Contracts.Sampling;

/// <summary>
/// CPU time of named processes from /proc/PID/stat (readable by anyone), and a node's memory in use from
/// /proc/meminfo. In a pod with the host's PID namespace this covers every process of the node: the CNI's
/// agent, kube-proxy. Shared: the controller reads its own host the same way, so the two sides' figures agree.
/// </summary>
public static class ProcessCpu
{
    [DllImport("libc", EntryPoint = "sysconf")]
    private static extern long SysConf(int name);

    private const int ScClkTck = 2;

    /// <summary>Clock ticks per second, the unit of utime and stime.</summary>
    public static readonly long TicksPerSecond = Math.Max(1, SysConf(ScClkTck));

    /// <summary>utime + stime in ticks of every process whose comm is one of <paramref name="names"/> (null: every
    /// process), by PID.</summary>
    public static Dictionary<int, (string Name, long Ticks)> Read(IReadOnlySet<string>? names)
    {
        var found = new Dictionary<int, (string, long)>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
                continue;
            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(dir, "stat"));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            } // gone meanwhile, or hidden
            if (Parse(stat) is { } p && (names is null || names.Contains(p.Name)))
                found[pid] = p;
        }
        return found;
    }

    /// <summary>The comm and utime + stime of one /proc/PID/stat line (comm may hold spaces and parentheses: it ends at
    /// the last ')').</summary>
    public static (string Name, long Ticks)? Parse(string stat)
    {
        int open = stat.IndexOf('('),
            close = stat.LastIndexOf(')');
        if (open < 0 || close < open)
            return null;
        var fields = stat[(close + 2)..].Split(' ');
        // After the comm: state is field 3 of the line, utime 14 and stime 15 → indexes 11 and 12 here.
        if (
            fields.Length < 13
            || !long.TryParse(fields[11], NumberStyles.None, CultureInfo.InvariantCulture, out long utime)
            || !long.TryParse(fields[12], NumberStyles.None, CultureInfo.InvariantCulture, out long stime)
        )
            return null;
        return (stat[(open + 1)..close], utime + stime);
    }

    /// <summary>CPU per name between two readings, in percent of one core; processes that started in between count from
    /// zero.</summary>
    public static Dictionary<string, double> Between(
        Dictionary<int, (string Name, long Ticks)> before,
        Dictionary<int, (string Name, long Ticks)> after,
        double seconds,
        IEnumerable<string> names
    )
    {
        var cpu = names.Distinct().ToDictionary(n => n, _ => 0.0);
        foreach (var (pid, now) in after)
        {
            long start = before.TryGetValue(pid, out var then) && then.Name == now.Name ? then.Ticks : 0;
            cpu[now.Name] += 100.0 * (now.Ticks - start) / TicksPerSecond / Math.Max(1e-6, seconds);
        }
        return cpu;
    }

    /// <summary>MemTotal and MemTotal − MemAvailable, in MiB.</summary>
    public static (double UsedMiB, double TotalMiB) Memory()
    {
        long total = 0,
            available = 0;
        foreach (var line in File.ReadLines("/proc/meminfo"))
        {
            var parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length < 2)
                continue;
            if (parts[0] == "MemTotal:")
                total = long.Parse(parts[1], CultureInfo.InvariantCulture);
            else if (parts[0] == "MemAvailable:")
                available = long.Parse(parts[1], CultureInfo.InvariantCulture);
        }
        return ((total - available) / 1024.0, total / 1024.0);
    }
}
