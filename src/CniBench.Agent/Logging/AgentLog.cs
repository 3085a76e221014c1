using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.CompilerServices;

namespace CniBench.Agent.Logging;

/// <summary>Timestamped lines to stderr (stdout carries the machine-readable ready line).</summary>
public sealed class AgentLog(TextWriter writer)
{
    private readonly Lock _gate = new();

    public void Info(string message)
    {
        lock (_gate)
        {
            writer.WriteLine(
                string.Create(CultureInfo.InvariantCulture, $"{DateTimeOffset.UtcNow:HH:mm:ss.fff} {message}")
            );
            writer.Flush();
        }
    }

    public static AgentLog Null { get; } = new(TextWriter.Null);
}

/// <summary>
/// Logs at most <paramref name="perMinute"/> lines a minute of each kind of event (each call site is a kind), and says
/// how many it left out when the next minute's first line of that kind comes. So a flood of bad input cannot flood the
/// log, and ten cheap bad requests of one kind silence neither another kind nor the next minute.
/// </summary>
/// <param name="window">A minute; tests set a shorter one.</param>
public sealed class RateLimitedLog(AgentLog log, int perMinute = 10, TimeSpan? window = null)
{
    private readonly long _windowMs = (long)(window ?? TimeSpan.FromMinutes(1)).TotalMilliseconds;
    private readonly ConcurrentDictionary<(string File, int Line), Kind> _kinds = new();

    public void Info(string message, [CallerFilePath] string file = "", [CallerLineNumber] int line = 0)
    {
        var kind = _kinds.GetOrAdd((file, line), static _ => new Kind());
        long left = 0;
        lock (kind)
        {
            long now = Environment.TickCount64;
            if (now - kind.WindowStart >= _windowMs)
            {
                left = kind.Suppressed;
                (kind.WindowStart, kind.Logged, kind.Suppressed) = (now, 0, 0);
            }
            if (kind.Logged >= perMinute)
            {
                kind.Suppressed++;
                return;
            }
            kind.Logged++;
        }
        log.Info(left > 0 ? $"{message} ({left} more like it not logged in the window before)" : message);
    }

    private sealed class Kind
    {
        public long WindowStart = long.MinValue / 2;
        public int Logged;
        public long Suppressed;
    }
}
