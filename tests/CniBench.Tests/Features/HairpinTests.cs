using CniBench.Cli.Features;
using CniBench.Cli.Features.Hairpin;
using CniBench.Cli.Running;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets;
using CniBench.Cli.Targets.Lab.Network;
using CniBench.Contracts.Measurement;
using CniBench.Tests.Lab;
using CniBench.Tests.Support;

namespace CniBench.Tests.Features;

[Trait(Category.Name, Category.Unit)]
public class HairpinScenarioTests
{
    private static Scenario Load(string cases) =>
        SuiteFeatures.Scenarios.Load($"name: h\nplacement: pod-to-cluster-ip\ncases:\n{cases}", "h.yaml");

    [Fact]
    public void A_hairpin_case_carries_the_feature_and_hairpin_false_is_a_plain_service_case()
    {
        var cases = Load("  - workload: tcp-rr\n    hairpin: [false, true]\n").Cases;
        Assert.Equal(["tcp-rr/hairpin=false", "tcp-rr/hairpin=true"], cases.Select(c => c.Name));
        Assert.Null(cases[0].Feature<HairpinOptions>("hairpin"));
        Assert.NotNull(cases[1].Feature<HairpinOptions>("hairpin"));
    }

    [Fact]
    public void Hairpin_on_another_placement_is_a_located_error()
    {
        var e = Assert.Throws<ScenarioException>(() =>
            SuiteFeatures.Scenarios.Load(
                "name: h\ncases:\n  - workload: tcp-rr\n    placement: pod-to-pod-cross-node\n    hairpin: true\n",
                "h.yaml"
            )
        );
        var error = Assert.Single(e.Errors);
        Assert.Equal((5, 14, "cases[0].hairpin"), (error.Line, error.Column, error.Field));
        Assert.Contains("applies to placement pod-to-cluster-ip only", error.ToString());
    }

    [Fact]
    public void A_misspelt_hairpin_gets_a_did_you_mean_from_the_features_fields()
    {
        var e = Assert.Throws<ScenarioException>(() => Load("  - workload: tcp-rr\n    hairpn: true\n"));
        Assert.Contains("did you mean 'hairpin'?", Assert.Single(e.Errors).ToString());
    }

    [Fact]
    public void The_hairpin_suite_loads_for_both_targets_and_the_local_target_refuses_it_with_why()
    {
        foreach (var target in new[] { "lab", "kube" })
            Assert.Equal(6, SuiteFeatures.Scenarios.LoadSuite("hairpin", target).Cases.Count);
        var scenario = Load("  - workload: tcp-rr\n    hairpin: true\n");
        var local = new FeatureTarget(
            new CniBench.Cli.Targets.Local.LocalTarget(AgentCommand.Locate()),
            SuiteFeatures.All
        );
        // The local target has no ClusterIP at all: its placement check says so first.
        Assert.Contains(
            "pod-to-cluster-ip is not available on the local target",
            Assert.Single(local.Validate(scenario))
        );
    }

    [Fact]
    public void A_case_using_a_feature_the_run_does_not_have_is_refused_not_run_as_a_plain_case()
    {
        var scenario = Load("  - workload: tcp-rr\n    hairpin: true\n");
        // A cluster target of no cluster: validation only reads the plan.
        var kube = new CniBench.Cli.Targets.Kube.KubeTarget(
            null!,
            new("img", "r", TimeSpan.FromHours(1), TimeSpan.FromMinutes(1))
        );
        var problems = new FeatureTarget(kube, []).Validate(scenario);
        Assert.Contains("uses hairpin, which this run does not have", Assert.Single(problems));
    }
}

[Trait(Category.Name, Category.Integration)]
public class HairpinLabTests
{
    [Theory]
    [InlineData("iptables")]
    [InlineData("nftables")]
    [InlineData("ebpf")]
    public async Task A_pod_reaches_itself_through_a_service_it_alone_backs_and_the_lab_is_given_back(string proxy)
    {
        Requires.Lab();
        var spec = new LabSpec(LabRuns.NewId(), 2, 2, LabRouting.Native, 1500);
        await using var lab = await LabRuns.UpAsync(spec);
        var (outcome, pids) = await LabRuns.RunAsync(
            spec,
            $"name: h\nrepetitions: 1\nwarmup: 0s\nduration: 1s\nplacement: pod-to-cluster-ip\nproxy: {proxy}\n"
                + "cases:\n  - workload: tcp-rr\n    hairpin: true\n  - workload: tcp-crr\n    hairpin: true\n"
        );
        Assert.True(outcome.State == CniBench.Cli.Results.RunState.Completed, Support.Results.Failures(outcome));
        // One agent in the whole lab: the Service's only endpoint is the client's own pod, or nothing answered.
        Assert.Single(pids);
        Assert.All(outcome.Results, r =>
        {
            Assert.Equal("pod-to-cluster-ip (hairpin)", r.AchievedPlacement);
            Assert.True(r.Metrics[Metrics.TransactionsPerSecond] > 0, r.Case);
            Assert.True(r.Metrics.ContainsKey(Metrics.ServiceSettleMs), r.Case);
        });
        // The lab is given back without the run's Service.
        string hairpinIp = LabFamily.V4.Dummy(DataplaneSettings.MaxServices + 1);
        var node = new LabTopology(spec).Node(1).Namespace;
        foreach (var dump in new[] { ("iptables-save", "-t", "nat"), ("nft", "list", "ruleset") })
            Assert.DoesNotContain(
                hairpinIp + "/",
                await LabShell.RunAsync(
                    "ip",
                    ["netns", "exec", node, dump.Item1, dump.Item2, dump.Item3],
                    null,
                    CancellationToken.None
                )
            );
    }
}

/// <summary>The hairpin suite through the CLI on the control-plane test bed, with the real kube-proxy.</summary>
[Collection(Support.TestBed.TestBedCollection.Name)]
[Trait(Category.Name, Category.Integration)]
public class HairpinTestBedTests(Support.TestBed.TestBed bed, ITestOutputHelper output)
{
    [Fact]
    public async Task The_hairpin_suite_completes_on_a_cluster_with_every_case_ok()
    {
        bed.Require();
        using var dir = new TempDirectory();
        var args = bed.ShortSuiteRun("hairpin", dir.File("results.db"));
        var (code, stdout, stderr) = await ChildProcess.RunAsync("cnibench", dir.Path, TimeSpan.FromMinutes(10), args);
        output.WriteLine($"cnibench {string.Join(' ', args)}\n{stdout}{stderr}");
        Assert.True(code == 0, $"{stdout}\n{stderr}\nlogs: {bed.LogDirectory}");
        Assert.DoesNotContain("failed", stdout);
        using var store = CniBench.Cli.Storage.ResultStore.Open(dir.File("results.db"));
        var run = Assert.Single(store.ListRuns());
        var hairpin = store.Results(run.Id).Where(r => r.Case.EndsWith("hairpin=true", StringComparison.Ordinal));
        Assert.Equal(3, hairpin.Count());
        Assert.All(hairpin, r =>
        {
            Assert.Equal("pod-to-cluster-ip (hairpin)", r.AchievedPlacement);
            // The client's own pod is the server: both sides are one agent.
            Assert.Equal(r.Client.Agent, r.Server?.Agent);
        });
    }
}
