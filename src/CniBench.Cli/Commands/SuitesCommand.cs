using CniBench.Contracts.Cli;
using System.CommandLine;
using CniBench.Cli.Scenarios;

namespace CniBench.Cli.Commands;

/// <summary>`cnibench suites [NAME]`: list the built-in suites, or print one as a starting point for a scenario file.</summary>
public static class SuitesCommand
{
    public static Command Create()
    {
        var name = new Argument<string?>("suite") { Description = "Print this suite's YAML", Arity = ArgumentArity.ZeroOrOne };
        var target = new Option<string?>("--target") { Description = "Print the version of the suite that this target runs" };
        var command = new Command("suites", "List built-in suites or print one") { name, target };
        command.SetAction(parse =>
        {
            if (parse.GetValue(name) is { } suite)
            {
                var text = ScenarioLoader.BuiltInText(suite, parse.GetValue(target));
                if (text is null)
                {
                    Console.Error.WriteLine($"cnibench suites: unknown suite '{suite}'; allowed: {string.Join(", ", ScenarioLoader.BuiltInSuites)}");
                    return ExitCodes.BadInput;
                }
                Console.Out.Write(text);
                return ExitCodes.Ok;
            }
            foreach (var s in ScenarioLoader.BuiltInSuites)
            {
                var own = ScenarioLoader.TargetsWithOwnVersion(s);
                bool general = ScenarioLoader.BuiltInText(s) is { } text && own.All(t => ScenarioLoader.BuiltInText(s, t) != text);
                if (general) Describe(s, ScenarioLoader.LoadSuite(s), "");
                foreach (var t in own) Describe(s, ScenarioLoader.LoadSuite(s, t), $" (--target {t})");
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static void Describe(string name, Scenario scenario, string target) =>
        Console.Out.WriteLine($"{name + target,-28} {scenario.Cases.Count,3} cases  {scenario.Description}");
}
