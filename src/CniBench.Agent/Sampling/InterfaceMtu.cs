using System.Globalization;

namespace CniBench.Agent.Sampling;

/// <summary>
/// The MTU of the interface this agent's traffic uses: the one holding the address a connection
/// arrived at (loopback's on loopback), else the one holding the IPv4 default route (/proc/net/route),
/// else the largest of the interfaces other than loopback. A pod behind an overlay shows the overlay's
/// smaller MTU here.
/// </summary>
public static class InterfaceMtu
{
    /// <summary>The MTU of the interface that holds <paramref name="localAddress"/>; null when no interface
    /// does.</summary>
    public static int? ForAddress(string? localAddress, string sysClassNet = "/sys/class/net")
    {
        if (localAddress is null || !System.Net.IPAddress.TryParse(localAddress, out var address))
            return null;
        try
        {
            var holder = System
                .Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
                .FirstOrDefault(n => n.GetIPProperties().UnicastAddresses.Any(u => u.Address.Equals(address)));
            // 127.0.0.2 and the rest of 127/8 are loopback's too, without being listed on it.
            holder ??= System.Net.IPAddress.IsLoopback(address)
                ? System
                    .Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
                    .FirstOrDefault(n =>
                        n.NetworkInterfaceType == System.Net.NetworkInformation.NetworkInterfaceType.Loopback
                    )
                : null;
            return holder is null ? null : Read(Path.Combine(sysClassNet, holder.Name, "mtu"));
        }
        catch (System.Net.NetworkInformation.NetworkInformationException)
        {
            return null;
        }
    }

    public static int? Primary(string procNetRoute = "/proc/net/route", string sysClassNet = "/sys/class/net")
    {
        try
        {
            var device = File.ReadLines(procNetRoute)
                .Skip(1)
                .Select(l => l.Split('\t', StringSplitOptions.RemoveEmptyEntries))
                .FirstOrDefault(f => f.Length > 2 && f[1] == "00000000")
                ?[0];
            if (device is not null && Read(Path.Combine(sysClassNet, device, "mtu")) is int mtu)
                return mtu;
            return Directory
                .EnumerateDirectories(sysClassNet)
                .Where(d => Path.GetFileName(d) != "lo")
                .Select(d => Read(Path.Combine(d, "mtu")))
                .Max();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private static int? Read(string path) =>
        File.Exists(path)
        && int.TryParse(File.ReadAllText(path).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out int mtu)
            ? mtu
            : null;
}
