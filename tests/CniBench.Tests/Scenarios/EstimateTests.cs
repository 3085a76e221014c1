using CniBench.Cli.Targets.Kube;
using CniBench.Cli.Targets.Kube.Api;
using CniBench.Tests.Support;

namespace CniBench.Tests.Scenarios;

[Trait(Category.Name, Category.Unit)]
public class EstimateTests
{
    [Fact]
    public void A_kube_convergence_run_is_estimated_with_its_pods_coming_and_going_not_just_its_windows()
    {
        var scenario = CniBench.Cli.Features.SuiteFeatures.Scenarios.LoadSuite("convergence", "kube");
        using var kube = new KubeClient(
            new KubeConnection(
                new Uri("https://127.0.0.1:6443"),
                "default",
                "test",
                null,
                false,
                null,
                null,
                null,
                "t",
                null,
                null
            )
        );
        var target = Featured.On(
            new KubeTarget(
                kube,
                new KubeTargetOptions("cnibench-agent:latest", "r1", TimeSpan.FromHours(1), TimeSpan.FromMinutes(2))
            )
        );
        // 44 endpoints: 87 changes, each a pod to start or stop. The plan alone said "about 7s"; a run took 90 s.
        Assert.True(scenario.EstimatedDuration < TimeSpan.FromSeconds(30));
        Assert.InRange(scenario.Estimate(target.EstimatePreparation).TotalSeconds / scenario.TotalRuns, 60, 200);
    }

    [Fact]
    public void Services_to_make_count_in_a_kube_estimate_and_plain_cases_add_nothing()
    {
        var scale = CniBench.Cli.Features.SuiteFeatures.Scenarios.LoadSuite("service-scale", "kube");
        using var kube = new KubeClient(
            new KubeConnection(
                new Uri("https://127.0.0.1:6443"),
                "default",
                "test",
                null,
                false,
                null,
                null,
                null,
                "t",
                null,
                null
            )
        );
        var target = Featured.On(
            new KubeTarget(
                kube,
                new KubeTargetOptions("cnibench-agent:latest", "r1", TimeSpan.FromHours(1), TimeSpan.FromMinutes(2))
            )
        );
        var tenThousand = scale.Cases.First(c => c.Dataplane?.Services == 10000);
        Assert.True(
            target.EstimatePreparation(tenThousand) >= TimeSpan.FromSeconds(10000 / 50.0 / tenThousand.Repetitions)
        );
        // Timing one more Service out and in again took about 30 s per repetition at 1000 on the test cluster.
        Assert.True(
            target.EstimatePreparation(scale.Cases.First(c => c.Dataplane?.Services == 1000))
                >= TimeSpan.FromSeconds(30)
        );
        var plain = CniBench.Cli.Features.SuiteFeatures.Scenarios.LoadSuite("dataplane", "kube").Cases[0];
        Assert.Equal(TimeSpan.Zero, target.EstimatePreparation(plain));
    }
}
