using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using CniBench.Agent.Connections;
using CniBench.Agent.Control;
using CniBench.Agent.Http;
using CniBench.Agent.Logging;
using CniBench.Agent.Metrics;
using CniBench.Agent.Peers;
using CniBench.Contracts.Protocol;

namespace CniBench.Agent.Servers;

/// <param name="ControlSocket">When set, the control API listens on this Unix socket instead of a TCP port:
/// a controller in another network namespace (the lab) reaches it through the file system.</param>
/// <param name="DualStack">Listen on every IPv4 and IPv6 address with one socket per port (`--bind any`); IPv4 only
/// where the host has no IPv6.</param>
/// <param name="ControlCertificate">When set, the control port speaks TLS with this certificate (and its key).</param>
public sealed record ServeOptions(
    IPAddress Bind,
    int ControlPort,
    int TcpPort,
    int UdpPort,
    int HttpPort,
    string Token,
    AgentIdentity Identity,
    string? ControlSocket = null,
    bool DualStack = false,
    X509Certificate2? ControlCertificate = null,
    PeerLimits? Peers = null
);

/// <summary>A user mistake or an unusable environment at start-up: reported as one line, no stack trace.</summary>
public sealed class AgentStartupException(string message) : Exception(message);

/// <summary>
/// The agent's server side: one TCP port for every TCP workload, one UDP port, one HTTP port, and the
/// control API on its own port. All sockets are bound before anything is served, so a port conflict is
/// reported at once and nothing half-starts.
/// </summary>
public sealed class AgentServer : IAsyncDisposable
{
    private readonly Socket _control,
        _tcp,
        _udp,
        _http;
    private readonly JobManager _jobs;
    private readonly WorkloadTotals _workloadTotals = new();
    private readonly AgentLog _log;
    private readonly ServeOptions _options;

    private AgentServer(ServeOptions options, AgentLog log, Socket control, Socket tcp, Socket udp, Socket http)
    {
        _options = options;
        _log = log;
        (_control, _tcp, _udp, _http) = (control, tcp, udp, http);
        _jobs = new JobManager(log, _workloadTotals);
        Info = new AgentInfo(
            ControlProtocol.Version,
            AgentVersion.Current,
            options.Identity,
            Environment.ProcessId,
            options.DualStack ? "any" : options.Bind.ToString(),
            new AgentPorts(Port(control), Port(tcp), Port(udp), Port(http)),
            Environment.ProcessorCount,
            options.ControlSocket,
            Sampling.InterfaceMtu.Primary(),
            options
                .ControlCertificate?.GetCertHashString(System.Security.Cryptography.HashAlgorithmName.SHA256)
                .ToLowerInvariant()
        );
    }

    public AgentInfo Info { get; }

    public static AgentServer Bind(ServeOptions options, AgentLog log)
    {
        var bound = new List<Socket>();
        bool dual = options.DualStack && HasIpv6();
        var address = options.DualStack ? (dual ? IPAddress.IPv6Any : IPAddress.Any) : options.Bind;
        try
        {
            Socket Listen(int port, string flag, bool perCpu = false)
            {
                var s = Open(address, dual, port, SocketType.Stream, ProtocolType.Tcp, flag, "tcp");
                bound.Add(s);
                if (perCpu)
                    PerCpuListeners.AllowSiblings(s);
                s.Listen(4096);
                return s;
            }
            Socket control;
            if (options.ControlSocket is { } path)
                bound.Add(control = ListenUnix(path));
            else
                control = Listen(options.ControlPort, "--control-port");
            var tcp = Listen(options.TcpPort, "--tcp-port", perCpu: true);
            var udp = Open(address, dual, options.UdpPort, SocketType.Dgram, ProtocolType.Udp, "--udp-port", "udp");
            bound.Add(udp);
            var http = Listen(options.HttpPort, "--http-port");
            return new AgentServer(options, log, control, tcp, udp, http);
        }
        catch
        {
            foreach (var s in bound)
                s.Dispose();
            throw;
        }
    }

    /// <summary>Whether an IPv6 socket can be bound here (pods of IPv4-only clusters may have IPv6 switched
    /// off).</summary>
    private static bool HasIpv6()
    {
        try
        {
            using var probe = new Socket(AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(new IPEndPoint(IPAddress.IPv6Any, 0));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static Socket Open(
        IPAddress bind,
        bool dualStack,
        int port,
        SocketType type,
        ProtocolType protocol,
        string flag,
        string proto
    )
    {
        var socket = new Socket(bind.AddressFamily, type, protocol);
        try
        {
            if (bind.AddressFamily == AddressFamily.InterNetworkV6)
                socket.DualMode = dualStack;
            socket.Bind(new IPEndPoint(bind, port));
            return socket;
        }
        catch (SocketException e)
        {
            socket.Dispose();
            string why = e.SocketErrorCode switch
            {
                SocketError.AddressAlreadyInUse => "address already in use",
                SocketError.AddressNotAvailable => "no such local address",
                SocketError.AccessDenied => "permission denied (ports below 1024 need privileges)",
                _ => e.SocketErrorCode.ToString(),
            };
            throw new AgentStartupException(
                $"cannot listen on {Contracts.Workloads.Endpoints.Format(new IPEndPoint(bind, port))}/{proto} "
                    + $"({flag}): {why}"
            );
        }
    }

    private static int Port(Socket s) => (s.LocalEndPoint as IPEndPoint)?.Port ?? 0;

    private static Socket ListenUnix(string path)
    {
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            File.Delete(path); // a stale socket file of a killed agent would make bind fail
            socket.Bind(new UnixDomainSocketEndPoint(path));
            socket.Listen(64);
            return socket;
        }
        catch (Exception e) when (e is SocketException or IOException or UnauthorizedAccessException)
        {
            socket.Dispose();
            throw new AgentStartupException($"cannot listen on unix socket {path} (--control-socket): {e.Message}");
        }
    }

    public Task RunAsync(CancellationToken cancellationToken)
    {
        var control = new ControlHandler(_jobs, () => Info, _options.Token);
        // A controller needs a handful of control connections; more are someone else's.
        var budget = DescriptorBudget.ForThisProcess();
        _log.Info($"connections at most: control {budget.Control}, tcp and http {budget.DataPort} each");
        var peers = _options.Peers ?? new PeerLimits();
        var tcp = new TcpDataServer(_tcp, _log, budget.DataPort, peers);
        HttpServer? http = null;
        var metrics = new AgentMetrics(_workloadTotals, () =>
            [
                new ServedPort("tcp", () => tcp.OpenConnections, () => tcp.AcceptedConnections),
                new ServedPort(
                    "http",
                    () => http!.OpenConnections,
                    () => http!.AcceptedConnections,
                    () => http!.Requests
                ),
            ]
        );
        var echo = new EchoHandler(_options.Identity, metrics.Render);
        http = new HttpServer(
            _http,
            echo.HandleAsync,
            new HttpLimits(WriteStall: peers.WriteStall),
            _log,
            "http",
            budget.DataPort
        );
        return Task.WhenAll(
            new HttpServer(
                _control,
                control.HandleAsync,
                new HttpLimits(
                    MaxBodyBytes: 1024 * 1024,
                    WriteStall: peers.WriteStall,
                    AuthenticateTimeout: peers.Authenticate
                ),
                _log,
                "control",
                budget.Control,
                control.Admit,
                _options.ControlCertificate,
                control.Authenticates
            ).RunAsync(cancellationToken),
            tcp.RunAsync(cancellationToken),
            new UdpDataServer(_udp, _log).RunAsync(cancellationToken),
            http.RunAsync(cancellationToken)
        );
    }

    public async ValueTask DisposeAsync()
    {
        await _jobs.DisposeAsync();
        _control.Dispose();
        if (_options.ControlSocket is { } path)
            File.Delete(path);
        _tcp.Dispose();
        _udp.Dispose();
        _http.Dispose();
    }
}

public static class AgentVersion
{
    public static string Current { get; } = typeof(AgentVersion).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";
}
