using System.Globalization;
using CniBench.Contracts.Measurement;
using CsvHelper;

namespace CniBench.Cli.Reporting;

/// <summary>
/// CSV for pandas and spreadsheets, in the invariant culture: results.csv has one row per
/// repetition and metric; summary.csv one row per case, configuration and metric with its statistics; and the files of
/// the report's sections (transfer.csv).
/// </summary>
public sealed class CsvExporter : IReportExporter
{
    public string Format => "csv";

    public IReadOnlyList<string> Write(ReportModel model, string directory) =>
        [
            ReportWriter.WriteText(directory, "results.csv", w => WriteResults(model, w)),
            ReportWriter.WriteText(directory, "summary.csv", w => WriteSummary(model, w)),
            .. model
                .Sections.SelectMany(section => section.CsvFiles(model.Results))
                .Select(file => ReportWriter.WriteText(directory, file.File, file.Write)),
        ];

    /// <summary>Every field is written as text already formatted in the invariant culture; the writer only
    /// quotes.</summary>
    public static CsvWriter Open(TextWriter w) =>
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
