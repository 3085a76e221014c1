using System.Security.Cryptography;
using System.Text;

namespace CniBench.Cli.Targets.Lab.Network;

public sealed record ServiceEndpoint(string Address, int Port);

/// <summary>One service port as kube-proxy sees it: cluster IP, protocol, port, optional NodePort, endpoints.</summary>
public sealed record LabService(
    string Name,
    string ClusterIp,
    string Protocol,
    int Port,
    int? NodePort,
    IReadOnlyList<ServiceEndpoint> Endpoints
)
{
    public LabFamily Family => LabFamily.Of(ClusterIp);

    /// <summary>kube-proxy's chain suffix: the first 16 characters of base32(sha256(name/protocol)).</summary>
    public string Hash => ChainHash($"{Name}/{Protocol}");

    [System.Runtime.CompilerServices.MethodImpl(
        System.Runtime.CompilerServices.MethodImplOptions.AggressiveOptimization
    )]
    public static string ChainHash(string text)
    {
        var digest = SHA256.HashData(Encoding.UTF8.GetBytes(text));
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
        var sb = new StringBuilder(16);
        int buffer = 0,
            bits = 0;
        foreach (var b in digest)
        {
            buffer = (buffer << 8) | b;
            bits += 8;
            while (bits >= 5 && sb.Length < 16)
            {
                sb.Append(alphabet[(buffer >> (bits - 5)) & 31]);
                bits -= 5;
            }
            if (sb.Length == 16)
                break;
        }
        return sb.ToString();
    }
}

/// <summary>The services of a lab: the real one in front of the server agents, and N dummies that only grow the
/// tables.</summary>
public static class LabServices
{
    /// <summary>The IPv4 cluster IP of the real service (IPv6: <see cref="LabFamily.ClusterIp"/>).</summary>
    public const string ClusterIp = "10.96.0.10";
    public const int TcpNodePort = 30201,
        UdpNodePort = 30202,
        HttpNodePort = 30280;

    /// <summary>The real service's ports, one per agent data port, each with a NodePort; or, given a
    /// <paramref name="name"/> and <paramref name="clusterIp"/>, another service of agents without NodePorts.</summary>
    public static IReadOnlyList<LabService> Real(
        IReadOnlyList<string> endpointAddresses,
        int tcpPort,
        int udpPort,
        int httpPort,
        string name = "agent",
        string? clusterIp = null
    )
    {
        string ip = clusterIp ?? LabFamily.Of(endpointAddresses[0]).ClusterIp;
        bool nodePorts = clusterIp is null;
        return
        [
            new(
                $"cnibench/{name}:tcp",
                ip,
                "tcp",
                tcpPort,
                nodePorts ? TcpNodePort : null,
                endpointAddresses.Select(a => new ServiceEndpoint(a, tcpPort)).ToArray()
            ),
            new(
                $"cnibench/{name}:udp",
                ip,
                "udp",
                udpPort,
                nodePorts ? UdpNodePort : null,
                endpointAddresses.Select(a => new ServiceEndpoint(a, udpPort)).ToArray()
            ),
            new(
                $"cnibench/{name}:http",
                ip,
                "tcp",
                httpPort,
                nodePorts ? HttpNodePort : null,
                endpointAddresses.Select(a => new ServiceEndpoint(a, httpPort)).ToArray()
            ),
        ];
    }

    /// <summary>Dummy services (10.97.x.y:80, fd00:97::k) with two endpoints that do not exist: they only make the
    /// tables long.</summary>
    public static IEnumerable<LabService> Dummies(int count, LabFamily? family = null)
    {
        var f = family ?? LabFamily.V4;
        return Enumerable
            .Range(0, count)
            .Select(i => new LabService(
                $"dummy/svc-{i}:http",
                f.Dummy(i),
                "tcp",
                80,
                null,
                [new ServiceEndpoint(f.DummyEndpoint(i, 0), 8080), new ServiceEndpoint(f.DummyEndpoint(i, 1), 8080)]
            ));
    }
}
