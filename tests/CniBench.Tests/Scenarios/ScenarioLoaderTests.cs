using System.Text.Json;
using CniBench.Cli.Features.TrafficSplit;
using CniBench.Cli.Features.Transfer;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets;
using CniBench.Contracts.Workloads;
using CniBench.Tests.Support;

namespace CniBench.Tests.Scenarios;

[Trait(Category.Name, Category.Unit)]
public class ScenarioLoaderTests
{
    private static ScenarioException Fails(string yaml) =>
        Assert.Throws<ScenarioException>(() => CniBench.Cli.Features.SuiteFeatures.Scenarios.Load(yaml, "test.yaml"));

    [Theory]
    [InlineData("quick", 11)]
    [InlineData("dataplane", 6)]
    public void Built_in_suites_load(string suite, int cases)
    {
        var scenario = CniBench.Cli.Features.SuiteFeatures.Scenarios.LoadSuite(suite);
        Assert.Equal(suite, scenario.Name);
        Assert.Equal(cases, scenario.Cases.Count);
    }

    [Fact]
    public void Transfer_cases_read_slow_clients_and_their_pod_counts_and_refuse_pod_counts_elsewhere()
    {
        var lab = CniBench.Cli.Features.SuiteFeatures.Scenarios.LoadSuite("transfer", "lab");
        Assert.Equal(["transfer/ipFamily=ipv4", "transfer/ipFamily=ipv6"], lab.Cases.Select(c => c.Name));
        Assert.All(lab.Cases, c =>
            Assert.True(
                c.Feature<TransferOptions>("transfer") is not null
                    && c.Workload.ThinkTimeMs == 100
                    && c.Workload.Parallel == 200
            )
        );
        var kube = Assert.Single(CniBench.Cli.Features.SuiteFeatures.Scenarios.LoadSuite("transfer", "kube").Cases);
        Assert.Equal(new TransferOptions(1, 1), kube.Feature<TransferOptions>("transfer"));
        var sized = Assert.Single(
            CniBench
                .Cli.Features.SuiteFeatures.Scenarios.Load(
                    "name: t\ncases:\n  - workload: http\n    transfer: true\n    clientPods: 3\n    servers: 4\n",
                    "t.yaml"
                )
                .Cases
        );
        Assert.Equal(new TransferOptions(3, 4), sized.Feature<TransferOptions>("transfer"));
        var e = Fails("name: t\ncases:\n  - workload: http\n    servers: 4\n");
        Assert.Equal(
            "test.yaml:4:14: cases[0].servers: applies to transfer cases only; allowed: add transfer: true",
            Assert.Single(e.Errors).ToString()
        );
        Assert.Equal(
            "cases[0].thinkTime",
            Assert.Single(Fails("name: t\ncases:\n  - workload: http\n    thinkTime: 2m\n").Errors).Field
        );
    }

    [Fact]
    public void Quick_covers_every_workload_and_fits_in_two_minutes()
    {
        var quick = CniBench.Cli.Features.SuiteFeatures.Scenarios.LoadSuite("quick");
        Assert.Equal(
            WorkloadNames.UserFacing.Order(),
            quick.Cases.Select(c => c.Workload.Kind.ToName()).Distinct().Order()
        );
        Assert.Contains(quick.Cases, c => c.Workload.HttpModel == HttpModel.Open);
        Assert.True(quick.EstimatedDuration < TimeSpan.FromMinutes(2), $"quick takes about {quick.EstimatedDuration}");
    }

    [Fact]
    public void Dataplane_is_the_seed_000_matrix()
    {
        var names = CniBench
            .Cli.Features.SuiteFeatures.Scenarios.LoadSuite("dataplane")
            .Cases.Select(c => c.Name)
            .ToArray();
        Assert.Equal(
            new[]
            {
                "tcp-stream/parallel=1",
                "tcp-stream/parallel=32",
                "tcp-rr/parallel=1",
                "tcp-rr/parallel=32",
                "tcp-crr/parallel=1",
                "tcp-crr/parallel=32",
            },
            names
        );
    }

    [Fact]
    public void Lists_expand_into_a_matrix_and_top_level_values_are_defaults()
    {
        var scenario = CniBench.Cli.Features.SuiteFeatures.Scenarios.Load(
            """
            name: m
            duration: 3s
            repetitions: 2
            ipFamily: [ipv4, ipv6]
            cases:
              - workload: tcp-rr
                parallel: [1, 4]
                requestSize: [1, 1KiB]
                repetitions: 5
            """,
            "m.yaml"
        );
        Assert.Equal(8, scenario.Cases.Count);
        Assert.Contains(scenario.Cases, c =>
            c.Name == "tcp-rr/ipFamily=ipv6,parallel=4,requestSize=1KiB"
            && c.Workload.RequestSize == 1024
            && c.Workload.Parallel == 4
            && c.IpFamily == IpFamily.Ipv6
        );
        Assert.All(scenario.Cases, c =>
        {
            Assert.Equal(TimeSpan.FromSeconds(3), c.Duration);
            Assert.Equal(5, c.Repetitions);
        });
        Assert.Equal(40, scenario.TotalRuns);
    }

    [Fact]
    public void Udp_cases_get_datagram_sized_defaults()
    {
        var s = CniBench.Cli.Features.SuiteFeatures.Scenarios.Load(
            "name: u\ncases:\n  - workload: udp-stream\n  - workload: udp-rr\n",
            "u.yaml"
        );
        Assert.Equal(1400, s.Cases[0].Workload.MessageSize);
        Assert.Equal(64, s.Cases[1].Workload.RequestSize);
    }

    [Fact]
    public void Every_mistake_is_reported_with_file_line_column_field_and_what_is_allowed()
    {
        var e = Fails(
            """
            name: bad
            duration: -5s
            cases:
              - workload: tcp-rx
              - workload: tcp-rr
                paralel: 4
              - workload: tcp-rr
                parallel: 100000
              - workload: tcp-rr
                bitrate: 1Gbit
            """
        );
        var lines = e.Errors.Select(x => x.ToString()).ToArray();
        Assert.Contains("test.yaml:2:11: duration: '-5s' is not valid; allowed: a duration 100ms..1h", lines);
        Assert.Contains(lines, l =>
            l.StartsWith(
                "test.yaml:4:15: cases[0].workload: 'tcp-rx' is not valid; allowed: tcp-stream, tcp-rr, tcp-crr, "
                    + "tls-rr, tls-crr, udp-stream, udp-rr, http",
                StringComparison.Ordinal
            )
        );
        Assert.Contains(lines, l =>
            l.StartsWith(
                "test.yaml:6:5: cases[1].paralel: unknown field (did you mean 'parallel'?); allowed: name, workload, "
                    + "parallel",
                StringComparison.Ordinal
            )
        );
        Assert.Contains(lines, l =>
            l.StartsWith(
                "test.yaml:8:15: cases[2].parallel: '100000' is not valid; allowed: an integer 1..1024",
                StringComparison.Ordinal
            )
        );
        Assert.Contains(
            "test.yaml:10:14: cases[3].bitrate: does not apply to tcp-rr; allowed: only with udp-stream",
            lines
        );
        Assert.Equal(5, lines.Length);
    }

    [Theory]
    [InlineData("name: x\ncases: [\n", "yaml")]
    [InlineData("cases:\n  - workload: tcp-rr\n", "name: missing")]
    [InlineData("name: x\n", "cases: missing")]
    [InlineData("name: x\ncases: []\n", "cases: must be a non-empty list")]
    [InlineData("name: x\ncases:\n  - parallel: 2\n", "cases[0].workload: missing")]
    [InlineData(
        "name: x\ncases:\n  - workload: udp-stream\n    messageSize: 100KiB\n",
        "cases[0].messageSize: 102400 is out of range; allowed: 24..65507"
    )]
    [InlineData("name: x\ncases:\n  - workload: http\n    model: open\n", "cases[0].rate: missing for the open model")]
    [InlineData("name: x\ncases:\n  - workload: http\n    rate: 5\n", "cases[0].rate: applies only to the open model")]
    [InlineData(
        "name: x\ncases:\n  - workload: tcp-rr\n  - workload: tcp-rr\n",
        "two cases expand to the same name 'tcp-rr'"
    )]
    [InlineData(
        "name: x\ncases:\n  - workload: tcp-rr\n    timeout: [1s, 2s]\n",
        "cases[0].timeout: takes one value, not a list"
    )]
    [InlineData("- just\n- a list\n", "scenario: must be a mapping")]
    public void Structural_mistakes_are_named(string yaml, string expected)
    {
        var e = Fails(yaml);
        Assert.Contains(e.Errors, x => x.ToString().Contains(expected));
        Assert.All(e.Errors, x => Assert.Matches(@"^test\.yaml:\d+:\d+: ", x.ToString()));
    }

    [Fact]
    public void A_target_may_have_its_own_version_of_a_suite_and_lab_suites_are_refused_elsewhere()
    {
        Assert.Equal(6, CniBench.Cli.Features.SuiteFeatures.Scenarios.LoadSuite("dataplane", "local").Cases.Count);
        var lab = CniBench.Cli.Features.SuiteFeatures.Scenarios.LoadSuite("dataplane", "lab");
        Assert.Equal(36, lab.Cases.Count); // 3 workloads × 3 placements × 2 routings × 2 MTUs
        Assert.Contains(lab.Cases, c =>
            c.Name == "tcp-crr/mtu=9000,placement=pod-to-pod-cross-node,routing=vxlan"
            && c.Dataplane == new DataplaneSettings(Routing: CniBench.Cli.Scenarios.LabRouting.Vxlan, Mtu: 9000)
        );

        var scale = CniBench.Cli.Features.SuiteFeatures.Scenarios.LoadSuite("service-scale", "lab");
        Assert.Equal(
            [1, 1000, 5000, 10000],
            scale
                .Cases.Where(c => c.Name.StartsWith("tcp-crr/proxy=iptables", StringComparison.Ordinal))
                .Select(c => c.Dataplane!.Services!.Value)
        );
        var convergence = CniBench.Cli.Features.SuiteFeatures.Scenarios.LoadSuite("convergence", "lab");
        Assert.All(convergence.Cases, c =>
            Assert.Equal(
                new CniBench.Cli.Features.Convergence.Churn(44, TimeSpan.FromMilliseconds(300), TimeSpan.Zero),
                c.Feature<CniBench.Cli.Features.Convergence.Churn>("convergence")
            )
        );
        Assert.All(CniBench.Cli.Features.SuiteFeatures.Scenarios.LoadSuite("egress", "lab").Cases, c =>
            Assert.Equal(Placement.PodToExternal, c.Placement)
        );

        var kube = CniBench.Cli.Features.SuiteFeatures.Scenarios.LoadSuite("dataplane", "kube");
        Assert.Equal(24, kube.Cases.Count); // 3 workloads × 2 flow counts × 4 placements
        Assert.Empty(
            Featured
                .On(
                    new CniBench.Cli.Targets.Kube.KubeTarget(
                        null!,
                        new("img", "r", TimeSpan.FromHours(1), TimeSpan.FromMinutes(1))
                    )
                )
                .Validate(kube)
        );

        var refused = Assert.Throws<ScenarioException>(() =>
            CniBench.Cli.Features.SuiteFeatures.Scenarios.LoadSuite("service-scale", "local")
        );
        Assert.Contains("suite 'service-scale' runs on --target kube or lab, not local", refused.Errors[0].ToString());
        foreach (var suite in new[] { "convergence", "service-scale" })
            Assert.Empty(
                Featured
                    .On(
                        new CniBench.Cli.Targets.Kube.KubeTarget(
                            null!,
                            new("img", "r", TimeSpan.FromHours(1), TimeSpan.FromMinutes(1))
                        )
                    )
                    .Validate(CniBench.Cli.Features.SuiteFeatures.Scenarios.LoadSuite(suite, "kube"))
            );
    }

    [Fact]
    public void Weights_go_with_a_gateway_placement_and_expand_the_matrix()
    {
        var scenario = CniBench.Cli.Features.SuiteFeatures.Scenarios.Load(
            "name: x\nplacement: pod-to-gateway\ncases:\n  - workload: http\n    weights: [95/5, 3/1]\n",
            "x.yaml"
        );
        Assert.Equal(
            [new SplitWeights(95, 5), new SplitWeights(3, 1)],
            scenario.Cases.Select(c => c.Feature<SplitWeights>("traffic-split"))
        );
        Assert.Equal(25.0, scenario.Cases[1].Feature<SplitWeights>("traffic-split")!.SharePercentB);
        Assert.Contains(Fails("name: x\nplacement: pod-to-gateway\ncases:\n  - workload: http\n").Errors, e =>
            e.ToString().Contains("cases[0].weights: missing: pod-to-gateway splits the traffic between two backends")
        );
        Assert.Contains(Fails("name: x\ncases:\n  - workload: http\n    weights: 95/5\n").Errors, e =>
            e.ToString().Contains("cases[0].weights: applies to placement pod-to-gateway only")
        );
        Assert.Contains(
            Fails("name: x\nplacement: pod-to-gateway\ncases:\n  - workload: http\n    weights: 95:5\n").Errors,
            e => e.ToString().Contains("two HTTPRoute weights A/B")
        );
        Assert.Contains(
            Fails("name: x\nplacement: pod-to-gateway\ncases:\n  - workload: tcp-rr\n    weights: 95/5\n").Errors,
            e => e.ToString().Contains("cases[0].weights: does not apply to tcp-rr")
        );
    }

    [Fact]
    public void Churn_settings_need_endpoints_and_lab_settings_are_refused_by_the_local_target()
    {
        Assert.Contains(Fails("name: x\ncases:\n  - workload: probe\n    changeInterval: 1s\n").Errors, e =>
            e.ToString().Contains("cases[0].endpoints: missing: changeInterval and injectDelay describe endpoint churn")
        );
        Assert.Contains(Fails("name: x\ncases:\n  - workload: tcp-rr\n    endpoints: 4\n").Errors, e =>
            e.ToString().Contains("cases[0].endpoints: does not apply to tcp-rr")
        );
        var scenario = CniBench.Cli.Features.SuiteFeatures.Scenarios.Load(
            "name: x\nproxy: nftables\ncases:\n  - workload: probe\n    endpoints: 3\n",
            "x.yaml"
        );
        var problems = Featured
            .On(new CniBench.Cli.Targets.Local.LocalTarget(CniBench.Cli.Targets.AgentCommand.Locate()))
            .Validate(scenario);
        Assert.Equal(
            [
                "case probe: proxy cannot be set on the local target (the lab target sets them: --target lab)",
                "case probe: endpoints (a convergence case) needs a service whose endpoints can change; the local "
                    + "target has none (--target lab or kube)",
            ],
            problems
        );
        var onKube = CniBench.Cli.Features.SuiteFeatures.Scenarios.Load(
            "name: x\nmtu: 9000\nservices: 10\ncases:\n  - workload: probe\n    endpoints: 3\n    placement: "
                + "pod-to-pod-cross-node\n",
            "x.yaml"
        );
        Assert.Equal(
            [
                "case probe: mtu cannot be set on the kube target (a cluster's own: compare its modes with --config, "
                    + "one run per configuration)",
                "case probe: a convergence case (endpoints) probes a service; allowed placement: pod-to-cluster-ip",
            ],
            Featured
                .On(
                    new CniBench.Cli.Targets.Kube.KubeTarget(
                        null!,
                        new("img", "r", TimeSpan.FromHours(1), TimeSpan.FromMinutes(1))
                    )
                )
                .Validate(onKube)
        );
    }

    [Fact]
    public void Unknown_suites_and_missing_files_say_what_exists()
    {
        var suite = Assert.Throws<ScenarioException>(() =>
            CniBench.Cli.Features.SuiteFeatures.Scenarios.LoadSuite("nope")
        );
        Assert.Contains(
            "unknown suite 'nope'; allowed: convergence, dataplane, egress, hairpin, quick, service-scale",
            suite.Errors[0].ToString()
        );
        var file = Assert.Throws<ScenarioException>(() =>
            CniBench.Cli.Features.SuiteFeatures.Scenarios.LoadFile("/no/such/file.yaml")
        );
        Assert.Contains("no such file", file.Errors[0].ToString());
    }

    [Fact]
    public void The_published_json_schema_names_exactly_the_fields_the_loader_accepts()
    {
        var path = Path.Combine(RepositoryRoot(), "docs", "scenario.schema.json");
        using var schema = JsonDocument.Parse(File.ReadAllText(path));
        var top = schema.RootElement.GetProperty("properties").EnumerateObject().Select(p => p.Name).Order();
        var caseFields = schema
            .RootElement.GetProperty("$defs")
            .GetProperty("case")
            .GetProperty("properties")
            .EnumerateObject()
            .Select(p => p.Name)
            .Order();
        Assert.Equal(ScenarioFields.TopLevel.Order(), top);
        Assert.Equal(CniBench.Cli.Features.SuiteFeatures.Scenarios.CaseFields.Select(f => f.Name).Order(), caseFields);
        var workloads = schema
            .RootElement.GetProperty("$defs")
            .GetProperty("case")
            .GetProperty("properties")
            .GetProperty("workload")
            .GetProperty("enum")
            .EnumerateArray()
            .Select(e => e.GetString());
        Assert.Equal(WorkloadNames.UserFacing, workloads);
        // A field that applies to some workloads names exactly those in its description, as the workload table has it.
        var caseProperties = schema.RootElement.GetProperty("$defs").GetProperty("case").GetProperty("properties");
        foreach (var field in CniBench.Cli.Features.SuiteFeatures.Scenarios.CaseFields.Where(f => f.PerWorkload))
        {
            string description = caseProperties.GetProperty(field.Name).GetProperty("description").GetString()!;
            var named = System
                .Text.RegularExpressions.Regex.Matches(description, "[a-z]+(-[a-z]+)*")
                .Select(m => m.Value)
                .Intersect(WorkloadNames.UserFacing);
            Assert.True(
                field.AppliesTo!.Select(k => k.ToName()).Order().SequenceEqual(named.Order()),
                $"docs/scenario.schema.json: {field.Name}'s description names {string.Join(", ", named)}; the "
                    + $"workload table: {string.Join(", ", field.AppliesTo!.Select(k => k.ToName()))}"
            );
        }
        var placements = schema
            .RootElement.GetProperty("$defs")
            .GetProperty("placement")
            .GetProperty("enum")
            .EnumerateArray()
            .Select(e => e.GetString());
        Assert.Equal(Placements.All, placements);
    }

    [Fact]
    public void The_documented_examples_are_valid()
    {
        var examples = Directory.GetFiles(Path.Combine(RepositoryRoot(), "docs", "examples"), "*.yaml");
        Assert.NotEmpty(examples);
        foreach (var example in examples)
            Assert.NotEmpty(CniBench.Cli.Features.SuiteFeatures.Scenarios.LoadFile(example).Cases);
    }

    internal static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "CniBench.slnx")))
            dir = dir.Parent;
        return dir?.FullName
            ?? throw new InvalidOperationException("repository root not found above " + AppContext.BaseDirectory);
    }
}
