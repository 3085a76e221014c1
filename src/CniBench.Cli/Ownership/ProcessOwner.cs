using System.Globalization;

namespace CniBench.Cli.Ownership;

/// <summary>
/// A process that owns something that outlives a crash (a run in the store, a lab's namespaces): its host,
/// PID and the kernel's start time of that PID, so that a reused PID is not taken for the same process.
/// </summary>
public sealed record ProcessOwner(string Host, int Pid, long StartTicks)
{
    public static ProcessOwner Current()
    {
        int pid = Environment.ProcessId;
        return new ProcessOwner(Environment.MachineName, pid, StartTicksOf(pid) ?? 0);
    }

    /// <summary>Alive on this host: the PID exists with the recorded start time. Null for another host's process: /proc
    /// cannot tell.</summary>
    public bool? IsAliveHere()
    {
        if (Host != Environment.MachineName)
            return null;
        return StartTicksOf(Pid) is { } ticks && (StartTicks == 0 || ticks == StartTicks);
    }

    /// <summary>"pid 123 on host" for messages.</summary>
    public override string ToString() => $"pid {Pid.ToString(CultureInfo.InvariantCulture)} on {Host}";

    /// <summary>Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot; null when there is no
    /// such process.</summary>
    public static long? StartTicksOf(int pid)
    {
        string stat;
        try
        {
            stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat");
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
        // The command name (field 2) is in parentheses and may itself hold spaces or parentheses.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return
            fields.Length > 19
            && long.TryParse(fields[19], NumberStyles.Integer, CultureInfo.InvariantCulture, out var ticks)
            ? ticks
            : null;
    }

    /// <summary>"host pid starttime": one line in an owner file.</summary>
    public string ToLine() => string.Create(CultureInfo.InvariantCulture, $"{Host} {Pid} {StartTicks}");

    public static ProcessOwner? FromLine(string line)
    {
        var parts = line.Trim().Split(' ');
        return
            parts.Length == 3
            && int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out int pid)
            && long.TryParse(parts[2], NumberStyles.None, CultureInfo.InvariantCulture, out long start)
            ? new ProcessOwner(parts[0], pid, start)
            : null;
    }
}
