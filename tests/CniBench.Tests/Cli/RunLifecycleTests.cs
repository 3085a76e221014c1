using System.Text.RegularExpressions;
using CniBench.Cli.Storage;
using CniBench.Tests.Support;

namespace CniBench.Tests.Cli;

/// <summary>
/// `cnibench run` as people meet it: in a real terminal (a pseudo-terminal from script(1)), piped, and
/// killed; and the runs it leaves in the store: abandoned when their controller is gone, listed, shown,
/// deleted and pruned.
/// </summary>
[Trait(Category.Name, Category.Integration)]
public partial class RunLifecycleTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(90);
    private const string Script = "/usr/bin/script";

    // No cool-down: what these tests watch is the terminal and the run's life, not the host's TIME_WAIT sockets,
    // which other processes (a benchmark, the tests before) may have left by the thousand.
    private const string Tiny =
        "name: tiny\ncooldown: none\nrepetitions: 2\nwarmup: 500ms\nduration: 1500ms\ncases:\n"
        + "  - workload: tcp-rr\n";

    private static string Cnibench => Path.Combine(AppContext.BaseDirectory, "cnibench");

    /// <summary>SGR (colour, bold) and erase sequences: what must never reach a pipe, nor a terminal under
    /// NO_COLOR.</summary>
    [GeneratedRegex(@"\x1b\[[0-9;]*[mK]")]
    private static partial Regex StyleOrErase();

    /// <summary>The command in a pseudo-terminal; what the terminal received, byte for byte (carriage returns
    /// kept).</summary>
    private static async Task<(int Code, string Screen)> InTerminalAsync(string dir, bool noColor, params string[] args)
    {
        if (!File.Exists(Script))
            Assert.Skip($"{Script} is missing (Debian's bsdutils): no pseudo-terminal to run in");
        var command = string.Join(' ', new[] { Cnibench }.Concat(args).Select(a => $"'{a}'"));
        var typescript = Path.Combine(dir, "typescript");
        // script -e returns the command's exit code and writes everything the terminal received to the typescript file.
        var (code, stdout, stderr) = await ChildProcess.RunAsync(
            Script,
            dir,
            Limit,
            new Dictionary<string, string?> { ["NO_COLOR"] = noColor ? "1" : null, ["TERM"] = "xterm-256color" },
            "-q",
            "-e",
            "-c",
            command,
            typescript
        );
        return (code, File.Exists(typescript) ? File.ReadAllText(typescript) : stdout + stderr);
    }

    [Fact]
    public async Task A_run_in_a_real_terminal_finishes_cleanly_with_progress_refreshed_in_place()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("tiny.yaml"), Tiny);
        var (code, screen) = await InTerminalAsync(dir.Path, noColor: false, "run", "--file", "tiny.yaml");
        Assert.True(code == 0, screen);
        Assert.DoesNotContain("Unhandled exception", screen);
        Assert.DoesNotContain("   at ", screen);
        // The status line: case, repetition i/n, the rate, elapsed and ETA, rewritten with a carriage return.
        Assert.Matches(
            @"\r\[1/2\] tcp-rr 1/2: (warm-up|measuring) [\d,]+ tx/s, host CPU \d+% · \d+:\d\d elapsed, ETA \d+:\d\d",
            screen
        );
        Assert.True(
            Regex.Count(screen, @"\r\[2/2\] tcp-rr 2/2: ") >= 2,
            "the status line is rewritten in place, not appended"
        );
        Assert.Matches(@"\[2/2\] tcp-rr 2/2 .*ok", screen);
        Assert.Contains("completed: 2 results", screen);
        Assert.Contains("report: cnibench-report/ (report.html, report.md,", screen);
    }

    [Fact]
    public async Task Under_NO_COLOR_a_terminal_gets_no_colour_and_a_pipe_gets_no_escape_at_all()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("tiny.yaml"), Tiny);
        var (code, screen) = await InTerminalAsync(
            dir.Path,
            noColor: true,
            "run",
            "--file",
            "tiny.yaml",
            "--no-report"
        );
        Assert.True(code == 0, screen);
        Assert.DoesNotMatch(StyleOrErase(), screen);
        Assert.Contains("ETA", screen);

        var (pipedCode, piped, stderr) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            new Dictionary<string, string?> { ["NO_COLOR"] = null },
            "run",
            "--file",
            "tiny.yaml",
            "--no-report"
        );
        Assert.True(pipedCode == 0, stderr);
        Assert.DoesNotContain('\x1b', piped);
        Assert.DoesNotContain('\r', piped); // no status line off a terminal: one plain line per repetition
        Assert.Matches(@"\[1/2\] tcp-rr 1/2 ok [\d,]+ tx/s.*\(\d+:\d\d elapsed, ETA \d+:\d\d\)", piped);
    }

    [Fact]
    public async Task A_killed_controllers_run_reads_abandoned_is_left_out_of_report_and_can_be_pruned()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("tiny.yaml"), Tiny.Replace("repetitions: 2", "repetitions: 1"));
        File.WriteAllText(
            dir.File("long.yaml"),
            "name: long\ncooldown: none\nrepetitions: 5\nwarmup: 0s\nduration: 1s\ncases:\n  - workload: tcp-rr\n"
        );
        var (okCode, _, okErr) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "run",
            "--file",
            "tiny.yaml",
            "--no-report"
        );
        Assert.True(okCode == 0, okErr);

        await using (var cli = ChildProcess.Start("cnibench", dir.Path, "run", "--file", "long.yaml", "--no-report"))
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!cli.Stdout.Contains("[1/5]") && DateTime.UtcNow < deadline)
                await Task.Delay(100);
            Assert.Contains("[1/5]", cli.Stdout);
            cli.Signal(ChildProcess.SIGKILL); // nothing of the controller runs after this
            await cli.WaitAsync(Limit);
        }

        var (_, list, _) = await ChildProcess.RunAsync("cnibench", dir.Path, Limit, "runs", "list");
        Assert.Matches(@"long\s*│.*│\s*abandoned\s*│\s*1\s", list);
        string abandoned = Regex.Match(list, @"(\d{8}-\d{6}-[0-9a-f]{4})\s*│\s*long").Groups[1].Value;
        string completed = Regex.Match(list, @"(\d{8}-\d{6}-[0-9a-f]{4})\s*│\s*tiny").Groups[1].Value;

        var (showCode, show, _) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "runs",
            "show",
            abandoned[..^2]
        );
        Assert.Equal(0, showCode);
        Assert.Contains($"run {abandoned}: long on local, config default, abandoned", show);
        Assert.Contains("controller: pid", show);

        // report with no flags takes the newest completed run, not the newer abandoned one.
        var (reportCode, reportOut, reportErr) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "report",
            "--format",
            "md"
        );
        Assert.True(reportCode == 0, reportErr);
        Assert.Contains("report: cnibench-report/ (report.md, ", reportOut);
        var md = File.ReadAllText(Path.Combine(dir.Path, "cnibench-report", "report.md"));
        Assert.Contains($"run `{completed}`", md);
        Assert.DoesNotContain(abandoned, md);

        var (pruneCode, pruned, _) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "runs",
            "prune",
            "--status",
            "abandoned,interrupted"
        );
        Assert.Equal(0, pruneCode);
        Assert.Contains($"deleted 1 run(s): {abandoned} (abandoned)", pruned);
        using var store = ResultStore.Open(dir.File("cnibench.db"));
        Assert.Equal([completed], store.ListRuns().Select(r => r.Id));
        Assert.Equal(0, store.CountResults(abandoned));
    }

    [Fact]
    public async Task Runs_are_named_by_latest_or_a_unique_prefix_and_deleted_by_id()
    {
        using var dir = new TempDirectory();
        var db = dir.File("cnibench.db");
        using (var store = ResultStore.Open(db))
        {
            foreach (var id in new[] { "20261201-100000-aaaa", "20261201-100000-aabb", "20261202-090000-cccc" })
            {
                store.CreateRun(
                    Results.Run(id) with
                    {
                        StartedAt = DateTimeOffset.ParseExact(
                            id[..15],
                            "yyyyMMdd-HHmmss",
                            null,
                            System.Globalization.DateTimeStyles.AssumeUniversal
                        ),
                    }
                );
                store.SaveResult(Results.Case(id, "tcp-rr", 1, 1000, [20_000]));
            }
        }
        var (code, latest, _) = await ChildProcess.RunAsync("cnibench", dir.Path, Limit, "runs", "show", "latest");
        Assert.Equal(0, code);
        Assert.Contains("run 20261202-090000-cccc:", latest);
        (code, var prefixed, _) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "runs",
            "show",
            "20261201-100000-aab"
        );
        Assert.Equal(0, code);
        Assert.Contains("run 20261201-100000-aabb:", prefixed);

        var (ambiguous, _, err) = await ChildProcess.RunAsync("cnibench", dir.Path, Limit, "runs", "show", "20261201");
        Assert.Equal(2, ambiguous);
        Assert.Contains(
            "'20261201' matches 2 runs (20261201-100000-aabb, 20261201-100000-aaaa); give more of the id",
            err
        );

        // One unknown id among several deletes nothing.
        (code, _, err) = await ChildProcess.RunAsync("cnibench", dir.Path, Limit, "runs", "delete", "20261202", "nope");
        Assert.Equal(2, code);
        Assert.Contains("no run 'nope'", err);
        (code, var deleted, _) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "runs",
            "delete",
            "20261202",
            "20261201-100000-aaaa"
        );
        Assert.Equal(0, code);
        Assert.Contains("deleted 2 run(s): 20261202-090000-cccc, 20261201-100000-aaaa", deleted);
        using var after = ResultStore.Open(db);
        Assert.Equal(["20261201-100000-aabb"], after.ListRuns().Select(r => r.Id));
    }
}
