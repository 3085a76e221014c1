using System.Globalization;
using System.Net;
using CniBench.Contracts.Sampling;

namespace CniBench.Agent.Sampling;

/// <summary>
/// Which process owns a socket of this network namespace, as `ss -p` tells it: the socket's inode from
/// /proc/net/{tcp,udp}{,6}, then the process whose descriptors point at that inode. Only root sees other users'
/// descriptors; a socket it cannot place keeps no owner.
/// </summary>
public static class SocketOwners
{
    /// <summary>At most this many processes are searched: a sampler must not spend its window on /proc.</summary>
    private const int MaxProcesses = 4096;

    /// <summary>The flows with their owner filled in where one of their ends is a socket of this namespace.</summary>
    public static IReadOnlyList<FlowBytes> Attach(IReadOnlyList<FlowBytes> flows, string procRoot = "/proc")
    {
        if (flows.Count == 0)
            return flows;
        var inodes = LocalSockets(procRoot);
        var wanted = new Dictionary<long, string?>();
        long InodeOf(FlowBytes f) =>
            inodes.GetValueOrDefault((f.Protocol, f.Source, f.SourcePort)) is var i and > 0
                ? i
                : inodes.GetValueOrDefault((f.Protocol, f.Destination, f.DestinationPort));
        foreach (var flow in flows)
            if (InodeOf(flow) is > 0 and var inode)
                wanted[inode] = null;
        if (wanted.Count == 0)
            return flows;
        FindProcesses(procRoot, wanted);
        return flows
            .Select(f => wanted.GetValueOrDefault(InodeOf(f)) is { } owner ? f with { Process = owner } : f)
            .ToArray();
    }

    /// <summary>(protocol, local address, local port) → inode, for this namespace's TCP and UDP sockets.</summary>
    public static Dictionary<(string, string, int), long> LocalSockets(string procRoot)
    {
        var sockets = new Dictionary<(string, string, int), long>();
        foreach (var protocol in new[] { "tcp", "udp" })
        foreach (var table in new[] { protocol, protocol + "6" })
        {
            IEnumerable<string> lines;
            try
            {
                lines = File.ReadLines(Path.Combine(procRoot, "net", table)).Skip(1).ToArray();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                continue;
            }
            foreach (var line in lines)
                if (ParseLine(line) is var (address, port, inode) && inode > 0)
                    sockets.TryAdd((protocol, address, port), inode);
        }
        return sockets;
    }

    /// <summary>"sl local_address rem_address st tx_queue:rx_queue tr:tm retrnsmt uid timeout inode ..."; the address
    /// is hex of the kernel's 32-bit words in host order, IPv4 one word and IPv6 four.</summary>
    public static (string Address, int Port, long Inode)? ParseLine(string line)
    {
        var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length < 10)
            return null;
        var local = fields[1].Split(':');
        if (
            local.Length != 2
            || local[0].Length is not (8 or 32)
            || !int.TryParse(local[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int port)
            || !long.TryParse(fields[9], NumberStyles.None, CultureInfo.InvariantCulture, out long inode)
        )
            return null;
        var bytes = new byte[local[0].Length / 2];
        for (int word = 0; word < bytes.Length / 4; word++)
        {
            if (
                !uint.TryParse(
                    local[0].AsSpan(word * 8, 8),
                    NumberStyles.HexNumber,
                    CultureInfo.InvariantCulture,
                    out uint value
                )
            )
                return null;
            // Host order on the machines this runs on (x86-64, arm64): little-endian.
            BitConverter.TryWriteBytes(bytes.AsSpan(word * 4, 4), value);
        }
        var ip = new IPAddress(bytes);
        return ((ip.IsIPv4MappedToIPv6 ? ip.MapToIPv4() : ip).ToString(), port, inode);
    }

    /// <summary>Fills in "name (pid)" for each wanted inode, from /proc/PID/fd and /proc/PID/comm.</summary>
    private static void FindProcesses(string procRoot, Dictionary<long, string?> wanted)
    {
        int left = wanted.Count;
        foreach (var dir in Directory.EnumerateDirectories(procRoot).Take(MaxProcesses * 2))
        {
            var pid = Path.GetFileName(dir);
            if (pid.Length == 0 || !pid.All(char.IsAsciiDigit))
                continue;
            try
            {
                foreach (var fd in Directory.EnumerateFileSystemEntries(Path.Combine(dir, "fd")))
                {
                    var target = new FileInfo(fd).LinkTarget;
                    if (
                        target is null
                        || !target.StartsWith("socket:[", StringComparison.Ordinal)
                        || !long.TryParse(
                            target.AsSpan(8, target.Length - 9),
                            CultureInfo.InvariantCulture,
                            out long inode
                        )
                        || !wanted.TryGetValue(inode, out var owner)
                        || owner is not null
                    )
                        continue;
                    var name = File.ReadAllText(Path.Combine(dir, "comm")).Trim();
                    wanted[inode] = $"{name} ({pid})";
                    if (--left == 0)
                        return;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }
}
