using CniBench.Cli.Reporting;
using CniBench.Cli.Storage;
using CniBench.Tests.Support;
using Microsoft.Playwright;

namespace CniBench.Tests.Reporting;

/// <summary>The HTML report opened in a real browser (Debian's chromium, headless), as a reader would.</summary>
[Trait(Category.Name, Category.Integration)]
public class BrowserReportTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_report_renders_without_errors_and_shows_every_chart_with_its_data()
    {
        Requires.Browser();
        using var dir = new TempDirectory();
        var model = ChartedModel(dir);
        var html = ReportWriter
            .WriteAll(model, dir.File("report"), ["html"])
            .Single(p => p.EndsWith(".html", StringComparison.Ordinal));

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(
            new BrowserTypeLaunchOptions
            {
                ExecutablePath = Requires.Chromium,
                Headless = true,
                // The closed network here refuses the browser's own background connections: keep it from trying.
                Args =
                [
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-quic",
                    "--no-first-run",
                    "--disable-background-networking",
                    "--disable-component-update",
                    "--disable-sync",
                ],
            }
        );
        var page = await browser.NewPageAsync(
            new BrowserNewPageOptions
            {
                ViewportSize = new ViewportSize { Width = 1300, Height = 900 },
            }
        );
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
                errors.Add(message.Text);
        };
        page.PageError += (_, error) => errors.Add(error);
        var requests = new List<string>();
        page.Request += (_, request) => requests.Add(request.Url);

        await page.GotoAsync(new Uri(html).AbsoluteUri);
        Assert.Empty(errors);
        Assert.All(requests, url => Assert.StartsWith("file://", url)); // self-contained: nothing fetched

        var charts = page.Locator("svg.cnibench-chart");
        Assert.Equal(model.AllCharts.Count(), await charts.CountAsync());
        for (int i = 0; i < await charts.CountAsync(); i++)
        {
            var chart = charts.Nth(i);
            int marks = await chart.Locator(".bar, .point").CountAsync();
            Assert.True(
                marks > 0,
                $"chart {i} ({await chart.Locator("title").First.TextContentAsync()}) shows no data"
            );
            Assert.True(await chart.IsVisibleAsync());
        }
        // The bars carry the numbers of the summary they draw.
        var tps = model
            .Summaries.Single(s => s.Case == "tcp-rr" && s.Config == "candidate")
            .Metrics[CniBench.Contracts.Measurement.Metrics.TransactionsPerSecond]
            .Mean;
        var bar = page.Locator("svg.bar-chart .bar[data-category='tcp-rr'][data-series='candidate']").First;
        Assert.Equal(
            tps,
            double.Parse(
                (await bar.GetAttributeAsync("data-value"))!,
                System.Globalization.CultureInfo.InvariantCulture
            ),
            2
        );
        Assert.True(await page.Locator(".error-bar").CountAsync() > 0, "confidence intervals are drawn");

        var screenshot = Path.Combine(AppContext.BaseDirectory, "report-screenshot.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
        Assert.True(new FileInfo(screenshot).Length > 10_000);
        output.WriteLine($"screenshot: {screenshot}");
    }

    /// <summary>Two configurations, three repetitions each, with samples: every kind of chart has data.</summary>
    internal static ReportModel ChartedModel(TempDirectory dir)
    {
        using var store = ResultStore.Open(dir.File("charts.db"));
        foreach (var (run, config, tps) in new[] { ("run-a", "baseline", 1000.0), ("run-b", "candidate", 1300.0) })
        {
            store.CreateRun(Results.Run(run) with { Config = config });
            for (int rep = 1; rep <= 3; rep++)
            {
                var r = Results.Case(run, "tcp-rr", rep, tps + rep * 10, [20_000, 25_000, 40_000 + rep * 1000]) with
                {
                    Config = config,
                };
                store.SaveResult(r with { Client = r.Client with { Samples = Samples(tps + rep * 10) } });
            }
        }
        return ReportModel.Load(store, ["run-a", "run-b"], []);
    }

    private static IReadOnlyList<CniBench.Contracts.Measurement.Sample> Samples(double tps) =>
        Enumerable
            .Range(0, 4)
            .Select(i => new CniBench.Contracts.Measurement.Sample(
                i,
                i == 0 ? CniBench.Contracts.Measurement.Phase.Warmup : CniBench.Contracts.Measurement.Phase.Measured,
                0,
                1,
                0,
                (long)(tps + i),
                0,
                100,
                50,
                30,
                0
            ))
            .ToArray();
}
