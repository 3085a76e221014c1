using System.Net;
using System.Text.Json;
using CniBench.Cli.Analysis;
using CniBench.Cli.Storage;
using CniBench.Contracts.Measurement;

namespace CniBench.Cli.Reporting;

/// <summary>
/// One self-contained HTML file (no scripts or styles from the network): summary first, one
/// section per case, and the full stored results embedded as JSON so nothing is lost.
/// </summary>
public sealed class HtmlExporter : IReportExporter
{
    public string Format => "html";
    public string FileName => "report.html";

    private const string Style = """
        body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:72rem;padding:0 1rem;color:#1b1b1b}
        h1{font-size:1.6rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #ddd}
        table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
        th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}th{background:#f2f2f2}
        td:first-child,th:first-child{text-align:left}.failed{color:#b00020}.meta{color:#555}
        """;

    public void Write(ReportModel model, TextWriter w)
    {
        var run = model.Run;
        w.WriteLine("<!DOCTYPE html>");
        w.WriteLine("<html lang=\"en\"><head><meta charset=\"utf-8\">");
        w.WriteLine($"<title>CniBench report — {E(run.Suite)} ({E(run.Id)})</title>");
        w.WriteLine($"<style>{Style}</style></head><body>");
        w.WriteLine($"<h1>CniBench report — {E(run.Suite)}</h1>");
        w.WriteLine($"<p class=\"meta\">Run <code>{E(run.Id)}</code> on target <code>{E(run.Target)}</code>, configuration <code>{E(run.Config)}</code>, " +
                    $"{E(Reporting.Format.Time(run.StartedAt))} → {E(Reporting.Format.Time(run.FinishedAt))}, state <strong>{E(run.State.ToString().ToLowerInvariant())}</strong>. " +
                    "Means over repetitions with 95% confidence intervals; latency percentiles from merged histograms.</p>");

        w.WriteLine("<h2 id=\"summary\">Summary</h2>");
        var columns = Reporting.Format.ColumnsFor(model.Summaries);
        w.WriteLine("<table id=\"summary-table\"><thead><tr><th>case</th><th>config</th><th>ok/runs</th>" +
                    string.Concat(columns.Select(c => $"<th title=\"{E(c.Metric)}\">{E(c.Header)}</th>")) + "<th>p50 µs</th><th>p99 µs</th></tr></thead><tbody>");
        foreach (var s in model.Summaries)
        {
            w.Write($"<tr><td>{E(s.Case)}</td><td>{E(s.Config)}</td><td{(s.Failed > 0 ? " class=\"failed\"" : "")}>{s.Repetitions - s.Failed}/{s.Repetitions}</td>");
            foreach (var (m, _) in columns) w.Write($"<td>{(s.Metrics.TryGetValue(m, out var st) ? E(Reporting.Format.MeanWithCi(m, st)) : "")}</td>");
            w.WriteLine($"<td>{Latency(s, "p50")}</td><td>{Latency(s, "p99")}</td></tr>");
        }
        w.WriteLine("</tbody></table>");

        foreach (var s in model.Summaries) WriteCase(w, s);

        w.WriteLine("<h2 id=\"environment\">Environment</h2><table><tbody>");
        foreach (var (key, value) in run.Environment.OrderBy(e => e.Key, StringComparer.Ordinal))
            w.WriteLine($"<tr><td>{E(key)}</td><td style=\"text-align:left\">{E(value)}</td></tr>");
        w.WriteLine("</tbody></table>");

        // The whole stored run, so a reader (or a script) can recompute anything from this file alone.
        var data = JsonSerializer.Serialize(new { run, results = model.Results }, StoreJson.Options).Replace("</", "<\\/", StringComparison.Ordinal);
        w.WriteLine($"<script type=\"application/json\" id=\"cnibench-data\">{data}</script>");
        w.WriteLine("</body></html>");
    }

    private static void WriteCase(TextWriter w, CaseSummary s)
    {
        w.WriteLine($"<h2 id=\"case-{E(Slug(s.Case + "-" + s.Config))}\">{E(s.Case)} <span class=\"meta\">({E(s.Workload)}, {E(s.Config)})</span></h2>");
        foreach (var reason in s.FailureReasons) w.WriteLine($"<p class=\"failed\">failed {E(reason)}</p>");
        if (s.Metrics.Count == 0)
        {
            w.WriteLine("<p>No successful repetition.</p>");
            return;
        }
        w.WriteLine("<table class=\"case-metrics\"><thead><tr><th>metric</th><th>unit</th><th>n</th><th>mean</th><th>median</th><th>95% CI</th><th>min</th><th>max</th><th>CV</th></tr></thead><tbody>");
        foreach (var (name, st) in s.Metrics)
        {
            w.WriteLine($"<tr><td>{E(name)}</td><td>{E(Metrics.Describe(name).Unit)}</td><td>{st.N}</td><td>{E(Reporting.Format.Metric(name, st.Mean))}</td>" +
                        $"<td>{E(Reporting.Format.Metric(name, st.Median))}</td><td>{E(Reporting.Format.Interval(name, st))}</td><td>{E(Reporting.Format.Metric(name, st.Min))}</td>" +
                        $"<td>{E(Reporting.Format.Metric(name, st.Max))}</td><td>{E(Reporting.Format.Percent(st.CvPercent))}</td></tr>");
        }
        w.WriteLine("</tbody></table>");
        if (s.MergedLatencyUs.Count > 0)
        {
            w.WriteLine($"<p>Latency over {Reporting.Format.Number(s.MergedLatencyCount, 0)} transactions (merged histogram): " +
                        E(string.Join(", ", s.MergedLatencyUs.Select(p => $"{p.Key} {Reporting.Format.Number(p.Value, 1)} µs"))) + ".</p>");
        }
    }

    private static string Latency(CaseSummary s, string p) => s.MergedLatencyUs.TryGetValue(p, out var v) ? E(Reporting.Format.Number(v, 1)) : "";

    private static string E(string text) => WebUtility.HtmlEncode(text);

    private static string Slug(string text) => new(text.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-').ToArray());
}
