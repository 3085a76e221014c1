using System.Text.RegularExpressions;
using CniBench.Cli.Commands;
using CniBench.Cli.Scenarios;
using CniBench.Tests.Support;

namespace CniBench.Tests.Analysis;

/// <summary>Every hint a report or the terminal gives names a flag of <c>cnibench run</c> or a scenario field that
/// exists: a suggestion the user cannot follow is worse than none.</summary>
[Trait(Category.Name, Category.Unit)]
public partial class HintTests
{
    [GeneratedRegex(@"\((--[a-z][a-z-]*)\)")]
    private static partial Regex FlagInParentheses();

    [GeneratedRegex(@"scenario field '([a-zA-Z]+)'")]
    private static partial Regex ScenarioField();

    [Fact]
    public void Every_suggested_flag_and_scenario_field_exists()
    {
        var root = Scenarios.ScenarioLoaderTests.RepositoryRoot();
        string[] sources =
        [
            Path.Combine(root, "src", "CniBench.Cli", "Analysis", "Analysers.cs"),
            Path.Combine(root, "src", "CniBench.Cli", "Reporting", "FindingDigest.cs"),
        ];
        var run = CliRoot.Create().Subcommands.Single(c => c.Name == "run");
        var flags = run.Options.SelectMany(o => o.Aliases.Append(o.Name)).ToHashSet();
        var fields = ScenarioFields
            .CaseFields.Select(f => f.Name)
            .Concat(ScenarioFields.TopLevel)
            .Concat(ScenarioFields.Dataplane)
            .ToHashSet();
        int named = 0;
        foreach (var source in sources)
        {
            var text = File.ReadAllText(source);
            foreach (Match m in FlagInParentheses().Matches(text))
            {
                named++;
                Assert.True(flags.Contains(m.Groups[1].Value), $"{source}: {m.Groups[1].Value} is no flag of run");
            }
            foreach (Match m in ScenarioField().Matches(text))
            {
                named++;
                Assert.True(fields.Contains(m.Groups[1].Value), $"{source}: '{m.Groups[1].Value}' is no field");
            }
        }
        Assert.True(named >= 4, $"only {named} suggestions found: the pattern no longer matches how hints are written");
        // The flags the hints used to suggest, which run never had.
        Assert.DoesNotContain("--rate", flags);
        Assert.DoesNotContain("--parallel", flags);
    }
}
