using CniBench.Cli.Results;

namespace CniBench.Cli.Charts;

/// <summary>Charts a suite's feature adds to a case's section of a report, from the case's stored results
/// alone.</summary>
public interface ICaseCharts
{
    /// <param name="idPrefix">Starts each chart's id (its file name), unique to the case.</param>
    IEnumerable<Chart> ChartsOf(string caseName, IReadOnlyList<CaseResult> results, string idPrefix);
}
