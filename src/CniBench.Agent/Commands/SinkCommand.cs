using System.CommandLine;
using CniBench.Agent.Background;
using CniBench.Contracts.Cli;
using CniBench.Contracts.Workloads;

namespace CniBench.Agent.Commands;

/// <summary>`cnibench-agent sink`: accepts TCP connections and drops what they send (see <see cref="DiscardSink"/>),
/// until stopped.</summary>
public static class SinkCommand
{
    public static Command Create()
    {
        var listen = new Option<string>("--listen")
        {
            Description = "Where to listen, host:port or [v6]:port",
            Required = true,
        };
        var parentPid = new Option<int?>(ParentWatch.Flag) { Description = "Exit when this process ends" };
        var command = new Command("sink", "Accept TCP connections and drop what they send (a log shipper's endpoint)")
        {
            listen,
            parentPid,
        };
        command.SetAction(
            async (parse, cancellationToken) =>
            {
                if (!Endpoints.TryParse(parse.GetValue(listen), out var endpoint))
                {
                    Console.Error.WriteLine(
                        $"cnibench-agent sink: --listen: '{parse.GetValue(listen)}' is not an address; allowed: "
                            + "host:port or [ipv6]:port"
                    );
                    return ExitCodes.BadInput;
                }
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                if (parse.GetValue(parentPid) is int pid)
                    _ = ParentWatch.WatchAsync(pid, stop);
                try
                {
                    await new DiscardSink(endpoint).RunAsync(
                        e => Console.Out.WriteLine($"listening on {Endpoints.Format(e)}"),
                        stop.Token
                    );
                }
                catch (System.Net.Sockets.SocketException e)
                {
                    Console.Error.WriteLine(
                        $"cnibench-agent sink: cannot listen on {parse.GetValue(listen)}: {e.Message}"
                    );
                    return ExitCodes.Failed;
                }
                return ExitCodes.Ok;
            }
        );
        return command;
    }
}
