using System.CommandLine;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json;
using CniBench.Agent.Logging;
using CniBench.Agent.Servers;
using CniBench.Contracts.Cli;
using CniBench.Contracts.Protocol;

namespace CniBench.Agent.Commands;

public static class ServeCommand
{
    public const int DefaultControlPort = DefaultPorts.Control,
        DefaultTcpPort = DefaultPorts.Tcp,
        DefaultUdpPort = DefaultPorts.Udp,
        DefaultHttpPort = DefaultPorts.Http;

    public const int MinTokenBytes = 16;

    public static Command Create()
    {
        var bind = new Option<string>("--bind")
        {
            Description = "Address to listen on (0.0.0.0 or :: for every interface of one family, any for both)",
            DefaultValueFactory = _ => "127.0.0.1",
        };
        var control = new Option<int>("--control-port")
        {
            Description = "Control API port (0 = any free port)",
            DefaultValueFactory = _ => DefaultControlPort,
        };
        var tcp = new Option<int>("--tcp-port")
        {
            Description = "TCP data port for every TCP workload",
            DefaultValueFactory = _ => DefaultTcpPort,
        };
        var udp = new Option<int>("--udp-port")
        {
            Description = "UDP data port",
            DefaultValueFactory = _ => DefaultUdpPort,
        };
        var http = new Option<int>("--http-port")
        {
            Description = "HTTP port (GET /echo, /healthz)",
            DefaultValueFactory = _ => DefaultHttpPort,
        };
        var token = new Option<string?>("--token")
        {
            Description =
                "Token the controller must send, 16 bytes or more; visible to every local user in the process list: "
                + "prefer --token-file or $CNIBENCH_TOKEN",
        };
        var tokenFile = new Option<string?>("--token-file")
        {
            Description = "Read the token from this file (its first line)",
        };
        var controlSocket = new Option<string?>("--control-socket")
        {
            Description =
                "Serve the control API on this Unix socket instead of --control-port (for controllers in another "
                + "network namespace)",
        };
        var tlsCert = new Option<string?>("--tls-cert")
        {
            Description =
                "Serve the control API over TLS with this PEM certificate (with --tls-key); its SHA-256 is printed "
                + "for the controller to pin",
        };
        var tlsKey = new Option<string?>("--tls-key") { Description = "The PEM private key of --tls-cert" };
        var parentPid = new Option<int?>(ParentWatch.Flag)
        {
            Description = "Exit when this process ends (used by the local target so no agent outlives its controller)",
        };

        var command = new Command("serve", "Serve every workload and the control API until stopped")
        {
            bind,
            control,
            tcp,
            udp,
            http,
            token,
            tokenFile,
            controlSocket,
            tlsCert,
            tlsKey,
            parentPid,
        };
        command.SetAction(
            async (parse, cancellationToken) =>
            {
                var log = new AgentLog(Console.Error);
                bool dualStack = parse.GetValue(bind) == "any";
                IPAddress? address = dualStack ? IPAddress.IPv6Any : null;
                if (!dualStack && !IPAddress.TryParse(parse.GetValue(bind), out address))
                {
                    Console.Error.WriteLine(
                        $"cnibench-agent: --bind: '{parse.GetValue(bind)}' is not an IP address; allowed: e.g. "
                            + $"127.0.0.1, ::1, 0.0.0.0, ::, any (IPv4 and IPv6)"
                    );
                    return ExitCodes.BadInput;
                }
                foreach (
                    var (option, value) in new[]
                    {
                        (control, parse.GetValue(control)),
                        (tcp, parse.GetValue(tcp)),
                        (udp, parse.GetValue(udp)),
                        (http, parse.GetValue(http)),
                    }
                )
                {
                    if (value is < 0 or > 65535)
                    {
                        Console.Error.WriteLine(
                            $"cnibench-agent: {option.Name}: {value} is not a port; allowed: 0..65535"
                        );
                        return ExitCodes.BadInput;
                    }
                }
                string? secret = parse.GetValue(token);
                if (secret is not null)
                    log.Info(
                        "the token given with --token is visible in the process list to every local user; prefer "
                            + "--token-file or $CNIBENCH_TOKEN"
                    );
                if (parse.GetValue(tokenFile) is { } path)
                {
                    try
                    {
                        secret = File.ReadLines(path).FirstOrDefault()?.Trim();
                    }
                    catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                    {
                        Console.Error.WriteLine($"cnibench-agent: --token-file: cannot read {path}: {e.Message}");
                        return ExitCodes.BadInput;
                    }
                }
                secret ??= Environment.GetEnvironmentVariable(ControlProtocol.TokenVariable);
                if (string.IsNullOrEmpty(secret))
                {
                    secret = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();
                    log.Info($"no token given; generated token {secret}");
                }
                if (!ControlProtocol.IsValidToken(secret))
                {
                    Console.Error.WriteLine(
                        $"cnibench-agent: the token has characters other than printable ASCII; allowed: "
                            + ControlProtocol.TokenAllowed
                    );
                    return ExitCodes.BadInput;
                }
                if (System.Text.Encoding.UTF8.GetByteCount(secret) < MinTokenBytes)
                {
                    Console.Error.WriteLine(
                        $"cnibench-agent: the token is {System.Text.Encoding.UTF8.GetByteCount(secret)} bytes; "
                            + $"allowed: {MinTokenBytes} or more (e.g. `openssl rand -hex 16`), so that it cannot be "
                            + $"guessed"
                    );
                    return ExitCodes.BadInput;
                }
                X509Certificate2? certificate = null;
                if (parse.GetValue(tlsCert) is not null || parse.GetValue(tlsKey) is not null)
                {
                    if (parse.GetValue(tlsCert) is not { } certPath || parse.GetValue(tlsKey) is not { } keyPath)
                    {
                        Console.Error.WriteLine(
                            "cnibench-agent: --tls-cert and --tls-key: give both (PEM files) or neither"
                        );
                        return ExitCodes.BadInput;
                    }
                    try
                    {
                        certificate = X509Certificate2.CreateFromPemFile(certPath, keyPath);
                    }
                    catch (Exception e)
                        when (e
                                is IOException
                                    or UnauthorizedAccessException
                                    or CryptographicException
                                    or ArgumentException
                        )
                    {
                        Console.Error.WriteLine(
                            $"cnibench-agent: --tls-cert {certPath} / --tls-key {keyPath}: not a usable PEM "
                                + $"certificate and key: {e.Message}"
                        );
                        return ExitCodes.BadInput;
                    }
                }
                var identity = new AgentIdentity(
                    Environment.MachineName,
                    Environment.GetEnvironmentVariable("POD_NAME"),
                    Environment.GetEnvironmentVariable("NODE_NAME")
                );
                var options = new ServeOptions(
                    address!,
                    parse.GetValue(control),
                    parse.GetValue(tcp),
                    parse.GetValue(udp),
                    parse.GetValue(http),
                    secret,
                    identity,
                    parse.GetValue(controlSocket),
                    dualStack,
                    certificate
                );

                AgentServer server;
                try
                {
                    server = AgentServer.Bind(options, log);
                }
                catch (AgentStartupException e)
                {
                    Console.Error.WriteLine($"cnibench-agent: {e.Message}");
                    return ExitCodes.BadInput;
                }
                await using (server)
                {
                    using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    if (parse.GetValue(parentPid) is int pid)
                        _ = ParentWatch.WatchAsync(pid, stop, log.Info);
                    // The one line on stdout: what a controller reads to learn the ports.
                    Console.Out.WriteLine(JsonSerializer.Serialize(server.Info, ContractsJson.Default.AgentInfo));
                    Console.Out.Flush();
                    var p = server.Info.Ports;
                    var inv = System.Globalization.CultureInfo.InvariantCulture;
                    string control = server.Info.ControlSocket ?? p.Control.ToString(inv);
                    log.Info($"serving on {address}: control {control}, tcp {p.Tcp}, udp {p.Udp}, http {p.Http}");
                    if (server.Info.ControlTlsSha256 is { } pin)
                        log.Info($"control API over TLS; certificate SHA-256 {pin}");
                    await server.RunAsync(stop.Token);
                }
                log.Info("stopped");
                return ExitCodes.Ok;
            }
        );
        return command;
    }
}
