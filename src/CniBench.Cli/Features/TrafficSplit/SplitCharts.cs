using CniBench.Cli.Charts;
using CniBench.Cli.Results;

namespace CniBench.Cli.Features.TrafficSplit;

/// <summary>A traffic-split case's chart: each backend's share per window against the configured share.</summary>
public sealed class SplitCharts : ICaseCharts
{
    public IEnumerable<Chart> ChartsOf(string caseName, IReadOnlyList<CaseResult> results, string idPrefix)
    {
        bool manyConfigs = results.Select(r => r.Config).Distinct().Count() > 1;
        // Traffic-split cases: each backend's share per 5-second window (first repetition of each configuration)
        // against the configured share.
        var splits = results
            .Where(r =>
                r.Client.Result?.BackendWindows is not null
                && r.Parameters.TryGetValue("weights", out var w)
                && SplitWeights.TryParse(w, out _)
            )
            .GroupBy(r => r.Config)
            .Select(g => g.OrderBy(r => r.Repetition).First())
            .ToArray();
        if (splits.Length > 0 && SplitWeights.TryParse(splits[0].Parameters["weights"], out var weights))
        {
            var lines = splits
                .SelectMany(r =>
                    r.Client.Result!.Backends.Keys.Order(StringComparer.Ordinal)
                        .Select(b =>
                            (
                                Backend: manyConfigs ? $"{r.Config} {b}" : b,
                                Windows: SplitAnalysis.Shares(r.Client.Result!, b)
                            )
                        )
                )
                .Take(ReportCharts.MaxSeries)
                .ToArray();
            yield return new Chart(
                $"{idPrefix}split",
                $"{caseName}: share of each backend per "
                    + $"{Contracts.Protocol.JobResult.BackendWindowSeconds}-second window",
                SplitRatio(
                    $"{caseName}: % of answers per backend and window (weights {weights})",
                    lines,
                    weights.SharePercentB
                )
            );
        }
    }

    /// <summary>Share of requests answered by one backend per time window against the configured weight (traffic-split
    /// suite).</summary>
    public static string SplitRatio(
        string title,
        IReadOnlyList<(
            string Backend,
            IReadOnlyList<(double WindowStartSeconds, double SharePercent)> Windows
        )> backends,
        double configuredPercent
    ) =>
        LineChart.Render(
            title,
            "window start (s)",
            "% of responses",
            backends
                .Select(b => new LineSeries(
                    b.Backend,
                    b.Windows.Select(w => new LinePoint(w.WindowStartSeconds, w.SharePercent)).ToArray()
                ))
                .ToArray(),
            reference: configuredPercent,
            referenceLabel: $"configured {Svg.Label(configuredPercent)}%"
        );
}
