using System.Text.Json;
using CniBench.Cli.Storage;
using CniBench.Tests.Support;

namespace CniBench.Tests.Cli;

/// <summary>`cnibench compare` and `cnibench report` on a prepared store, as a CI pipeline would call them.</summary>
public class CompareCliTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    /// <summary>Baseline at ~1000 tx/s; candidate either as fast or clearly slower.</summary>
    private static void Prepare(string db, double candidateTps)
    {
        using var store = ResultStore.Open(db);
        foreach (var (run, config, tps) in new[] { ("run-a", "baseline", 1000.0), ("run-b", "candidate", candidateTps) })
        {
            store.CreateRun(Results.Run(run) with { Config = config });
            for (int rep = 1; rep <= 4; rep++) store.SaveResult(Results.Case(run, "tcp-rr", rep, tps + rep * 3, [20_000]) with { Config = config });
        }
    }

    [Fact]
    public async Task A_significant_regression_fails_the_pipeline_only_when_asked()
    {
        using var dir = new TempDirectory();
        Prepare(dir.File("cnibench.db"), 800);
        var (code, stdout, stderr) = await ChildProcess.RunAsync("cnibench", dir.Path, Limit, "compare", "--baseline", "baseline", "--candidate", "run-b", "--fail-on-regression");
        Assert.True(code == 1, $"exit {code}: {stdout} {stderr}");
        Assert.Contains("regression", stdout);

        (code, stdout, _) = await ChildProcess.RunAsync("cnibench", dir.Path, Limit, "compare", "-b", "baseline", "-c", "candidate", "-o", "md");
        Assert.Equal(0, code);
        Assert.Contains("1 regression(s), 0 improvement(s) beyond 5.0%", stdout);
        Assert.Contains("| tcp-rr | transactions.per_sec |", stdout);
        Assert.Contains("-19.9% | worse |", stdout); // 807.5 against 1007.5

        (code, stdout, _) = await ChildProcess.RunAsync("cnibench", dir.Path, Limit, "compare", "-b", "baseline", "-c", "candidate", "-o", "json");
        using var json = JsonDocument.Parse(stdout);
        Assert.Contains(json.RootElement.EnumerateArray(), e => e.GetProperty("verdict").GetString() == "regression");
    }

    [Fact]
    public async Task No_regression_passes_and_unknown_labels_say_what_exists()
    {
        using var dir = new TempDirectory();
        Prepare(dir.File("cnibench.db"), 1000);
        var (code, stdout, _) = await ChildProcess.RunAsync("cnibench", dir.Path, Limit, "compare", "-b", "baseline", "-c", "candidate", "--fail-on-regression", "--threshold", "2%");
        Assert.Equal(0, code);
        Assert.DoesNotContain("regression", stdout);

        var (bad, _, stderr) = await ChildProcess.RunAsync("cnibench", dir.Path, Limit, "compare", "-b", "nope", "-c", "candidate");
        Assert.Equal(2, bad);
        Assert.Contains("--baseline: no run or configuration label 'nope'; allowed: a run id from 'cnibench runs list' or one of the labels: baseline, candidate", stderr);

        (bad, _, stderr) = await ChildProcess.RunAsync("cnibench", dir.Path, Limit, "compare", "-b", "baseline", "-c", "candidate", "--threshold", "lots");
        Assert.Equal(2, bad);
        Assert.Contains("--threshold: 'lots' is not valid", stderr);
    }

    [Fact]
    public async Task Report_writes_every_format_for_several_configurations()
    {
        using var dir = new TempDirectory();
        Prepare(dir.File("cnibench.db"), 1200);
        var (code, stdout, stderr) = await ChildProcess.RunAsync("cnibench", dir.Path, Limit, "report", "--config", "baseline", "--config", "candidate", "--format", "html,md,csv,json", "--out", "out");
        Assert.True(code == 0, stderr);
        foreach (var file in new[] { "report.html", "report.md", "results.csv", "summary.csv", "report.json", "charts/quick-summary-transactions-per-sec.svg" })
            Assert.True(File.Exists(Path.Combine(dir.Path, "out", file)), $"{file} missing; wrote: {stdout}");
        var summary = File.ReadAllLines(Path.Combine(dir.Path, "out", "summary.csv"));
        Assert.Contains(summary, l => l.StartsWith("quick,tcp-rr,candidate,transactions.per_sec,tx/s,4,1207.5,"));

        var (badFormat, _, err) = await ChildProcess.RunAsync("cnibench", dir.Path, Limit, "report", "--format", "html,pdf");
        Assert.Equal(2, badFormat);
        Assert.Contains("--format: 'pdf' is not valid; allowed: a comma-separated list of html, md, csv, json", err);
    }

    [Fact]
    public async Task A_run_stored_in_postgres_reads_back_like_one_in_sqlite()
    {
        using var db = TestDatabase.CreateOrSkip("postgres");
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("tiny.yaml"), "name: tiny\nrepetitions: 2\nwarmup: 0s\nduration: 300ms\ncases:\n  - workload: tcp-rr\n");
        var (code, stdout, stderr) = await ChildProcess.RunAsync("cnibench", dir.Path, Limit, "run", "--file", "tiny.yaml", "--db", db.Db, "--no-report");
        Assert.True(code == 0, $"{stdout}\n{stderr}");
        var (listCode, list, _) = await ChildProcess.RunAsync("cnibench", dir.Path, Limit, "runs", "list", "--db", db.Db);
        Assert.Equal(0, listCode);
        Assert.Matches(@"completed\s*│\s*2\s", list);
        Assert.False(File.Exists(dir.File("cnibench.db")), "nothing was written to the default SQLite file");
    }
}
