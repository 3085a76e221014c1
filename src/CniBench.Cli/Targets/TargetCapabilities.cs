using CniBench.Cli.Scenarios;

namespace CniBench.Cli.Targets;

/// <summary>
/// What a target can provide at all, checked for every case the same way on every target before anything runs. A
/// target's own <see cref="ITarget.CheckCase"/> adds only what depends on its state (a lab's nodes, a run's options).
/// </summary>
/// <param name="Placements">The placements it can build.</param>
/// <param name="DataplaneFields">Which of a case's dataplane settings (<see cref="ScenarioFields.Dataplane"/>) it
/// applies.</param>
/// <param name="FixedDataplane">Why the other dataplane settings cannot be set here, and where they can.</param>
public sealed record TargetCapabilities(
    IReadOnlyList<Placement> Placements,
    IReadOnlyList<string> DataplaneFields,
    string FixedDataplane = ""
)
{
    /// <summary>What the case asks that this target cannot provide; the first answer says whether the placement is one
    /// of them.</summary>
    public IEnumerable<string> Check(string target, PlannedCase c)
    {
        if (!Placements.Contains(c.Placement))
            yield return $"case {c.Name}: placement {c.Placement.ToName()} is not available on the {target} target; "
                + $"allowed: {string.Join(", ", Placements.Select(p => p.ToName()))}";
        var fixedHere = ScenarioFields
            .Dataplane.Where(f => c.Parameters.ContainsKey(f) && !DataplaneFields.Contains(f))
            .ToArray();
        if (fixedHere.Length > 0)
            yield return $"case {c.Name}: {string.Join(", ", fixedHere)} cannot be set on the {target} target "
                + $"({FixedDataplane})";
    }
}

public static class TargetValidation
{
    /// <summary>Every problem that makes the plan impossible on this target: what it cannot provide, then what its
    /// state rules out.</summary>
    public static IReadOnlyList<string> Validate(this ITarget target, Scenario scenario) =>
        scenario.Cases.SelectMany(target.ValidateCase).ToArray();

    /// <summary>The problems of one case (none when it can run here).</summary>
    public static IReadOnlyList<string> ValidateCase(this ITarget target, PlannedCase c)
    {
        var general = target.Capabilities.Check(target.Name, c).ToList();
        // A placement the target cannot build makes its own checks of that placement meaningless.
        bool placementRefused = !target.Capabilities.Placements.Contains(c.Placement);
        return placementRefused ? general : [.. general, .. target.CheckCase(c)];
    }

    /// <summary>
    /// The problems of a plan said once per kind: "27 cases: asks for vxlan routing and MTU 1450, but lab 1a2b was
    /// built with native and 1500; … (tcp-rr/routing=vxlan, … and 24 more)". A problem reads "case NAME: why"; the
    /// why is what groups them, with the case's own name taken out of it.
    /// </summary>
    public static IReadOnlyList<string> Summarize(IReadOnlyList<(string Case, string Problem)> problems) =>
        problems
            .Select(p => (p.Case, Why: Why(p.Case, p.Problem)))
            .GroupBy(p => p.Why)
            .Select(g =>
            {
                var cases = g.Select(p => p.Case).Distinct().ToArray();
                string names =
                    cases.Length <= 3
                        ? string.Join(", ", cases)
                        : $"{string.Join(", ", cases.Take(3))} and {cases.Length - 3} more";
                return cases.Length == 1 ? $"case {cases[0]}: {g.Key}" : $"{cases.Length} cases ({names}): {g.Key}";
            })
            .ToArray();

    private static string Why(string caseName, string problem)
    {
        string prefix = $"case {caseName}: ";
        return problem.StartsWith(prefix, StringComparison.Ordinal) ? problem[prefix.Length..] : problem;
    }
}
