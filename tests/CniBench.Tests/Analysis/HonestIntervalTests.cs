using CniBench.Cli.Analysis;
using CniBench.Cli.Charts;
using CniBench.Cli.Reporting;
using CniBench.Contracts.Measurement;
using CniBench.Tests.Support;

namespace CniBench.Tests.Analysis;

/// <summary>Every interval a user sees is low … high, inside what the metric can be, and absent where it would say
/// nothing: two repetitions, or repetitions that disagree.</summary>
[Trait(Category.Name, Category.Unit)]
public class HonestIntervalTests
{
    [Fact]
    public void Two_repetitions_give_no_interval_and_say_how_many_there_were()
    {
        // Student's t with one degree of freedom made this 25,391 ± 1,568,310.
        var two = MetricStatistics.Of([20_000.0, 30_782], nonNegative: true);
        Assert.False(two.HasInterval);
        Assert.Equal("n=2", Format.IntervalNote(Metrics.TransactionsPerSecond, two));
        Assert.Equal("25,391 (n=2)", Format.MeanWithInterval(Metrics.TransactionsPerSecond, two));
        Assert.Equal("no interval: 2 repetitions", Format.Interval(Metrics.TransactionsPerSecond, two));
        Assert.Equal(
            "no interval: 1 repetition",
            Format.Interval(Metrics.TransactionsPerSecond, MetricStatistics.Of([5.0]))
        );
        Assert.Equal("1 case", Format.Count(1, "case"));
        Assert.Equal("1,200 cases", Format.Count(1200, "case"));
    }

    [Fact]
    public void Intervals_stay_inside_the_metrics_bounds()
    {
        // Host CPU on 2 cores near its ceiling, spread enough for a t interval past 200%.
        var hostCpu = CaseSummary.From([Cpu(1, 199), Cpu(2, 140), Cpu(3, 200)], hostCores: 2).Single().Metrics[
            Metrics.HostCpuPercent
        ];
        Assert.True(hostCpu.HasInterval);
        Assert.Equal(200, hostCpu.CiHigh);
        Assert.InRange(hostCpu.CiLow, 0, hostCpu.Mean);

        // Without the host's cores (a cluster's nodes), no ceiling but the data.
        var unbounded = MetricStatistics.Of(
            [199.0, 140, 200],
            true,
            Metrics.Describe(Metrics.HostCpuPercent).UpperBound(null)
        );
        Assert.True(unbounded.CiHigh > 200);

        // A share: never past 100; a value seen is never cut off.
        var loss = MetricStatistics.Of([99.0, 60, 100], true, Metrics.Describe(Metrics.UdpLossPercent).UpperBound(2));
        Assert.Equal(100, loss.CiHigh);
        var seen = MetricStatistics.Of([240.0, 200, 230], true, 200);
        Assert.True(seen.CiHigh >= 240);

        // A rate never below zero, whatever the method.
        foreach (var values in new[] { new[] { 0.0, 0, 15 }, [0.9, 17, 34], [1, 1000, 2] })
            Assert.True(MetricStatistics.Of(values, nonNegative: true).CiLow >= 0);
    }

    private static CniBench.Cli.Results.CaseResult Cpu(int repetition, double percent)
    {
        var r = Results.Case("r", "c", repetition, 1000, [1]);
        return r with { Metrics = new Dictionary<string, double>(r.Metrics) { [Metrics.HostCpuPercent] = percent } };
    }

    [Fact]
    public void Repetitions_that_disagree_are_marked_unstable_and_show_their_cv_not_an_interval()
    {
        var crr = MetricStatistics.Of([13_696.0, 10_947, 14_886], nonNegative: true);
        Assert.True(crr.Unstable);
        Assert.Equal("unstable, CV 15%", Format.IntervalNote(Metrics.TransactionsPerSecond, crr));
        var steady = MetricStatistics.Of([17_323.0, 16_941, 16_996], nonNegative: true);
        Assert.False(steady.Unstable);
        Assert.True(steady.CiLow < steady.Mean && steady.Mean < steady.CiHigh);
        Assert.Equal(
            $"{Format.Metric(Metrics.TransactionsPerSecond, steady.CiLow)} … "
                + $"{Format.Metric(Metrics.TransactionsPerSecond, steady.CiHigh)}",
            Format.IntervalNote(Metrics.TransactionsPerSecond, steady)
        );
        Assert.DoesNotContain("±", Format.MeanWithInterval(Metrics.TransactionsPerSecond, steady));

        // A chart draws no error bar for it, and says why.
        var svg = BarChart.Render(
            "t",
            "tx/s",
            [new BarGroup("tcp-crr", [new BarValue("a", crr.Mean, crr.CiLow, crr.CiHigh, Unstable: true)])]
        );
        Assert.DoesNotContain("error-bar", svg);
        Assert.Contains("unstable", svg);
    }

    [Fact]
    public void One_runaway_interval_neither_stretches_the_axis_nor_flattens_the_other_bars()
    {
        var svg = BarChart.Render(
            "t",
            "tx/s",
            [
                new BarGroup("a", [new BarValue("x", 100, 90, 110)]),
                new BarGroup("b", [new BarValue("x", 120, 1, 800_000)]),
            ]
        );
        Assert.Contains("class=\"clipped\"", svg);
        Assert.DoesNotContain(">800k<", svg);
        // The axis' labels stop near the bars: no tick label in the thousands.
        var ticks = System
            .Text.RegularExpressions.Regex.Matches(svg, "text-anchor=\"end\">([0-9.,k]+)<")
            .Select(m => m.Groups[1].Value)
            .ToArray();
        Assert.NotEmpty(ticks);
        Assert.DoesNotContain(ticks, t => t.EndsWith('k'));
    }

    [Fact]
    public void Cases_a_hundred_fold_apart_get_a_panel_each()
    {
        var summaries = CaseSummary.From([
            .. Enumerable.Range(1, 3).Select(i => Results.Case("r", "http", i, 100_000 + i, [1])),
            .. Enumerable.Range(1, 3).Select(i => Results.Case("r", "tls-crr", i, 600 + i, [1])),
            .. Enumerable.Range(1, 3).Select(i => Results.Case("r", "tcp-rr", i, 17_000 + i, [1])),
        ]);
        var tps = ReportCharts
            .Summary(summaries, "s-")
            .Where(c => c.Id.StartsWith("s-transactions", StringComparison.Ordinal))
            .ToArray();
        Assert.Equal(2, tps.Length);
        Assert.Contains("data-category=\"tls-crr\"", tps[1].Svg);
        Assert.DoesNotContain("data-category=\"tls-crr\"", tps[0].Svg);
    }

    [Theory]
    [InlineData(80)]
    [InlineData(160)]
    public void The_summary_table_fits_the_terminal_and_never_splits_a_number(int columns)
    {
        var summaries = CaseSummary.From([
            .. Enumerable
                .Range(1, 3)
                .Select(i => Results.Case("r", "tcp-stream-receive/placement=pod-to-pod", i, 1e6 + i, [1])),
            .. Enumerable.Range(1, 2).Select(i => Results.Case("r", "tls-crr", i, 600 * i, [1])),
        ]);
        var text = new StringWriter();
        var console = Terminal.Create(text, isTerminal: false, noColor: true);
        console.Profile.Width = columns;
        ConsoleView.WriteSummary(console, summaries);
        var lines = text.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.All(lines, l => Assert.True(l.TrimEnd().Length <= columns, $"{l.Length} > {columns}: {l}"));
        Assert.Contains(lines, l => l.Contains("1,000,002 tx/s"));
        Assert.Contains(lines, l => l.Contains("n=2"));
    }
}
