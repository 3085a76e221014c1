using System.Text.Json;
using AngleSharp.Html.Parser;
using CniBench.Cli.Reporting;
using CniBench.Cli.Results;
using CniBench.Cli.Storage;
using CniBench.Tests.Support;

namespace CniBench.Tests.Reporting;

[Trait(Category.Name, Category.Unit)]
public class ReportTests
{
    private static ReportModel StoredModel(TempDirectory dir)
    {
        using var store = ResultStore.Open(dir.File("r.db"));
        store.CreateRun(Results.Run());
        store.SaveResult(Results.Case("run-1", "tcp-rr", 1, 1000, [20_000, 30_000]));
        store.SaveResult(Results.Case("run-1", "tcp-rr", 2, 1200, [25_000]));
        store.SaveResult(Results.Case("run-1", "tcp-crr</script>", 1, 500, [90_000]));
        store.SaveResult(
            Results.Case(
                "run-1",
                "tcp-crr</script>",
                2,
                0,
                [],
                ResultState.Failed,
                "client agent (pid 42) exited with code 137"
            )
        );
        return ReportModel.Load(store, "run-1");
    }

    [Fact]
    public void Markdown_has_the_summary_and_a_section_per_case_with_ci_and_merged_percentiles()
    {
        using var dir = new TempDirectory();
        var model = StoredModel(dir);
        var writer = new StringWriter();
        MarkdownExporter.Write(model, writer);
        var md = writer.ToString();
        Assert.Contains("| tcp-rr | default | 2/2 |", md);
        Assert.Contains("| tcp-crr</script> | default | 1/2 |", md);
        Assert.Contains("### tcp-rr", md);
        Assert.Contains("**default** (tcp-rr, 2/2 ok)", md);
        Assert.Contains(
            "![completed transactions per second (tx/s)](charts/quick-summary-transactions-per-sec.svg)",
            md
        );
        Assert.Contains("](charts/quick-tcp-rr-latency.svg)", md);
        Assert.Contains("| transactions.per_sec | tx/s | 2 | 1,100 | 1,100 |", md);
        Assert.Contains("Latency over 3 transactions (merged histogram): p50 25.0 µs", md);
        Assert.Contains("> **failed** repetition 2: client agent (pid 42) exited with code 137", md);
        Assert.Contains("| kernel | 6.1.0 |", md);
    }

    [Fact]
    public void Html_is_self_contained_escaped_and_carries_every_result_as_json()
    {
        using var dir = new TempDirectory();
        var model = StoredModel(dir);
        var paths = ReportWriter.WriteAll(model, dir.File("report"), ["html"]);
        var html = File.ReadAllText(paths.Single(p => p.EndsWith(".html", StringComparison.Ordinal)));
        var document = new HtmlParser().ParseDocument(html);

        var rows = document.QuerySelectorAll(".summary-table tbody tr");
        Assert.Equal(2, rows.Length);
        Assert.Equal("tcp-crr</script>", rows[1].QuerySelector("td")!.TextContent);
        Assert.Empty(document.QuerySelectorAll("script[src], link[href], img[src]")); // nothing fetched from anywhere
        Assert.Equal(
            "Test CPU <fast>",
            document
                .QuerySelectorAll("#environment + table td")
                .Select(td => td.TextContent)
                .SkipWhile(t => t != "cpu.model")
                .ElementAt(1)
        );

        var data = document.QuerySelector("script#cnibench-data")!.TextContent;
        using var json = JsonDocument.Parse(data);
        Assert.Equal(4, json.RootElement.GetProperty("results").GetArrayLength());
        Assert.Equal("run-1", json.RootElement.GetProperty("runs")[0].GetProperty("id").GetString());
    }

    [Fact]
    public void The_report_is_rebuilt_from_the_store_alone_and_is_identical()
    {
        using var dir = new TempDirectory();
        var first = ReportWriter.WriteAll(StoredModel(dir), dir.File("a")).Select(File.ReadAllText).ToArray();
        using var store = ResultStore.Open(dir.File("r.db"));
        var again = ReportWriter
            .WriteAll(ReportModel.Load(store, "run-1"), dir.File("b"))
            .Select(File.ReadAllText)
            .ToArray();
        Assert.Equal(first, again);
    }

    [Fact]
    public void Asking_for_a_run_that_is_not_stored_says_how_to_find_one()
    {
        using var dir = new TempDirectory();
        using var store = ResultStore.Open(dir.File("e.db"));
        var e = Assert.Throws<StoreException>(() => ReportModel.Load(store, "nope"));
        Assert.Contains("cnibench runs list", e.Message);
    }
}
