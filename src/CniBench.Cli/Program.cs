using System.CommandLine;
using CniBench.Cli.Commands;
using CniBench.Cli.Reporting;
using Spectre.Console;

AnsiConsole.Console = Terminal.ForStandardOutput();

var root = new RootCommand("cnibench: measure, store, compare and report Kubernetes networking performance")
{
    RunCommand.Create(),
    RunsCommand.Create(),
    ReportCommand.Create(),
    CompareCommand.Create(),
    LabCommand.Create(),
    KubeCommand.Create(),
    DoctorCommand.Create(),
    SuitesCommand.Create(),
    ValidateCommand.Create(),
};

foreach (var warning in SecretArguments.Warnings(args))
    Console.Error.WriteLine($"cnibench: warning: {warning}");

// A Ctrl-C or SIGTERM cancels the running command, which then stores what it has and stops its agents.
var invocation = new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(30) };
return await root.Parse(args).InvokeAsync(invocation);
