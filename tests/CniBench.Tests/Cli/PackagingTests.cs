using CniBench.Tests.Support;

namespace CniBench.Tests.Cli;

/// <summary>`cnibench` as a .NET tool, installed from a local build the way the README says, then used for a
/// run.</summary>
[Trait(Category.Name, Category.Integration)]
public class PackagingTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(4);

    [Fact]
    public async Task The_cli_packs_as_a_dotnet_tool_that_installs_and_runs_with_its_agent()
    {
        using var dir = new TempDirectory();
        var project = Path.Combine(Scenarios.ScenarioLoaderTests.RepositoryRoot(), "src", "CniBench.Cli");
        // Its own artifacts folder: the pack builds beside, never over, the build these tests run from.
        var (packCode, packOut, packErr) = await ChildProcess.RunAsync(
            "/usr/bin/env",
            dir.Path,
            Limit,
            "dotnet",
            "pack",
            project,
            "-c",
            "Release",
            "-o",
            dir.File("nupkg"),
            "--artifacts-path",
            dir.File("artifacts"),
            "-nologo"
        );
        Assert.True(packCode == 0, packOut + packErr);
        var (installCode, installOut, installErr) = await ChildProcess.RunAsync(
            "/usr/bin/env",
            dir.Path,
            Limit,
            "dotnet",
            "tool",
            "install",
            "cnibench",
            "--tool-path",
            dir.File("tools"),
            "--add-source",
            dir.File("nupkg")
        );
        Assert.True(installCode == 0, installOut + installErr);

        File.WriteAllText(
            dir.File("tiny.yaml"),
            "name: tiny\nrepetitions: 1\nwarmup: 0s\nduration: 300ms\ncases:\n  - workload: tcp-rr\n"
        );
        var (code, stdout, stderr) = await ChildProcess.RunAsync(
            dir.File("tools/cnibench"),
            dir.Path,
            TimeSpan.FromSeconds(60),
            "run",
            "--file",
            "tiny.yaml",
            "--no-report"
        );
        Assert.True(code == 0, stdout + stderr);
        Assert.Contains("completed: 1 results", stdout);
    }
}
