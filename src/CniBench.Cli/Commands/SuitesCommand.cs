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
        var command = new Command("suites", "List built-in suites or print one") { name };
        command.SetAction(parse =>
        {
            if (parse.GetValue(name) is { } suite)
            {
                var text = ScenarioLoader.BuiltInText(suite);
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
                var scenario = ScenarioLoader.LoadSuite(s);
                Console.Out.WriteLine($"{s,-12} {scenario.Cases.Count,3} cases  {scenario.Description}");
            }
            return ExitCodes.Ok;
        });
        return command;
    }
}
