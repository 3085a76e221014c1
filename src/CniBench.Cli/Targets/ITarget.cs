using CniBench.Cli.Scenarios;
using CniBench.Contracts.Protocol;

namespace CniBench.Cli.Targets;

/// <summary>
/// Where agents run. A runner only talks to this interface: validate a plan, get agents for a case,
/// describe the environment, tear everything down (DisposeAsync, on every exit path).
/// </summary>
public interface ITarget : IAsyncDisposable
{
    string Name { get; }

    /// <summary>Problems that make the plan impossible here (e.g. a placement this target cannot provide).</summary>
    IReadOnlyList<string> Validate(Scenario scenario);

    /// <summary>A server and a client agent placed as the case asks, started if needed.</summary>
    Task<AgentPair> PrepareAsync(PlannedCase plannedCase, CancellationToken cancellationToken);

    Task<IReadOnlyDictionary<string, string>> DescribeEnvironmentAsync(CancellationToken cancellationToken);

    /// <summary>
    /// What a repetition of the case takes here beyond its warm-up and window (endpoint churn, Services to make and
    /// settle), for the run's estimate; the plan knows the work, the target how long its steps take.
    /// </summary>
    TimeSpan EstimatePreparation(PlannedCase plannedCase) => TimeSpan.Zero;
}

/// <summary>A running agent as the runner sees it: its control client, and a way to ask whether it died.</summary>
public sealed record AgentHandle(string Role, AgentInfo Info, AgentClient Client, Func<string?> DeathNotice);

/// <summary>
/// The agents of a case, where the client sends, the placement the target actually achieved, and what the
/// target itself measured while preparing the case (e.g. the lab's rule programming times).
/// </summary>
public sealed record AgentPair(AgentHandle Server, AgentHandle Client, string ServerDataAddress, string AchievedPlacement)
{
    public IReadOnlyDictionary<string, double> TargetMetrics { get; init; } = new Dictionary<string, double>();

    /// <summary>
    /// Egress cases: the source address the server must see (the SNAT address of the path the case is about)
    /// and the server's HTTP address that the runner asks before the case. A mismatch fails the case.
    /// </summary>
    public SourceExpectation? ExpectedSource { get; init; }

    /// <summary>Node samplers on the case's nodes (kube --node-sampler): whole-node CPU and memory, the dataplane's processes.</summary>
    public IReadOnlyList<Running.NodeSampler> Samplers { get; init; } = [];

    /// <summary>Both agents run on the controller's host (local, lab): what else used its CPU in the window is measured too.</summary>
    public bool AgentsOnThisHost { get; init; }

    /// <summary>Traffic-split cases: the backend name (as the echo reports it) of the route's second weight.</summary>
    public string? SplitBackend { get; init; }
}

public sealed record SourceExpectation(string Address, string Why, string HttpAddress);

/// <summary>The target could not provide what was asked (an agent would not start, a host is missing).</summary>
public sealed class TargetException(string message) : Exception(message);
