using System.Globalization;

namespace CniBench.Cli.Running;

/// <summary>
/// Tells whether the controller of a stored run is still alive. On the same host the PID is looked
/// up in /proc (with its start time, so a reused PID does not count); on another host only the
/// heartbeat can tell, so a run whose heartbeat is older than <see cref="HeartbeatTimeout"/> is gone.
/// </summary>
public static class ControllerProcess
{
    /// <summary>How often a running controller writes its heartbeat.</summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(10);

    /// <summary>Six missed heartbeats: long enough for a stalled disk or a suspended laptop lid to be forgiven.</summary>
    public static readonly TimeSpan HeartbeatTimeout = TimeSpan.FromSeconds(60);

    public static RunController Current()
    {
        int pid = Environment.ProcessId;
        return new RunController(Environment.MachineName, pid, StartTicks(pid) ?? 0);
    }

    public static bool IsGone(RunController? controller, DateTimeOffset? heartbeat, DateTimeOffset now)
    {
        if (controller is null) return heartbeat is null || now - heartbeat > HeartbeatTimeout; // stored by an older cnibench
        if (controller.Host == Environment.MachineName)
            return StartTicks(controller.Pid) is not { } ticks || (controller.StartTicks != 0 && ticks != controller.StartTicks);
        return heartbeat is null || now - heartbeat > HeartbeatTimeout;
    }

    /// <summary>Field 22 of /proc/PID/stat: when the process started, in clock ticks since boot; null when there is no such process.</summary>
    public static long? StartTicks(int pid)
    {
        string stat;
        try { stat = File.ReadAllText($"/proc/{pid.ToString(CultureInfo.InvariantCulture)}/stat"); }
        catch (IOException) { return null; }
        catch (UnauthorizedAccessException) { return null; }
        // The command name (field 2) is in parentheses and may itself hold spaces or parentheses.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return fields.Length > 19 && long.TryParse(fields[19], NumberStyles.Integer, CultureInfo.InvariantCulture, out var ticks) ? ticks : null;
    }
}
