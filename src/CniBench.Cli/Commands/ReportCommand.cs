using System.CommandLine;
using CniBench.Cli.Features;
using CniBench.Cli.Reporting;
using CniBench.Cli.Storage;
using CniBench.Contracts.Cli;

namespace CniBench.Cli.Commands;

/// <summary>`cnibench report`: rebuild the report of stored runs or configurations from the store alone.</summary>
public static class ReportCommand
{
    public static Command Create()
    {
        var db = CommonOptions.Database();
        var runs = new Option<string[]>("--run")
        {
            Description =
                "Run id, its first characters, or 'latest'; repeat for several (default: the newest completed run)",
            AllowMultipleArgumentsPerToken = true,
        };
        var configs = new Option<string[]>("--config", "-c")
        {
            Description = "Every result with this configuration label, from completed runs; repeat for several",
            AllowMultipleArgumentsPerToken = true,
        };
        var includeIncomplete = CommonOptions.IncludeIncomplete();
        var output = new Option<string>("--out")
        {
            Description = "Report directory",
            DefaultValueFactory = _ => CommonOptions.DefaultReportDirectory,
        };
        var formats = new Option<string>("--format")
        {
            Description = "Comma-separated: html, md, csv, json",
            DefaultValueFactory = _ => string.Join(",", ReportWriter.DefaultFormats),
        };
        var prices = CommonOptions.Prices();
        var command = new Command("report", "Write the report of stored runs (HTML with charts, Markdown, CSV, JSON)")
        {
            runs,
            configs,
            includeIncomplete,
            db,
            output,
            formats,
            prices,
        };
        command.SetAction(
            (parse, _) =>
                CommonOptions.GuardAsync(() =>
                {
                    var wanted = parse
                        .GetValue(formats)!
                        .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                    var known = ReportWriter.All.Select(e => e.Format).ToArray();
                    var unknown = wanted.Where(f => !known.Contains(f, StringComparer.OrdinalIgnoreCase)).ToArray();
                    if (wanted.Length == 0 || unknown.Length > 0)
                    {
                        Console.Error.WriteLine(
                            $"cnibench report: --format: '{string.Join(",", unknown)}' is not valid; allowed: a "
                                + $"comma-separated list of {string.Join(", ", known)}"
                        );
                        return Task.FromResult(ExitCodes.BadInput);
                    }
                    var priceTable = parse.GetValue(prices) is { } path ? Transfer.PriceTable.Load(path) : null;
                    using var store = ResultStore.Open(parse.GetValue(db)!);
                    var model = ReportModel.Load(
                        store,
                        parse.GetValue(runs) ?? [],
                        parse.GetValue(configs) ?? [],
                        parse.GetValue(includeIncomplete),
                        SuiteFeatures.Report(priceTable)
                    );
                    var written = ReportWriter.WriteAll(model, parse.GetValue(output)!, wanted);
                    Console.Out.WriteLine($"report: {ReportWriter.Describe(written, parse.GetValue(output)!)}");
                    return Task.FromResult(ExitCodes.Ok);
                })
        );
        return command;
    }
}
