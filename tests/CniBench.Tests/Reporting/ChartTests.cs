using AngleSharp.Html.Parser;
using CniBench.Cli.Charts;
using CniBench.Cli.Features;
using CniBench.Cli.Features.Convergence;
using CniBench.Tests.Support;

namespace CniBench.Tests.Reporting;

[Trait(Category.Name, Category.Unit)]
public class ChartTests
{
    private static AngleSharp.Dom.IElement Parse(string svg) =>
        new HtmlParser().ParseDocument($"<body>{svg}</body>").QuerySelector("svg")!;

    [Theory]
    [InlineData(0, 1, new[] { 0, 0.2, 0.4, 0.6, 0.8, 1 })]
    [InlineData(0, 47, new[] { 0.0, 10, 20, 30, 40, 50 })]
    [InlineData(0, 12500, new[] { 0.0, 5000, 10000, 15000 })]
    [InlineData(-3, 3, new[] { -4.0, -2, 0, 2, 4 })]
    public void Axis_ticks_are_round_numbers(double min, double max, double[] expected) =>
        Assert.Equal(expected, Svg.Ticks(min, max).Select(t => Math.Round(t, 9)));

    [Fact]
    public void Grouped_bars_carry_their_values_error_bars_legend_and_axis_titles()
    {
        var svg = Parse(
            BarChart.Render(
                "Throughput",
                "Gbit/s",
                [
                    new BarGroup("tcp-stream/1", [new BarValue("cilium", 9.5, 9, 10), new BarValue("calico", 8)]),
                    new BarGroup(
                        "tcp-stream/32",
                        [new BarValue("cilium", 40, 38, 42), new BarValue("calico", 35, 33, 37)]
                    ),
                ]
            )
        );
        var bars = svg.QuerySelectorAll(".bar");
        Assert.Equal(4, bars.Length);
        Assert.Equal(["9.5", "8", "40", "35"], bars.Select(b => b.GetAttribute("data-value")));
        Assert.Equal(3, svg.QuerySelectorAll(".error-bar").Length);
        Assert.Equal(["cilium", "calico"], svg.QuerySelectorAll(".legend-item text").Select(t => t.TextContent));
        Assert.Contains("Gbit/s", svg.QuerySelectorAll(".axis-title").Select(t => t.TextContent));
        Assert.Equal("Throughput", svg.QuerySelector("title")!.TextContent);
        // Both series use different colours from the colour-blind-safe palette.
        Assert.NotEqual(bars[0].GetAttribute("fill"), bars[1].GetAttribute("fill"));
        Assert.All(bars, b => Assert.Contains(b.GetAttribute("fill"), Svg.Palette));
    }

    [Fact]
    public void Lines_have_a_point_per_value_and_an_optional_reference()
    {
        var chart = CniBench.Cli.Features.TrafficSplit.SplitCharts.SplitRatio(
            "95/5 split",
            [("v1", [(0, 94.0), (5, 96.0), (10, 95.5)]), ("v2", [(0, 6.0), (5, 4.0), (10, 4.5)])],
            95
        );
        var svg = Parse(chart);
        Assert.Equal(6, svg.QuerySelectorAll(".point").Length);
        Assert.Single(svg.QuerySelectorAll(".reference"));
        Assert.Contains("configured 95%", svg.TextContent);

        var timeline = Parse(
            ConvergenceCharts.ConvergenceTimeline(
                "endpoint changes",
                [("node-1", [(1, 12.5), (2, 30)]), ("node-2", [(1, 14), (2, 29)])]
            )
        );
        Assert.Equal(
            ["1", "12.5", "2", "30"],
            timeline
                .QuerySelectorAll(".series[data-series='node-1'] .point")
                .SelectMany(p => new[] { p.GetAttribute("data-x")!, p.GetAttribute("data-y")! })
        );
    }

    [Fact]
    public void A_case_with_many_repetitions_draws_at_most_eight_lines_and_says_so()
    {
        var results = Enumerable
            .Range(1, 20)
            .SelectMany(rep =>
                new[] { "a", "b" }.Select(config =>
                {
                    var r = CniBench.Tests.Support.Results.Case("run", "c", rep, 100, [1000]) with { Config = config };
                    return r with
                    {
                        Client = r.Client with
                        {
                            Samples =
                            [
                                new CniBench.Contracts.Measurement.Sample(
                                    0,
                                    CniBench.Contracts.Measurement.Phase.Measured,
                                    0,
                                    1,
                                    0,
                                    100,
                                    0,
                                    1,
                                    1,
                                    1,
                                    0
                                ),
                            ],
                        },
                    };
                })
            )
            .ToArray();
        var rate = ReportCharts
            .ForCase("c", CniBench.Cli.Analysis.CaseSummary.From(results), results, "x-")
            .First(c => c.Id == "x-rate");
        var svg = Parse(rate.Svg);
        Assert.Equal(8, svg.QuerySelectorAll(".series").Length);
        Assert.Contains("first 4 repetitions of each configuration", rate.Title);
    }

    [Fact]
    public void Service_scale_results_are_drawn_against_the_number_of_services_a_line_per_mode()
    {
        var results = new[]
        {
            ("iptables", 1, 9000.0),
            ("iptables", 1000, 7000.0),
            ("iptables", 10000, 4000.0),
            ("nftables", 10000, 9800.0),
            ("nftables", 1, 9900.0),
        }
            .SelectMany(x =>
                Enumerable
                    .Range(1, 2)
                    .Select(rep =>
                        CniBench.Tests.Support.Results.Case(
                            "run",
                            $"tcp-crr/proxy={x.Item1},services={x.Item2}",
                            rep,
                            x.Item3,
                            [1000]
                        )
                    )
            )
            .ToArray();
        var summaries = CniBench.Cli.Analysis.CaseSummary.From(results);
        var chart = ReportCharts.ScaleCurves(summaries, "s-").Single(c => c.Id == "s-scale-transactions-per-sec");
        var svg = Parse(chart.Svg);
        var iptables = svg.QuerySelectorAll(".series[data-series='tcp-crr/proxy=iptables default'] .point")
            .Select(p => (p.GetAttribute("data-x"), p.GetAttribute("data-y")))
            .ToArray();
        Assert.Equal([("1", "9000"), ("1000", "7000"), ("10000", "4000")], iptables); // sorted by N
        Assert.Equal(2, svg.QuerySelectorAll(".series[data-series='tcp-crr/proxy=nftables default'] .point").Length);
        Assert.Empty(
            ReportCharts.ScaleCurves(
                CniBench.Cli.Analysis.CaseSummary.From(
                    results.Where(r => r.Case.EndsWith("=1", StringComparison.Ordinal)).ToArray()
                ),
                "s-"
            )
        ); // one N: no curve
    }

    [Fact]
    public void A_convergence_case_gets_a_timeline_per_node()
    {
        var r = CniBench.Tests.Support.Results.Case("run", "churn", 1, 1000, [1000]);
        r = r.WithExtension(
            ConvergenceFeature.Key,
            new ConvergenceData(
                [new(1, "add", "a", null, 0, 10), new(2, "replace", "b", "a", 300_000, 310_000)],
                [new("node-1", [12.0, 25.5], [null, 3.0], 0, 1000), new("node-2", [14.0, null], [null, null], 1, 1000)]
            )
        );
        // Stored and read back: a feature's part is the document's own property.
        r = System.Text.Json.JsonSerializer.Deserialize<CniBench.Cli.Results.CaseResult>(
            System.Text.Json.JsonSerializer.Serialize(r, CniBench.Cli.Results.StoreJson.Options),
            CniBench.Cli.Results.StoreJson.Options
        )!;
        var chart = ReportCharts
            .ForCase("churn", CniBench.Cli.Analysis.CaseSummary.From([r]), [r], "c-", SuiteFeatures.Report().Charts)
            .Single(c => c.Id == "c-convergence");
        var svg = Parse(chart.Svg);
        Assert.Equal(
            ["1", "12", "2", "25.5"],
            svg.QuerySelectorAll(".series[data-series='node-1'] .point")
                .SelectMany(p => new[] { p.GetAttribute("data-x")!, p.GetAttribute("data-y")! })
        );
        // the change node-2 never reached has no point
        Assert.Single(svg.QuerySelectorAll(".series[data-series='node-2'] .point"));
    }

    [Fact]
    public void Text_is_escaped_and_non_finite_values_do_not_break_the_drawing()
    {
        var svg = BarChart.Render(
            "<script>",
            "x",
            [new BarGroup("a&b", [new BarValue("s\"", double.NaN), new BarValue("t", 3)])]
        );
        Assert.DoesNotContain("<script>", svg);
        Assert.DoesNotContain("NaN", svg);
        Assert.Contains("a&amp;b", svg);
        Parse(svg);
    }
}
