using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using CniBench.Cli.Analysis;
using CniBench.Cli.Reporting;
using CniBench.Cli.Running;
using CniBench.Cli.Storage;
using CniBench.Contracts.Cli;
using CniBench.Contracts.Measurement;
using Spectre.Console;

namespace CniBench.Cli.Commands;

/// <summary>`cnibench compare`: baseline against candidate, metric by metric, with a verdict a CI pipeline can fail on.</summary>
public static class CompareCommand
{
    public static Command Create()
    {
        var db = CommonOptions.Database();
        var baseline = new Option<string>("--baseline", "-b") { Description = "Run id or configuration label", Required = true };
        var candidate = new Option<string>("--candidate", "-c") { Description = "Run id or configuration label", Required = true };
        var threshold = new Option<string>("--threshold") { Description = "Smallest change that counts, in percent (e.g. 5%)", DefaultValueFactory = _ => "5%" };
        var failOnRegression = new Option<bool>("--fail-on-regression") { Description = "Exit with 1 when a significant regression beyond the threshold is found" };
        var output = new Option<string>("--output", "-o") { Description = "table, md or json", DefaultValueFactory = _ => "table" };
        var command = new Command("compare", "Compare two runs or configurations metric by metric") { baseline, candidate, threshold, failOnRegression, output, db };
        command.SetAction((parse, _) => CommonOptions.GuardAsync(() =>
        {
            var thresholdText = parse.GetValue(threshold)!;
            if (!double.TryParse(thresholdText.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out double percent) || percent < 0 || percent > 1000)
                return Fail($"--threshold: '{thresholdText}' is not valid; allowed: a percentage 0..1000 such as 5%");
            var format = parse.GetValue(output);
            if (format is not ("table" or "md" or "json")) return Fail($"--output: '{format}' is not valid; allowed: table, md, json");

            using var store = ResultStore.Open(parse.GetValue(db)!);
            var b = Select(store, parse.GetValue(baseline)!, "--baseline");
            var c = Select(store, parse.GetValue(candidate)!, "--candidate");
            var comparisons = Comparison.Compare(CaseSummary.From(b), CaseSummary.From(c), percent);
            if (comparisons.Count == 0)
                throw new StoreException($"{parse.GetValue(baseline)} and {parse.GetValue(candidate)} have no case in common to compare");

            switch (format)
            {
                case "json":
                    Console.Out.WriteLine(JsonSerializer.Serialize(comparisons, StoreJson.Indented));
                    break;
                case "md":
                    Console.Out.Write(ComparisonMarkdown.Write(parse.GetValue(baseline)!, parse.GetValue(candidate)!, percent, comparisons));
                    break;
                default:
                    WriteTable(comparisons);
                    break;
            }
            int regressions = comparisons.Count(x => x.Verdict == Verdict.Regression);
            return Task.FromResult(parse.GetValue(failOnRegression) && regressions > 0 ? ExitCodes.Failed : ExitCodes.Ok);
        }));
        return command;
    }

    private static Task<int> Fail(string message)
    {
        Console.Error.WriteLine($"cnibench compare: {message}");
        return Task.FromResult(ExitCodes.BadInput);
    }

    /// <summary>A run id if one matches, else a configuration label; anything else is a clear error.</summary>
    public static IReadOnlyList<CaseResult> Select(ResultStore store, string key, string flag)
    {
        if (store.FindRun(key) is not null) return store.Results(key);
        var byConfig = store.ResultsForConfig(key);
        if (byConfig.Count > 0) return byConfig;
        throw new StoreException($"{flag}: no run or configuration label '{key}'; allowed: a run id from 'cnibench runs list' or one of the labels: {string.Join(", ", store.ConfigLabels())}");
    }

    private static void WriteTable(IReadOnlyList<MetricComparison> comparisons)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var h in new[] { "case", "metric", "baseline", "candidate", "delta", "change", "p", "verdict" }) table.AddColumn(h);
        foreach (var x in comparisons)
        {
            string verdict = x.Verdict switch
            {
                Verdict.Regression => "[red]regression[/]",
                Verdict.Improvement => "[green]improvement[/]",
                Verdict.Inconclusive => "[yellow]inconclusive[/]",
                _ => "no change",
            };
            table.AddRow(Markup.Escape(x.Case), x.Metric, Markup.Escape(Format.MeanWithCi(x.Metric, x.Baseline)), Markup.Escape(Format.MeanWithCi(x.Metric, x.Candidate)),
                ComparisonMarkdown.Delta(x.DeltaPercent), x.Change, ComparisonMarkdown.P(x.PValue), verdict);
        }
        AnsiConsole.Write(table);
    }
}
