using System.CommandLine;
using CniBench.Cli.Features;
using CniBench.Cli.Scenarios;
using CniBench.Contracts.Cli;

namespace CniBench.Cli.Commands;

/// <summary>`cnibench suites [NAME]`: list the built-in suites, or print one as a starting point for a scenario
/// file.</summary>
public static class SuitesCommand
{
    public static Command Create()
    {
        var name = new Argument<string?>("suite")
        {
            Description = "Print this suite's YAML",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var target = new Option<string?>("--target")
        {
            Description = "Print the version of the suite that this target runs",
        };
        var command = new Command("suites", "List built-in suites or print one") { name, target };
        command.SetAction(parse =>
        {
            if (parse.GetValue(name) is { } suite)
            {
                var text = ScenarioLoader.BuiltInText(suite, parse.GetValue(target));
                if (text is null)
                {
                    Console.Error.WriteLine(
                        $"cnibench suites: unknown suite '{suite}'; allowed: "
                            + $"{string.Join(", ", ScenarioLoader.BuiltInSuites)}"
                    );
                    return ExitCodes.BadInput;
                }
                Console.Out.Write(text);
                return ExitCodes.Ok;
            }
            var lines = new List<(string Name, Scenario Scenario)>();
            foreach (var s in ScenarioLoader.BuiltInSuites)
            {
                var own = ScenarioLoader.TargetsWithOwnVersion(s);
                bool general =
                    ScenarioLoader.BuiltInText(s) is { } text && own.All(t => ScenarioLoader.BuiltInText(s, t) != text);
                if (general)
                    lines.Add((s, SuiteFeatures.Scenarios.LoadSuite(s)));
                lines.AddRange(own.Select(t => ($"{s} (--target {t})", SuiteFeatures.Scenarios.LoadSuite(s, t))));
            }
            int width = lines.Max(l => l.Name.Length);
            foreach (var (name, scenario) in lines)
                Console.Out.WriteLine(
                    $"{name.PadRight(width)} {scenario.Cases.Count, 3} cases  {scenario.Description}"
                );
            return ExitCodes.Ok;
        });
        return command;
    }
}
