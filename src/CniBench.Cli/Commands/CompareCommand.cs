using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using CniBench.Cli.Analysis;
using CniBench.Cli.Reporting;
using CniBench.Cli.Results;
using CniBench.Cli.Storage;
using CniBench.Contracts.Cli;
using Spectre.Console;

namespace CniBench.Cli.Commands;

/// <summary>`cnibench compare`: baseline against candidate, metric by metric, with a verdict a CI pipeline can fail
/// on.</summary>
public static class CompareCommand
{
    public static Command Create()
    {
        var db = CommonOptions.Database();
        var baseline = new Option<string>("--baseline", "-b")
        {
            Description = "Run id (its first characters, or 'latest') or configuration label",
            Required = true,
        };
        var candidate = new Option<string>("--candidate")
        {
            Description = "Run id (its first characters, or 'latest') or configuration label",
            Required = true,
        };
        var includeIncomplete = CommonOptions.IncludeIncomplete();
        var threshold = new Option<string>("--threshold")
        {
            Description = "Smallest change that counts, in percent (e.g. 5%)",
            DefaultValueFactory = _ => "5%",
        };
        var failOnRegression = new Option<bool>("--fail-on-regression")
        {
            Description = "Exit with 1 when a significant regression beyond the threshold is found",
        };
        var output = new Option<string>("--output", "-o")
        {
            Description = "table, md, json or junit (JUnit XML for CI test reports)",
            DefaultValueFactory = _ => "table",
        };
        var command = new Command("compare", "Compare two runs or configurations metric by metric")
        {
            baseline,
            candidate,
            includeIncomplete,
            threshold,
            failOnRegression,
            output,
            db,
        };
        command.SetAction(
            (parse, _) =>
                CommonOptions.GuardAsync(() =>
                {
                    var thresholdText = parse.GetValue(threshold)!;
                    if (
                        !double.TryParse(
                            thresholdText.TrimEnd('%'),
                            NumberStyles.Float,
                            CultureInfo.InvariantCulture,
                            out double percent
                        )
                        || percent < 0
                        || percent > 1000
                    )
                        return Fail(
                            $"--threshold: '{thresholdText}' is not valid; allowed: a percentage 0..1000 such as 5%"
                        );
                    var format = parse.GetValue(output);
                    if (format is not ("table" or "md" or "json" or "junit"))
                        return Fail($"--output: '{format}' is not valid; allowed: table, md, json, junit");

                    using var store = ResultStore.Open(parse.GetValue(db)!);
                    var b = ResultSelection.ByKey(
                        store,
                        parse.GetValue(baseline)!,
                        "--baseline",
                        parse.GetValue(includeIncomplete)
                    );
                    var c = ResultSelection.ByKey(
                        store,
                        parse.GetValue(candidate)!,
                        "--candidate",
                        parse.GetValue(includeIncomplete)
                    );
                    var comparisons = Comparison.Compare(
                        CaseSummary.From(b.Results),
                        CaseSummary.From(c.Results),
                        percent
                    );
                    if (comparisons.Count == 0)
                        throw new StoreException(
                            $"{parse.GetValue(baseline)} and {parse.GetValue(candidate)} have no case in common to "
                                + $"compare"
                        );
                    string[] pooling = [$"baseline {b.Describe()}", $"candidate {c.Describe()}"];

                    switch (format)
                    {
                        case "json":
                            Console.Out.WriteLine(
                                JsonSerializer.Serialize(
                                    new
                                    {
                                        baseline = new
                                        {
                                            key = b.Key,
                                            runs = b.Runs.Select(r => r.Id),
                                            leftOut = b.LeftOut.Select(r => r.Id),
                                        },
                                        candidate = new
                                        {
                                            key = c.Key,
                                            runs = c.Runs.Select(r => r.Id),
                                            leftOut = c.LeftOut.Select(r => r.Id),
                                        },
                                        comparisons,
                                        verdict = Comparison.VerdictLine(comparisons),
                                    },
                                    StoreJson.Indented
                                )
                            );
                            break;
                        case "md":
                            Console.Out.Write(
                                ComparisonMarkdown.Write(
                                    parse.GetValue(baseline)!,
                                    parse.GetValue(candidate)!,
                                    percent,
                                    comparisons,
                                    pooling
                                )
                            );
                            break;
                        case "junit":
                            Console.Out.Write(
                                ComparisonJunit.Write(
                                    parse.GetValue(baseline)!,
                                    parse.GetValue(candidate)!,
                                    percent,
                                    comparisons
                                )
                            );
                            break;
                        default:
                            foreach (var line in pooling)
                                AnsiConsole.Console.WriteLine(line);
                            WriteTable(comparisons);
                            AnsiConsole.Console.WriteLine(Comparison.VerdictLine(comparisons));
                            break;
                    }
                    int regressions = comparisons.Count(x => x.Verdict == Verdict.Regression);
                    return Task.FromResult(
                        parse.GetValue(failOnRegression) && regressions > 0 ? ExitCodes.Failed : ExitCodes.Ok
                    );
                })
        );
        return command;
    }

    private static Task<int> Fail(string message)
    {
        Console.Error.WriteLine($"cnibench compare: {message}");
        return Task.FromResult(ExitCodes.BadInput);
    }

    private static void WriteTable(IReadOnlyList<MetricComparison> comparisons)
    {
        var table = new Table().Border(TableBorder.Rounded);
        foreach (var h in new[] { "case", "metric", "baseline", "candidate", "delta", "change", "p", "verdict" })
            table.AddColumn(h);
        foreach (var x in comparisons)
        {
            string verdict = x.Verdict switch
            {
                Verdict.Regression => "[red]regression[/]",
                Verdict.Improvement => "[green]improvement[/]",
                Verdict.Inconclusive => "[yellow]inconclusive[/]",
                _ => "no change",
            };
            table.AddRow(
                Markup.Escape(x.Case),
                x.Metric,
                Markup.Escape(Format.MeanWithCi(x.Metric, x.Baseline)),
                Markup.Escape(Format.MeanWithCi(x.Metric, x.Candidate)),
                ComparisonMarkdown.Delta(x.DeltaPercent),
                x.Change,
                ComparisonMarkdown.P(x.PValue),
                verdict
            );
        }
        AnsiConsole.Write(table);
    }
}
