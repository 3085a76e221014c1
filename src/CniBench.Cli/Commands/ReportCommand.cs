using CniBench.Contracts.Cli;
using System.CommandLine;
using CniBench.Cli.Reporting;
using CniBench.Cli.Storage;

namespace CniBench.Cli.Commands;

/// <summary>`cnibench report [--run ID]`: rebuild the HTML and Markdown report from the store alone.</summary>
public static class ReportCommand
{
    public static Command Create()
    {
        var db = CommonOptions.Database();
        var run = new Option<string?>("--run") { Description = "Run id (default: the newest run)" };
        var output = new Option<string>("--out", "-o") { Description = "Report directory", DefaultValueFactory = _ => CommonOptions.DefaultReportDirectory };
        var command = new Command("report", "Write the HTML and Markdown report of a stored run") { run, db, output };
        command.SetAction((parse, _) => CommonOptions.GuardAsync(() =>
        {
            using var store = ResultStore.Open(parse.GetValue(db)!);
            var id = parse.GetValue(run) ?? store.ListRuns().FirstOrDefault()?.Id
                ?? throw new StoreException($"{parse.GetValue(db)}: no runs stored yet; 'cnibench run' makes one");
            var written = ReportWriter.WriteAll(ReportModel.Load(store, id), parse.GetValue(output)!);
            foreach (var path in written) Console.Out.WriteLine(path);
            return Task.FromResult(ExitCodes.Ok);
        }));
        return command;
    }
}
