using System.CommandLine;
using CniBench.Cli.Commands;
using CniBench.Contracts.Cli;
using CniBench.Tests.Support;

namespace CniBench.Tests.Cli;

/// <summary>A misspelt flag or verb is bad input on every verb: exit 2, as documented, never 1 (a failed
/// run).</summary>
public class ParseErrorTests
{
    private static IEnumerable<string[]> Verbs(Command command, string[] path)
    {
        foreach (var sub in command.Subcommands)
        {
            string[] here = [.. path, sub.Name];
            yield return here;
            foreach (var deeper in Verbs(sub, here))
                yield return deeper;
        }
    }

    [Fact]
    [Trait(Category.Name, Category.Unit)]
    public async Task A_misspelt_flag_on_every_verb_and_a_misspelt_verb_exit_2()
    {
        var verbs = Verbs(CliRoot.Create(), []).ToArray();
        Assert.True(verbs.Length >= 15, $"only {verbs.Length} verbs found");
        var error = Console.Error;
        var output = Console.Out;
        try
        {
            Console.SetError(TextWriter.Null);
            Console.SetOut(TextWriter.Null);
            foreach (var verb in verbs)
            {
                int code = await CliRoot.InvokeAsync(CliRoot.Create(), [.. verb, "--sute", "quick"]);
                Assert.True(code == ExitCodes.BadInput, $"cnibench {string.Join(' ', verb)} --sute: exit {code}");
            }
            foreach (var parent in verbs.Where(v => CliRoot.Create().Subcommands.Any(c => c.Name == v[0])))
            {
                if (!CliRoot.Create().Subcommands.First(c => c.Name == parent[0]).Subcommands.Any())
                    continue;
                int code = await CliRoot.InvokeAsync(CliRoot.Create(), [parent[0], "statu"]);
                Assert.True(code == ExitCodes.BadInput, $"cnibench {parent[0]} statu: exit {code}");
            }
        }
        finally
        {
            Console.SetError(error);
            Console.SetOut(output);
        }
    }

    [Fact]
    [Trait(Category.Name, Category.Integration)]
    public async Task Both_executables_exit_2_on_a_misspelling_and_say_what_was_not_understood()
    {
        using var dir = new TempDirectory();
        var (code, _, stderr) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            TimeSpan.FromSeconds(60),
            "run",
            "--sute",
            "quick"
        );
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("--sute", stderr);
        (code, _, stderr) = await ChildProcess.RunAsync(
            "cnibench-agent",
            dir.Path,
            TimeSpan.FromSeconds(60),
            "serve",
            "--prot",
            "1"
        );
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("--prot", stderr);
    }
}
