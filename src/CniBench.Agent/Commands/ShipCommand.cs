using System.CommandLine;
using CniBench.Agent.Background;
using CniBench.Contracts.Cli;
using CniBench.Contracts.Workloads;

namespace CniBench.Agent.Commands;

/// <summary>`cnibench-agent ship`: a node's background sender, as a log shipper is (see <see cref="LogShipper"/>),
/// until stopped.</summary>
public static class ShipCommand
{
    public static Command Create()
    {
        var to = new Option<string>("--to")
        {
            Description = "The endpoint, host:port or [v6]:port (a `cnibench-agent sink`)",
            Required = true,
        };
        var rate = new Option<string>("--rate")
        {
            Description = "Bytes a second, " + Units.SizeHelp + " (e.g. 2MiB)",
            DefaultValueFactory = _ => "1MiB",
        };
        var name = new Option<string>("--name")
        {
            Description = "The process name to show (1..15 characters)",
            DefaultValueFactory = _ => "log-shipper",
        };
        var parentPid = new Option<int?>(ParentWatch.Flag) { Description = "Exit when this process ends" };
        var command = new Command("ship", "Send a steady byte rate to an endpoint, as a node's log shipper does")
        {
            to,
            rate,
            name,
            parentPid,
        };
        command.SetAction(
            async (parse, cancellationToken) =>
            {
                var errors = new List<string>();
                if (!Endpoints.TryParse(parse.GetValue(to), out var endpoint))
                    errors.Add($"--to: '{parse.GetValue(to)}' is not an address; allowed: host:port or [ipv6]:port");
                if (!Units.TryParseSize(parse.GetValue(rate), out long bytes) || bytes is < 1 or > MaxRate)
                    errors.Add($"--rate: '{parse.GetValue(rate)}' is not valid; allowed: 1..1GiB a second");
                string processName = parse.GetValue(name) ?? "";
                if (processName.Length is < 1 or > 15)
                    errors.Add($"--name: '{processName}' is not valid; allowed: 1..15 characters");
                if (errors.Count > 0)
                {
                    foreach (var e in errors)
                        Console.Error.WriteLine($"cnibench-agent ship: {e}");
                    return ExitCodes.BadInput;
                }
                LogShipper.NameProcess(processName);
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                if (parse.GetValue(parentPid) is int pid)
                    _ = ParentWatch.WatchAsync(pid, stop);
                await new LogShipper(endpoint!, bytes).RunAsync(stop.Token);
                return ExitCodes.Ok;
            }
        );
        return command;
    }

    private const long MaxRate = 1L << 30;
}
