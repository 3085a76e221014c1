using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets;

namespace CniBench.Cli.Running;

/// <summary>
/// A suite as the run sees it: its scenario fields (<see cref="ICaseFields"/>), what it needs of a target, and for the
/// cases that use it, their agents, placed through the target's <see cref="IInfrastructure"/> instead of one branch
/// per suite in every target.
/// </summary>
public interface ICaseFeature : ICaseFields
{
    /// <summary>What a case that uses it needs and this target does not provide (nothing: it can run
    /// here).</summary>
    IEnumerable<string> Check(ITarget target, PlannedCase plannedCase) => [];

    /// <summary>Whether it places this case's agents itself on this target (<see cref="PrepareAsync"/>) instead of
    /// the target's placement.</summary>
    bool Prepares(ITarget target, PlannedCase plannedCase) => false;

    Task<AgentPair> PrepareAsync(
        IInfrastructure infrastructure,
        PlannedCase plannedCase,
        CancellationToken cancellationToken
    ) => throw new NotSupportedException($"the {Name} feature does not place agents");

    /// <summary>What it adds to the case's agents once they are placed (by the target or by a feature): its hooks,
    /// its figures.</summary>
    Task<AgentPair> ExtendAsync(
        IInfrastructure infrastructure,
        PlannedCase plannedCase,
        AgentPair pair,
        CancellationToken cancellationToken
    ) => Task.FromResult(pair);

    /// <summary>Whether it runs this case's repetitions itself (<see cref="RunAsync"/>: a convergence case has
    /// probers and endpoint changes, not a client and a server).</summary>
    bool Runs(PlannedCase plannedCase) => false;

    Task<Results.CaseResult> RunAsync(
        IInfrastructure infrastructure,
        RunContext run,
        PlannedCase plannedCase,
        int repetition,
        IRunObserver observer,
        TimeSpan? pollInterval,
        CancellationToken cancellationToken
    ) => throw new NotSupportedException($"the {Name} feature does not run cases");

    /// <summary>What its preparation adds to a repetition on this target, for the run's estimate.</summary>
    TimeSpan EstimatePreparation(ITarget target, PlannedCase plannedCase) => TimeSpan.Zero;
}
