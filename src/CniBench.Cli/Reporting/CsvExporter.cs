using System.Globalization;
using CniBench.Contracts.Measurement;
using CsvHelper;

namespace CniBench.Cli.Reporting;

/// <summary>
/// CSV for pandas and spreadsheets, in the invariant culture: results.csv has one row per
/// repetition and metric; summary.csv one row per case, configuration and metric with its statistics; transfer.csv
/// (transfer cases only) one row per pod direction, traffic class and zone pair, with its bytes and rate.
/// </summary>
public sealed class CsvExporter : IReportExporter
{
    public string Format => "csv";

    public IReadOnlyList<string> Write(ReportModel model, string directory) =>
        [
            ReportWriter.WriteText(directory, "results.csv", w => WriteResults(model, w)),
            ReportWriter.WriteText(directory, "summary.csv", w => WriteSummary(model, w)),
            .. model.Transfers.Count == 0
                ? Array.Empty<string>()
                : [ReportWriter.WriteText(directory, "transfer.csv", w => WriteTransfer(model, w))],
        ];

    /// <summary>Where every byte of the transfer cases went, in long form: kind pod-sent, pod-received (from = the
    /// pod, detail = role node zone), class (from = family, to = class, detail = benchmark or other) and zone (from,
    /// to).</summary>
    public static void WriteTransfer(ReportModel model, TextWriter w)
    {
        using var csv = Open(w);
        string[] headers =
        [
            "suite",
            "case",
            "config",
            "ip_family",
            "window_s",
            "kind",
            "from",
            "to",
            "detail",
            "bytes",
            "mbit_per_s",
        ];
        foreach (var h in headers)
            csv.WriteField(h);
        csv.EndRecord();
        static string N(double v) => v.ToString("R", CultureInfo.InvariantCulture);
        foreach (var t in model.Transfers)
        {
            var rows = t
                .Pods.SelectMany(p =>
                    new[]
                    {
                        ("pod-sent", p.Pod, "", $"{p.Role} {p.Node} {p.Zone}", p.SentBytes),
                        ("pod-received", p.Pod, "", $"{p.Role} {p.Node} {p.Zone}", p.ReceivedBytes),
                    }
                )
                .Concat(
                    t.Classes.Select(c =>
                        (
                            "class",
                            c.Family,
                            System.Text.Json.JsonNamingPolicy.KebabCaseLower.ConvertName(c.Class.ToString()),
                            c.Benchmark ? "benchmark" : "other",
                            c.Bytes
                        )
                    )
                )
                .Concat(t.Zones.Select(z => ("zone", z.From, z.To, "", z.Bytes)));
            foreach (var (kind, from, to, detail, bytes) in rows)
            {
                foreach (
                    var field in new[]
                    {
                        t.Suite,
                        t.Case,
                        t.Config,
                        t.IpFamily,
                        N(t.WindowSeconds),
                        kind,
                        from,
                        to,
                        detail,
                        bytes.ToString(CultureInfo.InvariantCulture),
                        N(t.Mbps(bytes)),
                    }
                )
                    csv.WriteField(field);
                csv.EndRecord();
            }
        }
    }

    /// <summary>Every field is written as text already formatted in the invariant culture; the writer only
    /// quotes.</summary>
    private static CsvWriter Open(TextWriter w) =>
        CsvWriter.Create(
            w,
            new CsvWriterOptions { FormatProvider = CultureInfo.InvariantCulture, NewLine = "\n" },
            true
        );

    public static void WriteResults(ReportModel model, TextWriter w)
    {
        using var csv = Open(w);
        foreach (
            var h in new[]
            {
                "run_id",
                "suite",
                "case",
                "config",
                "workload",
                "repetition",
                "state",
                "metric",
                "unit",
                "value",
            }
        )
            csv.WriteField(h);
        csv.EndRecord();
        foreach (var r in model.Results)
        {
            foreach (var (metric, value) in r.Metrics.OrderBy(m => m.Key, StringComparer.Ordinal))
            {
                foreach (
                    var field in new[]
                    {
                        r.RunId,
                        r.Suite,
                        r.Case,
                        r.Config,
                        Contracts.Workloads.WorkloadNames.ToName(r.Workload.Kind),
                        r.Repetition.ToString(CultureInfo.InvariantCulture),
                        r.State.ToString().ToLowerInvariant(),
                        metric,
                        Metrics.Describe(metric).Unit,
                    }
                )
                    csv.WriteField(field);
                csv.WriteField(value.ToString("R", CultureInfo.InvariantCulture));
                csv.EndRecord();
            }
        }
    }

    public static void WriteSummary(ReportModel model, TextWriter w)
    {
        using var csv = Open(w);
        foreach (
            var h in new[]
            {
                "suite",
                "case",
                "config",
                "metric",
                "unit",
                "n",
                "mean",
                "median",
                "stddev",
                "ci_low",
                "ci_high",
                "min",
                "max",
                "cv_percent",
                "truncated_mean",
                "dropped_repetitions",
                "ci95_method",
                "unstable",
            }
        )
            csv.WriteField(h);
        csv.EndRecord();
        static string N(double v) => double.IsNaN(v) ? "" : v.ToString("R", CultureInfo.InvariantCulture);
        foreach (var s in model.Summaries)
        {
            foreach (var (metric, st) in s.Metrics)
            {
                foreach (
                    var field in new[]
                    {
                        s.Suite,
                        s.Case,
                        s.Config,
                        metric,
                        Metrics.Describe(metric).Unit,
                        st.N.ToString(CultureInfo.InvariantCulture),
                        N(st.Mean),
                        N(st.Median),
                        N(st.StdDev),
                        N(st.CiLow),
                        N(st.CiHigh),
                        N(st.Min),
                        N(st.Max),
                        N(st.CvPercent),
                        N(st.TruncatedMean),
                        string.Join(" ", st.DroppedRepetitions),
                        st.HasInterval
                            ? System.Text.Json.JsonNamingPolicy.KebabCaseLower.ConvertName(st.Method.ToString())
                            : "",
                        st.Unstable ? "true" : "false",
                    }
                )
                    csv.WriteField(field);
                csv.EndRecord();
            }
        }
    }
}
