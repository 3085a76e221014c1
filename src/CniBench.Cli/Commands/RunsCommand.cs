using CniBench.Contracts.Cli;
using System.CommandLine;
using System.Text.Json;
using CniBench.Cli.Reporting;
using CniBench.Cli.Storage;
using Spectre.Console;

namespace CniBench.Cli.Commands;

/// <summary>`cnibench runs list` and `cnibench runs show ID [-o json]`: read the store back.</summary>
public static class RunsCommand
{
    public static Command Create()
    {
        var listDb = CommonOptions.Database();
        var list = new Command("list", "List stored runs, newest first") { listDb };
        list.SetAction((parse, _) => CommonOptions.GuardAsync(() =>
        {
            using var store = ResultStore.Open(parse.GetValue(listDb)!);
            var table = new Table().Border(TableBorder.Rounded);
            // Ids and times are copied from here into other commands: never wrap them.
            foreach (var c in new[] { "run", "suite", "target", "config", "started", "state", "results" }) table.AddColumn(new TableColumn(c).NoWrap());
            foreach (var run in store.ListRuns())
                table.AddRow(Markup.Escape(run.Id), Markup.Escape(run.Suite), run.Target, Markup.Escape(run.Config), Format.Time(run.StartedAt),
                    run.State.ToString().ToLowerInvariant(), store.CountResults(run.Id).ToString(System.Globalization.CultureInfo.InvariantCulture));
            AnsiConsole.Write(table);
            return Task.FromResult(ExitCodes.Ok);
        }));

        var showDb = CommonOptions.Database();
        var id = new Argument<string>("run") { Description = "Run id (from 'runs list')" };
        var output = new Option<string>("--output", "-o") { Description = "table or json", DefaultValueFactory = _ => "table" };
        var show = new Command("show", "Show one run: per-case summary, or every stored document as JSON") { id, showDb, output };
        show.SetAction((parse, _) => CommonOptions.GuardAsync(() =>
        {
            var format = parse.GetValue(output);
            if (format is not ("table" or "json"))
            {
                Console.Error.WriteLine($"cnibench runs show: --output: '{format}' is not valid; allowed: table, json");
                return Task.FromResult(ExitCodes.BadInput);
            }
            using var store = ResultStore.Open(parse.GetValue(showDb)!);
            var model = ReportModel.Load(store, parse.GetValue(id)!);
            if (format == "json")
            {
                Console.Out.WriteLine(JsonSerializer.Serialize(new { run = model.Runs[0], results = model.Results }, StoreJson.Indented));
            }
            else
            {
                AnsiConsole.MarkupLine($"run [bold]{Markup.Escape(model.Runs[0].Id)}[/]: {Markup.Escape(model.Runs[0].Suite)} on {model.Runs[0].Target}, config {Markup.Escape(model.Runs[0].Config)}, {model.Runs[0].State.ToString().ToLowerInvariant()}");
                ConsoleView.WriteSummary(AnsiConsole.Console, model.Summaries);
            }
            return Task.FromResult(ExitCodes.Ok);
        }));

        return new Command("runs", "Read stored runs") { list, show };
    }
}
