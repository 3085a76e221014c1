using System.Globalization;
using CniBench.Cli.Analysis;
using CniBench.Contracts.Measurement;

namespace CniBench.Cli.Reporting;

/// <summary>Numbers as every report prints them: invariant culture, the metric's own decimals.</summary>
public static class Format
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Number(double value, int decimals) =>
        double.IsNaN(value) || double.IsInfinity(value) ? "–" : value.ToString("N" + decimals, Inv);

    public static string Metric(string metric, double value) => Number(value, Metrics.Describe(metric).Decimals);

    /// <summary>"low … high", or why there is none ("no interval: 2 repetitions").</summary>
    public static string Interval(string metric, MetricStatistics s) =>
        s.HasInterval
            ? $"{Metric(metric, s.CiLow)} … {Metric(metric, s.CiHigh)}"
            : $"no interval: {Count(s.N, "repetition")}";

    /// <summary>What a table cell with room for one figure says beside the mean: the interval, that the
    /// repetitions disagree ("unstable, CV 15%", an interval there would describe the disagreement), or how few
    /// they were ("n=2").</summary>
    public static string IntervalNote(string metric, MetricStatistics s) =>
        !s.HasInterval ? $"n={s.N.ToString(Inv)}"
        : s.Unstable ? $"unstable, CV {Number(s.CvPercent, 0)}%"
        : s.CiLow == s.CiHigh ? "all equal"
        : $"{Metric(metric, s.CiLow)} … {Metric(metric, s.CiHigh)}";

    /// <summary>"mean (low … high)", "mean (n=2)" or "mean (unstable, CV 15%)".</summary>
    public static string MeanWithInterval(string metric, MetricStatistics s) =>
        s.HasInterval && s.CiLow == s.CiHigh
            ? Metric(metric, s.Mean)
            : $"{Metric(metric, s.Mean)} ({IntervalNote(metric, s)})";

    /// <summary>"1 case", "3 cases": English plurals for counted things.</summary>
    public static string Count(long n, string one, string? many = null) =>
        $"{n.ToString("N0", Inv)} {(n == 1 ? one : many ?? one + "s")}";

    /// <summary>The mean without Tukey outliers, and which repetitions it leaves out (the plain mean when none was
    /// dropped).</summary>
    public static string TruncatedMean(string metric, MetricStatistics s) =>
        s.DroppedRepetitions.Count == 0
            ? Metric(metric, s.TruncatedMean)
            : $"{Metric(metric, s.TruncatedMean)} (without #{string.Join(", #", s.DroppedRepetitions)})";

    /// <summary>Which interval methods a report's statistics used, for the sentence above its tables.</summary>
    public static string IntervalMethods(IEnumerable<CaseSummary> summaries)
    {
        var used = summaries
            .SelectMany(s => s.Metrics.Values)
            .Where(st => st.HasInterval)
            .Select(st => st.Method)
            .Distinct()
            .Order()
            .ToArray();
        return used.Length == 0
            ? $"no interval (fewer than {MetricStatistics.MinRepetitionsForInterval} repetitions)"
            : string.Join("; ", used.Select(MetricStatistics.Describe));
    }

    /// <summary>"`case` (config): " for a finding about a case; the configuration only when the report has
    /// several.</summary>
    public static string FindingSubject(
        Finding f,
        bool severalConfigs,
        Func<string, string> code,
        Func<string, string>? escape = null
    ) =>
        f.Case is null
            ? ""
            : $"{code(f.Case)}"
                + $"{(severalConfigs && f.Config is not null ? $" ({(escape ?? (t => t))(f.Config)})" : "")}: ";

    /// <summary>A merged percentile in µs, or empty when the case has no latency.</summary>
    public static string Percentile(CaseSummary s, string label) =>
        s.MergedLatencyUs.TryGetValue(label, out var v) ? Number(v, 1) : "";

    /// <summary>"Latency over N transactions (merged histogram): p50 …" — null when the case has no latency.</summary>
    public static string? MergedLatencySentence(CaseSummary s) =>
        s.MergedLatencyUs.Count == 0
            ? null
            : $"Latency over {Number(s.MergedLatencyCount, 0)} transactions (merged histogram): "
                + string.Join(", ", s.MergedLatencyUs.Select(p => $"{p.Key} {Number(p.Value, 1)} µs"))
                + ".";

    public static string Percent(double value) => double.IsNaN(value) ? "–" : Number(value, 1) + "%";

    /// <summary>A span as a clock shows it: m:ss, or h:mm:ss from an hour on.</summary>
    public static string Clock(TimeSpan span)
    {
        long seconds = (long)Math.Round(Math.Max(0, span.TotalSeconds));
        return seconds >= 3600
            ? string.Create(Inv, $"{seconds / 3600}:{seconds / 60 % 60:00}:{seconds % 60:00}")
            : string.Create(Inv, $"{seconds / 60}:{seconds % 60:00}");
    }

    public static string Time(DateTimeOffset? t) => t?.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", Inv) ?? "–";

    /// <summary>The columns of the summary table (the figures people compare first) with short headers.</summary>
    public static readonly (string Metric, string Header)[] SummaryColumns =
    [
        (Metrics.ThroughputGbps, "Gbit/s"),
        (Metrics.TransactionsPerSecond, "tx/s"),
        (Metrics.HostCpuPercent, "host CPU %"),
        (Metrics.HostCpuPerGbps, "CPU % per Gbit/s"),
        (Metrics.HostCpuPer100kTps, "CPU % per 100k tx/s"),
        (Metrics.Errors, "errors"),
        (Metrics.ConvergenceP50Ms, "converged p50 ms"),
        (Metrics.ConvergenceP99Ms, "converged p99 ms"),
        (Metrics.ConvergenceWithdrawn, "removed before reached"),
        (Metrics.ChurnFailures, "failed probes"),
        (Metrics.ProgramTableMs, "table load ms"),
        (Metrics.AddServiceMs, "add 1 service ms"),
        (Metrics.ServiceReachableMs, "new service answers ms"),
        (Metrics.SplitSharePercent, "2nd backend %"),
        (Metrics.SplitDistancePercent, "off weight, points"),
        (Metrics.CniCpuPercent, "CNI agent CPU %"),
        (Metrics.KubeProxyCpuPercent, "kube-proxy CPU %"),
    ];

    public static IReadOnlyList<(string Metric, string Header)> ColumnsFor(IEnumerable<CaseSummary> summaries) =>
        SummaryColumns.Where(c => summaries.Any(s => s.Metrics.ContainsKey(c.Metric))).ToArray();
}
