using System.CommandLine;
using CniBench.Agent.Commands;

// Run socket continuations on the epoll threads instead of hopping to the thread pool: every
// handler on the agent's async paths is non-blocking, and the hop costs about a third of the
// HTTP request rate on two cores (bench/run.py). Read once, when the first socket is created.
if (Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") is null)
    Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");

var root = new RootCommand(
    "cnibench-agent: the CniBench traffic agent. 'serve' answers every workload; 'run' drives one against a "
        + "server; 'ship' and 'sink' play a node's log shipper and its endpoint."
)
{
    ServeCommand.Create(),
    RunCommand.Create(),
    ShipCommand.Create(),
    SinkCommand.Create(),
};

// A command line that does not parse is bad input (exit 2), as it is for cnibench.
var parsed = root.Parse(args);
int code = await parsed.InvokeAsync();
return parsed.Errors.Count > 0 ? CniBench.Contracts.Cli.ExitCodes.BadInput : code;
