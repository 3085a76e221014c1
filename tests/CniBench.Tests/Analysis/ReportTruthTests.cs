using CniBench.Cli.Analysis;
using CniBench.Cli.Charts;
using CniBench.Cli.Reporting;
using CniBench.Cli.Results;
using CniBench.Cli.Running;
using CniBench.Contracts.Measurement;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;
using CniBench.Tests.Support;

namespace CniBench.Tests.Analysis;

/// <summary>What the top of a report claims: intervals within a metric's bounds, goodput for UDP, CPU attributed, hints
/// that name their configuration.</summary>
[Trait(Category.Name, Category.Unit)]
public class ReportTruthTests
{
    private static CaseResult With(CaseResult r, params (string Metric, double Value)[] metrics)
    {
        var m = new Dictionary<string, double>(r.Metrics);
        foreach (var (metric, value) in metrics)
            m[metric] = value;
        return r with { Metrics = m };
    }

    [Fact]
    public void Intervals_of_positive_metrics_never_go_below_zero()
    {
        // Gbit/s over three repetitions, one of them poor: Student's t gives -2.3 … 37 for this.
        double[] gbps = [0.9, 17.0, 34.0];
        var t = MetricStatistics.Of(gbps);
        Assert.Equal(IntervalMethod.StudentT, t.Method);
        Assert.True(t.CiLow < 0, "the plain t interval is what the report used to show");

        var log = MetricStatistics.Of(gbps, nonNegative: true);
        Assert.Equal(IntervalMethod.LogT, log.Method);
        Assert.True(log.CiLow > 0 && log.CiHigh > log.CiLow, $"{log.CiLow} … {log.CiHigh}");

        // Retransmits with zeros among them: no logarithm, a bootstrap of the mean, within [min, max].
        var retransmits = MetricStatistics.Of([0.0, 0, 15], nonNegative: true);
        Assert.Equal(IntervalMethod.Bootstrap, retransmits.Method);
        Assert.Equal(0, retransmits.CiLow);
        Assert.InRange(retransmits.CiHigh, 5, 15);
        // the same report twice
        Assert.Equal(retransmits.CiHigh, MetricStatistics.Of([0.0, 0, 15], nonNegative: true).CiHigh);

        // Every catalogued metric is non-negative, so summaries use the bounded intervals.
        var summary = CaseSummary
            .From([
                With(Results.Case("r", "c", 1, 1000, [1]), (Metrics.TcpRetransmits, 0)),
                With(Results.Case("r", "c", 2, 2, [1]), (Metrics.TcpRetransmits, 9)),
                Results.Case("r", "c", 3, 900, [1]),
            ])
            .Single();
        Assert.True(summary.Metrics[Metrics.TransactionsPerSecond].CiLow > 0);
        Assert.Equal(IntervalMethod.Bootstrap, summary.Metrics[Metrics.TcpRetransmits].Method);
    }

    [Fact]
    public void Udp_throughput_is_what_arrived_with_what_was_sent_beside_it_and_loss_over_one_percent_is_warned()
    {
        var result = new JobResult(
            0,
            1000,
            1,
            125_000_000,
            100_000,
            new Dictionary<string, long>(),
            HistogramSnapshot.Empty,
            new Dictionary<string, long>(),
            new UdpTotals(100_000, 72_100, true),
            null,
            null
        );
        var sample = new Sample(0, Phase.Measured, 0, 1, 125_000_000, 100_000, 0, 50, 40, 10, 0);
        var m = MetricsCalculator.Compute(WorkloadDefaults.For(WorkloadKind.UdpStream), result, [sample], []);
        Assert.Equal(1.0, m[Metrics.UdpSentGbps], 9);
        Assert.Equal(0.721, m[Metrics.ThroughputGbps], 9);
        Assert.Equal(27.9, m[Metrics.UdpLossPercent], 9);

        var udp = Results.Case("r", "udp", 1, 0, []) with { Metrics = m };
        var findings = Analysers.Run(
            CaseSummary.From([udp]),
            [udp],
            new Dictionary<string, string> { ["cpu.count"] = "2" }
        );
        var loss = Assert.Single(findings, f => f.Code == "udp-loss");
        Assert.Contains(
            "27.9% of the UDP datagrams sent did not arrive: throughput is what arrived (1.00 Gbit/s were sent)",
            loss.Message
        );
    }

    [Fact]
    public void Fixed_rate_workloads_get_no_cpu_per_transaction_and_a_late_open_model_is_warned()
    {
        var result = new JobResult(
            0,
            1000,
            1,
            0,
            2000,
            new Dictionary<string, long>(),
            HistogramSnapshot.Empty,
            new Dictionary<string, long>(),
            null,
            new OpenModelTotals(2100, 2000, 40, 60),
            null
        );
        var sample = new Sample(0, Phase.Measured, 0, 1, 0, 2000, 0, 120, 40, 10, 0);
        var open = WorkloadDefaults.For(WorkloadKind.Http) with { HttpModel = HttpModel.Open, Rate = 2000 };
        Assert.DoesNotContain(Metrics.HostCpuPer100kTps, MetricsCalculator.Compute(open, result, [sample], []).Keys);
        Assert.DoesNotContain(
            Metrics.HostCpuPer100kTps,
            MetricsCalculator.Compute(WorkloadDefaults.For(WorkloadKind.Probe), result, [sample], []).Keys
        );
        Assert.Contains(
            Metrics.HostCpuPer100kTps,
            MetricsCalculator.Compute(WorkloadDefaults.For(WorkloadKind.Http), result, [sample], []).Keys
        );

        var late = With(Results.Case("r", "open", 1, 2000, [1]), (Metrics.HttpLate, 60), (Metrics.HttpDropped, 40));
        var finding = Assert.Single(
            Analysers.Run(CaseSummary.From([late]), [late], new Dictionary<string, string> { ["cpu.count"] = "2" }),
            f => f.Code == "open-model-behind"
        );
        Assert.Contains("60 requests late and 40 dropped", finding.Message);
    }

    [Fact]
    public void Host_cpu_used_by_other_processes_is_a_busy_machine_not_a_cpu_bound_benchmark()
    {
        // The probe case seen in the field: client + server 13%, host 163%, of which 150% were other processes.
        CaseResult Busy(int rep) =>
            With(
                Results.Case("r", "probe", rep, 500, [1]),
                (Metrics.HostCpuPercent, 163),
                (Metrics.ClientCpuPercent, 8),
                (Metrics.ServerCpuPercent, 5),
                (Metrics.OtherProcessesCpuPercent, 150)
            ) with
            {
                BusiestOtherProcesses = [new ProcessShare("sha256sum", 99), new ProcessShare("dotnet", 51)],
            };
        var results = Enumerable.Range(1, 3).Select(Busy).ToArray();
        var findings = Analysers.Run(
            CaseSummary.From(results),
            results,
            new Dictionary<string, string> { ["cpu.count"] = "2" }
        );
        Assert.DoesNotContain(findings, f => f.Code == "cpu-bound");
        var busy = Assert.Single(findings, f => f.Code == "busy-host");
        Assert.Contains(
            "the machine was busy: other processes used 150% CPU of the host's 163% in the window",
            busy.Message
        );
        Assert.Contains("sha256sum 99%, dotnet 51%", busy.Message);

        // The same host figure with nothing else running is the benchmark's own.
        var own = Enumerable.Range(1, 3).Select(i => With(Busy(i), (Metrics.OtherProcessesCpuPercent, 2))).ToArray();
        var ownFindings = Analysers.Run(
            CaseSummary.From(own),
            own,
            new Dictionary<string, string> { ["cpu.count"] = "2" }
        );
        Assert.Contains(ownFindings, f =>
            f.Code == "cpu-bound" && f.Message.Contains("the host used 161% CPU for the benchmark of 200% available")
        );
        Assert.DoesNotContain(ownFindings, f => f.Code == "busy-host");
    }

    [Fact]
    public void In_a_report_of_several_configurations_every_hint_names_its_configuration_and_a_shortfall_is_said_once()
    {
        CaseResult Busy(CaseResult r) =>
            r with
            {
                Metrics = new Dictionary<string, double>(r.Metrics) { [Metrics.OtherProcessesCpuPercent] = 60 },
            };
        var results = new[]
        {
            Busy(Results.Case("r", "tcp-rr", 1, 1000, [1]) with { Config = "kpr" }),
            Busy(Results.Case("r", "tcp-rr", 1, 1000, [1]) with { Config = "iptables" }),
        };
        var model = ReportModel.Build([Results.Run("r")], results);
        Assert.True(model.SeveralConfigs);
        using var dir = new TempDirectory();
        var md = File.ReadAllText(
            ReportWriter.WriteAll(model, dir.Path, ["md"]).Single(p => p.EndsWith(".md", StringComparison.Ordinal))
        );
        Assert.Contains("- **warning** machine busy in 1/1 case:", md);
        Assert.Contains("  - `tcp-rr` (kpr): the machine was busy", md);
        Assert.Contains("  - `tcp-rr` (iptables): the machine was busy", md);
        // Both configurations fell short of repetitions: one line says it, not one per case.
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(md, "successful repetition"));

        var single = ReportModel.Build([Results.Run("r")], [results[0]]);
        Assert.Contains(
            "- **warning** `tcp-rr`: the machine was busy",
            File.ReadAllText(
                ReportWriter
                    .WriteAll(single, dir.File("one"), ["md"])
                    .Single(p => p.EndsWith(".md", StringComparison.Ordinal))
            )
        );
    }

    [Fact]
    public void Warm_up_samples_are_drawn_below_zero_and_measured_ones_above()
    {
        Sample S(int i, Phase phase) => new(i, phase, 0, 1, 0, 1000, 0, 0, 0, 0, 0);
        var points = ReportCharts.TimeSeries(
            [S(0, Phase.Warmup), S(1, Phase.Warmup), S(2, Phase.Measured), S(3, Phase.Measured)],
            stream: false
        );
        Assert.Equal([-1.5, -0.5, 0.5, 1.5], points.Select(p => p.X));
    }

    [Fact]
    public void A_report_directory_holds_only_the_newest_report_and_what_the_user_put_there()
    {
        using var dir = new TempDirectory();
        var two = new[] { Results.Case("r", "tcp-rr", 1, 1000, [1000]), Results.Case("r", "tcp-crr", 1, 500, [1000]) };
        var first = ReportWriter.WriteAll(ReportModel.Build([Results.Run("r")], two), dir.Path);
        File.WriteAllText(dir.File("notes.txt"), "mine");
        Assert.Contains(first, p => p.Contains("tcp-crr", StringComparison.Ordinal));

        var second = ReportWriter.WriteAll(ReportModel.Build([Results.Run("r")], [two[0]]), dir.Path);
        var charts = Directory.GetFiles(Path.Combine(dir.Path, "charts")).Select(Path.GetFileName).ToArray();
        Assert.DoesNotContain(charts, c => c!.Contains("tcp-crr", StringComparison.Ordinal));
        Assert.Equal(second.Count(p => p.Contains("/charts/", StringComparison.Ordinal)), charts.Length);
        Assert.Equal("mine", File.ReadAllText(dir.File("notes.txt")));
        Assert.Equal(
            "cnibench-report/ (report.html, report.md, 3 charts in charts/)",
            ReportWriter.Describe(
                second.Select(p => p.Replace(dir.Path, "cnibench-report", StringComparison.Ordinal)).ToArray(),
                "cnibench-report"
            )
        );
    }

    [Fact]
    public void Compare_tests_each_repetitions_latency_percentiles_on_their_logarithms()
    {
        CaseResult Rep(string config, int rep, long latencyNs) =>
            Results.Case("r-" + config, "tcp-rr", rep, 1000 + rep, [latencyNs, latencyNs, latencyNs]) with
            {
                Config = config,
            };
        var baseline = CaseSummary.From([Rep("a", 1, 100_000), Rep("a", 2, 104_000), Rep("a", 3, 98_000)]);
        var candidate = CaseSummary.From([Rep("b", 1, 200_000), Rep("b", 2, 190_000), Rep("b", 3, 210_000)]);
        var comparisons = Comparison.Compare(baseline, candidate, 5);
        var p99 = Assert.Single(comparisons, c => c.Metric == Metrics.LatencyP99Us);
        Assert.Equal(Verdict.Regression, p99.Verdict);
        Assert.Equal(3, p99.Baseline.N);
        Assert.Contains(comparisons, c => c.Metric == Metrics.LatencyP50Us && c.Verdict == Verdict.Regression);
        // Errors are judged; the host's CPU is environment and never gets a verdict.
        Assert.DoesNotContain(comparisons, c => c.Metric == Metrics.HostCpuPercent);
        Assert.Equal("2 regressions, 0 improvements, 2 no change, 0 inconclusive", Comparison.VerdictLine(comparisons));
    }
}
