using System.CommandLine;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Storage;
using CniBench.Contracts.Cli;

namespace CniBench.Cli.Commands;

public static class CommonOptions
{
    public const string DefaultDatabase = "cnibench.db";
    public const string DefaultReportDirectory = "cnibench-report";

    public const string DatabaseVariable = "CNIBENCH_DB";

    public static Option<string> Database() =>
        new("--db")
        {
            // One default in the help: the value below, which ${DatabaseVariable} sets when present.
            Description =
                $"Results database: a SQLite file, or PostgreSQL as postgres://user:password@host:5432/db or "
                + $"Host=...;Username=... (${DatabaseVariable} sets the default)",
            DefaultValueFactory = _ =>
                Environment.GetEnvironmentVariable(DatabaseVariable) is { Length: > 0 } fromEnvironment
                    ? fromEnvironment
                    : DefaultDatabase,
        };

    public static Option<bool> IncludeIncomplete() =>
        new("--include-incomplete")
        {
            Description =
                "With a configuration label: also take results of runs that did not complete (interrupted, failed, "
                + "abandoned)",
        };

    public static Option<string?> Prices() =>
        new("--prices")
        {
            Description =
                "Transfer cases: a YAML file of what moving data costs (crossZonePerGb, charged on each side; "
                + "internetPerGb; currency), for the cost estimate",
        };

    /// <summary>Runs a command body, turning the user-facing failures into one line and an exit code.</summary>
    public static async Task<int> GuardAsync(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (ScenarioException e)
        {
            foreach (var error in e.Errors)
                Console.Error.WriteLine(error.ToString());
            Console.Error.WriteLine($"cnibench: {e.Errors.Count} problem(s) in the scenario; nothing was run");
            return ExitCodes.BadInput;
        }
        catch (Transfer.PricesException e)
        {
            foreach (var error in e.Errors)
                Console.Error.WriteLine(error.ToString());
            Console.Error.WriteLine($"cnibench: {e.Errors.Count} problem(s) in the prices file");
            return ExitCodes.BadInput;
        }
        catch (StoreException e)
        {
            Console.Error.WriteLine($"cnibench: {e.Message}");
            return ExitCodes.BadInput;
        }
        catch (Running.ResultsNotStoredException e)
        {
            Console.Error.WriteLine($"cnibench: {e.Message}; the run is failed, nothing it measured is lost");
            return ExitCodes.Failed;
        }
        catch (Targets.TargetException e)
        {
            Console.Error.WriteLine($"cnibench: {e.Message}");
            return ExitCodes.Failed;
        }
        catch (CniBench.Cli.Targets.Kube.Api.KubeConfigException e)
        {
            Console.Error.WriteLine($"cnibench: {e.Message}");
            return ExitCodes.BadInput;
        }
        catch (Exception e)
            when (e
                    is CniBench.Cli.Targets.Kube.Api.KubeApiException
                        or CniBench.Cli.Targets.Kube.Api.KubeConnectionException
            )
        {
            Console.Error.WriteLine($"cnibench: {e.Message}");
            return ExitCodes.Failed;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A bug or a fault nobody foresaw: one line for the user, the stack trace in a log for the report.
            Console.Error.WriteLine($"cnibench: failed: {e.Message}");
            if (ErrorLog.Write(e) is { } log)
                Console.Error.WriteLine($"cnibench: details in {log}");
            return ExitCodes.Failed;
        }
    }
}
