using System.Globalization;

namespace CniBench.Agent;

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

/// <summary>Logs the first few occurrences of a repeated event, then one in a thousand, so a flood of bad input cannot
/// flood the log.</summary>
public sealed class RateLimitedLog(AgentLog log, int firstN = 10, int every = 1000)
{
    private long _count;

    public void Info(string message)
    {
        long n = Interlocked.Increment(ref _count);
        if (n <= firstN || n % every == 0)
            log.Info(n > firstN ? $"{message} (occurrence {n})" : message);
    }
}
