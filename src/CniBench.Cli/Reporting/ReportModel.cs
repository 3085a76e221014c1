using CniBench.Cli.Analysis;
using CniBench.Cli.Charts;
using CniBench.Cli.Running;
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
    IReadOnlyDictionary<string, IReadOnlyList<Chart>> CaseCharts)
{
    public IReadOnlyDictionary<string, string> Environment => Runs[0].Environment;

    public IEnumerable<IGrouping<string, CaseSummary>> BySuite => Summaries.GroupBy(s => s.Suite);

    public static string CaseKey(string suite, string caseName) => $"{suite}/{caseName}";

    public static ReportModel Load(ResultStore store, string runId) => Load(store, [runId], []);

    /// <summary>The given runs and every result under the given configuration labels; with neither, the newest run.</summary>
    public static ReportModel Load(ResultStore store, IReadOnlyList<string> runIds, IReadOnlyList<string> configs)
    {
        if (runIds.Count == 0 && configs.Count == 0)
            runIds = [store.ListRuns().FirstOrDefault()?.Id ?? throw new StoreException("no runs stored yet; 'cnibench run' makes one")];
        var results = new List<CaseResult>();
        foreach (var id in runIds)
        {
            if (store.FindRun(id) is null) throw new StoreException($"no run '{id}' in the database; 'cnibench runs list' shows the runs there");
            results.AddRange(store.Results(id));
        }
        foreach (var config in configs)
        {
            var byConfig = store.ResultsForConfig(config);
            if (byConfig.Count == 0)
                throw new StoreException($"no results with configuration label '{config}'; allowed: {string.Join(", ", store.ConfigLabels())}");
            results.AddRange(byConfig.Where(r => !results.Any(x => x.RunId == r.RunId && x.Case == r.Case && x.Repetition == r.Repetition)));
        }
        var runs = results.Select(r => r.RunId).Concat(runIds).Distinct().Select(id => store.FindRun(id)!).ToArray();
        return Build(runs, results);
    }

    public static ReportModel Build(IReadOnlyList<RunRecord> runs, IReadOnlyList<CaseResult> results)
    {
        var summaries = CaseSummary.From(results);
        var findings = runs.SelectMany(r => Analysers.EnvironmentFindings(r.Environment)).Distinct()
            .Concat(Analysers.Run(summaries, results, runs[0].Environment).Where(f => f.Case is not null)).ToArray();
        var summaryCharts = summaries.GroupBy(s => s.Suite).SelectMany(g => ReportCharts.Summary(g.ToArray(), $"{ReportCharts.Slug(g.Key)}-summary-")).ToArray();
        var caseCharts = summaries.GroupBy(s => (s.Suite, s.Case)).ToDictionary(
            g => CaseKey(g.Key.Suite, g.Key.Case),
            g => ReportCharts.ForCase(g.Key.Case, g.ToArray(), results.Where(r => r.Suite == g.Key.Suite && r.Case == g.Key.Case).ToArray(),
                $"{ReportCharts.Slug(g.Key.Suite)}-{ReportCharts.Slug(g.Key.Case)}-"));
        return new ReportModel(runs, results, summaries, findings, summaryCharts, caseCharts);
    }

    public IEnumerable<Chart> AllCharts => SummaryCharts.Concat(CaseCharts.Values.SelectMany(c => c));
}
