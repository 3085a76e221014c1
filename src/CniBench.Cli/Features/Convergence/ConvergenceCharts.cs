using CniBench.Cli.Charts;
using CniBench.Cli.Results;

namespace CniBench.Cli.Features.Convergence;

/// <summary>A convergence case's chart: for the first repetition of each configuration, a line per node of the time
/// to reach each new endpoint.</summary>
public sealed class ConvergenceCharts : ICaseCharts
{
    public IEnumerable<Chart> ChartsOf(string caseName, IReadOnlyList<CaseResult> results, string idPrefix)
    {
        bool manyConfigs = results.Select(r => r.Config).Distinct().Count() > 1;
        // Convergence cases: the first repetition of each configuration, a line per node.
        var timelines = results
            .Select(r => (Result: r, Data: r.Extension<ConvergenceData>(ConvergenceFeature.Key)))
            .Where(r => r.Data is not null)
            .GroupBy(r => r.Result.Config)
            .Select(g => g.OrderBy(r => r.Result.Repetition).First())
            .SelectMany(r =>
                r.Data!.Nodes.Select(n =>
                    (
                        Node: manyConfigs ? $"{r.Result.Config} {n.Node}" : n.Node,
                        Events: (IReadOnlyList<(int, double)>)
                            n
                                .ReachedMs.Select((ms, i) => (i + 1, ms ?? double.NaN))
                                .Where((_, i) => r.Data.Changes[i].Added is not null)
                                .ToArray()
                    )
                )
            )
            .Take(ReportCharts.MaxSeries)
            .ToArray();
        if (timelines.Length > 0)
            yield return new Chart(
                $"{idPrefix}convergence",
                $"{caseName}: time to reach each new endpoint",
                ConvergenceTimeline(
                    $"{caseName}: ms from each endpoint change to the first success at the new endpoint, per node",
                    timelines
                )
            );
    }

    /// <summary>Milliseconds from each endpoint change to the first success seen by each node (convergence
    /// suite).</summary>
    public static string ConvergenceTimeline(
        string title,
        IReadOnlyList<(string Node, IReadOnlyList<(int Change, double Milliseconds)> Events)> nodes
    ) =>
        LineChart.Render(
            title,
            "endpoint change #",
            "ms to first success",
            nodes
                .Select(n => new LineSeries(
                    n.Node,
                    n.Events.Select(e => new LinePoint(e.Change, e.Milliseconds)).ToArray()
                ))
                .ToArray()
        );
}
