using CniBench.Cli.Analysis;
using CniBench.Contracts.Measurement;

namespace CniBench.Cli.Reporting;

/// <summary>A Markdown report for a pull request or a wiki: summary, then one section per case.</summary>
public sealed class MarkdownExporter : IReportExporter
{
    public string Format => "md";
    public string FileName => "report.md";

    public void Write(ReportModel model, TextWriter w)
    {
        var run = model.Run;
        w.WriteLine($"# CniBench report — {run.Suite}");
        w.WriteLine();
        w.WriteLine($"Run `{run.Id}` on target `{run.Target}`, configuration `{run.Config}`, {Reporting.Format.Time(run.StartedAt)} → {Reporting.Format.Time(run.FinishedAt)}, state **{run.State.ToString().ToLowerInvariant()}**.");
        w.WriteLine();
        w.WriteLine("Figures are means over repetitions with 95% confidence intervals (Student's t); latency percentiles come from the merged histograms of all repetitions.");
        w.WriteLine();
        w.WriteLine("## Summary");
        w.WriteLine();
        var columns = Reporting.Format.ColumnsFor(model.Summaries);
        w.WriteLine("| case | config | ok/runs | " + string.Join(" | ", columns.Select(c => c.Header)) + " | p50 µs | p99 µs |");
        w.WriteLine("|---|---|---|" + string.Concat(columns.Select(_ => "---:|")) + "---:|---:|");
        foreach (var s in model.Summaries)
        {
            var cells = columns.Select(c => s.Metrics.TryGetValue(c.Metric, out var st) ? Reporting.Format.MeanWithCi(c.Metric, st) : "");
            w.WriteLine($"| {s.Case} | {s.Config} | {s.Repetitions - s.Failed}/{s.Repetitions} | {string.Join(" | ", cells)} | {Latency(s, "p50")} | {Latency(s, "p99")} |");
        }
        w.WriteLine();

        foreach (var s in model.Summaries)
        {
            w.WriteLine($"## {s.Case} ({s.Workload}, {s.Config})");
            w.WriteLine();
            foreach (var reason in s.FailureReasons) w.WriteLine($"> **failed** {reason}");
            if (s.FailureReasons.Count > 0) w.WriteLine();
            if (s.Metrics.Count == 0)
            {
                w.WriteLine("No successful repetition.");
                w.WriteLine();
                continue;
            }
            w.WriteLine("| metric | unit | n | mean | median | 95% CI | min | max | CV |");
            w.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var (name, st) in s.Metrics)
            {
                var d = Metrics.Describe(name);
                w.WriteLine($"| {name} | {d.Unit} | {st.N} | {Reporting.Format.Metric(name, st.Mean)} | {Reporting.Format.Metric(name, st.Median)} | {Reporting.Format.Interval(name, st)} | {Reporting.Format.Metric(name, st.Min)} | {Reporting.Format.Metric(name, st.Max)} | {Reporting.Format.Percent(st.CvPercent)} |");
            }
            w.WriteLine();
            if (s.MergedLatencyUs.Count > 0)
            {
                w.WriteLine($"Latency over {Reporting.Format.Number(s.MergedLatencyCount, 0)} transactions (merged histogram): " +
                            string.Join(", ", s.MergedLatencyUs.Select(p => $"{p.Key} {Reporting.Format.Number(p.Value, 1)} µs")) + ".");
                w.WriteLine();
            }
        }

        w.WriteLine("## Environment");
        w.WriteLine();
        w.WriteLine("| key | value |");
        w.WriteLine("|---|---|");
        foreach (var (key, value) in model.Run.Environment.OrderBy(e => e.Key, StringComparer.Ordinal)) w.WriteLine($"| {key} | {value.Replace("|", "\\|")} |");
    }

    private static string Latency(CaseSummary s, string p) => s.MergedLatencyUs.TryGetValue(p, out var v) ? Reporting.Format.Number(v, 1) : "";
}
