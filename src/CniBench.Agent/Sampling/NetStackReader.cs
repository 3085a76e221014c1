using System.Globalization;
using System.Net;
using CniBench.Contracts.Measurement;

namespace CniBench.Agent.Sampling;

/// <summary>
/// Reads <see cref="NetStack"/> from /proc for this network namespace: /proc/net/sockstat (tw), the ephemeral port
/// range, nf_conntrack_count and _max, and TcpExt ListenOverflows and ListenDrops from /proc/net/netstat.
/// </summary>
public static class NetStackReader
{
    /// <summary>At most this many endpoints in one question: a bounded answer to a hostile one.</summary>
    public const int MaxEndpoints = 8;

    /// <param name="towards">When given, also count the TIME_WAIT sockets towards these endpoints
    /// (<see cref="NetStack.Colliding"/>).</param>
    public static NetStack Read(IReadOnlyCollection<IPEndPoint>? towards = null)
    {
        var netstat = Lines("/proc/net/netstat");
        return new(
            ParseTimeWait(Lines("/proc/net/sockstat")),
            ParsePortRange(Text("/proc/sys/net/ipv4/ip_local_port_range")),
            Number(Text("/proc/sys/net/netfilter/nf_conntrack_count")),
            Number(Text("/proc/sys/net/netfilter/nf_conntrack_max")),
            ParseTcpExt(netstat, "ListenOverflows"),
            ParseTcpExt(netstat, "ListenDrops"),
            towards is { Count: > 0 } ? TimeWaitTowards(towards) : null
        );
    }

    /// <summary>
    /// A job's sample: the namespace's counts, and the TIME_WAIT sockets towards <paramref name="target"/> when it is
    /// given and the namespace's whole count passes the warning level (below it, neither can be a problem).
    /// /proc/net/tcp with a hundred thousand rows costs tens of milliseconds to read: the job asks at its end only,
    /// after the measured window.
    /// </summary>
    public static NetStack ReadDuringJob(IPEndPoint? target)
    {
        var stack = Read();
        return target is not null && stack.TimeWaitPortsPercent > NetStack.TimeWaitPortsLimitPercent
            ? stack with
            {
                Colliding = TimeWaitTowards([target]),
            }
            : stack;
    }

    private static long TimeWaitTowards(IReadOnlyCollection<IPEndPoint> towards) =>
        CountTimeWait(Lines("/proc/net/tcp"), towards) + CountTimeWait(Lines("/proc/net/tcp6"), towards);

    /// <summary>
    /// Rows of /proc/net/tcp or tcp6 ("sl local rem st …") in TIME_WAIT (st 06) whose remote end is one of
    /// <paramref name="towards"/>. Only this namespace's client side pins a port the next connect needs: a server's
    /// own TIME_WAIT has the server's endpoint as its local end and a new SYN may reuse it.
    /// </summary>
    internal static long CountTimeWait(IEnumerable<string> lines, IReadOnlyCollection<IPEndPoint> towards)
    {
        var wanted = towards.SelectMany(ProcForms).ToHashSet(StringComparer.Ordinal);
        long count = 0;
        foreach (var line in lines)
        {
            var fields = line.Split(' ', 5, StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length >= 4 && fields[3] == "06" && wanted.Contains(fields[2]))
                count++;
        }
        return count;
    }

    /// <summary>How /proc/net/tcp{,6} prints an endpoint: the address's 32-bit words in host order as hex, a colon,
    /// the port as four hex digits. An IPv4 endpoint is also matched in its IPv4-mapped IPv6 form.</summary>
    internal static IEnumerable<string> ProcForms(IPEndPoint endpoint)
    {
        string port = endpoint.Port.ToString("X4", CultureInfo.InvariantCulture);
        var addresses =
            endpoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork
                ? new[] { endpoint.Address, endpoint.Address.MapToIPv6() }
                : [endpoint.Address];
        foreach (var address in addresses)
        {
            var bytes = address.GetAddressBytes();
            var text = new System.Text.StringBuilder();
            for (int word = 0; word < bytes.Length; word += 4)
            for (int i = 3; i >= 0; i--)
                text.Append(
                    bytes[word + (BitConverter.IsLittleEndian ? i : 3 - i)].ToString("X2", CultureInfo.InvariantCulture)
                );
            yield return $"{text}:{port}";
        }
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
