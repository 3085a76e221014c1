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
        Assert.Equal(WorkloadCatalog.All.Count, WorkloadCatalog.All.Select(d => d.Name).Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.All(WorkloadCatalog.All, d => Assert.Equal(d.Kind, d.Defaults.Kind));
        Assert.DoesNotContain("monitor", WorkloadNames.UserFacing);
        Assert.True(WorkloadNames.TryParse("TCP-CRR", out var crr) && crr == WorkloadKind.TcpCrr);
        Assert.False(WorkloadNames.TryParse("tcp-rx", out _));
    }

    [Fact]
    public void The_port_and_shape_of_a_row_decide_where_a_client_sends_and_what_it_counts()
    {
        Assert.Equal([7202, 7202, 7280, 7280, 7201, 7201, 7201],
            new[] { WorkloadKind.UdpStream, WorkloadKind.UdpRr, WorkloadKind.Http, WorkloadKind.Probe, WorkloadKind.TcpStream, WorkloadKind.TcpRr, WorkloadKind.TcpCrr }
                .Select(k => AgentPool.DataPort(k, 7201, 7202, 7280)));
        Assert.Equal([WorkloadKind.TcpStream, WorkloadKind.UdpStream], Enum.GetValues<WorkloadKind>().Where(k => k.IsStream()));
        Assert.Equal([WorkloadKind.UdpStream, WorkloadKind.UdpRr], Enum.GetValues<WorkloadKind>().Where(k => k.IsUdp()));
        Assert.Equal(1400, WorkloadDefaults.For(WorkloadKind.UdpStream).MessageSize);
    }
}
