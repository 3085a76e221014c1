using CniBench.Cli.Analysis;
using CniBench.Contracts.Measurement;

namespace CniBench.Cli.Reporting;

/// <summary>A Markdown report for a pull request or a wiki: summary, findings, one section per suite and case, links to
/// the SVG charts.</summary>
public sealed class MarkdownExporter : IReportExporter
{
    public string Format => "md";

    public IReadOnlyList<string> Write(ReportModel model, string directory) =>
        [
            ReportWriter.WriteText(directory, "report.md", w => Write(model, w)),
            .. ReportWriter.WriteCharts(model, directory),
        ];

    public static void Write(ReportModel model, TextWriter w)
    {
        w.WriteLine($"# CniBench report — {string.Join(", ", model.Runs.Select(r => r.Suite).Distinct())}");
        w.WriteLine();
        foreach (var run in model.Runs)
            w.WriteLine(
                $"- run `{run.Id}`: {run.Suite} on `{run.Target}`, configuration `{run.Config}`, "
                    + $"{Reporting.Format.Time(run.StartedAt)} → {Reporting.Format.Time(run.FinishedAt)}, "
                    + $"**{run.State.ToString().ToLowerInvariant()}**"
            );
        w.WriteLine();
        w.WriteLine(
            $"Means over repetitions with 95% confidence intervals "
                + $"({Reporting.Format.IntervalMethods(model.Summaries)}); latency percentiles from the merged "
                + $"histograms of all repetitions."
        );
        w.WriteLine();
        if (model.Findings.Count > 0)
        {
            w.WriteLine("## Hints and warnings");
            w.WriteLine();
            // One block per kind: the same warning over many cases is read once, with the cases under it.
            foreach (var d in FindingDigest.Of(model.Findings, model.Summaries, model.Results))
            {
                string severity = $"**{d.Severity.ToString().ToLowerInvariant()}**";
                if (d.SaidOnce)
                {
                    w.WriteLine($"- {severity} {d.Line}");
                    continue;
                }
                if (d.Findings.Count > 1)
                    w.WriteLine($"- {severity} {d.Heading}:");
                foreach (var f in d.Findings)
                    w.WriteLine(
                        $"{(d.Findings.Count > 1 ? "  - " : $"- {severity} ")}"
                            + $"{Reporting.Format.FindingSubject(f, model.SeveralConfigs, c => $"`{c}`")}{f.Message}"
                    );
            }
            w.WriteLine();
        }

        foreach (var suite in model.BySuite)
        {
            w.WriteLine($"## {suite.Key}");
            w.WriteLine();
            var columns = Reporting.Format.ColumnsFor(suite);
            w.WriteLine(
                "| case | config | ok/runs | "
                    + string.Join(" | ", columns.Select(c => c.Header))
                    + " | p50 µs | p99 µs |"
            );
            w.WriteLine("|---|---|---|" + string.Concat(columns.Select(_ => "---:|")) + "---:|---:|");
            foreach (var s in suite)
            {
                var cells = columns.Select(c =>
                    s.Metrics.TryGetValue(c.Metric, out var st) ? Reporting.Format.MeanWithInterval(c.Metric, st) : ""
                );
                w.WriteLine(
                    $"| {s.Case} | {s.Config} | {s.Repetitions - s.Failed}/{s.Repetitions} | "
                        + $"{string.Join(" | ", cells)} | {Latency(s, "p50")} | {Latency(s, "p99")} |"
                );
            }
            w.WriteLine();
            foreach (
                var chart in model.SummaryCharts.Where(c =>
                    c.Id.StartsWith(Charts.ReportCharts.Slug(suite.Key) + "-", StringComparison.Ordinal)
                )
            )
                w.WriteLine($"![{chart.Title}](charts/{chart.Id}.svg)");
            w.WriteLine();
            foreach (var (section, tables) in model.SectionsOf(suite.Key))
                WriteSection(w, section.Title, tables);

            foreach (var byCase in suite.GroupBy(s => s.Case))
            {
                w.WriteLine($"### {byCase.Key}");
                w.WriteLine();
                foreach (var s in byCase)
                    WriteCase(w, s);
                foreach (
                    var chart in model.CaseCharts.GetValueOrDefault(ReportModel.CaseKey(suite.Key, byCase.Key)) ?? []
                )
                    w.WriteLine($"![{chart.Title}](charts/{chart.Id}.svg)");
                w.WriteLine();
            }
        }

        w.WriteLine("## Environment");
        w.WriteLine();
        w.WriteLine("| key | value |");
        w.WriteLine("|---|---|");
        foreach (var (key, value) in model.Environment.OrderBy(e => e.Key, StringComparer.Ordinal))
            w.WriteLine($"| {key} | {value.Replace("|", "\\|")} |");
    }

    private static void WriteSection(TextWriter w, string title, IReadOnlyList<ReportTable> tables)
    {
        w.WriteLine($"### {title}");
        w.WriteLine();
        foreach (var table in tables)
        {
            w.WriteLine($"**{table.Caption}**");
            w.WriteLine();
            if (table.Headers.Count == 0)
                continue;
            w.WriteLine($"| {string.Join(" | ", table.Headers)} |");
            w.WriteLine($"|{string.Concat(table.Headers.Select((_, i) => i < 2 ? "---|" : "---:|"))}");
            foreach (var row in table.Rows)
                w.WriteLine($"| {string.Join(" | ", row.Select(c => c.Replace("|", "\\|")))} |");
            w.WriteLine();
        }
    }

    private static void WriteCase(TextWriter w, CaseSummary s)
    {
        w.WriteLine($"**{s.Config}** ({s.Workload}, {s.Repetitions - s.Failed}/{s.Repetitions} ok)");
        w.WriteLine();
        foreach (var reason in s.FailureReasons)
            w.WriteLine($"> **failed** {reason}");
        if (s.FailureReasons.Count > 0)
            w.WriteLine();
        if (s.Metrics.Count == 0)
        {
            w.WriteLine("No successful repetition.");
            w.WriteLine();
            return;
        }
        w.WriteLine("| metric | unit | n | mean | median | 95% CI | min | max | CV | truncated mean |");
        w.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var (name, st) in s.Metrics)
        {
            var d = Metrics.Describe(name);
            w.WriteLine(
                $"| {name} | {d.Unit} | {st.N} | {Reporting.Format.Metric(name, st.Mean)} | "
                    + $"{Reporting.Format.Metric(name, st.Median)} | {Reporting.Format.Interval(name, st)} | "
                    + $"{Reporting.Format.Metric(name, st.Min)} | {Reporting.Format.Metric(name, st.Max)} | "
                    + $"{Reporting.Format.Percent(st.CvPercent)} | {Reporting.Format.TruncatedMean(name, st)} |"
            );
        }
        w.WriteLine();
        if (Reporting.Format.MergedLatencySentence(s) is { } latency)
        {
            w.WriteLine(latency);
            w.WriteLine();
        }
    }

    private static string Latency(CaseSummary s, string p) => Reporting.Format.Percentile(s, p);
}
