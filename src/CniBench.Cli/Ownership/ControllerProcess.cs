namespace CniBench.Cli.Ownership;

/// <summary>
/// Tells whether the controller of a stored run is still alive. On the same host the PID is looked
/// up in /proc (with its start time); on another host only the heartbeat can tell, so a run whose
/// heartbeat is older than <see cref="HeartbeatTimeout"/> is gone.
/// </summary>
public static class ControllerProcess
{
    /// <summary>How often a running controller writes its heartbeat.</summary>
    public static readonly TimeSpan HeartbeatInterval = TimeSpan.FromSeconds(10);

    /// <summary>Six missed heartbeats: long enough for a stalled disk or a suspended laptop lid to be
    /// forgiven.</summary>
    public static readonly TimeSpan HeartbeatTimeout = TimeSpan.FromSeconds(60);

    public static bool IsGone(ProcessOwner? controller, DateTimeOffset? heartbeat, DateTimeOffset now) =>
        controller?.IsAliveHere() is { } alive ? !alive : heartbeat is null || now - heartbeat > HeartbeatTimeout;
}
