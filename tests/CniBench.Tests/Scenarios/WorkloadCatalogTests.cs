using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets;
using CniBench.Contracts.Workloads;
using CniBench.Tests.Support;

namespace CniBench.Tests.Scenarios;

[Trait(Category.Name, Category.Unit)]
public class WorkloadCatalogTests
{
    [Fact]
    public void Every_kind_has_one_row_with_a_unique_name_and_defaults_of_its_own_kind()
    {
        Assert.Equal(Enum.GetValues<WorkloadKind>().Order(), WorkloadCatalog.All.Select(d => d.Kind).Order());
        Assert.Equal(
            WorkloadCatalog.All.Count,
            WorkloadCatalog.All.Select(d => d.Name).Distinct(StringComparer.OrdinalIgnoreCase).Count()
        );
        Assert.All(WorkloadCatalog.All, d => Assert.Equal(d.Kind, d.Defaults.Kind));
        Assert.DoesNotContain("monitor", WorkloadNames.UserFacing);
        Assert.True(WorkloadNames.TryParse("TCP-CRR", out var crr) && crr == WorkloadKind.TcpCrr);
        Assert.False(WorkloadNames.TryParse("tcp-rx", out _));
    }

    [Fact]
    public void The_port_and_shape_of_a_row_decide_where_a_client_sends_and_what_it_counts()
    {
        Assert.Equal(
            [7202, 7202, 7280, 7280, 7201, 7201, 7201],
            new[]
            {
                WorkloadKind.UdpStream,
                WorkloadKind.UdpRr,
                WorkloadKind.Http,
                WorkloadKind.Probe,
                WorkloadKind.TcpStream,
                WorkloadKind.TcpRr,
                WorkloadKind.TcpCrr,
            }.Select(k => AgentPool.DataPort(k, 7201, 7202, 7280))
        );
        Assert.Equal(
            [WorkloadKind.TcpStream, WorkloadKind.UdpStream],
            Enum.GetValues<WorkloadKind>().Where(k => k.IsStream())
        );
        Assert.Equal(
            [WorkloadKind.UdpStream, WorkloadKind.UdpRr],
            Enum.GetValues<WorkloadKind>().Where(k => WorkloadCatalog.Of(k).Port == DataPortKind.Udp)
        );
        Assert.Equal(1400, WorkloadDefaults.For(WorkloadKind.UdpStream).MessageSize);
    }

    [Fact]
    public void The_fields_a_row_lists_are_the_per_workload_scenario_fields_and_apply_to_it_alone()
    {
        var perWorkload = CniBench
            .Cli.Features.SuiteFeatures.Scenarios.CaseFields.Where(f => f.PerWorkload)
            .Select(f => f.Name)
            .Order()
            .ToArray();
        Assert.Equal(perWorkload, WorkloadCatalog.All.SelectMany(d => d.Fields).Distinct().Order());
        Assert.Equal([WorkloadKind.UdpStream], ScenarioFields.Find("bitrate")!.AppliesTo);
        Assert.Equal([WorkloadKind.Http, WorkloadKind.Probe], ScenarioFields.Find("rate")!.AppliesTo);
        Assert.Null(ScenarioFields.Find("parallel")!.AppliesTo);
        Assert.Contains(
            "24..65507 (udp-stream)",
            ScenarioFields.Find("messageSize")!.Allowed,
            StringComparison.Ordinal
        );
    }

    [Fact]
    public void A_spec_is_checked_against_its_own_rows_bounds()
    {
        var udp = WorkloadDefaults.For(WorkloadKind.UdpRr) with { RequestSize = 8, Target = "127.0.0.1:1" };
        Assert.Equal(["requestSize: 8 is out of range; allowed: 24..65507"], Limits.Check(udp));
        var tcp = WorkloadDefaults.For(WorkloadKind.TcpRr) with { RequestSize = 8, Target = "127.0.0.1:1" };
        Assert.Empty(Limits.Check(tcp));
        var probe = WorkloadDefaults.For(WorkloadKind.Probe) with { Rate = double.NaN, Target = "127.0.0.1:1" };
        Assert.Single(Limits.Check(probe), e =>
            e.StartsWith("rate: NaN is out of range for probe", StringComparison.Ordinal)
        );
        var closed = WorkloadDefaults.For(WorkloadKind.Http) with { Rate = 0, Target = "127.0.0.1:1" };
        Assert.Empty(Limits.Check(closed));
        Assert.NotEmpty(Limits.Check(closed with { HttpModel = HttpModel.Open }));
    }
}
