using CniBench.Cli.Analysis;
using CniBench.Cli.Running;
using CniBench.Cli.Storage;

namespace CniBench.Cli.Reporting;

/// <summary>Everything a report shows, built from the store alone.</summary>
public sealed record ReportModel(RunRecord Run, IReadOnlyList<CaseResult> Results, IReadOnlyList<CaseSummary> Summaries)
{
    public static ReportModel Load(ResultStore store, string runId)
    {
        var run = store.FindRun(runId) ?? throw new StoreException($"no run '{runId}' in the database; 'cnibench runs list' shows the runs there");
        var results = store.Results(runId);
        return new ReportModel(run, results, CaseSummary.From(results));
    }
}
