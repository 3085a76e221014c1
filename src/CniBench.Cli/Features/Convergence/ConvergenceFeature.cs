using CniBench.Cli.Results;
using CniBench.Cli.Running;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets;
using CniBench.Cli.Targets.Kube;
using CniBench.Cli.Targets.Lab;

namespace CniBench.Cli.Features.Convergence;

/// <summary>
/// The convergence suite: a Service's endpoints change (1→N, then each replaced) while a prober on every node sends
/// to it; how long each node takes to reach each new endpoint and to stop sending to a removed one. It runs its cases
/// itself: probers and endpoint changes, not a client and a server.
/// </summary>
public sealed class ConvergenceFeature : ICaseFeature
{
    /// <summary>Its part of a stored result (<see cref="ConvergenceData"/>).</summary>
    public const string Key = "convergence";

    public string Name => Key;

    public IReadOnlyList<ScenarioFields.Field> Fields { get; } =
    [
        new(
            "endpoints",
            $"an integer 1..{Churn.MaxEndpoints}: the service's endpoints go 1→N, then all N are replaced (lab: one "
                + $"by one; kube: a rollout restart), while probers measure convergence",
            ScenarioFields.Int(1, Churn.MaxEndpoints),
            true,
            PerWorkload: true
        ),
        new(
            "changeInterval",
            "a duration 50ms..10s between endpoint changes (default 300ms)",
            ScenarioFields.Duration(TimeSpan.FromMilliseconds(50), TimeSpan.FromSeconds(10)),
            true,
            PerWorkload: true
        ),
        new(
            "injectDelay",
            "a duration 0s..10s: each endpoint change is written this long after it is issued (checks the "
                + "measurement itself)",
            ScenarioFields.Duration(TimeSpan.Zero, TimeSpan.FromSeconds(10)),
            true,
            PerWorkload: true
        ),
    ];

    public object? Read(CaseValues values)
    {
        if (!values.Has("endpoints"))
        {
            if (values.Has("changeInterval") || values.Has("injectDelay"))
                values.Error(
                    "endpoints",
                    "missing: changeInterval and injectDelay describe endpoint churn",
                    "endpoints: N (e.g. 44)",
                    at: values.Has("changeInterval") ? "changeInterval" : "injectDelay"
                );
            return null;
        }
        return new Churn(
            values.Get("endpoints", 44),
            values.Get("changeInterval", TimeSpan.FromMilliseconds(300)),
            values.Get("injectDelay", TimeSpan.Zero)
        );
    }

    public IEnumerable<string> Check(ITarget target, PlannedCase plannedCase)
    {
        var c = plannedCase;
        if (target.Infrastructure is null)
            yield return $"case {c.Name}: endpoints (a convergence case) needs a service whose endpoints can change; "
                + $"the {target.Name} target has none (--target lab or kube)";
        else if (c.Placement != Placement.PodToClusterIp)
            yield return $"case {c.Name}: a convergence case (endpoints) probes a service; allowed placement: "
                + "pod-to-cluster-ip";
        else if (target.Infrastructure is LabSite && c.IpFamily == IpFamily.Ipv6)
            yield return $"case {c.Name}: convergence cases are IPv4 only so far; allowed: ipFamily ipv4";
        if (target.Infrastructure is KubeSite)
            foreach (var pace in new[] { "changeInterval", "injectDelay" }.Where(c.Parameters.ContainsKey))
                yield return $"case {c.Name}: {pace} applies to the lab target only (on a cluster the Deployment's "
                    + "scale-up and rollout set the pace)";
    }

    public bool Runs(PlannedCase plannedCase) => true;

    public async Task<CaseResult> RunAsync(
        IInfrastructure infrastructure,
        RunContext run,
        PlannedCase plannedCase,
        int repetition,
        IRunObserver observer,
        TimeSpan? pollInterval,
        CancellationToken cancellationToken
    )
    {
        var spec = plannedCase.Feature<Churn>(Name)!;
        await using var churn = infrastructure switch
        {
            LabSite lab => await LabConvergence.PrepareAsync(lab, plannedCase, spec, cancellationToken),
            KubeSite kube => await kube
                .Parts.Get(() => new KubeConvergence(kube))
                .PrepareAsync(plannedCase, spec.Endpoints, cancellationToken),
            _ => throw new TargetException($"{infrastructure.Name}: no service whose endpoints can change"),
        };
        return await new ConvergenceRunner(run, pollInterval).RunAsync(
            plannedCase,
            repetition,
            churn,
            observer,
            cancellationToken
        );
    }

    /// <summary>
    /// The lab writes an endpoint change at once: its churn takes its changes' intervals, plus the probers' start. On
    /// a cluster each change waits for a pod to start or stop (about half a second on a quiet one), and the churn's
    /// Deployment and probers take some seconds to come up and go on for the tail.
    /// </summary>
    public TimeSpan EstimatePreparation(ITarget target, PlannedCase plannedCase)
    {
        var churn = plannedCase.Feature<Churn>(Name)!;
        return target.Infrastructure is KubeSite
            ? TimeSpan.FromSeconds(15) + churn.Changes * (churn.Interval + TimeSpan.FromSeconds(0.5))
            : TimeSpan.FromSeconds(2) + churn.Changes * churn.Interval;
    }
}
