using System.Globalization;

namespace CniBench.Agent.Sampling;

/// <summary>
/// The MTU of the interface this agent's traffic leaves by: the one holding the IPv4 default route
/// (/proc/net/route), else the largest of the interfaces other than loopback. A pod behind an overlay
/// shows the overlay's smaller MTU here.
/// </summary>
public static class InterfaceMtu
{
    public static int? Primary(string procNetRoute = "/proc/net/route", string sysClassNet = "/sys/class/net")
    {
        try
        {
            var device = File.ReadLines(procNetRoute).Skip(1)
                .Select(l => l.Split('\t', StringSplitOptions.RemoveEmptyEntries))
                .FirstOrDefault(f => f.Length > 2 && f[1] == "00000000")?[0];
            if (device is not null && Read(Path.Combine(sysClassNet, device, "mtu")) is int mtu) return mtu;
            return Directory.EnumerateDirectories(sysClassNet).Where(d => Path.GetFileName(d) != "lo")
                .Select(d => Read(Path.Combine(d, "mtu"))).Max();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static int? Read(string path) =>
        File.Exists(path) && int.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int mtu) ? mtu : null;
}
