using System.CommandLine;
using CniBench.Contracts.Cli;

namespace CniBench.Cli.Commands;

/// <summary>Every verb of cnibench, and how a command line becomes an exit code.</summary>
public static class CliRoot
{
    public static RootCommand Create() =>
        new("cnibench: measure, store, compare and report Kubernetes networking performance")
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

    /// <summary>Runs the verb; a command line that does not parse (a misspelt verb or flag, a missing value) prints
    /// what is wrong with the help and exits <see cref="ExitCodes.BadInput"/>, as every other bad input
    /// does.</summary>
    public static async Task<int> InvokeAsync(
        RootCommand root,
        string[] args,
        InvocationConfiguration? invocation = null
    )
    {
        var parsed = root.Parse(args);
        int code = await parsed.InvokeAsync(invocation);
        return parsed.Errors.Count > 0 ? ExitCodes.BadInput : code;
    }
}
