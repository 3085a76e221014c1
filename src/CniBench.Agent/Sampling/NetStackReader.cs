using System.Globalization;
using CniBench.Contracts.Measurement;

namespace CniBench.Agent.Sampling;

/// <summary>
/// Reads <see cref="NetStack"/> from /proc for this network namespace: /proc/net/sockstat (tw), the ephemeral port
/// range, nf_conntrack_count and _max, and TcpExt ListenOverflows and ListenDrops from /proc/net/netstat.
/// </summary>
public static class NetStackReader
{
    public static NetStack Read()
    {
        var netstat = Lines("/proc/net/netstat");
        return new(
            ParseTimeWait(Lines("/proc/net/sockstat")),
            ParsePortRange(Text("/proc/sys/net/ipv4/ip_local_port_range")),
            Number(Text("/proc/sys/net/netfilter/nf_conntrack_count")),
            Number(Text("/proc/sys/net/netfilter/nf_conntrack_max")),
            ParseTcpExt(netstat, "ListenOverflows"),
            ParseTcpExt(netstat, "ListenDrops")
        );
    }

    /// <summary>"TCP: inuse 5 orphan 0 tw 17547 alloc 9 mem 1": the tw figure.</summary>
    internal static long ParseTimeWait(IReadOnlyList<string> lines)
    {
        foreach (var line in lines)
        {
            if (!line.StartsWith("TCP:", StringComparison.Ordinal))
                continue;
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int index = Array.IndexOf(fields, "tw");
            if (
                index > 0
                && index + 1 < fields.Length
                && long.TryParse(fields[index + 1], CultureInfo.InvariantCulture, out long tw)
            )
                return tw;
        }
        return 0;
    }

    /// <summary>"32768\t60999": how many ports a client can bind to one destination.</summary>
    internal static int ParsePortRange(string? text)
    {
        var fields = (text ?? "").Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries);
        return
            fields.Length == 2
            && int.TryParse(fields[0], CultureInfo.InvariantCulture, out int low)
            && int.TryParse(fields[1], CultureInfo.InvariantCulture, out int high)
            && high >= low
            ? high - low + 1
            : 28232; // the kernel's default range
    }

    /// <summary>/proc/net/netstat: a "TcpExt:" line of names, then one of values.</summary>
    internal static long ParseTcpExt(IReadOnlyList<string> lines, string name)
    {
        for (int i = 0; i + 1 < lines.Count; i++)
        {
            if (
                !lines[i].StartsWith("TcpExt:", StringComparison.Ordinal)
                || !lines[i + 1].StartsWith("TcpExt:", StringComparison.Ordinal)
            )
                continue;
            var names = lines[i].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var values = lines[i + 1].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            int index = Array.IndexOf(names, name);
            if (
                index > 0
                && index < values.Length
                && long.TryParse(values[index], CultureInfo.InvariantCulture, out long value)
            )
                return value;
        }
        return 0;
    }

    private static long? Number(string? text) =>
        long.TryParse(text?.Trim(), CultureInfo.InvariantCulture, out long n) ? n : null;

    private static string? Text(string path)
    {
        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string[] Lines(string path)
    {
        try
        {
            return File.ReadAllLines(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
