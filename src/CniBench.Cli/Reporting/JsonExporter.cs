using System.Text.Json;
using CniBench.Cli.Results;

namespace CniBench.Cli.Reporting;

/// <summary>report.json for dashboards and scripts: runs, per-case statistics, findings, and every stored
/// result.</summary>
public sealed class JsonExporter : IReportExporter
{
    public string Format => "json";

    public IReadOnlyList<string> Write(ReportModel model, string directory) =>
        [ReportWriter.WriteText(directory, "report.json", w => w.Write(
                    JsonSerializer.Serialize(
                        new
                        {
                            runs = model.Runs,
                            summaries = model.Summaries,
                            findings = model.Findings,
                            results = model.Results,
                        },
                        StoreJson.Indented
                    )
                ))];
}
