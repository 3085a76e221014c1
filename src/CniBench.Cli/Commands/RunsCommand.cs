using System.CommandLine;
using System.Text.Json;
using CniBench.Cli.Features;
using CniBench.Cli.Reporting;
using CniBench.Cli.Results;
using CniBench.Cli.Storage;
using CniBench.Contracts.Cli;
using Spectre.Console;

namespace CniBench.Cli.Commands;

/// <summary>`cnibench runs list|show|delete|prune`: read the store back and tidy it.</summary>
public static class RunsCommand
{
    public static Command Create()
    {
        var listDb = CommonOptions.Database();
        var list = new Command("list", "List stored runs, newest first") { listDb };
        list.SetAction(
            (parse, _) =>
                CommonOptions.GuardAsync(() =>
                {
                    using var store = ResultStore.Open(parse.GetValue(listDb)!);
                    var table = new Table().Border(TableBorder.Rounded);
                    // Ids and times are copied from here into other commands: never wrap them.
                    foreach (var c in new[] { "run", "suite", "target", "config", "started", "state", "results" })
                        table.AddColumn(new TableColumn(c).NoWrap());
                    foreach (var run in store.ListRuns())
                        table.AddRow(
                            Markup.Escape(run.Id),
                            Markup.Escape(run.Suite),
                            run.Target,
                            Markup.Escape(run.Config),
                            Format.Time(run.StartedAt),
                            run.State.ToString().ToLowerInvariant(),
                            store.CountResults(run.Id).ToString(System.Globalization.CultureInfo.InvariantCulture)
                        );
                    AnsiConsole.Write(table);
                    return Task.FromResult(ExitCodes.Ok);
                })
        );

        var showDb = CommonOptions.Database();
        var id = new Argument<string>("run")
        {
            Description = "Run id from 'runs list', its first characters, or 'latest'",
        };
        var output = new Option<string>("--output", "-o")
        {
            Description = "table or json",
            DefaultValueFactory = _ => "table",
        };
        var show = new Command("show", "Show one run: per-case summary, or every stored document as JSON")
        {
            id,
            showDb,
            output,
        };
        show.SetAction(
            (parse, _) =>
                CommonOptions.GuardAsync(() =>
                {
                    var format = parse.GetValue(output);
                    if (format is not ("table" or "json"))
                    {
                        Console.Error.WriteLine(
                            $"cnibench runs show: --output: '{format}' is not valid; allowed: table, json"
                        );
                        return Task.FromResult(ExitCodes.BadInput);
                    }
                    using var store = ResultStore.Open(parse.GetValue(showDb)!);
                    var model = ReportModel.Load(
                        store,
                        store.ResolveRun(parse.GetValue(id)!).Id,
                        SuiteFeatures.Report()
                    );
                    if (format == "json")
                    {
                        Console.Out.WriteLine(
                            JsonSerializer.Serialize(
                                new { run = model.Runs[0], results = model.Results },
                                StoreJson.Indented
                            )
                        );
                    }
                    else
                    {
                        var run = model.Runs[0];
                        AnsiConsole.MarkupLine(
                            $"run [bold]{Markup.Escape(run.Id)}[/]: {Markup.Escape(run.Suite)} on {run.Target}, "
                                + $"config {Markup.Escape(run.Config)}, {run.State.ToString().ToLowerInvariant()}"
                        );
                        if (run.Error is not null)
                            AnsiConsole.MarkupLine($"error: {Markup.Escape(run.Error)}");
                        if (run.Controller is { } c && run.State is RunState.Running or RunState.Abandoned)
                            AnsiConsole.MarkupLine(
                                $"controller: pid {c.Pid} on {Markup.Escape(c.Host)}, last heartbeat "
                                    + $"{Format.Time(run.HeartbeatAt)}"
                            );
                        ConsoleView.WriteSummary(AnsiConsole.Console, model.Summaries);
                        ConsoleView.WriteDigest(AnsiConsole.Console, model);
                    }
                    return Task.FromResult(ExitCodes.Ok);
                })
        );

        return new Command("runs", "Read and tidy stored runs") { list, show, Delete(), Prune(), Import() };
    }

    private static Command Delete()
    {
        var db = CommonOptions.Database();
        var ids = new Argument<string[]>("runs")
        {
            Description = "Run ids (or their first characters)",
            Arity = ArgumentArity.OneOrMore,
        };
        var delete = new Command("delete", "Delete runs and their results") { ids, db };
        delete.SetAction(
            (parse, _) =>
                CommonOptions.GuardAsync(() =>
                {
                    using var store = ResultStore.Open(parse.GetValue(db)!);
                    // Resolve every id before deleting any, so a typo deletes nothing.
                    var runs = parse.GetValue(ids)!.Select(store.ResolveRun).DistinctBy(r => r.Id).ToArray();
                    var running = runs.Where(r => r.State == RunState.Running).ToArray();
                    if (running.Length > 0)
                    {
                        Console.Error.WriteLine(
                            $"cnibench runs delete: {string.Join(", ", running.Select(r => r.Id))} still running "
                                + $"(its controller is alive); stop it first"
                        );
                        return Task.FromResult(ExitCodes.BadInput);
                    }
                    foreach (var run in runs)
                        store.DeleteRun(run.Id);
                    Console.Out.WriteLine($"deleted {runs.Length} run(s): {string.Join(", ", runs.Select(r => r.Id))}");
                    return Task.FromResult(ExitCodes.Ok);
                })
        );
        return delete;
    }

    private static Command Import()
    {
        var db = CommonOptions.Database();
        var files = new Argument<string[]>("files")
        {
            Description = "cnibench-unsaved-*.json files a run wrote when its database refused results",
            Arity = ArgumentArity.OneOrMore,
        };
        var import = new Command("import", "Put results a run could not store into the database") { files, db };
        import.SetAction(
            (parse, _) =>
                CommonOptions.GuardAsync(() =>
                {
                    // every file readable before any is imported
                    var unsaved = parse.GetValue(files)!.Select(f => (File: f, Run: UnsavedResults.Read(f))).ToArray();
                    using var store = ResultStore.Open(parse.GetValue(db)!);
                    foreach (var (file, run) in unsaved)
                    {
                        int added = store.Import(run);
                        Console.Out.WriteLine(
                            $"{file}: run {run.Run.Id} ({run.Run.State.ToString().ToLowerInvariant()}), {added} "
                                + $"result(s) added"
                        );
                    }
                    return Task.FromResult(ExitCodes.Ok);
                })
        );
        return import;
    }

    private static Command Prune()
    {
        RunState[] prunable = [RunState.Abandoned, RunState.Interrupted, RunState.Failed];
        var db = CommonOptions.Database();
        var status = new Option<string[]>("--status")
        {
            Description = "Which runs: abandoned, interrupted, failed (repeat or comma-separate)",
            Required = true,
            AllowMultipleArgumentsPerToken = true,
        };
        var dryRun = new Option<bool>("--dry-run") { Description = "Only list what would be deleted" };
        var prune = new Command("prune", "Delete every run in the given states") { status, dryRun, db };
        prune.SetAction(
            (parse, _) =>
                CommonOptions.GuardAsync(() =>
                {
                    var wanted = new HashSet<RunState>();
                    foreach (
                        var word in parse
                            .GetValue(status)!
                            .SelectMany(v =>
                                v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                            )
                    )
                    {
                        var state = prunable
                            .Where(p => p.ToString().Equals(word, StringComparison.OrdinalIgnoreCase))
                            .Cast<RunState?>()
                            .FirstOrDefault();
                        if (state is null)
                        {
                            Console.Error.WriteLine(
                                $"cnibench runs prune: --status: '{word}' is not valid; allowed: "
                                    + $"{string.Join(", ", prunable.Select(p => p.ToString().ToLowerInvariant()))}"
                            );
                            return Task.FromResult(ExitCodes.BadInput);
                        }
                        wanted.Add(state.Value);
                    }
                    using var store = ResultStore.Open(parse.GetValue(db)!);
                    var runs = store.ListRuns().Where(r => wanted.Contains(r.State)).ToArray();
                    if (!parse.GetValue(dryRun))
                        foreach (var run in runs)
                            store.DeleteRun(run.Id);
                    var listed = runs.Select(r => $"{r.Id} ({r.State.ToString().ToLowerInvariant()})");
                    Console.Out.WriteLine(
                        $"{(parse.GetValue(dryRun) ? "would delete" : "deleted")} {runs.Length} run(s)"
                            + (runs.Length > 0 ? ": " + string.Join(", ", listed) : "")
                    );
                    return Task.FromResult(ExitCodes.Ok);
                })
        );
        return prune;
    }
}
