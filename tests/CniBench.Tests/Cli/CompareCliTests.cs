using System.Text.Json;
using CniBench.Cli.Storage;
using CniBench.Tests.Support;

namespace CniBench.Tests.Cli;

/// <summary>`cnibench compare` and `cnibench report` on a prepared store, as a CI pipeline would call them.</summary>
[Trait(Category.Name, Category.Integration)]
public class CompareCliTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    // tx/s, latency p50 and p99 (each repetition's own, one value each here, so all equal), errors, host CPU: one
    // regression
    // in tx/s; the latency and CPU figures are the same on both sides; errors are all zero.
    private const string Verdict = "1 regression, 0 improvements, 3 no change, 0 inconclusive";

    /// <summary>Baseline at ~1000 tx/s; candidate either as fast or clearly slower.</summary>
    private static void Prepare(string db, double candidateTps)
    {
        using var store = ResultStore.Open(db);
        foreach (
            var (run, config, tps) in new[] { ("run-a", "baseline", 1000.0), ("run-b", "candidate", candidateTps) }
        )
        {
            store.CreateRun(Results.Run(run) with { Config = config });
            for (int rep = 1; rep <= 4; rep++)
                store.SaveResult(Results.Case(run, "tcp-rr", rep, tps + rep * 3, [20_000]) with { Config = config });
        }
    }

    [Fact]
    public async Task A_significant_regression_fails_the_pipeline_only_when_asked()
    {
        using var dir = new TempDirectory();
        Prepare(dir.File("cnibench.db"), 500);
        var (code, stdout, stderr) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "compare",
            "--baseline",
            "baseline",
            "--candidate",
            "run-b",
            "--fail-on-regression"
        );
        Assert.True(code == 1, $"exit {code}: {stdout} {stderr}");
        Assert.Contains("regression", stdout);

        (code, stdout, _) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "compare",
            "-b",
            "baseline",
            "--candidate",
            "candidate",
            "-o",
            "md"
        );
        Assert.Equal(0, code);
        Assert.Contains("A change counts beyond 5.0%", stdout);
        Assert.Contains("| tcp-rr | transactions.per_sec |", stdout);
        Assert.Contains("-49.6% | worse |", stdout); // 507.5 against 1007.5
        Assert.Equal(Verdict, stdout.TrimEnd().Split('\n')[^1]);

        (code, stdout, _) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "compare",
            "-b",
            "baseline",
            "--candidate",
            "candidate",
            "-o",
            "json"
        );
        using var json = JsonDocument.Parse(stdout);
        Assert.Contains(json.RootElement.GetProperty("comparisons").EnumerateArray(), e =>
            e.GetProperty("verdict").GetString() == "regression"
        );
        Assert.Equal(Verdict, json.RootElement.GetProperty("verdict").GetString());
        Assert.Equal(
            ["run-a"],
            json.RootElement.GetProperty("baseline").GetProperty("runs").EnumerateArray().Select(e => e.GetString())
        );

        (code, stdout, _) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "compare",
            "-b",
            "baseline",
            "--candidate",
            "candidate"
        );
        Assert.Equal(0, code);
        Assert.Equal(Verdict, stdout.TrimEnd().Split('\n')[^1]);
    }

    [Fact]
    public async Task No_regression_passes_and_unknown_labels_say_what_exists()
    {
        using var dir = new TempDirectory();
        Prepare(dir.File("cnibench.db"), 1000);
        var (code, stdout, _) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "compare",
            "-b",
            "baseline",
            "--candidate",
            "candidate",
            "--fail-on-regression",
            "--threshold",
            "2%"
        );
        Assert.Equal(0, code);
        Assert.StartsWith("0 regressions, 0 improvements", stdout.TrimEnd().Split('\n')[^1]);

        var (bad, _, stderr) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "compare",
            "-b",
            "nope",
            "--candidate",
            "candidate"
        );
        Assert.Equal(2, bad);
        Assert.Contains(
            "--baseline: no run or configuration label 'nope'; allowed: a run id (or its first characters, or "
                + "'latest') from 'cnibench runs list', or one of the labels: baseline, candidate",
            stderr
        );

        (bad, _, stderr) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "compare",
            "-b",
            "baseline",
            "--candidate",
            "candidate",
            "--threshold",
            "lots"
        );
        Assert.Equal(2, bad);
        Assert.Contains("--threshold: 'lots' is not valid", stderr);
    }

    [Fact]
    public async Task Report_writes_every_format_for_several_configurations()
    {
        using var dir = new TempDirectory();
        Prepare(dir.File("cnibench.db"), 1200);
        var (code, stdout, stderr) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "report",
            "--config",
            "baseline",
            "--config",
            "candidate",
            "--format",
            "html,md,csv,json",
            "--out",
            "out"
        );
        Assert.True(code == 0, stderr);
        foreach (
            var file in new[]
            {
                "report.html",
                "report.md",
                "results.csv",
                "summary.csv",
                "report.json",
                "charts/quick-summary-transactions-per-sec.svg",
            }
        )
            Assert.True(File.Exists(Path.Combine(dir.Path, "out", file)), $"{file} missing; wrote: {stdout}");
        var summary = File.ReadAllLines(Path.Combine(dir.Path, "out", "summary.csv"));
        Assert.Contains(summary, l =>
            l.StartsWith("quick,tcp-rr,candidate,transactions.per_sec,tx/s,4,1207.5,", StringComparison.Ordinal)
        );

        var (badFormat, _, err) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "report",
            "--format",
            "html,pdf"
        );
        Assert.Equal(2, badFormat);
        Assert.Contains("--format: 'pdf' is not valid; allowed: a comma-separated list of html, md, csv, json", err);
    }

    [Fact]
    public async Task A_run_stored_in_postgres_reads_back_like_one_in_sqlite()
    {
        using var db = TestDatabase.CreateOrSkip("postgres");
        using var dir = new TempDirectory();
        File.WriteAllText(
            dir.File("tiny.yaml"),
            "name: tiny\nrepetitions: 2\nwarmup: 0s\nduration: 300ms\ncases:\n  - workload: tcp-rr\n"
        );
        var (code, stdout, stderr) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "run",
            "--file",
            "tiny.yaml",
            "--db",
            db.Db,
            "--no-report"
        );
        Assert.True(code == 0, $"{stdout}\n{stderr}");
        var (listCode, list, _) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "runs",
            "list",
            "--db",
            db.Db
        );
        Assert.Equal(0, listCode);
        Assert.Matches(@"completed\s*│\s*2\s", list);
        Assert.False(File.Exists(dir.File("cnibench.db")), "nothing was written to the default SQLite file");
    }

    [Fact]
    public async Task Junit_output_has_a_test_case_per_metric_and_a_failure_per_regression()
    {
        using var dir = new TempDirectory();
        Prepare(dir.File("cnibench.db"), 500);
        var (code, stdout, stderr) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "compare",
            "-b",
            "baseline",
            "--candidate",
            "candidate",
            "-o",
            "junit"
        );
        Assert.True(code == 0, stderr);
        var xml = System.Xml.Linq.XDocument.Parse(stdout);
        var suite = xml.Root!.Element("testsuite")!;
        var cases = suite.Elements("testcase").ToArray();
        Assert.Equal(4, cases.Length); // host CPU is environment: shown, not a test case
        Assert.Equal("4", suite.Attribute("tests")!.Value);
        Assert.Equal("1", suite.Attribute("failures")!.Value);
        var failed = Assert.Single(cases, c => c.Element("failure") is not null);
        Assert.Equal(
            ("tcp-rr", "transactions.per_sec"),
            (failed.Attribute("classname")!.Value, failed.Attribute("name")!.Value)
        );
        Assert.Contains(cases, c => c.Attribute("name")!.Value == "latency.p99.us");
        Assert.EndsWith($"<!-- {Verdict} -->", stdout.TrimEnd());
    }

    [Fact]
    public async Task Comparing_by_label_pools_completed_runs_only_and_says_which()
    {
        using var dir = new TempDirectory();
        var db = dir.File("cnibench.db");
        Prepare(db, 1000);
        using (var store = ResultStore.Open(db))
        {
            // An interrupted baseline run that measured far more: pooled silently, it would move the baseline fivefold.
            store.CreateRun(
                Results.Run("run-c", CniBench.Cli.Results.RunState.Interrupted) with
                {
                    Config = "baseline",
                }
            );
            for (int rep = 1; rep <= 2; rep++)
                store.SaveResult(Results.Case("run-c", "tcp-rr", rep, 5000, [20_000]) with { Config = "baseline" });
        }
        var (code, stdout, _) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "compare",
            "-b",
            "baseline",
            "--candidate",
            "candidate",
            "--fail-on-regression"
        );
        Assert.True(code == 0, stdout);
        Assert.Contains(
            "baseline 'baseline': run (run-a), 4 repetitions; left out, not completed: run-c (interrupted)",
            stdout
        );

        (code, stdout, _) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "compare",
            "-b",
            "baseline",
            "--candidate",
            "candidate",
            "--include-incomplete",
            "-o",
            "md"
        );
        Assert.Equal(0, code);
        Assert.Contains("baseline 'baseline': 2 runs pooled (run-a, run-c), 6 repetitions", stdout);
        // (1003 + 1006 + 1009 + 1012 + 5000 + 5000) / 6
        Assert.Contains("| tcp-rr | transactions.per_sec | 2,338 (", stdout);
    }
}
