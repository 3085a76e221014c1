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
        var drift = new Option<string>("--drift")
        {
            Description =
                "Run-to-run drift to allow for, as a standard deviation per run in percent (0% when both sides "
                + "alternated in one session)",
            DefaultValueFactory = _ => $"{Comparison.DefaultDriftPercent.ToString(CultureInfo.InvariantCulture)}%",
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
            drift,
            failOnRegression,
            output,
            db,
        };
        command.SetAction(
            (parse, _) =>
                CommonOptions.GuardAsync(() =>
                {
                    if (Percent(parse.GetValue(threshold)!, "--threshold", 1000) is not { } percent)
                        return Task.FromResult(ExitCodes.BadInput);
                    if (Percent(parse.GetValue(drift)!, "--drift", 100) is not { } driftPercent)
                        return Task.FromResult(ExitCodes.BadInput);
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
                    var baselineCases = CaseSummary.From(b.Results, CaseSummary.HostCores(b.Runs));
                    var candidateCases = CaseSummary.From(c.Results, CaseSummary.HostCores(c.Runs));
                    var comparisons = Comparison.Compare(baselineCases, candidateCases, percent, driftPercent);
                    var environment = Comparison.EnvironmentDifferences(baselineCases, candidateCases, percent);
                    var conditions = new[] { ("baseline", b, baselineCases), ("candidate", c, candidateCases) }
                        .SelectMany(side => ConditionLines(side.Item1, side.Item2, side.Item3))
                        .ToArray();
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
                                        driftPercent,
                                        comparisons,
                                        environment,
                                        conditions,
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
                                    pooling,
                                    [.. environment.Select(EnvironmentLine), .. conditions]
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
                            foreach (var reason in comparisons.Select(x => x.Reason).OfType<string>().Distinct())
                            {
                                int count = comparisons.Count(x => x.Reason == reason);
                                AnsiConsole.Console.WriteLine(
                                    $"inconclusive ({Format.Count(count, "metric")}): {reason}"
                                );
                            }
                            if (environment.Count > 0 || conditions.Length > 0)
                                AnsiConsole.Console.WriteLine("environment differed (shown, not judged):");
                            foreach (var line in environment.Select(EnvironmentLine).Concat(conditions))
                                AnsiConsole.Console.WriteLine("  " + line);
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

    /// <summary>"5%" or "5" as a number within 0..max; null after saying what is wrong.</summary>
    private static double? Percent(string text, string flag, double max)
    {
        if (
            double.TryParse(text.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out double percent)
            && percent >= 0
            && percent <= max
        )
            return percent;
        Fail($"{flag}: '{text}' is not valid; allowed: a percentage 0..{max} such as 5%");
        return null;
    }

    private static Task<int> Fail(string message)
    {
        Console.Error.WriteLine($"cnibench compare: {message}");
        return Task.FromResult(ExitCodes.BadInput);
    }

    /// <summary>"tcp-rr cpu.other.percent: 3.1 → 22.7 (+632.3%)".</summary>
    private static string EnvironmentLine(MetricComparison x) =>
        $"{x.Case} {x.Metric}: {Format.Metric(x.Metric, x.Baseline.Mean)} → "
        + $"{Format.Metric(x.Metric, x.Candidate.Mean)} "
        + $"({ComparisonMarkdown.Delta(x.DeltaPercent)})";

    /// <summary>The warnings about the conditions a side ran in (a busy machine, ports or conntrack under
    /// pressure), one line per kind.</summary>
    private static IEnumerable<string> ConditionLines(
        string side,
        ResultSelection selection,
        IReadOnlyList<CaseSummary> cases
    ) =>
        FindingDigest
            .Of(Analysers.Run(cases, selection.Results, selection.Runs[0].Environment), cases, selection.Results)
            .Where(d => FindingDigest.Conditions.Contains(d.Code))
            .Select(d => $"{side}: {d.Line}");

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
                Markup.Escape(Format.MeanWithInterval(x.Metric, x.Baseline)),
                Markup.Escape(Format.MeanWithInterval(x.Metric, x.Candidate)),
                ComparisonMarkdown.Delta(x.DeltaPercent),
                x.Change,
                ComparisonMarkdown.P(x.PValue),
                verdict
            );
        }
        AnsiConsole.Write(table);
    }
}
