using CniBench.Cli.Agents;
using CniBench.Cli.Scenarios;

namespace CniBench.Cli.Targets;

/// <summary>
/// Where agents run. A runner only talks to this interface: validate a plan, get agents for a case,
/// describe the environment, tear everything down (DisposeAsync, on every exit path).
/// </summary>
public interface ITarget : IAsyncDisposable
{
    string Name { get; }

    /// <summary>What it can provide at all (placements, dataplane settings): checked the same way
    /// everywhere.</summary>
    TargetCapabilities Capabilities { get; }

    /// <summary>
    /// Problems with a case that depend on this target's state or options (a lab's node count, a missing flag), for a
    /// case whose placement it provides. <see cref="TargetValidation.Validate"/> checks the capabilities first.
    /// </summary>
    IEnumerable<string> CheckCase(PlannedCase plannedCase);

    /// <summary>The order to run the cases in: the plan's, unless this target pays for changing its state between
    /// them (a lab rebuilt for another routing or MTU) and can save it by grouping cases that share it.</summary>
    IReadOnlyList<PlannedCase> Order(IReadOnlyList<PlannedCase> cases) => cases;

    /// <summary>A server and a client agent placed as the case asks, started if needed.</summary>
    Task<AgentPair> PrepareAsync(PlannedCase plannedCase, CancellationToken cancellationToken);

    Task<IReadOnlyDictionary<string, string>> DescribeEnvironmentAsync(CancellationToken cancellationToken);

    /// <summary>
    /// What a repetition of the case takes here beyond its warm-up and window (endpoint churn, Services to make and
    /// settle), for the run's estimate; the plan knows the work, the target how long its steps take.
    /// </summary>
    TimeSpan EstimatePreparation(PlannedCase plannedCase) => TimeSpan.Zero;

    /// <summary>What it offers a suite's feature to place agents with (none on the local target).</summary>
    IInfrastructure? Infrastructure => null;
}

/// <summary>
/// The agents of a case, where the client sends, the placement the target actually achieved, and what the
/// target itself measured while preparing the case (e.g. the lab's rule programming times).
/// </summary>
public sealed record AgentPair(
    AgentHandle Server,
    AgentHandle Client,
    string ServerDataAddress,
    string AchievedPlacement
)
{
    public IReadOnlyDictionary<string, double> TargetMetrics { get; init; } = new Dictionary<string, double>();

    /// <summary>What the case carries besides its two jobs (egress source check, node samplers, split
    /// backend).</summary>
    public IReadOnlyList<ICaseHook> Hooks { get; init; } = [];

    /// <summary>Both agents run on the controller's host (local, lab): what else used its CPU in the window is measured
    /// too.</summary>
    public bool AgentsOnThisHost { get; init; }
}

/// <summary>The target could not provide what was asked (an agent would not start, a host is missing).</summary>
public sealed class TargetException(string message) : Exception(message);
