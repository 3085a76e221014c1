using CniBench.Cli.Commands;
using CniBench.Cli.Ownership;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets.Lab;
using CniBench.Cli.Targets.Lab.Network;
using CniBench.Tests.Support;

namespace CniBench.Tests.Lab;

[Trait(Category.Name, Category.Unit)]
public class LabIdTests
{
    [Theory]
    [InlineData("ab12", true)]
    [InlineData("0000", true)]
    [InlineData("ffff", true)]
    [InlineData("../victimA", false)]
    [InlineData("x/..", false)]
    [InlineData("x/../../../../../some/dir", false)]
    [InlineData("..", false)]
    [InlineData("AB12", false)]
    [InlineData("ab1", false)]
    [InlineData("ab123", false)]
    [InlineData("ab1/", false)]
    [InlineData("", false)]
    public void A_lab_id_is_exactly_four_lowercase_hex_digits(string id, bool valid) =>
        Assert.Equal(valid, LabSpec.IsValidId(id));

    [Fact]
    public void New_ids_are_valid() => Assert.All(Enumerable.Range(0, 100), _ => LabSpec.IsValidId(LabSpec.NewId()));
}

/// <summary>
/// `lab down` runs as root and deletes directories, cgroups and namespaces and kills processes: it must touch only
/// what a lab recorded as its own. Each CLI here gets a state directory of its own, so the labs it can see are the
/// test's alone.
/// </summary>
[Trait(Category.Name, Category.Integration)]
public class LabOwnershipTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    /// <summary>`cnibench ARGS` in <paramref name="dir"/>, with the test's state directory when it gives one.</summary>
    private static Task<(int ExitCode, string Stdout, string Stderr)> CliAsync(
        string dir,
        IReadOnlyDictionary<string, string?>? env,
        params string[] args
    ) => ChildProcess.RunAsync("cnibench", dir, Limit, env, args);

    [Fact]
    public async Task Ids_that_are_paths_are_refused_as_bad_input_and_nothing_outside_a_lab_is_deleted_or_killed()
    {
        Requires.Lab();
        using var dir = new TempDirectory();
        var state = Directory.CreateDirectory(dir.File("state")).FullName;
        var victim = Directory.CreateDirectory(dir.File("victimA")).FullName;
        File.WriteAllText(Path.Combine(victim, "keep"), "precious");
        // A fake cgroup whose members a traversing id would have killed: a process of this test's own.
        var fakeCgroup = Directory.CreateDirectory(dir.File("some/dir/n1")).FullName;
        await using var sleeper = ChildProcess.Start("/usr/bin/sleep", dir.Path, "60");
        File.WriteAllText(Path.Combine(fakeCgroup, "cgroup.procs"), $"{sleeper.Pid}\n");
        var env = new Dictionary<string, string?> { ["CNIBENCH_LAB_STATE"] = state };
        string toFake = "x/../../../../../../../.." + dir.File("some/dir");

        foreach (var id in new[] { "../victimA", toFake, "x/..", ".." })
        {
            var (code, stdout, stderr) = await CliAsync(dir.Path, env, "lab", "down", "--id", id);
            Assert.True(code == 2, $"lab down --id {id}: exit {code}\n{stdout}\n{stderr}");
            Assert.Contains($"--id: '{id}' is not a lab id; allowed: four lowercase hexadecimal digits", stderr);
        }
        var (runCode, _, runErr) = await CliAsync(
            dir.Path,
            env,
            "run",
            "--target",
            "lab",
            "--lab",
            "../victimA",
            "--no-report"
        );
        Assert.True(runCode == 2, runErr);
        Assert.Contains("--lab: '../victimA' is not a lab id", runErr);

        Assert.Equal("precious", File.ReadAllText(Path.Combine(victim, "keep")));
        Assert.False(sleeper.HasExited, "a process outside every lab was killed");
        Assert.True(Directory.Exists(fakeCgroup));
        Assert.Equal(
            ["some", "state", "victimA"],
            Directory.GetFileSystemEntries(dir.Path).Select(Path.GetFileName).Order()
        );
    }

    [Fact]
    public async Task A_namespace_merely_named_like_a_labs_is_left_alone_by_down_all_and_named_by_status()
    {
        Requires.Lab();
        using var dir = new TempDirectory();
        var env = new Dictionary<string, string?> { ["CNIBENCH_LAB_STATE"] = dir.File("state") };
        string foreign = $"cnb-{LabSpec.NewId()}-n1";
        await LabShell.RunAsync("ip", ["netns", "add", foreign], null, CancellationToken.None);
        try
        {
            var (code, stdout, stderr) = await CliAsync(dir.Path, env, "lab", "down", "--all");
            Assert.True(code == 0, stderr);
            Assert.Contains("removed 0 namespaces", stdout);
            Assert.Contains("named like a lab's but recorded by none, left alone", stderr);
            Assert.Contains(foreign, stderr);
            Assert.Contains(foreign, await LabBuilder.NamespacesAsync(CancellationToken.None));

            var (_, status, statusErr) = await CliAsync(dir.Path, env, "lab", "status");
            Assert.Contains("no lab is up", status);
            Assert.Contains(foreign, statusErr);
        }
        finally
        {
            if ((await LabBuilder.NamespacesAsync(CancellationToken.None)).Contains(foreign))
                await LabShell.RunAsync("ip", ["netns", "del", foreign], null, CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_run_that_adopts_an_orphan_lab_holds_it_so_down_all_spares_it_until_the_run_ends()
    {
        Requires.Lab();
        await LabRuns.RequireNoLabUpAsync();
        var spec = new LabSpec(LabSpec.NewId(), 2, 1, LabRouting.Native, 1500);
        // Built by a run that is gone: this process's pid with another start time reads dead.
        var deadBuilder = ProcessOwner.Current() with { StartTicks = 1 };
        await LabBuilder.UpAsync(spec, CancellationToken.None, deadBuilder);
        try
        {
            Assert.Equal(new LabBuilder.Holder(deadBuilder, BuiltIt: true), LabBuilder.HolderOf(spec.Id));
            Assert.False(LabBuilder.HolderOf(spec.Id)!.Alive);

            await using (var adopted = await TargetFactory.CreateAsync("lab", null, CancellationToken.None))
            {
                Assert.Equal(spec.Id, Assert.IsType<LabTarget>(adopted).Spec.Id);
                Assert.Equal(
                    new LabBuilder.Holder(ProcessOwner.Current(), BuiltIt: false),
                    LabBuilder.HolderOf(spec.Id)
                );

                var (code, stdout, stderr) = await CliAsync(AppContext.BaseDirectory, null, "lab", "down", "--all");
                Assert.True(code == 0, stderr);
                Assert.Contains($"skipped {spec.Id}: in use by the run of pid {Environment.ProcessId}", stderr);
                Assert.Contains("removed 0 namespaces", stdout);
                Assert.Equal(
                    6,
                    (await LabBuilder.NamespacesAsync(CancellationToken.None)).Count(n =>
                        LabTopology.IdOf(n) == spec.Id
                    )
                );
            }

            // The run ended: the lab is an orphan again, and down --all removes it.
            var (_, after, afterErr) = await CliAsync(AppContext.BaseDirectory, null, "lab", "down", "--all");
            Assert.DoesNotContain("skipped", afterErr);
            Assert.Contains("removed 6 namespaces", after);
            Assert.DoesNotContain(spec.Id, await LabBuilder.LabIdsAsync(CancellationToken.None));
        }
        finally
        {
            await LabBuilder.DownAsync(spec.Id, CancellationToken.None);
        }
    }
}
