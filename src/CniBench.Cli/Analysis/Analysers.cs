using System.Globalization;
using CniBench.Cli.Results;
using CniBench.Contracts.Measurement;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Analysis;

public enum Severity
{
    Info,
    Warning,
}

/// <summary>A hint or warning for the reader of a report; Case (and its Config) is null for run-wide
/// findings.</summary>
public sealed record Finding(Severity Severity, string Code, string? Case, string Message)
{
    /// <summary>The configuration whose case this is about: a report of several configurations names it with every
    /// finding.</summary>
    public string? Config { get; init; }
}

/// <summary>Looks at one case's summary and results (and the run's environment) and says what a reader should
/// know.</summary>
public interface IAnalyser
{
    IEnumerable<Finding> Analyse(
        CaseSummary s,
        IReadOnlyList<CaseResult> results,
        IReadOnlyDictionary<string, string> environment
    );
}

/// <summary>The analysers, run as a list: adding one is adding a line here.</summary>
public static class Analysers
{
    public const double CpuBoundShare = 0.8;
    public const double ConntrackNearFullShare = 0.8;
    public const double BusyHostPercent = 10;
    public const double UdpLossWarnPercent = 1;

    public static IReadOnlyList<IAnalyser> All { get; } =
    [
        new CpuBound(),
        new BusyHost(),
        new HighVariation(),
        new ErrorsPresent(),
        new UdpLoss(),
        new OpenModelBehind(),
        new TooFewRepetitions(),
        new PlacementNotAchieved(),
        new OutliersDropped(),
        new PortPressure(),
        new ProxyBusy(),
    ];

    /// <summary>Every finding: run-wide ones first (environment), then per case.</summary>
    public static IReadOnlyList<Finding> Run(
        IReadOnlyList<CaseSummary> summaries,
        IReadOnlyList<CaseResult> results,
        IReadOnlyDictionary<string, string> environment
    )
    {
        var findings = new List<Finding>(EnvironmentFindings(environment));
        foreach (var s in summaries)
        {
            var own = results.Where(r => r.Case == s.Case && r.Config == s.Config).ToList();
            foreach (var analyser in All)
                findings.AddRange(analyser.Analyse(s, own, environment).Select(f => f with { Config = s.Config }));
        }
        return findings;
    }

    public static IEnumerable<Finding> EnvironmentFindings(IReadOnlyDictionary<string, string> environment)
    {
        var mtus = environment
            .Where(e => e.Key.StartsWith("mtu.", StringComparison.Ordinal) && e.Key != "mtu.lo")
            .Select(e => e.Value)
            .Distinct()
            .ToArray();
        if (mtus.Length > 1)
            yield return new Finding(
                Severity.Warning,
                "mtu-mismatch",
                null,
                $"interfaces on the path have different MTUs ({string.Join(", ", mtus)}): expect fragmentation or "
                    + $"lower throughput"
            );
        if (
            Number(environment, "conntrack.count") is { } count
            && Number(environment, "conntrack.max") is { } max
            && max > 0
            && count / max > ConntrackNearFullShare
        )
            yield return new Finding(
                Severity.Warning,
                "conntrack-near-full",
                null,
                $"the conntrack table is {(100 * count / max).ToString("0", CultureInfo.InvariantCulture)}% full "
                    + $"({count.ToString("0", CultureInfo.InvariantCulture)}/"
                    + $"{max.ToString("0", CultureInfo.InvariantCulture)}): new connections may be dropped"
            );
    }

    private static double? Number(IReadOnlyDictionary<string, string> environment, string key) =>
        environment.TryGetValue(key, out var v)
        && double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out double d)
            ? d
            : null;

    internal static int Cores(IReadOnlyDictionary<string, string> environment) =>
        (int)(Number(environment, "cpu.count") ?? Environment.ProcessorCount);

    /// <summary>The figure a case is mostly judged by: throughput for streams, transactions/s otherwise.</summary>
    internal static string Headline(CaseSummary s) => s.Headline ?? Metrics.TransactionsPerSecond;
}

/// <summary>
/// Over 80% of what the host, the client or the server can use, by the benchmark itself: the figure
/// measures CPU, not the network. Host CPU that other processes used is not the benchmark's (that is
/// <see cref="BusyHost"/>'s finding).
/// </summary>
public sealed class CpuBound : IAnalyser
{
    public IEnumerable<Finding> Analyse(
        CaseSummary s,
        IReadOnlyList<CaseResult> results,
        IReadOnlyDictionary<string, string> environment
    )
    {
        int cores = Analysers.Cores(environment);
        int parallel = results.Count > 0 ? results[0].Workload.Parallel : 1;
        // A workload with N workers can use at most N cores (but never more than there are).
        double processLimit =
            100.0
            * Math.Min(parallel + (results.Count > 0 && results[0].Workload.Kind == WorkloadKind.Http ? 1 : 0), cores);
        double others = s.Metrics.TryGetValue(Metrics.OtherProcessesCpuPercent, out var o) ? o.Mean : 0;
        foreach (
            var (metric, limit, who) in new[]
            {
                (Metrics.HostCpuPercent, 100.0 * cores, "the host"),
                (Metrics.ClientCpuPercent, processLimit, "the client agent"),
                (Metrics.ServerCpuPercent, processLimit, "the server agent"),
            }
        )
        {
            if (!s.Metrics.TryGetValue(metric, out var st))
                continue;
            double used = metric == Metrics.HostCpuPercent ? Math.Max(0, st.Mean - others) : st.Mean;
            if (used > Analysers.CpuBoundShare * limit)
                yield return new Finding(
                    Severity.Warning,
                    "cpu-bound",
                    s.Case,
                    $"{who} used {used.ToString("0", CultureInfo.InvariantCulture)}% "
                        + $"CPU{(metric == Metrics.HostCpuPercent && others > 0 ? " for the benchmark" : "")} of "
                        + $"{limit.ToString("0", CultureInfo.InvariantCulture)}% available: the result is limited by "
                        + $"CPU, not by the network path"
                );
        }
    }
}

/// <summary>Processes other than the benchmark used more than 10% of a core in the window: the machine was busy, the
/// figures may be low.</summary>
public sealed class BusyHost : IAnalyser
{
    /// <summary>The most CPU other processes took in any repetition's window of the case, when that is over
    /// <see cref="Analysers.BusyHostPercent"/>; null on a machine that was quiet (or where it is not
    /// measured).</summary>
    public static double? OthersMost(CaseSummary s) =>
        s.Metrics.TryGetValue(Metrics.OtherProcessesCpuPercent, out var others)
        && others.Max > Analysers.BusyHostPercent
            ? others.Max
            : null;

    public IEnumerable<Finding> Analyse(
        CaseSummary s,
        IReadOnlyList<CaseResult> results,
        IReadOnlyDictionary<string, string> environment
    )
    {
        if (OthersMost(s) is null)
            yield break;
        var others = s.Metrics[Metrics.OtherProcessesCpuPercent];
        var top = results
            .Where(r => r.BusiestOtherProcesses is not null)
            .SelectMany(r => r.BusiestOtherProcesses!)
            .GroupBy(p => p.Name)
            .Select(g => (Name: g.Key, Percent: g.Sum(p => p.CpuPercent) / Math.Max(1, results.Count)))
            .OrderByDescending(p => p.Percent)
            .Take(3)
            .Select(p => $"{p.Name} {p.Percent.ToString("0", CultureInfo.InvariantCulture)}%");
        string host = s.Metrics.TryGetValue(Metrics.HostCpuPercent, out var h)
            ? $" of the host's {h.Mean.ToString("0", CultureInfo.InvariantCulture)}%"
            : "";
        yield return new Finding(
            Severity.Warning,
            "busy-host",
            s.Case,
            $"the machine was busy: other processes used {others.Mean.ToString("0", CultureInfo.InvariantCulture)}% "
                + $"CPU{host} in the window (up to {others.Max.ToString("0", CultureInfo.InvariantCulture)}%; "
                + $"{string.Join(", ", top)}): the figures may be lower than this path can do; quiet the machine and "
                + $"run again"
        );
    }
}

/// <summary>UDP datagrams lost beyond 1%: the sender outran the path or the receiver; the goodput is the figure that
/// counts.</summary>
public sealed class UdpLoss : IAnalyser
{
    public IEnumerable<Finding> Analyse(
        CaseSummary s,
        IReadOnlyList<CaseResult> results,
        IReadOnlyDictionary<string, string> environment
    )
    {
        if (s.Metrics.TryGetValue(Metrics.UdpLossPercent, out var loss) && loss.Mean > Analysers.UdpLossWarnPercent)
            yield return new Finding(
                Severity.Warning,
                "udp-loss",
                s.Case,
                $"{loss.Mean.ToString("0.0", CultureInfo.InvariantCulture)}% of the UDP datagrams sent did not "
                    + $"arrive: throughput is what arrived"
                    + (
                        s.Metrics.TryGetValue(Metrics.UdpSentGbps, out var sent)
                            ? $" ({sent.Mean.ToString("0.00", CultureInfo.InvariantCulture)} Gbit/s were sent)"
                            : ""
                    )
                    + "; lower the bitrate (scenario field 'bitrate') to find what the path carries without loss"
            );
    }
}

/// <summary>
/// A case that measured the host's socket bookkeeping, not the path: client sockets in TIME_WAIT taking a large
/// share of the ephemeral ports (connects search for a free port and collide), a conntrack table nearly full, or
/// connections dropped at the server's listen queue. Each figure is the worst repetition's.
/// </summary>
public sealed class PortPressure : IAnalyser
{
    public IEnumerable<Finding> Analyse(
        CaseSummary s,
        IReadOnlyList<CaseResult> results,
        IReadOnlyDictionary<string, string> environment
    )
    {
        static string N(double v, string format = "0") => v.ToString(format, CultureInfo.InvariantCulture);
        if (
            s.Metrics.TryGetValue(Metrics.ClientTimeWaitPortsPercent, out var ports)
            && ports.Max > NetStack.TimeWaitPortsLimitPercent
        )
            yield return new Finding(
                Severity.Warning,
                "time-wait-ports",
                s.Case,
                $"up to {N(s.Metrics.TryGetValue(Metrics.ClientTimeWait, out var tw) ? tw.Max : 0)} client sockets "
                    + $"in TIME_WAIT towards the server, {N(ports.Max)}% of the ephemeral ports: "
                    + "new connections search for a free port and collide, so a connection rate measures the client "
                    + "host; fewer flows, a cool-down between cases or a wider ip_local_port_range help"
            );
        if (
            s.Metrics.TryGetValue(Metrics.ConntrackFillPercent, out var fill)
            && fill.Max > NetStack.ConntrackLimitPercent
        )
            yield return new Finding(
                Severity.Warning,
                "conntrack-near-full",
                s.Case,
                $"a connection-tracking table was {N(fill.Max)}% full during the case: new connections may be "
                    + $"dropped; raise nf_conntrack_max or let entries expire between cases"
            );
        if (s.Metrics.TryGetValue(Metrics.ServerListenDrops, out var drops) && drops.Max > 0)
            yield return new Finding(
                Severity.Warning,
                "listen-drops",
                s.Case,
                $"the server's namespace dropped up to {N(drops.Max)} connections at a full listen queue in a "
                    + $"repetition: connects were retried after a timeout, which the latency shows"
            );
    }
}

/// <summary>
/// kube-proxy is never on the packet path (the kernel's rules are), so CPU it spends in a case's window is rule
/// programming: Services still being written after they were made, or a resync. That work competes with the
/// measured traffic and its rules change under it. The CNI's agents are left out: some (Open vSwitch) handle
/// new flows themselves, so their CPU grows with the traffic.
/// </summary>
public sealed class ProxyBusy : IAnalyser
{
    public const double BusyPercent = 10;

    public IEnumerable<Finding> Analyse(
        CaseSummary s,
        IReadOnlyList<CaseResult> results,
        IReadOnlyDictionary<string, string> environment
    )
    {
        if (s.Metrics.TryGetValue(Metrics.KubeProxyCpuPercent, out var cpu) && cpu.Max > BusyPercent)
            yield return new Finding(
                Severity.Warning,
                "proxy-busy",
                s.Case,
                $"kube-proxy used up to {cpu.Max.ToString("0", CultureInfo.InvariantCulture)}% of a core on the "
                    + $"case's nodes during a repetition: it was still writing rules while the case measured; "
                    + "the figures include that work (let the proxies settle before the case, or look for a resync)"
            );
    }
}

/// <summary>An open-model load that fell behind its schedule: the arrival rate asked for was not what the server
/// saw.</summary>
public sealed class OpenModelBehind : IAnalyser
{
    public IEnumerable<Finding> Analyse(
        CaseSummary s,
        IReadOnlyList<CaseResult> results,
        IReadOnlyDictionary<string, string> environment
    )
    {
        double late = s.Metrics.TryGetValue(Metrics.HttpLate, out var l) ? l.Mean : 0,
            dropped = s.Metrics.TryGetValue(Metrics.HttpDropped, out var d) ? d.Mean : 0;
        if (late > 0 || dropped > 0)
            yield return new Finding(
                Severity.Warning,
                "open-model-behind",
                s.Case,
                $"the open-model load fell behind its schedule: {late.ToString("0", CultureInfo.InvariantCulture)} "
                    + $"requests late and {dropped.ToString("0", CultureInfo.InvariantCulture)} dropped per repetition "
                    + $"(mean): the rate reached is below the rate asked for; add users (scenario field 'parallel') "
                    + $"or lower the rate (scenario field 'rate')"
            );
    }
}

public sealed class HighVariation : IAnalyser
{
    public IEnumerable<Finding> Analyse(
        CaseSummary s,
        IReadOnlyList<CaseResult> results,
        IReadOnlyDictionary<string, string> environment
    )
    {
        var metric = Analysers.Headline(s);
        if (s.Metrics.TryGetValue(metric, out var st) && st.CvPercent > MetricStatistics.UnstableCvPercent)
            yield return new Finding(
                Severity.Warning,
                "high-variation",
                s.Case,
                $"{metric} varies by {st.CvPercent.ToString("0.0", CultureInfo.InvariantCulture)}% (CV) across "
                    + $"repetitions: run more repetitions (--repetitions) or quiet the machine before drawing "
                    + $"conclusions"
            );
    }
}

public sealed class ErrorsPresent : IAnalyser
{
    public IEnumerable<Finding> Analyse(
        CaseSummary s,
        IReadOnlyList<CaseResult> results,
        IReadOnlyDictionary<string, string> environment
    )
    {
        if (s.Failed > 0)
            yield return new Finding(
                Severity.Warning,
                "failed-repetitions",
                s.Case,
                $"{s.Failed} of {s.Repetitions} repetitions failed and are left out"
            );
        long errors = results.Sum(r => (long)r.Metrics.GetValueOrDefault(Metrics.Errors));
        if (errors > 0)
        {
            var kinds = results
                .Where(r => r.Client.Result is not null)
                .SelectMany(r => r.Client.Result!.Errors)
                .GroupBy(e => e.Key)
                .Select(g => $"{g.Key} {g.Sum(e => e.Value)}");
            yield return new Finding(
                Severity.Warning,
                "errors",
                s.Case,
                $"{errors} operations failed in the measured windows ({string.Join(", ", kinds)})"
            );
        }
    }
}

public sealed class TooFewRepetitions : IAnalyser
{
    public IEnumerable<Finding> Analyse(
        CaseSummary s,
        IReadOnlyList<CaseResult> results,
        IReadOnlyDictionary<string, string> environment
    )
    {
        int ok = s.Repetitions - s.Failed;
        if (ok < MetricStatistics.MinRepetitionsForInterval)
            yield return new Finding(
                Severity.Info,
                "few-repetitions",
                s.Case,
                $"only {ok} successful repetition{(ok == 1 ? "" : "s")}: an interval needs at least "
                    + $"{MetricStatistics.MinRepetitionsForInterval} (--repetitions)"
            );
    }
}

public sealed class PlacementNotAchieved : IAnalyser
{
    public IEnumerable<Finding> Analyse(
        CaseSummary s,
        IReadOnlyList<CaseResult> results,
        IReadOnlyDictionary<string, string> environment
    )
    {
        foreach (var r in results.Where(r => Missed(r.Placement, r.AchievedPlacement)).Take(1))
            yield return new Finding(
                Severity.Warning,
                "placement-not-achieved",
                s.Case,
                $"asked for {r.Placement}, got {r.AchievedPlacement}: the figures describe the placement achieved"
            );
    }

    /// <summary>Another placement, or the asked one "(not achieved: …)"; the asked one with a detail ("(hairpin)",
    /// "(gateway)", ", source 10.0.0.1 seen") is the placement achieved.</summary>
    public static bool Missed(string asked, string? achieved) =>
        achieved is not null
        && achieved != asked
        && (
            achieved.Contains("not achieved", StringComparison.Ordinal)
            || !(
                achieved.StartsWith(asked + " (", StringComparison.Ordinal)
                || achieved.StartsWith(asked + ", ", StringComparison.Ordinal)
            )
        );
}

public sealed class OutliersDropped : IAnalyser
{
    public IEnumerable<Finding> Analyse(
        CaseSummary s,
        IReadOnlyList<CaseResult> results,
        IReadOnlyDictionary<string, string> environment
    )
    {
        var metric = Analysers.Headline(s);
        if (s.Metrics.TryGetValue(metric, out var st) && st.DroppedRepetitions.Count > 0)
            yield return new Finding(
                Severity.Info,
                "outliers",
                s.Case,
                $"repetition(s) {string.Join(", ", st.DroppedRepetitions)} are Tukey outliers of {metric}; the "
                    + "truncated mean without them is "
                    + st.TruncatedMean.ToString("0.###", CultureInfo.InvariantCulture)
            );
    }
}
