using System.Globalization;

namespace CniBench.Contracts.Sampling;

/// <summary>Bytes and packets one direction of a connection carried: a flow log's line.</summary>
/// <param name="Process">The local process that owns the connection's socket on this node ("name (pid)", as `ss -p`
/// tells it), where the node has one.</param>
public sealed record FlowBytes(
    string Protocol,
    string Source,
    int SourcePort,
    string Destination,
    int DestinationPort,
    long Bytes,
    long Packets,
    string? Process = null
);

/// <summary>
/// What one address sent another over a window, summed over their connections, each end as itself: the backend a
/// DNAT chose, the pod behind an SNAT. <paramref name="Benchmark"/>: connections on one of the benchmark's ports.
/// </summary>
public sealed record AddressPairBytes(string Source, string Destination, bool Benchmark, long Bytes, long Packets);

/// <summary>
/// The connections the kernel tracks in a network namespace, with their byte counters (conntrack accounting,
/// net.netfilter.nf_conntrack_acct=1), from /proc/net/nf_conntrack; and the flows that carried the most bytes
/// between two readings, each direction on its own, as a VPC flow log ranks them by (source, source port,
/// destination, destination port).
/// </summary>
public static class ConntrackFlows
{
    /// <summary>One tracked connection: its protocol, its original and its reply direction.</summary>
    public sealed record Entry(FlowBytes Original, FlowBytes Reply)
    {
        /// <summary>Whether one of <paramref name="ports"/> is on either side of either direction (a service's
        /// port, or the backend's a DNAT chose).</summary>
        public bool Uses(IReadOnlyCollection<int> ports) =>
            ports.Contains(Original.SourcePort)
            || ports.Contains(Original.DestinationPort)
            || ports.Contains(Reply.SourcePort)
            || ports.Contains(Reply.DestinationPort);

        /// <summary>What identifies the connection from one reading to the next.</summary>
        public (string, string, int, string, int) Key =>
            (Original.Protocol, Original.Source, Original.SourcePort, Original.Destination, Original.DestinationPort);
    }

    /// <summary>
    /// Lines as /proc/net/nf_conntrack prints them ("ipv4 2 tcp 6 431999 ESTABLISHED src=.. dst=.. sport=..
    /// dport=.. packets=.. bytes=.. src=.. (the reply) ..."); a line that is not one is skipped. Without accounting
    /// the counters read 0. Protocols without ports (ICMP) get port 0.
    /// </summary>
    public static IReadOnlyList<Entry> Parse(IEnumerable<string> lines)
    {
        var entries = new List<Entry>();
        foreach (var line in lines)
        {
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length < 5)
                continue;
            string protocol = fields[2];
            // The two directions are the two runs of key=value fields that start with src=.
            int first = Array.FindIndex(fields, f => f.StartsWith("src=", StringComparison.Ordinal));
            int second =
                first < 0
                    ? -1
                    : Array.FindIndex(fields, first + 1, f => f.StartsWith("src=", StringComparison.Ordinal));
            if (second < 0)
                continue;
            var original = Direction(protocol, fields.AsSpan(first, second - first));
            var reply = Direction(protocol, fields.AsSpan(second));
            if (original is not null && reply is not null)
                entries.Add(new Entry(original, reply));
        }
        return entries;
    }

    /// <summary>
    /// The <paramref name="top"/> directional flows that carried the most bytes from <paramref name="before"/> to
    /// <paramref name="after"/>, each from its sender to its real receiver (after any NAT): a connection seen in both
    /// counts the difference, a new one all it carried. A
    /// connection that ended between the readings is not seen (its bytes are lost to this method).
    /// </summary>
    public static IReadOnlyList<FlowBytes> TopTalkers(
        IReadOnlyList<Entry> before,
        IReadOnlyList<Entry> after,
        int top,
        Func<Entry, bool>? include = null
    )
    {
        var earlier = new Dictionary<(string, string, int, string, int), Entry>();
        foreach (var entry in before)
            earlier[entry.Key] = entry;
        var flows = new List<FlowBytes>();
        foreach (var entry in after)
        {
            if (include is not null && !include(entry))
                continue;
            earlier.TryGetValue(entry.Key, out var then);
            // Each direction goes to its real receiver: the backend a DNAT chose, the pod behind an SNAT.
            var original = entry.Original with
            {
                Destination = entry.Reply.Source,
                DestinationPort = entry.Reply.SourcePort,
            };
            var reply = entry.Reply with
            {
                Destination = entry.Original.Source,
                DestinationPort = entry.Original.SourcePort,
            };
            flows.Add(Since(original, then?.Original));
            flows.Add(Since(reply, then?.Reply));
        }
        return flows
            .Where(f => f.Bytes > 0)
            .OrderByDescending(f => f.Bytes)
            .ThenBy(f => f.Source, StringComparer.Ordinal)
            .ThenBy(f => f.SourcePort)
            .Take(top)
            .ToList();
    }

    /// <summary>The counters since <paramref name="then"/>; all of them when the entry was made again meanwhile
    /// (its counters restarted).</summary>
    private static FlowBytes Since(FlowBytes now, FlowBytes? then) =>
        then is null || then.Bytes > now.Bytes || then.Packets > now.Packets
            ? now
            : now with
            {
                Bytes = now.Bytes - then.Bytes,
                Packets = now.Packets - then.Packets,
            };

    private static FlowBytes? Direction(string protocol, ReadOnlySpan<string> fields)
    {
        string? source = null,
            destination = null;
        int sourcePort = 0,
            destinationPort = 0;
        long bytes = 0,
            packets = 0;
        foreach (var field in fields)
        {
            int eq = field.IndexOf('=');
            if (eq <= 0)
                continue;
            var value = field.AsSpan(eq + 1);
            switch (field[..eq])
            {
                case "src":
                    source = Address(field[(eq + 1)..]);
                    break;
                case "dst":
                    destination = Address(field[(eq + 1)..]);
                    break;
                case "sport":
                    sourcePort = (int)Number(value);
                    break;
                case "dport":
                    destinationPort = (int)Number(value);
                    break;
                case "packets":
                    packets = Number(value);
                    break;
                case "bytes":
                    bytes = Number(value);
                    break;
            }
        }
        return source is null || destination is null
            ? null
            : new FlowBytes(protocol, source, sourcePort, destination, destinationPort, bytes, packets);
    }

    /// <summary>
    /// Every byte between <paramref name="before"/> and <paramref name="after"/> by the pair of addresses that
    /// exchanged it, the <paramref name="top"/> largest pairs; what the others carried is returned as
    /// <paramref name="unlistedBytes"/>. A connection's real ends are its original source and its reply's source.
    /// </summary>
    public static IReadOnlyList<AddressPairBytes> Pairs(
        IReadOnlyList<Entry> before,
        IReadOnlyList<Entry> after,
        Func<Entry, bool> benchmark,
        int top,
        out long unlistedBytes
    )
    {
        var earlier = new Dictionary<(string, string, int, string, int), Entry>();
        foreach (var entry in before)
            earlier[entry.Key] = entry;
        var sums = new Dictionary<(string, string, bool), (long Bytes, long Packets)>();
        void Add(string from, string to, bool ours, FlowBytes carried)
        {
            if (carried.Bytes <= 0)
                return;
            var sum = sums.GetValueOrDefault((from, to, ours));
            sums[(from, to, ours)] = (sum.Bytes + carried.Bytes, sum.Packets + carried.Packets);
        }
        foreach (var entry in after)
        {
            earlier.TryGetValue(entry.Key, out var then);
            bool ours = benchmark(entry);
            string a = entry.Original.Source,
                b = entry.Reply.Source;
            Add(a, b, ours, Since(entry.Original, then?.Original));
            Add(b, a, ours, Since(entry.Reply, then?.Reply));
        }
        var ranked = sums.Select(p => new AddressPairBytes(
                p.Key.Item1,
                p.Key.Item2,
                p.Key.Item3,
                p.Value.Bytes,
                p.Value.Packets
            ))
            .OrderByDescending(p => p.Bytes)
            .ThenBy(p => p.Source, StringComparer.Ordinal)
            .ThenBy(p => p.Destination, StringComparer.Ordinal)
            .ToList();
        unlistedBytes = ranked.Skip(top).Sum(p => p.Bytes);
        return ranked.Take(top).ToList();
    }

    /// <summary>The kernel prints IPv6 addresses in full ("fd00:0200:0000:..."); flows carry the short form, as
    /// everything else shows addresses.</summary>
    private static string Address(string text) =>
        System.Net.IPAddress.TryParse(text, out var address) ? address.ToString() : text;

    private static long Number(ReadOnlySpan<char> text) =>
        long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out long n) ? n : 0;
}
