using CniBench.Cli.Analysis;
using CniBench.Cli.Running;
using CniBench.Cli.Scenarios;
using CniBench.Contracts.Measurement;
using Spectre.Console;

namespace CniBench.Cli.Reporting;

/// <summary>
/// The live terminal view: on a terminal, the current case's latest per-second rate rewritten in
/// place; everywhere, one line per finished repetition; at the end, the summary table.
/// </summary>
public sealed class ConsoleView(IAnsiConsole console) : IRunObserver
{
    private readonly bool _live = console.Profile.Capabilities.Interactive;
    private string _current = "";

    public void CaseStarted(PlannedCase plannedCase, int repetition, int index, int total)
    {
        _current = $"[{index}/{total}] {plannedCase.Name} #{repetition}";
        if (_live) console.Markup($"\r{Markup.Escape(_current)}: starting…\u001b[K");
    }

    public void SampleReceived(PlannedCase plannedCase, Sample sample)
    {
        if (!_live) return;
        string rate = plannedCase.Workload.Kind is Contracts.Workloads.WorkloadKind.TcpStream or Contracts.Workloads.WorkloadKind.UdpStream
            ? $"{Format.Number(sample.Bytes * 8 / Math.Max(sample.Seconds, 1e-9) / 1e9, 2)} Gbit/s"
            : $"{Format.Number(sample.Transactions / Math.Max(sample.Seconds, 1e-9), 0)} tx/s";
        console.Markup($"\r{Markup.Escape(_current)}: {sample.Phase.ToString().ToLowerInvariant()} {Markup.Escape(rate)}, host CPU {Format.Number(sample.HostCpuPercent, 0)}%\u001b[K");
    }

    public void CaseFinished(CaseResult result, int index, int total)
    {
        if (_live) console.Markup("\r\u001b[K");
        string headline = Headline(result);
        string state = result.State switch
        {
            ResultState.Ok => "[green]ok[/]",
            ResultState.Interrupted => "[yellow]interrupted[/]",
            _ => "[red]failed[/]",
        };
        console.MarkupLine($"[[{index}/{total}]] {Markup.Escape(result.Case)} #{result.Repetition} {state} {Markup.Escape(headline)}");
    }

    private static string Headline(CaseResult result)
    {
        if (result.State != ResultState.Ok) return result.Error ?? "";
        var m = result.Metrics;
        var parts = new List<string>();
        if (m.TryGetValue(Metrics.ThroughputGbps, out var gbps)) parts.Add($"{Format.Number(gbps, 2)} Gbit/s");
        if (m.TryGetValue(Metrics.TransactionsPerSecond, out var tps)) parts.Add($"{Format.Number(tps, 0)} tx/s");
        if (m.TryGetValue(Metrics.LatencyP99Us, out var p99)) parts.Add($"p99 {Format.Number(p99, 1)} µs");
        if (m.TryGetValue(Metrics.HostCpuPercent, out var cpu)) parts.Add($"host CPU {Format.Number(cpu, 0)}%");
        if (m.TryGetValue(Metrics.Errors, out var errors) && errors > 0) parts.Add($"{Format.Number(errors, 0)} errors");
        return string.Join(", ", parts);
    }

    public static void WriteSummary(IAnsiConsole console, IReadOnlyList<CaseSummary> summaries)
    {
        var columns = Format.ColumnsFor(summaries);
        var table = new Table().Border(TableBorder.Rounded).AddColumn("case").AddColumn("ok/runs");
        foreach (var (_, header) in columns) table.AddColumn(new TableColumn(header).RightAligned());
        table.AddColumn(new TableColumn("p50 µs").RightAligned()).AddColumn(new TableColumn("p99 µs").RightAligned());
        foreach (var s in summaries)
        {
            var cells = new List<string> { Markup.Escape(s.Case), s.Failed > 0 ? $"[red]{s.Repetitions - s.Failed}/{s.Repetitions}[/]" : $"{s.Repetitions}/{s.Repetitions}" };
            cells.AddRange(columns.Select(c => s.Metrics.TryGetValue(c.Metric, out var st) ? Markup.Escape(Format.MeanWithCi(c.Metric, st)) : ""));
            cells.Add(Format.Percentile(s, "p50"));
            cells.Add(Format.Percentile(s, "p99"));
            table.AddRow(cells.ToArray());
        }
        console.Write(table);
    }
}
