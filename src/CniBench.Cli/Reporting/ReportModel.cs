using CniBench.Cli.Analysis;
using CniBench.Cli.Charts;
using CniBench.Cli.Results;
using CniBench.Cli.Storage;

namespace CniBench.Cli.Reporting;

/// <summary>
/// Everything a report shows, built from the store alone: the runs, their results, statistics per
/// case and configuration, analysers' findings and the charts. Exporters only format this.
/// </summary>
public sealed record ReportModel(
    IReadOnlyList<RunRecord> Runs,
    IReadOnlyList<CaseResult> Results,
    IReadOnlyList<CaseSummary> Summaries,
    IReadOnlyList<Finding> Findings,
    IReadOnlyList<Chart> SummaryCharts,
    IReadOnlyDictionary<string, IReadOnlyList<Chart>> CaseCharts
)
{
    public IReadOnlyDictionary<string, string> Environment => Runs[0].Environment;

    public bool SeveralConfigs => Summaries.Select(s => s.Config).Distinct().Count() > 1;

    public IEnumerable<IGrouping<string, CaseSummary>> BySuite => Summaries.GroupBy(s => s.Suite);

    public static string CaseKey(string suite, string caseName) => $"{suite}/{caseName}";

    public static ReportModel Load(ResultStore store, string runId, ReportFeatures? features = null) =>
        Load(store, [runId], [], features: features);

    /// <summary>
    /// The given runs (id, unique prefix or `latest`, whatever their state) and every result under the given
    /// configuration labels (completed runs only unless <paramref name="includeIncomplete"/>); with neither,
    /// the newest completed run.
    /// </summary>
    public static ReportModel Load(
        ResultStore store,
        IReadOnlyList<string> runIds,
        IReadOnlyList<string> configs,
        bool includeIncomplete = false,
        ReportFeatures? features = null
    )
    {
        var selections = runIds
            .Select(id => ResultSelection.OfRun(store, store.ResolveRun(id)))
            .Concat(configs.Select(c => ResultSelection.OfConfig(store, c, includeIncomplete)))
            .ToList();
        if (selections.Count == 0)
            selections.Add(ResultSelection.OfRun(store, ResultSelection.NewestCompleted(store)));
        var results = new List<CaseResult>();
        foreach (var r in selections.SelectMany(s => s.Results))
            if (!results.Any(x => x.RunId == r.RunId && x.Case == r.Case && x.Repetition == r.Repetition))
                results.Add(r);
        var runs = selections.SelectMany(s => s.Runs).DistinctBy(r => r.Id).ToArray();
        return Build(runs, results, features);
    }

    public static ReportModel Build(
        IReadOnlyList<RunRecord> runs,
        IReadOnlyList<CaseResult> results,
        ReportFeatures? features = null
    )
    {
        features ??= ReportFeatures.None;
        var summaries = CaseSummary.From(results, CaseSummary.HostCores(runs));
        var findings = runs.SelectMany(r => Analysers.EnvironmentFindings(r.Environment))
            .Distinct()
            .Concat(Analysers.Run(summaries, results, runs[0].Environment).Where(f => f.Case is not null))
            .ToArray();
        var summaryCharts = summaries
            .GroupBy(s => s.Suite)
            .SelectMany(g => ReportCharts.Summary(g.ToArray(), $"{ReportCharts.Slug(g.Key)}-summary-"))
            .ToArray();
        var caseCharts = summaries
            .GroupBy(s => (s.Suite, s.Case))
            .ToDictionary(
                g => CaseKey(g.Key.Suite, g.Key.Case),
                g =>
                    ReportCharts.ForCase(
                        g.Key.Case,
                        g.ToArray(),
                        results.Where(r => r.Suite == g.Key.Suite && r.Case == g.Key.Case).ToArray(),
                        $"{ReportCharts.Slug(g.Key.Suite)}-{ReportCharts.Slug(g.Key.Case)}-",
                        features.Charts
                    )
            );
        return new ReportModel(runs, results, summaries, findings, summaryCharts, caseCharts)
        {
            Sections = features.Sections,
        };
    }

    public IEnumerable<Chart> AllCharts => SummaryCharts.Concat(CaseCharts.Values.SelectMany(c => c));

    /// <summary>What suite features add under each suite (the transfer section).</summary>
    public IReadOnlyList<IReportSection> Sections { get; init; } = [];

    /// <summary>The sections a suite has, each with its tables.</summary>
    public IReadOnlyList<(IReportSection Section, IReadOnlyList<ReportTable> Tables)> SectionsOf(string suite)
    {
        var suiteResults = Results.Where(r => r.Suite == suite).ToArray();
        return Sections
            .Select(section => (section, section.Tables(suiteResults)))
            .Where(s => s.Item2.Count > 0)
            .ToArray();
    }
}
