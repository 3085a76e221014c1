using System.Diagnostics.CodeAnalysis;
using System.Net;

namespace CniBench.Contracts.Workloads;

public static class Endpoints
{
    /// <summary>Parses 127.0.0.1:80, [::1]:80 or localhost:80 (names resolve to loopback only).</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out IPEndPoint? endpoint)
    {
        endpoint = null;
        if (string.IsNullOrWhiteSpace(text))
            return false;
        if (IPEndPoint.TryParse(text, out var ep) && ep.Port > 0 && text.Contains(':'))
        {
            endpoint = ep;
            return true;
        }
        int colon = text.LastIndexOf(':');
        if (colon <= 0 || !int.TryParse(text.AsSpan(colon + 1), out int port) || port is < 1 or > 65535)
            return false;
        if (string.Equals(text[..colon], "localhost", StringComparison.OrdinalIgnoreCase))
        {
            endpoint = new IPEndPoint(IPAddress.Loopback, port);
            return true;
        }
        return false;
    }

    public static string Format(IPEndPoint endpoint) =>
        endpoint.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
            ? $"[{endpoint.Address}]:{endpoint.Port}"
            : $"{endpoint.Address}:{endpoint.Port}";
}
