using CniBench.Cli.Charts;
using CniBench.Cli.Results;

namespace CniBench.Cli.Reporting;

/// <summary>A table of a report section as plain cells, so every format shows the same numbers.</summary>
public sealed record ReportTable(
    string Id,
    string Caption,
    IReadOnlyList<string> Headers,
    IReadOnlyList<string[]> Rows
);

/// <summary>A section a suite's feature adds under each suite of a report, and the files it writes beside
/// it.</summary>
public interface IReportSection
{
    /// <summary>Starts its anchors and table classes ("transfer").</summary>
    string Id { get; }

    string Title { get; }

    /// <summary>Its tables for one suite's results; none when the suite has nothing of it.</summary>
    IReadOnlyList<ReportTable> Tables(IReadOnlyList<CaseResult> suiteResults);

    /// <summary>The CSV files it adds to a report of these results (name and writer); none when they have nothing of
    /// it.</summary>
    IEnumerable<(string File, Action<TextWriter> Write)> CsvFiles(IReadOnlyList<CaseResult> results) => [];
}

/// <summary>What suite features add to a report: charts to a case's section, sections under a suite.</summary>
public sealed record ReportFeatures(IReadOnlyList<ICaseCharts> Charts, IReadOnlyList<IReportSection> Sections)
{
    public static readonly ReportFeatures None = new([], []);
}
