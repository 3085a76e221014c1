using System.Globalization;
using CniBench.Cli.Charts;
using CniBench.Cli.Reporting;
using CniBench.Cli.Results;
using CniBench.Cli.Transfer;

namespace CniBench.Cli.Features.Transfer;

/// <summary>
/// The transfer section of a report: under each suite with transfer cases, per-deployment tx/rx, where the bytes went
/// by class, the top talkers and the cost at <paramref name="prices"/> (when given); beside the report, transfer.csv;
/// in each case, a chart from zone to zone.
/// </summary>
public sealed class TransferSection(PriceTable? prices) : IReportSection, ICaseCharts
{
    public string Id => TransferData.Key;

    public string Title => "Transfer: where the bytes went";

    public IReadOnlyList<ReportTable> Tables(IReadOnlyList<CaseResult> suiteResults) =>
        TransferSummary.From(suiteResults) is { Count: > 0 } summaries ? TransferTables.For(summaries, prices) : [];

    public IEnumerable<(string File, Action<TextWriter> Write)> CsvFiles(IReadOnlyList<CaseResult> results)
    {
        var summaries = TransferSummary.From(results);
        if (summaries.Count > 0)
            yield return ("transfer.csv", w => WriteCsv(summaries, w));
    }

    public IEnumerable<Chart> ChartsOf(string caseName, IReadOnlyList<CaseResult> results, string idPrefix) =>
        TransferSummary.From(results).Select(t => t.ZoneChart(idPrefix));

    /// <summary>Where every byte of the transfer cases went, in long form: kind pod-sent, pod-received (from = the
    /// pod, detail = role node zone), class (from = family, to = class, detail = benchmark or other) and zone (from,
    /// to).</summary>
    public static void WriteCsv(IReadOnlyList<TransferSummary> summaries, TextWriter w)
    {
        using var csv = CsvExporter.Open(w);
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
        foreach (var t in summaries)
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
}
