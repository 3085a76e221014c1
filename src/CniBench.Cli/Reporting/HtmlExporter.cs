using System.Net;
using System.Text.Json;
using CniBench.Cli.Analysis;
using CniBench.Cli.Charts;
using CniBench.Cli.Results;
using CniBench.Contracts.Measurement;

namespace CniBench.Cli.Reporting;

/// <summary>
/// One self-contained HTML file (no scripts, styles or fonts from the network): summary and findings
/// first, then one section per suite with its charts as inline SVG, one part per case, and the whole
/// stored data embedded as JSON so nothing is lost. Each chart is also written as its own .svg file.
/// </summary>
public sealed class HtmlExporter : IReportExporter
{
    public string Format => "html";

    private const string Style = """
        body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:80rem;
          padding:0 1rem;color:#1b1b1b}
        h1{font-size:1.6rem}h2{font-size:1.3rem;margin-top:2.5rem;border-bottom:1px solid #ddd}
        h3{font-size:1.1rem;margin-top:1.8rem}
        table{border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
        th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}th{background:#f2f2f2}
        td:first-child,th:first-child{text-align:left}.failed{color:#b00020}.meta{color:#555}
        .warning{color:#8a4b00}.charts{display:flex;flex-wrap:wrap;gap:1rem}
        .charts svg{max-width:100%;height:auto;border:1px solid #eee}
        @media print{.charts svg{page-break-inside:avoid}}
        """;

    public IReadOnlyList<string> Write(ReportModel model, string directory) =>
        [
            ReportWriter.WriteText(directory, "report.html", w => Write(model, w)),
            .. ReportWriter.WriteCharts(model, directory),
        ];

    public static void Write(ReportModel model, TextWriter w)
    {
        string suites = string.Join(", ", model.Runs.Select(r => r.Suite).Distinct());
        w.WriteLine("<!DOCTYPE html>");
        w.WriteLine(
            "<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, "
                + "initial-scale=1\">"
        );
        w.WriteLine($"<title>CniBench report — {E(suites)}</title>");
        w.WriteLine($"<style>{Style}</style></head><body>");
        w.WriteLine($"<h1>CniBench report — {E(suites)}</h1>");
        w.WriteLine("<ul class=\"meta\" id=\"runs\">");
        foreach (var run in model.Runs)
            w.WriteLine(
                $"<li>run <code>{E(run.Id)}</code>: {E(run.Suite)} on <code>{E(run.Target)}</code>, configuration "
                    + $"<code>{E(run.Config)}</code>, {E(Reporting.Format.Time(run.StartedAt))} → "
                    + $"{E(Reporting.Format.Time(run.FinishedAt))}, "
                    + $"<strong>{E(run.State.ToString().ToLowerInvariant())}</strong></li>"
            );
        w.WriteLine(
            $"</ul><p class=\"meta\">Means over repetitions with 95% confidence intervals "
                + $"({E(Reporting.Format.IntervalMethods(model.Summaries))}); latency percentiles from merged "
                + $"histograms.</p>"
        );

        if (model.Findings.Count > 0)
        {
            w.WriteLine("<h2 id=\"findings\">Hints and warnings</h2><ul>");
            string Subject(Finding f) =>
                Reporting.Format.FindingSubject(f, model.SeveralConfigs, c => $"<code>{E(c)}</code>", E);
            // One block per kind: the same warning over many cases is read once, with the cases under it.
            foreach (var d in FindingDigest.Of(model.Findings, model.Summaries, model.Results))
            {
                w.Write(
                    $"<li class=\"{(d.Severity == Severity.Warning ? "warning" : "info")}\" "
                        + $"data-code=\"{E(d.Code)}\"><strong>{E(d.Severity.ToString().ToLowerInvariant())}</strong> "
                );
                if (d.SaidOnce)
                {
                    w.WriteLine($"{E(d.Line)}</li>");
                    continue;
                }
                if (d.Findings.Count == 1)
                {
                    var f = d.Findings[0];
                    w.WriteLine($"{Subject(f)}{E(f.Message)}</li>");
                    continue;
                }
                w.WriteLine($"{E(d.Heading)}:<ul>");
                foreach (var f in d.Findings)
                    w.WriteLine($"<li>{Subject(f)}{E(f.Message)}</li>");
                w.WriteLine("</ul></li>");
            }
            w.WriteLine("</ul>");
        }

        foreach (var suite in model.BySuite)
        {
            string slug = ReportCharts.Slug(suite.Key);
            w.WriteLine($"<h2 id=\"suite-{E(slug)}\">{E(suite.Key)}</h2>");
            var columns = Reporting.Format.ColumnsFor(suite);
            w.WriteLine(
                "<table class=\"summary-table\"><thead><tr><th>case</th><th>config</th><th>ok/runs</th>"
                    + string.Concat(columns.Select(c => $"<th title=\"{E(c.Metric)}\">{E(c.Header)}</th>"))
                    + "<th>p50 µs</th><th>p99 µs</th></tr></thead><tbody>"
            );
            foreach (var s in suite)
            {
                w.Write(
                    $"<tr><td>{E(s.Case)}</td><td>{E(s.Config)}</td><td{(s.Failed > 0 ? " class=\"failed\"" : "")}>"
                        + $"{s.Repetitions - s.Failed}/{s.Repetitions}</td>"
                );
                foreach (var (m, _) in columns)
                {
                    string cell = s.Metrics.TryGetValue(m, out var st)
                        ? E(Reporting.Format.MeanWithInterval(m, st))
                        : "";
                    w.Write($"<td>{cell}</td>");
                }
                w.WriteLine($"<td>{Latency(s, "p50")}</td><td>{Latency(s, "p99")}</td></tr>");
            }
            w.WriteLine("</tbody></table>");
            WriteCharts(w, model.SummaryCharts.Where(c => c.Id.StartsWith(slug + "-", StringComparison.Ordinal)));
            foreach (var (section, tables) in model.SectionsOf(suite.Key))
                WriteSection(w, section, tables, slug);

            foreach (var byCase in suite.GroupBy(s => s.Case))
            {
                w.WriteLine($"<h3 id=\"case-{E(slug)}-{E(ReportCharts.Slug(byCase.Key))}\">{E(byCase.Key)}</h3>");
                foreach (var s in byCase)
                    WriteCase(w, s);
                WriteCharts(w, model.CaseCharts.GetValueOrDefault(ReportModel.CaseKey(suite.Key, byCase.Key)) ?? []);
            }
        }

        w.WriteLine("<h2 id=\"environment\">Environment</h2><table><tbody>");
        foreach (var (key, value) in model.Environment.OrderBy(e => e.Key, StringComparer.Ordinal))
            w.WriteLine($"<tr><td>{E(key)}</td><td style=\"text-align:left\">{E(value)}</td></tr>");
        w.WriteLine("</tbody></table>");

        // The whole stored data, so a reader (or a script) can recompute anything from this file alone.
        var data = JsonSerializer
            .Serialize(
                new
                {
                    runs = model.Runs,
                    results = model.Results,
                    findings = model.Findings,
                },
                StoreJson.Options
            )
            .Replace("</", "<\\/", StringComparison.Ordinal);
        w.WriteLine($"<script type=\"application/json\" id=\"cnibench-data\">{data}</script>");
        w.WriteLine("</body></html>");
    }

    private static void WriteCharts(TextWriter w, IEnumerable<Chart> charts)
    {
        var list = charts.ToList();
        if (list.Count == 0)
            return;
        w.WriteLine("<div class=\"charts\">");
        foreach (var c in list)
            w.WriteLine($"<figure id=\"chart-{E(c.Id)}\" style=\"margin:0\">{c.Svg}</figure>");
        w.WriteLine("</div>");
    }

    private static void WriteSection(
        TextWriter w,
        IReportSection section,
        IReadOnlyList<ReportTable> tables,
        string slug
    )
    {
        w.WriteLine($"<h3 id=\"{E(section.Id)}-{E(slug)}\">{E(section.Title)}</h3>");
        foreach (var table in tables)
        {
            w.WriteLine($"<p class=\"meta\">{E(table.Caption)}</p>");
            if (table.Headers.Count == 0)
                continue;
            w.WriteLine(
                $"<table class=\"{E(table.Id)}\"><thead><tr>"
                    + string.Concat(table.Headers.Select(h => $"<th>{E(h)}</th>"))
                    + "</tr></thead><tbody>"
            );
            foreach (var row in table.Rows)
                w.WriteLine($"<tr>{string.Concat(row.Select(c => $"<td>{E(c)}</td>"))}</tr>");
            w.WriteLine("</tbody></table>");
        }
    }

    private static void WriteCase(TextWriter w, CaseSummary s)
    {
        w.WriteLine(
            $"<p><strong>{E(s.Config)}</strong> <span class=\"meta\">({E(s.Workload)}, "
                + $"{s.Repetitions - s.Failed}/{s.Repetitions} ok)</span></p>"
        );
        foreach (var reason in s.FailureReasons)
            w.WriteLine($"<p class=\"failed\">failed {E(reason)}</p>");
        if (s.Metrics.Count == 0)
        {
            w.WriteLine("<p>No successful repetition.</p>");
            return;
        }
        w.WriteLine(
            "<table class=\"case-metrics\"><thead><tr>"
                + "<th>metric</th><th>unit</th><th>n</th><th>mean</th><th>median</th><th>95% CI</th><th>min</th>"
                + "<th>max</th><th>CV</th><th>truncated mean</th></tr></thead><tbody>"
        );
        foreach (var (name, st) in s.Metrics)
        {
            w.WriteLine(
                $"<tr><td>{E(name)}</td><td>{E(Metrics.Describe(name).Unit)}</td><td>{st.N}</td><td>"
                    + $"{E(Reporting.Format.Metric(name, st.Mean))}</td>"
                    + $"<td>{E(Reporting.Format.Metric(name, st.Median))}</td><td>"
                    + $"{E(Reporting.Format.Interval(name, st))}</td><td>"
                    + $"{E(Reporting.Format.Metric(name, st.Min))}</td>"
                    + $"<td>{E(Reporting.Format.Metric(name, st.Max))}</td><td>"
                    + $"{E(Reporting.Format.Percent(st.CvPercent))}</td><td>"
                    + $"{E(Reporting.Format.TruncatedMean(name, st))}</td></tr>"
            );
        }
        w.WriteLine("</tbody></table>");
        if (Reporting.Format.MergedLatencySentence(s) is { } latency)
            w.WriteLine($"<p>{E(latency)}</p>");
    }

    private static string Latency(CaseSummary s, string p) => E(Reporting.Format.Percentile(s, p));

    private static string E(string text) => WebUtility.HtmlEncode(text);
}
