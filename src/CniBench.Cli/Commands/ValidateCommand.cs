using System.CommandLine;
using CniBench.Cli.Features;
using CniBench.Cli.Scenarios;
using CniBench.Contracts.Cli;

namespace CniBench.Cli.Commands;

/// <summary>`cnibench validate FILE`: check a scenario file and show what it expands to, without running
/// anything.</summary>
public static class ValidateCommand
{
    public static Command Create()
    {
        var file = new Argument<string>("file") { Description = "Scenario YAML file" };
        var command = new Command("validate", "Check a scenario file and list the cases it expands to") { file };
        command.SetAction(
            (parse, _) =>
                CommonOptions.GuardAsync(() =>
                {
                    var scenario = SuiteFeatures.Scenarios.LoadFile(parse.GetValue(file)!);
                    Console.Out.WriteLine(
                        $"{scenario.Source}: valid; {scenario.Cases.Count} cases, {scenario.TotalRuns} runs"
                    );
                    foreach (var c in scenario.Cases)
                        Console.Out.WriteLine(
                            $"  {c.Name} × {c.Repetitions} ({c.Placement.ToName()}, "
                                + $"{c.IpFamily.ToString().ToLowerInvariant()})"
                        );
                    return Task.FromResult(ExitCodes.Ok);
                })
        );
        return command;
    }
}
