using System.CommandLine;
using CniBench.Cli.Commands;
using CniBench.Cli.Reporting;
using Spectre.Console;

AnsiConsole.Console = Terminal.ForStandardOutput();

foreach (var warning in SecretArguments.Warnings(args))
    Console.Error.WriteLine($"cnibench: warning: {warning}");

// A Ctrl-C or SIGTERM cancels the running command, which then stores what it has and stops its agents.
var invocation = new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(30) };
return await CliRoot.InvokeAsync(CliRoot.Create(), args, invocation);
