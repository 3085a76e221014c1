using CniBench.Cli.Analysis;
using CniBench.Cli.Results;
using CniBench.Contracts.Measurement;

namespace CniBench.Cli.Charts;

/// <summary>A chart of a report: its id (also its .svg file name) and the SVG itself.</summary>
public sealed record Chart(string Id, string Title, string Svg);

/// <summary>Which charts a report shows, built from summaries and stored results only.</summary>
public static class ReportCharts
{
    /// <summary>Past eight lines a chart is unreadable.</summary>
    public const int MaxSeries = 8;
    private static readonly string[] BarMetrics =
    [
        Metrics.ThroughputGbps,
        Metrics.TransactionsPerSecond,
        Metrics.HostCpuPerGbps,
        Metrics.HostCpuPer100kTps,
    ];

    /// <summary>Panels of one bar chart never span more than this factor between their highest and lowest case:
    /// past it, the small bars are flat lines.</summary>
    public const double PanelSpan = 100;

    /// <summary>Bars per case and configuration with 95% CI error bars, as in the Cilium guide's figures; cases whose
    /// values differ by more than <see cref="PanelSpan"/>× go to panels of their own order of magnitude.</summary>
    public static IReadOnlyList<Chart> Summary(IReadOnlyList<CaseSummary> summaries, string idPrefix)
    {
        var charts = new List<Chart>();
        foreach (var metric in BarMetrics)
        {
            var groups = summaries
                .Where(s => s.Metrics.ContainsKey(metric))
                .GroupBy(s => s.Case)
                .Select(g => new BarGroup(g.Key, g.Select(s => Bar(s, metric)).ToArray()))
                .ToArray();
            if (groups.Length == 0)
                continue;
            var d = Metrics.Describe(metric);
            var panels = Panels(groups);
            for (int i = 0; i < panels.Count; i++)
            {
                string title =
                    $"{d.Description} ({d.Unit})"
                    + (panels.Count > 1 ? $", panel {i + 1} of {panels.Count} (cases within {PanelSpan:0}×)" : "");
                charts.Add(
                    new Chart(
                        $"{idPrefix}{Slug(metric)}{(i == 0 ? "" : $"-{i + 1}")}",
                        title,
                        BarChart.Render(title, $"{d.Unit}, mean with 95% CI", panels[i], "case")
                    )
                );
            }
        }
        charts.AddRange(ScaleCurves(summaries, idPrefix));
        return charts;
    }

    /// <summary>Groups from highest to lowest, a new panel whenever one falls below the panel's top / span.</summary>
    private static List<BarGroup[]> Panels(IReadOnlyList<BarGroup> groups)
    {
        static double Top(BarGroup g) => g.Bars.Select(b => b.Value).Where(double.IsFinite).DefaultIfEmpty(0).Max();
        var panels = new List<List<BarGroup>>();
        foreach (var g in groups.OrderByDescending(Top))
        {
            if (panels.Count == 0 || Top(g) * PanelSpan < Top(panels[^1][0]) && Top(g) > 0)
                panels.Add([]);
            panels[^1].Add(g);
        }
        // Each panel keeps the cases in the report's order.
        return panels.Select(p => groups.Where(p.Contains).ToArray()).ToList();
    }

    private static readonly string[] ScaleMetrics =
    [
        Metrics.TransactionsPerSecond,
        Metrics.ProgramTableMs,
        Metrics.AddServiceMs,
        Metrics.ServiceReachableMs,
    ];
    private static readonly System.Text.RegularExpressions.Regex ServicesInName = new(
        @"(^|,|/)services=(\d+)(,|$)",
        System.Text.RegularExpressions.RegexOptions.CultureInvariant
    );

    /// <summary>
    /// The service-scale curves: a metric against the number of services, a line per case family (the case
    /// name without its services= part) and configuration. Only when a family has at least two sizes.
    /// </summary>
    private static string WithoutServices(string caseName)
    {
        int slash = caseName.IndexOf('/');
        if (slash < 0)
            return caseName;
        var rest = caseName[(slash + 1)..]
            .Split(',')
            .Where(p => !p.StartsWith("services=", StringComparison.Ordinal))
            .ToArray();
        return rest.Length == 0 ? caseName[..slash] : $"{caseName[..slash]}/{string.Join(',', rest)}";
    }

    public static IReadOnlyList<Chart> ScaleCurves(IReadOnlyList<CaseSummary> summaries, string idPrefix)
    {
        var charts = new List<Chart>();
        foreach (var metric in ScaleMetrics)
        {
            var series = summaries
                .Select(s => (Summary: s, Match: ServicesInName.Match(s.Case)))
                .Where(x => x.Match.Success && x.Summary.Metrics.ContainsKey(metric))
                .GroupBy(x => $"{WithoutServices(x.Summary.Case)} {x.Summary.Config}")
                .Select(g => new LineSeries(
                    g.Key,
                    g.Select(x => new LinePoint(
                            double.Parse(x.Match.Groups[2].Value, System.Globalization.CultureInfo.InvariantCulture),
                            x.Summary.Metrics[metric].Mean
                        ))
                        .OrderBy(p => p.X)
                        .ToArray()
                ))
                .Where(l => l.Points.Count >= 2)
                .Take(MaxSeries)
                .ToArray();
            if (series.Length == 0)
                continue;
            var d = Metrics.Describe(metric);
            string title = $"{d.Description} against the number of services";
            charts.Add(
                new Chart(
                    $"{idPrefix}scale-{Slug(metric)}",
                    title,
                    LineChart.Render(title, "services", $"{d.Unit} (mean)", series)
                )
            );
        }
        return charts;
    }

    private static BarValue Bar(CaseSummary s, string metric)
    {
        var st = s.Metrics[metric];
        return st.Unstable ? new BarValue(s.Config, st.Mean, Unstable: true)
            : st.HasInterval ? new BarValue(s.Config, st.Mean, st.CiLow, st.CiHigh)
            : new BarValue(s.Config, st.Mean);
    }

    /// <summary>Per-second rate of every repetition (warm-up at negative times), and the merged percentile spectrum per
    /// configuration.</summary>
    public static IReadOnlyList<Chart> ForCase(
        string caseName,
        IReadOnlyList<CaseSummary> summaries,
        IReadOnlyList<CaseResult> results,
        string idPrefix,
        IReadOnlyList<ICaseCharts>? contributed = null
    )
    {
        var charts = new List<Chart>();
        bool stream = results.Count > 0 && Contracts.Workloads.WorkloadNames.IsStream(results[0].Workload.Kind);
        string unit = stream ? "Gbit/s" : "tx/s";
        // Past eight lines a chart is unreadable: show the first repetitions of each configuration.
        var byConfig = results.GroupBy(r => r.Config).ToArray();
        int perConfig = Math.Max(1, MaxSeries / Math.Max(1, byConfig.Length));
        var shown = byConfig.SelectMany(g => g.OrderBy(r => r.Repetition).Take(perConfig)).ToArray();
        var series = shown
            .Select(r => new LineSeries($"{r.Config} #{r.Repetition}", TimeSeries(r.Client.Samples, stream)))
            .Where(s => s.Points.Count > 0)
            .ToArray();
        string rateTitle =
            $"{caseName}: rate per second"
            + (shown.Length < results.Count ? $" (first {perConfig} repetitions of each configuration)" : "");
        if (series.Length > 0)
            charts.Add(
                new Chart(
                    $"{idPrefix}rate",
                    rateTitle,
                    LineChart.Render(
                        rateTitle,
                        "seconds from the start of the measured window (warm-up below 0)",
                        unit,
                        series
                    )
                )
            );

        var spectra = summaries
            .Where(s => s.MergedLatencyUs.Count > 0)
            .Select(s => new LineSeries(
                s.Config,
                CaseSummary.Percentiles.Select((p, i) => new LinePoint(i, s.MergedLatencyUs[p.Label])).ToArray()
            ))
            .ToArray();
        if (spectra.Length > 0)
            charts.Add(
                new Chart(
                    $"{idPrefix}latency",
                    $"{caseName}: latency percentiles",
                    LineChart.Render(
                        $"{caseName}: latency percentiles (merged histograms)",
                        "percentile",
                        "µs",
                        spectra,
                        xLabels: CaseSummary.Percentiles.Select((p, i) => ((double)i, p.Label)).ToArray()
                    )
                )
            );

        foreach (var feature in contributed ?? [])
            charts.AddRange(feature.ChartsOf(caseName, results, idPrefix));
        return charts;
    }

    /// <summary>Each sample at the middle of the second it covers, the measured window starting at 0: warm-up samples
    /// fall below 0.</summary>
    public static IReadOnlyList<LinePoint> TimeSeries(IReadOnlyList<Sample> samples, bool stream)
    {
        double warmup = samples.Where(s => s.Phase == Phase.Warmup).Sum(s => s.Seconds);
        double start = -warmup;
        var points = new List<LinePoint>();
        foreach (var s in samples)
        {
            double rate =
                s.Seconds <= 0 ? 0
                : stream ? s.Bytes * 8 / s.Seconds / 1e9
                : s.Transactions / s.Seconds;
            points.Add(new LinePoint(Math.Round(start + s.Seconds / 2, 3), rate));
            start += s.Seconds;
        }
        return points;
    }

    public static string Slug(string text) =>
        new(text.Select(c => char.IsAsciiLetterOrDigit(c) ? char.ToLowerInvariant(c) : '-').ToArray());
}
