using System.Net;

namespace CniBench.Agent.Peers;

/// <summary>
/// A token bucket per source address: the control port's TLS handshakes are costly to the agent and free to a
/// stranger (1,872 in 10 s once cost the agent 4.8 s of CPU before any token was shown). A controller keeps its
/// connections alive and needs a handful; a source past its bucket is closed before the handshake. The table holds at
/// most <see cref="MaxSources"/> addresses, so a spread of sources cannot grow it; past that, the fullest buckets
/// (sources that have been quiet) are forgotten first.
/// </summary>
public sealed class SourceRateLimiter(double perSecond = 10, double burst = 40)
{
    public const int MaxSources = 4096;
    private readonly Lock _gate = new();
    private readonly Dictionary<IPAddress, (double Tokens, long AtMs)> _buckets = new();

    public bool TryTake(IPAddress? source)
    {
        if (source is null)
            return true; // a Unix socket: the file system's permissions guard it
        long now = Environment.TickCount64;
        lock (_gate)
        {
            double tokens = burst;
            if (_buckets.TryGetValue(source, out var bucket))
                tokens = Math.Min(burst, bucket.Tokens + (now - bucket.AtMs) / 1000.0 * perSecond);
            else if (_buckets.Count >= MaxSources)
                Forget(now);
            bool allowed = tokens >= 1;
            _buckets[source] = (allowed ? tokens - 1 : tokens, now);
            return allowed;
        }
    }

    /// <summary>Drops the buckets that would be full by now (their sources are as if never seen), or else
    /// half.</summary>
    private void Forget(long now)
    {
        var quiet = _buckets
            .Where(b => b.Value.Tokens + (now - b.Value.AtMs) / 1000.0 * perSecond >= burst)
            .Select(b => b.Key)
            .ToList();
        if (quiet.Count == 0)
            quiet = _buckets.Keys.Take(_buckets.Count / 2).ToList();
        foreach (var source in quiet)
            _buckets.Remove(source);
    }
}
