namespace CniBench.Tests.Support;

/// <summary>
/// What a test needs of this machine. When it is missing the test is reported as skipped, with the
/// reason, instead of returning early and counting as passed.
/// </summary>
public static class Requires
{
    public const string Chromium = "/usr/bin/chromium";

    public static void Root(string why = "the lab needs root to create network namespaces")
    {
        if (!Environment.IsPrivilegedProcess)
            Assert.Skip($"not root: {why}");
    }

    /// <summary>Root plus the Debian tools the lab runs (.ci/run installs them).</summary>
    public static void Lab()
    {
        Root();
        var missing = new[] { "ip", "iptables-restore", "ip6tables-restore", "nft" }
            .Where(tool => !OnPath(tool))
            .ToArray();
        if (missing.Length > 0)
            Assert.Skip(
                $"the lab needs {string.Join(", ", missing)} (apt-get install iproute2 iptables nftables; .ci/run does)"
            );
    }

    public static void Browser()
    {
        if (!File.Exists(Chromium))
            Assert.Skip($"{Chromium} is not installed (apt-get install chromium; .ci/run does)");
    }

    /// <summary>
    /// A signal sent to a child started from here reaches its handler: not so when this process ignores it
    /// (SigIgn in /proc/self/status; a background job of a non-interactive shell ignores SIGINT), as children inherit
    /// that.
    /// </summary>
    public static void SignalReachesChildren(int signal)
    {
        var line = File.ReadLines("/proc/self/status")
            .FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        if (line is not null && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & (1UL << (signal - 1))) != 0)
            Assert.Skip(
                $"signal {signal} is ignored by this test process (started as a background job), so a child would "
                    + $"inherit that"
            );
    }

    /// <summary>Debian's Prometheus server and its promtool.</summary>
    public static void Prometheus()
    {
        if (!OnPath("prometheus") || !OnPath("promtool"))
            Assert.Skip("prometheus and promtool are not installed (apt-get install prometheus; .ci/run does)");
    }

    public static bool OnPath(string tool) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(':')
            .Append("/usr/sbin")
            .Append("/sbin")
            .Any(dir => dir.Length > 0 && File.Exists(Path.Combine(dir, tool)));
}
