using CniBench.Cli.Analysis;
using CniBench.Cli.Results;
using CniBench.Cli.Running;
using CniBench.Cli.Scenarios;
using CniBench.Contracts.Measurement;
using Spectre.Console;

namespace CniBench.Cli.Reporting;

/// <summary>
/// The live terminal view. On a terminal one status line is rewritten in place (the case, repetition
/// i/n, the latest per-second rate, elapsed and the whole run's ETA); everywhere one plain line per
/// finished repetition, with elapsed and ETA; at the end, the summary table. The status line uses a
/// carriage return and padding only, never an escape sequence, so it is safe under NO_COLOR and in
/// any terminal.
/// </summary>
public sealed class ConsoleView(
    IAnsiConsole console,
    Scenario scenario,
    TimeProvider? clock = null,
    Func<PlannedCase, TimeSpan>? preparation = null
) : IRunObserver
{
    private readonly bool _live = console.Profile.Capabilities.Interactive;
    private readonly RunProgress _progress = new(scenario, clock ?? TimeProvider.System, preparation);
    private string _current = "";
    private int _statusLength;

    public void CaseStarted(PlannedCase plannedCase, int repetition, int index, int total)
    {
        _progress.CaseStarted(plannedCase);
        _current = $"[{index}/{total}] {plannedCase.Name} {repetition}/{plannedCase.Repetitions}";
        Status($"{_current}: starting");
    }

    public void SampleReceived(PlannedCase plannedCase, Sample sample)
    {
        string rate = Contracts.Workloads.WorkloadNames.IsStream(plannedCase.Workload.Kind)
            ? $"{Format.Number(sample.Bytes * 8 / Math.Max(sample.Seconds, 1e-9) / 1e9, 2)} Gbit/s"
            : $"{Format.Number(sample.Transactions / Math.Max(sample.Seconds, 1e-9), 0)} tx/s";
        string phase = sample.Phase == Phase.Warmup ? "warm-up" : "measuring";
        Status($"{_current}: {phase} {rate}, host CPU {Format.Number(sample.HostCpuPercent, 0)}%");
    }

    public void Waiting(PlannedCase plannedCase, string status) => Status($"{_current}: {status}");

    public void CaseFinished(CaseResult result, int index, int total)
    {
        _progress.CaseFinished();
        Status("");
        string headline = Headline(result);
        string state = result.State switch
        {
            ResultState.Ok => "[green]ok[/]",
            ResultState.Interrupted => "[yellow]interrupted[/]",
            _ => "[red]failed[/]",
        };
        console.MarkupLine(
            $"[[{index}/{total}]] {Markup.Escape(result.Case)} {result.Repetition}/{RepetitionsOf(result.Case)} "
                + $"{state} {Markup.Escape(headline)} "
                + $"[dim]({Markup.Escape(_live ? Format.Clock(_progress.Elapsed) : Clock())})[/]"
        );
    }

    private int RepetitionsOf(string caseName) =>
        scenario.Cases.FirstOrDefault(c => c.Name == caseName)?.Repetitions ?? 0;

    private string Clock() => $"{Format.Clock(_progress.Elapsed)} elapsed, ETA {Format.Clock(_progress.Remaining)}";

    /// <summary>Rewrites the status line on a terminal (an empty text clears it); elsewhere nothing.</summary>
    private void Status(string text)
    {
        if (!_live)
            return;
        if (text.Length > 0)
            text = $"{text} · {Clock()}";
        int width = Math.Max(20, console.Profile.Width - 1);
        if (text.Length > width)
            text = text[..(width - 1)] + "…";
        var writer = console.Profile.Out.Writer;
        writer.Write('\r');
        writer.Write(text.PadRight(_statusLength));
        if (text.Length == 0)
            writer.Write('\r');
        writer.Flush();
        _statusLength = text.Length;
    }

    private static string Headline(CaseResult result)
    {
        if (result.State != ResultState.Ok)
            return result.Error ?? "";
        var m = result.Metrics;
        var parts = new List<string>();
        if (m.TryGetValue(Metrics.ThroughputGbps, out var gbps))
            parts.Add($"{Format.Number(gbps, 2)} Gbit/s");
        if (m.TryGetValue(Metrics.TransactionsPerSecond, out var tps))
            parts.Add($"{Format.Number(tps, 0)} tx/s");
        if (m.TryGetValue(Metrics.LatencyP99Us, out var p99))
            parts.Add($"p99 {Format.Number(p99, 1)} µs");
        if (m.TryGetValue(Metrics.HostCpuPercent, out var cpu))
            parts.Add($"host CPU {Format.Number(cpu, 0)}%");
        if (m.TryGetValue(Metrics.Errors, out var errors) && errors > 0)
            parts.Add($"{Format.Number(errors, 0)} errors");
        return string.Join(", ", parts);
    }

    /// <summary>The report's findings, one line per kind with the cases it hit: why figures are suspect, said where
    /// the user looks first.</summary>
    public static void WriteDigest(IAnsiConsole console, ReportModel model)
    {
        var digest = FindingDigest.Of(model.Findings, model.Summaries, model.Results);
        foreach (var d in digest)
            console.MarkupLine(
                d.Severity == Severity.Warning
                    ? $"[yellow]warning:[/] {Markup.Escape(d.Line)}"
                    : $"note: {Markup.Escape(d.Line)}"
            );
    }

    /// <summary>Below this width the summary keeps the case, its headline figure with its interval, and p99; the
    /// other columns are in the report.</summary>
    public const int NarrowWidth = 120;

    /// <summary>
    /// The summary table: per case its headline figure (the mean) and what can be said of it (the interval, or
    /// n=2, or unstable with its CV), then the other figures people compare first. Numbers never wrap: on a narrow
    /// terminal the table drops to the columns that matter and lets the case names wrap instead.
    /// </summary>
    public static void WriteSummary(IAnsiConsole console, IReadOnlyList<CaseSummary> summaries)
    {
        bool narrow = console.Profile.Width < NarrowWidth;
        var columns = narrow
            ? []
            : Format.ColumnsFor(summaries).Where(c => summaries.All(s => s.Headline != c.Metric)).ToArray();
        var table = new Table().Border(narrow ? TableBorder.Simple : TableBorder.Rounded);
        table.AddColumn("case").AddColumn(new TableColumn("ok").NoWrap());
        table.AddColumn(new TableColumn("result").RightAligned().NoWrap());
        table.AddColumn(new TableColumn("95% interval").NoWrap());
        foreach (var (_, header) in columns)
            table.AddColumn(new TableColumn(header).RightAligned());
        if (!narrow)
            table.AddColumn(new TableColumn("p50 µs").RightAligned().NoWrap());
        table.AddColumn(new TableColumn("p99 µs").RightAligned().NoWrap());
        foreach (var s in summaries)
        {
            var headline = s.Headline is { } h && s.Metrics.TryGetValue(h, out var hs) ? (h, hs) : default;
            var cells = new List<string>
            {
                Markup.Escape(s.Case),
                s.Failed > 0
                    ? $"[red]{s.Repetitions - s.Failed}/{s.Repetitions}[/]"
                    : $"{s.Repetitions}/{s.Repetitions}",
                headline.h is null
                    ? ""
                    : $"{Format.Metric(headline.h, headline.hs.Mean)} {Metrics.Describe(headline.h).Unit}",
                headline.h is null ? ""
                : headline.hs.Unstable ? $"[yellow]{Format.IntervalNote(headline.h, headline.hs)}[/]"
                : Markup.Escape(Format.IntervalNote(headline.h, headline.hs)),
            };
            cells.AddRange(
                columns.Select(c =>
                    s.Metrics.TryGetValue(c.Metric, out var st) ? Markup.Escape(Format.Metric(c.Metric, st.Mean)) : ""
                )
            );
            if (!narrow)
                cells.Add(Format.Percentile(s, "p50"));
            cells.Add(Format.Percentile(s, "p99"));
            table.AddRow(cells.ToArray());
        }
        console.Write(table);
    }
}
