using System.Globalization;
using CniBench.Cli.Reporting;
using CniBench.Tests.Support;

namespace CniBench.Tests.Reporting;

/// <summary>
/// Every exporter's output for a fixed model, compared byte for byte with a checked-in snapshot under
/// two real cultures: a decimal comma or another thousands separator must never leak into a report.
/// </summary>
[Trait(Category.Name, Category.Unit)]
public class ExporterSnapshotTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (var culture in new[] { "de-DE", "en-US" })
        foreach (var file in new[] { "report.md", "summary.csv", "results.csv" })
            data.Add(culture, file);
        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Output_matches_the_snapshot_in_every_culture(string culture, string file)
    {
        // Real culture data (ICU), or this test would prove nothing.
        Assert.Equal(",", new CultureInfo("de-DE").NumberFormat.NumberDecimalSeparator);
        using var dir = new TempDirectory();
        var model = BrowserReportTests.ChartedModel(dir);
        var before = CultureInfo.CurrentCulture;
        try
        {
            CultureInfo.CurrentCulture = CultureInfo.CurrentUICulture = new CultureInfo(culture);
            ReportWriter.WriteAll(model, dir.Path, ["md", "csv", "json", "html"]);
        }
        finally
        {
            CultureInfo.CurrentCulture = CultureInfo.CurrentUICulture = before;
        }
        var actual = File.ReadAllText(Path.Combine(dir.Path, file));
        var snapshot = Path.Combine(
            Scenarios.ScenarioLoaderTests.RepositoryRoot(),
            "tests",
            "CniBench.Tests",
            "Snapshots",
            file
        );
        if (!File.Exists(snapshot) || File.ReadAllText(snapshot) != actual)
        {
            File.WriteAllText(snapshot + ".received", actual);
            Assert.Fail(
                $"{file} under {culture} differs from {snapshot}; the output was written to {snapshot}.received"
            );
        }
    }
}
