using CniBench.Cli.Results;
using CniBench.Cli.Storage;
using CniBench.Tests.Support;

namespace CniBench.Tests.Cli;

/// <summary>
/// The database fails under a running `cnibench run`: made read-only, or full. The user reads one line, the
/// results are kept in a file that `runs import` takes back, and the run is never recorded as completed.
/// The database lives on a small tmpfs of the test's own (root: mount).
/// </summary>
[Trait(Category.Name, Category.Integration)]
public class StoreFaultTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(90);

    private sealed class SmallDisk : IDisposable
    {
        public SmallDisk(string size)
        {
            Requires.Root("mounting a small tmpfs for the database needs root");
            Path = Directory.CreateTempSubdirectory("cnibench-disk-").FullName;
            Mount("-t", "tmpfs", "-o", $"size={size}", "tmpfs", Path);
        }

        public string Path { get; }

        public static void Mount(params string[] args)
        {
            using var mount = System.Diagnostics.Process.Start("mount", args)!;
            mount.WaitForExit();
            Assert.True(mount.ExitCode == 0, $"mount {string.Join(' ', args)} failed");
        }

        public void Dispose()
        {
            using (var chattr = System.Diagnostics.Process.Start("chattr", ["-i", Path])!)
                chattr.WaitForExit();
            using (var umount = System.Diagnostics.Process.Start("umount", ["-l", Path])!)
                umount.WaitForExit();
            Directory.Delete(Path, recursive: true);
        }
    }

    private static async Task<(int Code, string Stdout, string Stderr)> RunUntilAsync(
        string dir,
        string db,
        int repetitions,
        Action? afterFirst
    )
    {
        File.WriteAllText(
            System.IO.Path.Combine(dir, "many.yaml"),
            $"name: many\nrepetitions: {repetitions}\nwarmup: 0s\nduration: 100ms\ncases:\n  - workload: tcp-rr\n"
        );
        await using var cli = ChildProcess.Start(
            "cnibench",
            dir,
            "run",
            "--file",
            "many.yaml",
            "--db",
            db,
            "--no-report"
        );
        if (afterFirst is not null)
        {
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (!cli.Stdout.Contains($"[1/{repetitions}]") && DateTime.UtcNow < deadline)
                await Task.Delay(50);
            afterFirst();
        }
        int code = await cli.WaitAsync(Limit);
        return (code, cli.Stdout, cli.Stderr);
    }

    private static void Chattr(string flag, string path)
    {
        using var chattr = System.Diagnostics.Process.Start("chattr", [flag, path])!;
        chattr.WaitForExit();
        Assert.True(chattr.ExitCode == 0, $"chattr {flag} {path} failed");
    }

    private static string KeptFile(string stderr)
    {
        var match = System.Text.RegularExpressions.Regex.Match(stderr, @"kept in (\S+\.json);");
        Assert.True(match.Success, stderr);
        return match.Groups[1].Value;
    }

    [Fact]
    public async Task A_database_made_read_only_mid_run_fails_the_run_in_one_line_and_keeps_every_result()
    {
        using var disk = new SmallDisk("4m");
        using var dir = new TempDirectory();
        var db = System.IO.Path.Combine(disk.Path, "c.db");
        // chattr +i on its folder: not even root may create the journal a write needs (a remount read-only is
        // refused while the file is open, and an open file stays writable after chattr +i on the file itself).
        var (code, stdout, stderr) = await RunUntilAsync(dir.Path, db, 6, () => Chattr("+i", disk.Path));
        Assert.True(code == 1, $"exit {code}\n{stdout}\n{stderr}");
        Assert.DoesNotContain("   at ", stderr);
        Assert.Contains($"cnibench: {db}: could not store a result (", stderr);
        var kept = KeptFile(stderr);
        try
        {
            var unsaved = UnsavedResults.Read(kept);
            Assert.Equal(RunState.Failed, unsaved.Run.State);
            Assert.NotEmpty(unsaved.Results);

            Chattr("-i", disk.Path);
            using (var before = ResultStore.Open(db))
            {
                var run = Assert.Single(before.ListRuns());
                // it could not be told the end: abandoned, never completed
                Assert.NotEqual(RunState.Completed, run.State);
            }
            var (importCode, imported, importErr) = await ChildProcess.RunAsync(
                "cnibench",
                dir.Path,
                Limit,
                "runs",
                "import",
                kept,
                "--db",
                db
            );
            Assert.True(importCode == 0, importErr);
            Assert.Contains($"run {unsaved.Run.Id} (failed), {unsaved.Results.Count} result(s) added", imported);
            using var after = ResultStore.Open(db);
            var stored = Assert.Single(after.ListRuns());
            Assert.Equal(RunState.Failed, stored.State);
            Assert.Contains("could not store a result", stored.Error);
            // Every repetition that ran is in the database now, each once.
            var reps = after.Results(stored.Id).Select(r => r.Repetition).ToArray();
            Assert.Equal(Enumerable.Range(1, reps.Length), reps.Order());
        }
        finally
        {
            File.Delete(kept);
        }
    }

    [Fact]
    public async Task A_full_disk_never_leaves_a_completed_run_with_results_missing()
    {
        using var disk = new SmallDisk("64k");
        using var dir = new TempDirectory();
        var db = System.IO.Path.Combine(disk.Path, "c.db");
        var (code, stdout, stderr) = await RunUntilAsync(dir.Path, db, 40, afterFirst: null);
        Assert.True(code == 1, $"exit {code}\n{stdout}\n{stderr}");
        Assert.DoesNotContain("   at ", stderr);
        var kept = KeptFile(stderr);
        try
        {
            // Beside the database there was no room: the file went to the temporary directory.
            Assert.StartsWith(System.IO.Path.GetTempPath(), kept);
            var unsaved = UnsavedResults.Read(kept);
            using var store = ResultStore.Open(db);
            var run = Assert.Single(store.ListRuns());
            Assert.NotEqual(RunState.Completed, run.State);
            Assert.True(
                store.CountResults(run.Id) + unsaved.Results.Count < 40,
                "the run stopped at the first result it could not store"
            );
            Assert.Equal(RunState.Failed, unsaved.Run.State);
        }
        finally
        {
            File.Delete(kept);
        }
    }
}
