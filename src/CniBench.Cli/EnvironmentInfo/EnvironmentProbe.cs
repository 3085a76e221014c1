using System.Diagnostics;
using System.Runtime.InteropServices;

namespace CniBench.Cli.EnvironmentInfo;

/// <summary>What a result must be read against: kernel, CPU, MTU, offloads, tool versions.</summary>
public static class EnvironmentProbe
{
    public static async Task<Dictionary<string, string>> DescribeAsync(CancellationToken cancellationToken)
    {
        var env = new Dictionary<string, string>
        {
            ["hostname"] = Environment.MachineName,
            ["kernel"] = Read("/proc/sys/kernel/osrelease") ?? RuntimeInformation.OSDescription,
            ["os"] = OsName(),
            ["cpu.model"] = CpuModel(),
            ["cpu.count"] = Environment.ProcessorCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["memory.total"] = MemoryTotal(),
            ["tcp.congestion_control"] = Read("/proc/sys/net/ipv4/tcp_congestion_control") ?? "unknown",
            ["mtu.lo"] = Read("/sys/class/net/lo/mtu") ?? "unknown",
            ["cnibench.version"] = typeof(EnvironmentProbe).Assembly.GetName().Version?.ToString(3) ?? "unknown",
            ["dotnet.version"] = RuntimeInformation.FrameworkDescription,
        };
        env["offloads.lo"] = await OffloadsAsync("lo", cancellationToken);
        // Read only: nf_conntrack_max can be changed only from the root namespace, and never by us.
        if (Read("/proc/sys/net/netfilter/nf_conntrack_count") is { } count)
            env["conntrack.count"] = count;
        if (Read("/proc/sys/net/netfilter/nf_conntrack_max") is { } max)
            env["conntrack.max"] = max;
        return env;
    }

    private static string? Read(string path)
    {
        try
        {
            return File.Exists(path) ? File.ReadAllText(path).Trim() : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static string OsName() =>
        File.Exists("/etc/os-release")
            ? File.ReadLines("/etc/os-release")
                .FirstOrDefault(l => l.StartsWith("PRETTY_NAME=", StringComparison.Ordinal))
                ?["PRETTY_NAME=".Length..].Trim('"')
                ?? "unknown"
            : RuntimeInformation.OSDescription;

    private static string CpuModel() =>
        File.Exists("/proc/cpuinfo")
            ? File.ReadLines("/proc/cpuinfo")
                .FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))
                ?.Split(':', 2)[1]
                .Trim()
                ?? "unknown"
            : "unknown";

    private static string MemoryTotal() =>
        File.Exists("/proc/meminfo")
            ? File.ReadLines("/proc/meminfo")
                .FirstOrDefault(l => l.StartsWith("MemTotal:", StringComparison.Ordinal))
                ?["MemTotal:".Length..].Trim()
                ?? "unknown"
            : "unknown";

    /// <summary>The offloads that change throughput figures (ethtool -k), or why they are unknown.</summary>
    private static async Task<string> OffloadsAsync(string device, CancellationToken cancellationToken)
    {
        string[] wanted =
        [
            "tcp-segmentation-offload",
            "generic-segmentation-offload",
            "generic-receive-offload",
            "large-receive-offload",
        ];
        try
        {
            using var process = Process.Start(
                new ProcessStartInfo("ethtool", ["-k", device])
                {
                    RedirectStandardOutput = true,
                    RedirectStandardError = true,
                }
            );
            if (process is null)
                return "unknown";
            var output = await process.StandardOutput.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            var found = output
                .Split('\n')
                .Select(l => l.Split(':', 2))
                .Where(p => p.Length == 2 && wanted.Contains(p[0].Trim()))
                .Select(p => $"{p[0].Trim()}={p[1].Trim().Split(' ')[0]}");
            return string.Join(",", found) is { Length: > 0 } s ? s : "unknown";
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "unknown (ethtool not installed)";
        }
    }
}
