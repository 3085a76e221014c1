using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using CniBench.Agent.Control;
using CniBench.Agent.Workloads;
using CniBench.Contracts.Cli;
using CniBench.Contracts.Measurement;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Agent.Commands;

/// <summary>`cnibench-agent run`: one workload against a server, the way netperf or iperf3 is used by hand.</summary>
public static class RunCommand
{
    public static Command Create()
    {
        var workload = new Option<string>("--workload", "-w")
        {
            Description = $"One of: {string.Join(", ", WorkloadNames.UserFacing)}",
            Required = true,
        };
        var to = new Option<string>("--to")
        {
            Description = "Server data address, host:port or [v6]:port (the TCP, UDP or HTTP port for the workload)",
            Required = true,
        };
        var duration = new Option<string>("--duration", "-d")
        {
            Description = "Measured window, " + Units.DurationHelp,
            DefaultValueFactory = _ => "5s",
        };
        var warmup = new Option<string>("--warmup")
        {
            Description = "Warm-up before the window (not counted)",
            DefaultValueFactory = _ => "0s",
        };
        var parallel = new Option<int>("--parallel", "-P")
        {
            Description = "Connections, sockets or virtual users",
            DefaultValueFactory = _ => 1,
        };
        var messageSize = new Option<string?>("--message-size")
        {
            Description = "Stream workloads: bytes per send (default 128KiB; udp 1400), " + Units.SizeHelp,
        };
        var direction = new Option<string>("--direction")
        {
            Description = "tcp-stream: send (client→server) or receive",
            DefaultValueFactory = _ => "send",
        };
        var requestSize = new Option<string?>("--request-size")
        {
            Description = "Request/response workloads: request bytes (default 1; udp 64)",
        };
        var responseSize = new Option<string?>("--response-size")
        {
            Description = "Request/response workloads: response bytes (default 1; udp 64; http body 64)",
        };
        var bitrate = new Option<string>("--bitrate")
        {
            Description = "udp-stream: " + Units.BitrateHelp,
            DefaultValueFactory = _ => "0",
        };
        var model = new Option<string>("--model")
        {
            Description = "http: closed (N users back to back) or open (fixed --rate)",
            DefaultValueFactory = _ => "closed",
        };
        var rate = new Option<double>("--rate") { Description = "http open model, probe: requests per second" };
        var newConnection = new Option<bool>("--new-connection")
        {
            Description = "http: a new connection per request instead of keep-alive",
        };
        var close = new Option<string>("--close")
        {
            Description =
                "tcp-crr, tls-crr: fin (an orderly close; the server holds each connection in TIME_WAIT for 60 s) or "
                + "reset (an RST after the answer, as neper's tcp_crr: no TIME_WAIT)",
            DefaultValueFactory = _ => "fin",
        };
        var timeout = new Option<string>("--timeout")
        {
            Description = "Per-operation timeout",
            DefaultValueFactory = _ => "2s",
        };
        var json = new Option<bool>("--json") { Description = "Print samples and result as JSON" };

        var command = new Command("run", "Drive one workload against an agent server and print the result")
        {
            workload,
            to,
            duration,
            warmup,
            parallel,
            messageSize,
            direction,
            requestSize,
            responseSize,
            bitrate,
            model,
            rate,
            newConnection,
            close,
            timeout,
            json,
        };
        command.SetAction(
            async (parse, cancellationToken) =>
            {
                var errors = new List<string>();
                if (!WorkloadNames.TryParse(parse.GetValue(workload), out var kind) || kind == WorkloadKind.Monitor)
                    errors.Add(
                        $"--workload: unknown workload '{parse.GetValue(workload)}'; allowed: "
                            + $"{string.Join(", ", WorkloadNames.UserFacing)}"
                    );
                TimeSpan Duration(Option<string> o) =>
                    ParseOr<TimeSpan>(errors, o, parse.GetValue(o), Units.TryParseDuration, Units.DurationHelp);
                // Sizes not given take the workload's own defaults (a datagram must fit a UDP packet).
                var defaults = WorkloadDefaults.For(kind);
                int Size(Option<string?> o, int fallback)
                {
                    if (parse.GetValue(o) is null)
                        return fallback;
                    long v = ParseOr<long>(errors, o, parse.GetValue(o), Units.TryParseSize, Units.SizeHelp);
                    return (int)Math.Clamp(v, int.MinValue, int.MaxValue);
                }
                var d = Duration(duration);
                var w = Duration(warmup);
                var spec = defaults with
                {
                    Target = parse.GetValue(to) ?? "",
                    Parallel = parse.GetValue(parallel),
                    MessageSize = Size(messageSize, defaults.MessageSize),
                    Direction = Enum<StreamDirection>(errors, direction, parse.GetValue(direction)),
                    RequestSize = Size(requestSize, defaults.RequestSize),
                    ResponseSize = Size(responseSize, defaults.ResponseSize),
                    Bitrate = ParseOr<long>(
                        errors,
                        bitrate,
                        parse.GetValue(bitrate),
                        Units.TryParseBitrate,
                        Units.BitrateHelp
                    ),
                    HttpModel = Enum<HttpModel>(errors, model, parse.GetValue(model)),
                    Rate = parse.GetResult(rate) is null ? defaults.Rate : parse.GetValue(rate),
                    KeepAlive = !parse.GetValue(newConnection),
                    Close = Enum<ConnectionClose>(errors, close, parse.GetValue(close)),
                    TimeoutMs = (int)Duration(timeout).TotalMilliseconds,
                };
                if (errors.Count == 0)
                    errors.AddRange(Limits.Check(spec).Select(e => "--" + FlagName(e)));
                bool Unparsed(Option o) => errors.Any(e => e.StartsWith(o.Name + ":", StringComparison.Ordinal));
                if (!Unparsed(duration) && (d < Limits.MinDuration || d > Limits.MaxDuration))
                    errors.Add($"--duration: '{parse.GetValue(duration)}' is not valid; allowed: a duration 100ms..1h");
                if (!Unparsed(warmup) && (w < TimeSpan.Zero || w > Limits.MaxWarmup))
                    errors.Add($"--warmup: '{parse.GetValue(warmup)}' is not valid; allowed: a duration 0s..10m");
                if (errors.Count > 0)
                {
                    foreach (var e in errors)
                        Console.Error.WriteLine($"cnibench-agent run: {e}");
                    return ExitCodes.BadInput;
                }

                var unreachable = await Preflight.CheckAsync(spec, cancellationToken);
                if (unreachable is not null)
                {
                    Console.Error.WriteLine($"cnibench-agent run: {unreachable}");
                    return ExitCodes.Failed;
                }
                var job = new JobSpec(spec, (int)w.TotalMilliseconds, (int)d.TotalMilliseconds);
                var samples = new List<Sample>();
                JobResult result;
                try
                {
                    result = await JobExecution.RunAsync(job, 0, () => { }, samples.Add, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    Console.Error.WriteLine("cnibench-agent run: interrupted");
                    return ExitCodes.Interrupted;
                }
                if (parse.GetValue(json))
                    Console.Out.WriteLine(
                        JsonSerializer.Serialize(new RunOutput(spec, samples, result), ContractsJson.Default.RunOutput)
                    );
                else
                    Console.Out.WriteLine(Summarize(spec, result));
                return result.Transactions > 0 || result.Bytes > 0 ? ExitCodes.Ok : ExitCodes.Failed;
            }
        );
        return command;
    }

    private delegate bool TryParse<T>(string? text, out T value);

    private static T ParseOr<T>(List<string> errors, Option option, string? text, TryParse<T> parser, string help)
    {
        if (parser(text, out var value))
            return value;
        errors.Add($"{option.Name}: '{text}' is not valid; allowed: {help}");
        return default!;
    }

    private static T Enum<T>(List<string> errors, Option option, string? text)
        where T : struct, System.Enum
    {
        var names = System.Enum.GetNames<T>().Select(n => n.ToLowerInvariant()).ToArray();
        if (System.Enum.TryParse<T>(text, ignoreCase: true, out var value) && names.Contains(text?.ToLowerInvariant()))
            return value;
        errors.Add($"{option.Name}: '{text}' is not valid; allowed: {string.Join(", ", names)}");
        return default;
    }

    /// <summary>Limits speaks in spec field names (requestSize); flags are kebab-case (--request-size).</summary>
    private static string FlagName(string error) =>
        string.Concat(
            error.TakeWhile(c => c != ':').Select(c => char.IsUpper(c) ? "-" + char.ToLowerInvariant(c) : c.ToString())
        ) + error[error.IndexOf(':')..];

    public static string Summarize(WorkloadSpec spec, JobResult result)
    {
        var inv = CultureInfo.InvariantCulture;
        var latency = LatencyHistogram.FromSnapshot(result.Latency);
        double seconds = Math.Max(result.MeasuredSeconds, 1e-9);
        var parts = new List<string>
        {
            $"{spec.Kind.ToName()} to {spec.Target}, {spec.Parallel} parallel, "
                + $"{result.MeasuredSeconds.ToString("0.0", inv)}s:",
        };
        if (result.Transactions == 0 && result.Bytes == 0)
            return string.Join(" ", parts)
                + " nothing got through: "
                + (
                    result.FirstError
                    ?? (
                        result.Errors.Count > 0
                            ? "errors "
                                + string.Join(", ", result.Errors.Select(e => $"{e.Key} {e.Value.ToString("N0", inv)}"))
                                + $" (first: {result.FirstError})"
                            : "no answer and no error"
                    )
                );
        if (spec.Kind.IsStream())
            parts.Add($"{(result.Bytes * 8 / seconds / 1e9).ToString("N3", inv)} Gbit/s");
        if (result.Transactions > 0 && !spec.Kind.IsStream())
            parts.Add($"{(result.Transactions / seconds).ToString("N0", inv)} tx/s");
        if (latency.Count > 0)
            parts.Add(
                $"latency p50 {(latency.ValueAtQuantile(0.5) / 1000).ToString("0.0", inv)} µs, p99 "
                    + $"{(latency.ValueAtQuantile(0.99) / 1000).ToString("0.0", inv)} µs"
            );
        if (result.Udp is { } udp)
            parts.Add(
                udp.ReceiverAnswered
                    ? $"loss "
                        + $"{(udp.Sent == 0 ? 0 : 100.0 * (udp.Sent - udp.Received) / udp.Sent).ToString("0.00", inv)}%"
                    : "loss unknown (server did not answer)"
            );
        if (result.OpenModel is { } open)
            parts.Add(string.Create(inv, $"dropped {open.Dropped:N0}, late {open.Late:N0}"));
        long errors = result.Errors.Values.Sum();
        parts.Add(
            errors == 0
                ? "no errors"
                : $"errors "
                    + $"{string.Join(", ", result.Errors.Select(e => string.Create(inv, $"{e.Key} {e.Value:N0}")))} "
                    + $"(first: {result.FirstError})"
        );
        return string.Join(" ", parts);
    }
}
