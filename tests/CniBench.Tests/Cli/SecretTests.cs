using CniBench.Cli.Commands;
using CniBench.Cli.Storage;
using CniBench.Tests.Support;

namespace CniBench.Tests.Cli;

/// <summary>Secrets given to the CLI or the agent: kept out of logs and files others can read, and refused when
/// they could not travel intact.</summary>
[Trait(Category.Name, Category.Integration)]
public class SecretTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);
    private const string Secret = "hunter2secret";

    [Fact]
    public void Command_lines_and_traces_are_written_without_their_secrets()
    {
        string line = SecretArguments.Redact([
            "runs",
            "list",
            "--db",
            $"Host=db;Username=u;Password={Secret};Database=x",
            "--token",
            Secret,
            $"--external-token={Secret}",
            "--db",
            $"postgres://u:{Secret}@db:5432/x",
            "--config",
            "calico",
        ]);
        Assert.DoesNotContain(Secret, line);
        Assert.Contains("Host=db;Username=u;Password=***;Database=x", line);
        Assert.Contains("--token *** --external-token=*** --db postgres://u:***@db:5432/x --config calico", line);
        Assert.DoesNotContain(
            Secret,
            SecretArguments.RedactText($"Npgsql: PWD={Secret} refused; header Authorization: Bearer {Secret}")
        );
        Assert.Empty(SecretArguments.Warnings(["runs", "list", "--db", "cnibench.db"]));
    }

    [Fact]
    public void The_error_log_is_the_owners_alone_and_holds_no_password()
    {
        using var dir = new TempDirectory();
        var previous = Environment.GetEnvironmentVariable(ErrorLog.DirectoryVariable);
        Environment.SetEnvironmentVariable(ErrorLog.DirectoryVariable, dir.Path);
        try
        {
            var path = ErrorLog.Write(new InvalidOperationException($"connect Host=db;Password={Secret} failed"));
            Assert.NotNull(path);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            var text = File.ReadAllText(path);
            Assert.Contains("Password=***", text);
            Assert.DoesNotContain(Secret, text);
        }
        finally
        {
            Environment.SetEnvironmentVariable(ErrorLog.DirectoryVariable, previous);
        }
    }

    [Fact]
    public async Task A_password_or_token_on_the_command_line_is_warned_about_without_being_repeated()
    {
        using var dir = new TempDirectory();
        var (code, _, stderr) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            "runs",
            "list",
            "--db",
            $"Host=127.0.0.1;Port=1;Username=u;Password={Secret};Timeout=2"
        );
        Assert.Equal(2, code);
        Assert.Contains("warning: --db carries a password, visible to every local user in the process list", stderr);
        Assert.DoesNotContain(Secret, stderr);
    }

    [Fact]
    public async Task Tokens_that_are_not_printable_ascii_are_refused_at_start_by_the_agent_and_the_controller()
    {
        using var dir = new TempDirectory();
        string accented = new('é', 16); // would go out as 16 '?' and match any 16-byte token of question marks
        var (code, _, stderr) = await ChildProcess.RunAsync(
            "cnibench-agent",
            dir.Path,
            Limit,
            [
                "serve",
                "--control-port",
                "0",
                "--tcp-port",
                "0",
                "--udp-port",
                "0",
                "--http-port",
                "0",
                "--token",
                accented,
            ]
        );
        Assert.Equal(2, code);
        Assert.Contains("the token has characters other than printable ASCII", stderr);

        File.WriteAllText(dir.File("token"), accented + "\n");
        (code, _, stderr) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            Limit,
            [
                "run",
                "--target",
                "kube",
                "--external-agent",
                "http://127.0.0.1:1",
                "--external-token-file",
                dir.File("token"),
                "--no-report",
            ]
        );
        Assert.Equal(2, code);
        Assert.Contains("--external-token-file", stderr);
        Assert.Contains("the token has characters other than printable ASCII", stderr);
    }

    [Fact]
    public void Unsaved_results_replace_a_planted_link_instead_of_writing_through_it()
    {
        using var dir = new TempDirectory();
        var victim = dir.File("victim");
        File.WriteAllText(victim, "precious");
        var run = Results.Run("run-planted");
        var target = Path.Combine(dir.Path, $"cnibench-unsaved-{run.Id}.json");
        File.CreateSymbolicLink(target, victim);
        // The old fixed name beside it, planted too: nothing may be written through it either.
        File.CreateSymbolicLink(target + ".tmp", victim);

        var unsaved = new UnsavedResults(dir.Path, run);
        unsaved.Finish(run);

        Assert.Equal(target, unsaved.Path);
        Assert.Equal("precious", File.ReadAllText(victim));
        Assert.Null(new FileInfo(target).LinkTarget); // a file of its own now
        Assert.Equal(run.Id, UnsavedResults.Read(target).Run.Id);
    }
}
