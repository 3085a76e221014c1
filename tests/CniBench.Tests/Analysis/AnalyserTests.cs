using CniBench.Cli.Analysis;
using CniBench.Cli.Results;
using CniBench.Contracts.Measurement;
using CniBench.Tests.Support;

namespace CniBench.Tests.Analysis;

[Trait(Category.Name, Category.Unit)]
public class AnalyserTests
{
    private static IReadOnlyList<Finding> Analyse(
        IReadOnlyList<CaseResult> results,
        Dictionary<string, string>? environment = null
    ) => Analysers.Run(CaseSummary.From(results), results, environment ?? new() { ["cpu.count"] = "2" });

    private static CaseResult With(CaseResult r, string metric, double value) =>
        r with
        {
            Metrics = new Dictionary<string, double>(r.Metrics) { [metric] = value },
        };

    [Fact]
    public void A_quiet_case_with_enough_repetitions_raises_nothing()
    {
        var results = Enumerable.Range(1, 3).Select(i => Results.Case("r", "c", i, 1000 + i, [1000])).ToArray();
        Assert.Empty(Analyse(results));
    }

    [Fact]
    public void Cpu_bound_high_variation_errors_few_repetitions_and_placement_are_each_reported()
    {
        var results = new[]
        {
            With(
                With(Results.Case("r", "c", 1, 1000, [1000]), Metrics.HostCpuPercent, 190),
                Metrics.ClientCpuPercent,
                95
            ),
            With(Results.Case("r", "c", 2, 2000, [1000]), Metrics.Errors, 7) with
            {
                AchievedPlacement = "pod-to-pod-same-node",
            },
        };
        var codes = Analyse(results).Select(f => f.Code).ToArray();
        Assert.Contains("cpu-bound", codes);
        Assert.Contains("high-variation", codes);
        Assert.Contains("errors", codes);
        Assert.Contains("few-repetitions", codes);
        Assert.Contains("placement-not-achieved", codes);
        Assert.Contains(Analyse(results), f =>
            f.Code == "cpu-bound" && f.Message.Contains("the client agent used 95% CPU of 100% available")
        );
    }

    [Theory]
    [InlineData("pod-to-cluster-ip", "pod-to-cluster-ip (hairpin)", false)]
    [InlineData("pod-to-external", "pod-to-external (gateway), source 192.168.200.2 seen", false)]
    [InlineData("pod-to-cluster-ip", "pod-to-cluster-ip", false)]
    [InlineData("pod-to-pod-cross-node", "pod-to-pod-same-node", true)]
    [InlineData("pod-to-pod-cross-node", "pod-to-pod-cross-node (not achieved: both on n1; one node)", true)]
    [InlineData("pod-to-cluster-ip", "pod-to-cluster-ipv6", true)]
    public void A_placement_with_a_detail_is_achieved_and_another_or_one_not_achieved_is_missed(
        string asked,
        string achieved,
        bool missed
    ) => Assert.Equal(missed, PlacementNotAchieved.Missed(asked, achieved));

    [Fact]
    public void Environment_problems_are_run_wide_findings()
    {
        var env = new Dictionary<string, string>
        {
            ["mtu.eth0"] = "1500",
            ["mtu.vxlan0"] = "1450",
            ["conntrack.count"] = "900",
            ["conntrack.max"] = "1000",
        };
        var findings = Analysers.EnvironmentFindings(env).ToArray();
        Assert.Contains(findings, f => f.Code == "mtu-mismatch" && f.Case is null);
        Assert.Contains(findings, f => f.Code == "conntrack-near-full" && f.Message.Contains("90% full (900/1000)"));
    }

    [Fact]
    public void Failed_repetitions_and_outliers_are_named()
    {
        var results = Enumerable
            .Range(1, 7)
            .Select(i => Results.Case("r", "c", i, i == 4 ? 5000 : 1000 + i, [1000]))
            .Append(Results.Case("r", "c", 8, 0, [], ResultState.Failed, "boom"))
            .ToArray();
        var findings = Analyse(results);
        Assert.Contains(findings, f =>
            f.Code == "failed-repetitions" && f.Message.StartsWith("1 of 8", StringComparison.Ordinal)
        );
        Assert.Contains(findings, f => f.Code == "outliers" && f.Message.Contains("repetition(s) 4"));
    }

    [Fact]
    public void Kube_proxy_busy_in_a_window_is_flagged_and_the_cni_agents_are_not()
    {
        var quiet = Enumerable
            .Range(1, 3)
            .Select(i =>
                With(
                    With(Results.Case("r", "c", i, 1000 + i, [1000]), Metrics.KubeProxyCpuPercent, 2),
                    Metrics.CniCpuPercent,
                    60
                )
            )
            .ToArray();
        Assert.DoesNotContain(Analyse(quiet), f => f.Code == "proxy-busy");

        var busy = quiet.Select((r, i) => i == 1 ? With(r, Metrics.KubeProxyCpuPercent, 85) : r).ToArray();
        var finding = Assert.Single(Analyse(busy), f => f.Code == "proxy-busy");
        Assert.Contains("up to 85% of a core", finding.Message);
    }
}
