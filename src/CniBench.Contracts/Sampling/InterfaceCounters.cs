using System.Globalization;

namespace CniBench.Contracts.Sampling;

/// <summary>
/// Bytes and packets each network interface of the agent's network namespace received and sent, from
/// /proc/net/dev: in a pod, the pod's own traffic, as a node's cAdvisor reports it per pod.
/// </summary>
public static class InterfaceCounters
{
    public sealed record Counters(
        string Device,
        long ReceivedBytes,
        long ReceivedPackets,
        long SentBytes,
        long SentPackets
    );

    /// <summary>What each interface carried from <paramref name="before"/> to <paramref name="after"/>; an interface
    /// that came or went in between is left out (its counters started anew).</summary>
    public static IReadOnlyList<Counters> Between(IReadOnlyList<Counters> before, IReadOnlyList<Counters> after) =>
        after
            .Join(
                before,
                a => a.Device,
                b => b.Device,
                (a, b) =>
                    new Counters(
                        a.Device,
                        a.ReceivedBytes - b.ReceivedBytes,
                        a.ReceivedPackets - b.ReceivedPackets,
                        a.SentBytes - b.SentBytes,
                        a.SentPackets - b.SentPackets
                    )
            )
            .Where(c => c.ReceivedBytes >= 0 && c.SentBytes >= 0)
            .ToArray();

    public static IReadOnlyList<Counters> Read(string path = "/proc/net/dev")
    {
        try
        {
            return Parse(File.ReadLines(path));
        }
        catch (IOException)
        {
            return [];
        }
    }

    /// <summary>"  eth0: rbytes rpackets errs drop fifo frame compressed multicast tbytes tpackets ..."; the two
    /// header lines and anything malformed are skipped.</summary>
    public static IReadOnlyList<Counters> Parse(IEnumerable<string> lines)
    {
        var counters = new List<Counters>();
        foreach (var line in lines)
        {
            int colon = line.IndexOf(':');
            if (colon <= 0)
                continue;
            var fields = line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (
                fields.Length >= 10
                && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out long rxBytes)
                && long.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out long rxPackets)
                && long.TryParse(fields[8], NumberStyles.None, CultureInfo.InvariantCulture, out long txBytes)
                && long.TryParse(fields[9], NumberStyles.None, CultureInfo.InvariantCulture, out long txPackets)
            )
                counters.Add(new Counters(line[..colon].Trim(), rxBytes, rxPackets, txBytes, txPackets));
        }
        return counters;
    }
}
