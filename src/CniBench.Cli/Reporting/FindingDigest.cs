using System.Globalization;
using CniBench.Cli.Analysis;
using CniBench.Cli.Results;
using CniBench.Contracts.Measurement;

namespace CniBench.Cli.Reporting;

/// <summary>
/// One kind of finding over a whole run: how many cases it hit, which, and what it says of the worst — what the
/// terminal prints at the end of a run instead of the same warning case after case.
/// </summary>
/// <param name="Heading">"machine busy in 11/11 cases": what a report's block of this kind starts with.</param>
/// <param name="Line">The heading with the worst figure and the cases: the terminal's one line.</param>
/// <param name="Findings">Every finding of the kind, for a report that lists them under the heading.</param>
public sealed record FindingDigest(
    string Code,
    Severity Severity,
    IReadOnlyList<string> Cases,
    string Heading,
    string Line,
    IReadOnlyList<Finding> Findings
)
{
    /// <summary>Kinds whose findings say the same of every case: a report says them once, in the heading's
    /// line.</summary>
    public bool SaidOnce => Code == "few-repetitions";

    /// <summary>Kinds that describe the conditions of a run rather than the system under test: compare shows them
    /// for each side.</summary>
    public static readonly IReadOnlySet<string> Conditions = new HashSet<string>
    {
        "busy-host",
        "time-wait-ports",
        "conntrack-near-full",
        "listen-drops",
        "high-variation",
    };

    private static readonly Dictionary<string, string> Titles = new()
    {
        ["busy-host"] = "machine busy",
        ["cpu-bound"] = "CPU-bound",
        ["high-variation"] = "unstable (repetitions disagree)",
        ["few-repetitions"] = "no interval (fewer than 3 repetitions)",
        ["failed-repetitions"] = "repetitions failed",
        ["errors"] = "operations failed",
        ["udp-loss"] = "UDP loss",
        ["open-model-behind"] = "open model behind its rate",
        ["outliers"] = "outlier repetitions left out",
        ["placement-not-achieved"] = "placement not achieved",
        ["time-wait-ports"] = "ports held in TIME_WAIT",
        ["conntrack-near-full"] = "conntrack table near full",
        ["listen-drops"] = "listen queue drops",
        ["proxy-busy"] = "kube-proxy busy",
        ["mtu-mismatch"] = "MTU mismatch",
    };

    /// <summary>Findings grouped by kind, warnings first, then the kinds that hit most cases.</summary>
    /// <param name="summaries">The cases the findings are about (for the count and the worst figures).</param>
    /// <param name="results">Their results (for the processes that kept the machine busy).</param>
    public static IReadOnlyList<FindingDigest> Of(
        IReadOnlyList<Finding> findings,
        IReadOnlyList<CaseSummary> summaries,
        IReadOnlyList<CaseResult> results
    ) =>
        findings
            .GroupBy(f => f.Code)
            .Select(g =>
            {
                var cases = g.Select(f => f.Case).OfType<string>().Distinct().ToArray();
                var hit = summaries.Where(s => cases.Contains(s.Case)).ToArray();
                string title = Titles.GetValueOrDefault(g.Key, g.Key);
                int all = summaries.Select(s => s.Case).Distinct().Count();
                string scope = cases.Length == 0 ? "" : $" in {cases.Length}/{Format.Count(all, "case")}";
                string detail = g.Key switch
                {
                    "busy-host" => BusyDetail(hit, results.Where(r => cases.Contains(r.Case)).ToArray()),
                    "high-variation" => WorstCv(hit),
                    _ => cases.Length == 1 || cases.Length == 0 ? g.First().Message : $"e.g. {g.First().Message}",
                };
                return new FindingDigest(
                    g.Key,
                    g.Max(f => f.Severity),
                    cases,
                    $"{title}{scope}",
                    $"{title}{scope}: {detail}{CaseList(cases)}",
                    g.ToArray()
                );
            })
            .OrderByDescending(d => d.Severity)
            .ThenByDescending(d => d.Cases.Count)
            .ToArray();

    private static string CaseList(IReadOnlyList<string> cases) =>
        cases.Count == 0 ? ""
        : cases.Count <= 4 ? $" ({string.Join(", ", cases)})"
        : $" ({string.Join(", ", cases.Take(3))} and {cases.Count - 3} more)";

    /// <summary>"other processes up to 80% of a core (dpkg, cc1)".</summary>
    private static string BusyDetail(IReadOnlyList<CaseSummary> hit, IReadOnlyList<CaseResult> results)
    {
        double most = hit.Select(s => s.Metrics.GetValueOrDefault(Metrics.OtherProcessesCpuPercent)?.Max ?? 0)
            .DefaultIfEmpty(0)
            .Max();
        var top = results
            .SelectMany(r => r.BusiestOtherProcesses ?? [])
            .GroupBy(p => p.Name)
            .OrderByDescending(g => g.Sum(p => p.CpuPercent))
            .Take(3)
            .Select(g => g.Key)
            .ToArray();
        return $"other processes up to {most.ToString("0", CultureInfo.InvariantCulture)}% of a core"
            + (top.Length > 0 ? $" ({string.Join(", ", top)})" : "");
    }

    /// <summary>"CV up to 15% (tcp-crr)".</summary>
    private static string WorstCv(IReadOnlyList<CaseSummary> hit)
    {
        var worst = hit.Where(s => s.Headline is not null).MaxBy(s => s.Metrics[s.Headline!].CvPercent);
        return worst is null
            ? "the repetitions disagree"
            : $"the headline figure's CV up to {Format.Number(worst.Metrics[worst.Headline!].CvPercent, 0)}% "
                + $"(over {MetricStatistics.UnstableCvPercent.ToString("0", CultureInfo.InvariantCulture)}%, so "
                + $"its interval is not shown)";
    }
}
