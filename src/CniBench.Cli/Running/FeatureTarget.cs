using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets;

namespace CniBench.Cli.Running;

/// <summary>
/// A target with the run's suite features on top: a case's checks are the target's and those of each feature it
/// uses; a feature that places a case's agents does so through the target's infrastructure; everything else is the
/// target's. The run, its estimate and its validation see one target either way.
/// </summary>
public sealed class FeatureTarget(ITarget inner, IReadOnlyList<ICaseFeature> features) : ITarget
{
    public string Name => inner.Name;

    public TargetCapabilities Capabilities => inner.Capabilities;

    public IInfrastructure? Infrastructure => inner.Infrastructure;

    public IEnumerable<string> CheckCase(PlannedCase plannedCase)
    {
        var unknown = plannedCase.FeatureOptions.Keys.Where(k => features.All(f => f.Name != k)).ToArray();
        if (unknown.Length > 0)
            return [$"case {plannedCase.Name}: uses {string.Join(", ", unknown)}, which this run does not have"];
        return [.. inner.CheckCase(plannedCase), .. Used(plannedCase).SelectMany(f => f.Check(inner, plannedCase))];
    }

    public IReadOnlyList<PlannedCase> Order(IReadOnlyList<PlannedCase> cases) => inner.Order(cases);

    public async Task<AgentPair> PrepareAsync(PlannedCase plannedCase, CancellationToken cancellationToken)
    {
        var feature = Used(plannedCase).FirstOrDefault(f => f.Prepares(inner, plannedCase));
        var infrastructure = inner.Infrastructure;
        AgentPair pair;
        if (feature is null)
            pair = await inner.PrepareAsync(plannedCase, cancellationToken);
        else if (infrastructure is null)
            throw new TargetException($"{inner.Name}: {feature.Name} cases need pods and Services; it has none");
        else
            pair = await infrastructure.CompleteAsync(
                plannedCase,
                await feature.PrepareAsync(infrastructure, plannedCase, cancellationToken),
                cancellationToken
            );
        if (infrastructure is not null)
            foreach (var used in Used(plannedCase))
                pair = await used.ExtendAsync(infrastructure, plannedCase, pair, cancellationToken);
        return pair;
    }

    public Task<IReadOnlyDictionary<string, string>> DescribeEnvironmentAsync(CancellationToken cancellationToken) =>
        inner.DescribeEnvironmentAsync(cancellationToken);

    public TimeSpan EstimatePreparation(PlannedCase plannedCase) =>
        inner.EstimatePreparation(plannedCase)
        + Used(plannedCase).Aggregate(TimeSpan.Zero, (sum, f) => sum + f.EstimatePreparation(inner, plannedCase));

    /// <summary>The feature that runs this case's repetitions itself, if one does.</summary>
    public ICaseFeature? RunnerFor(PlannedCase plannedCase) =>
        Used(plannedCase).FirstOrDefault(f => f.Runs(plannedCase));

    public ValueTask DisposeAsync() => inner.DisposeAsync();

    private IEnumerable<ICaseFeature> Used(PlannedCase plannedCase) =>
        features.Where(f => plannedCase.FeatureOptions.ContainsKey(f.Name));
}
