using CniBench.Cli.Commands;
using CniBench.Cli.Results;
using CniBench.Cli.Running;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Storage;
using CniBench.Cli.Targets;
using CniBench.Cli.Targets.Local;
using CniBench.Contracts.Cli;
using CniBench.Contracts.Measurement;
using CniBench.Tests.Support;

namespace CniBench.Tests.Running;

/// <summary>Whatever goes wrong mid-run ends the run as failed with the reason; the user reads one line, the log has
/// the rest.</summary>
[Trait(Category.Name, Category.Integration)]
public class RunFailureTests
{
    /// <summary>An observer that fails as the live view did in a real terminal (a bug, not a target's error).</summary>
    private sealed class Crashing : IRunObserver
    {
        public void CaseStarted(PlannedCase plannedCase, int repetition, int index, int total)
        {
            if (index == 2)
                throw new InvalidOperationException("Encountered malformed markup tag at position 41.");
        }

        public void SampleReceived(PlannedCase plannedCase, Sample sample) { }

        public void CaseFinished(CaseResult result, int index, int total) { }
    }

    [Fact]
    public async Task An_unexpected_exception_marks_the_run_failed_with_its_reason_and_keeps_what_was_measured()
    {
        using var dir = new TempDirectory();
        using var store = ResultStore.Open(dir.File("r.db"));
        var scenario = CniBench.Cli.Features.SuiteFeatures.Scenarios.Load(
            "name: tiny\nrepetitions: 2\nwarmup: 0s\nduration: 300ms\ncases:\n  - workload: tcp-rr\n",
            "tiny.yaml"
        );
        await using var target = new LocalTarget(AgentCommand.Locate());
        var orchestrator = new RunOrchestrator(target, store, new Crashing(), TimeSpan.FromMilliseconds(100));
        await Assert.ThrowsAsync<InvalidOperationException>(() =>
            orchestrator.RunAsync(scenario, "cfg", new Dictionary<string, string>(), CancellationToken.None)
        );

        var run = Assert.Single(store.ListRuns());
        Assert.Equal(RunState.Failed, run.State);
        Assert.Equal("Encountered malformed markup tag at position 41.", run.Error);
        Assert.NotNull(run.FinishedAt);
        Assert.Equal(1, store.CountResults(run.Id)); // the first repetition was stored before the failure
    }

    [Fact]
    public async Task The_user_reads_one_line_and_where_the_details_are_never_a_stack_trace()
    {
        using var dir = new TempDirectory();
        var previousError = Console.Error;
        var previousLogDir = Environment.GetEnvironmentVariable(ErrorLog.DirectoryVariable);
        var stderr = new StringWriter();
        int code;
        try
        {
            Environment.SetEnvironmentVariable(ErrorLog.DirectoryVariable, dir.Path);
            Console.SetError(stderr);
            code = await CommonOptions.GuardAsync(() =>
                throw new InvalidOperationException("Encountered malformed markup tag at position 41.")
            );
        }
        finally
        {
            Console.SetError(previousError);
            Environment.SetEnvironmentVariable(ErrorLog.DirectoryVariable, previousLogDir);
        }
        Assert.Equal(ExitCodes.Failed, code);
        var lines = stderr.ToString().TrimEnd().Split('\n');
        Assert.Equal("cnibench: failed: Encountered malformed markup tag at position 41.", lines[0]);
        Assert.DoesNotContain("   at ", stderr.ToString());
        var log = Assert.Single(Directory.GetFiles(dir.Path, "error-*.log"));
        Assert.Equal($"cnibench: details in {log}", lines[1]);
        Assert.Contains("   at ", File.ReadAllText(log)); // the trace is in the log, for a bug report
    }
}
