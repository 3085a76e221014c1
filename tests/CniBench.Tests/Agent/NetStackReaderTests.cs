using CniBench.Agent.Sampling;
using CniBench.Cli.Analysis;
using CniBench.Cli.Running;
using CniBench.Contracts.Measurement;
using CniBench.Contracts.Workloads;
using CniBench.Tests.Support;

namespace CniBench.Tests.Agent;

[Trait(Category.Name, Category.Unit)]
public class NetStackReaderTests
{
    [Fact]
    public void Proc_files_are_read_as_the_kernel_writes_them()
    {
        Assert.Equal(
            17547,
            NetStackReader.ParseTimeWait([
                "sockets: used 230",
                "TCP: inuse 5 orphan 0 tw 17547 alloc 9 mem 1",
                "UDP: inuse 2 mem 0",
            ])
        );
        Assert.Equal(0, NetStackReader.ParseTimeWait(["garbage"]));
        Assert.Equal(28232, NetStackReader.ParsePortRange("32768\t60999\n"));
        Assert.Equal(28232, NetStackReader.ParsePortRange(null));
        Assert.Equal(1001, NetStackReader.ParsePortRange("1000 2000"));
        string[] netstat =
        [
            "TcpExt: SyncookiesSent ListenOverflows ListenDrops",
            "TcpExt: 0 12 15",
            "IpExt: InNoRoutes",
            "IpExt: 0",
        ];
        Assert.Equal(12, NetStackReader.ParseTcpExt(netstat, "ListenOverflows"));
        Assert.Equal(15, NetStackReader.ParseTcpExt(netstat, "ListenDrops"));
        Assert.Equal(0, NetStackReader.ParseTcpExt(netstat, "Missing"));
    }

    /// <summary>A second of tcp-crr: 2,000 connections, no errors.</summary>
    private static readonly Contracts.Protocol.JobResult CrrResult = new(
        0,
        1000,
        1,
        0,
        2000,
        new Dictionary<string, long>(),
        new LatencyHistogram().ToSnapshot(),
        new Dictionary<string, long>(),
        null,
        null,
        null
    );

    private static Sample At(int index, NetStack stack) =>
        new(index, Phase.Measured, 0, 1, 0, 100, 0, 50, 10, 30, 0, stack);

    [Fact]
    public void A_case_gets_its_worst_time_wait_conntrack_fill_and_the_listen_drops_of_its_window_and_a_warning()
    {
        var metrics = MetricsCalculator.Compute(
            WorkloadDefaults.For(WorkloadKind.TcpCrr),
            CrrResult,
            [At(0, new NetStack(100, 28232, 1000, 10000, 0, 0)), At(1, new NetStack(17547, 28232, 9000, 10000, 0, 0))],
            [At(0, new NetStack(0, 28232, 10, 10000, 5, 7)), At(1, new NetStack(0, 28232, 20, 10000, 9, 19))]
        );
        Assert.Equal(17547, metrics[Metrics.ClientTimeWait]);
        Assert.Equal(62.2, metrics[Metrics.ClientTimeWaitPortsPercent], 1);
        Assert.Equal(90, metrics[Metrics.ConntrackFillPercent], 1);
        Assert.Equal(12, metrics[Metrics.ServerListenDrops]);

        var summary = new CaseSummary(
            "suite",
            "crr",
            "cfg",
            "tcp-crr",
            1,
            0,
            [],
            metrics.ToDictionary(
                m => m.Key,
                m => MetricStatistics.Of([(1, m.Value)], Metrics.Describe(m.Key).NonNegative)
            ),
            new Dictionary<string, double>(),
            0
        );
        var codes = new PortPressure()
            .Analyse(summary, [], new Dictionary<string, string>())
            .Select(f => f.Code)
            .ToArray();
        Assert.Equal(["time-wait-ports", "conntrack-near-full", "listen-drops"], codes);
    }

    [Fact]
    public void Time_wait_sockets_that_pin_no_client_port_neither_count_nor_warn()
    {
        // 20,000 sockets in TIME_WAIT in the namespace (the server's own, other processes'), 12 of them towards
        // this case's server.
        var metrics = MetricsCalculator.Compute(
            WorkloadDefaults.For(WorkloadKind.TcpCrr),
            CrrResult,
            [At(0, new NetStack(20_000, 28232, 10, 10000, 0, 0, Colliding: 12))],
            [At(0, new NetStack(20_000, 28232, 10, 10000, 0, 0))]
        );
        Assert.Equal(12, metrics[Metrics.ClientTimeWait]);
        Assert.True(metrics[Metrics.ClientTimeWaitPortsPercent] < 1);
    }

    [Fact]
    public void A_job_counts_the_sockets_towards_its_server_only_once_the_namespace_is_past_the_warning_level()
    {
        var stack = NetStackReader.ReadDuringJob(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 9));
        Assert.Equal(stack.TimeWaitPortsPercent > NetStack.TimeWaitPortsLimitPercent, stack.Colliding is not null);
        Assert.Null(NetStackReader.ReadDuringJob(null).Colliding);
    }
}
