using CniBench.Contracts.Sampling;
using CniBench.Tests.Support;

namespace CniBench.Tests.Running;

/// <summary>Top talkers from conntrack's accounting, as a flow log ranks them.</summary>
[Trait(Category.Name, Category.Unit)]
public class ConntrackFlowsTests
{
    // As /proc/net/nf_conntrack printed them in a network namespace with accounting on (this kernel, 6.18).
    private const string Tcp =
        "ipv4     2 tcp      6 432000 ESTABLISHED src=10.0.0.5 dst=10.96.0.10 sport=50800 dport=80 packets=4 "
        + "bytes=1216 src=10.0.1.7 dst=10.0.0.5 sport=8080 dport=50800 packets=3 bytes=464 [ASSURED] mark=0 "
        + "zone=0 use=2";
    private const string Udp =
        "ipv4     2 udp      17 30 src=10.0.0.5 dst=10.0.0.9 sport=33113 dport=5556 packets=1 bytes=78 [UNREPLIED] "
        + "src=10.0.0.9 dst=10.0.0.5 sport=5556 dport=33113 packets=0 bytes=0 mark=0 zone=0 use=2";
    private const string Tls6 =
        "ipv6     10 tcp      6 431999 ESTABLISHED src=fd00::5 dst=2600:1f14::1 sport=41850 dport=443 packets=9 "
        + "bytes=90000 src=2600:1f14::1 dst=fd00::5 sport=443 dport=41850 packets=7 bytes=700 [ASSURED] mark=0 use=1";

    [Fact]
    public void Each_line_gives_both_directions_with_their_counters()
    {
        var entries = ConntrackFlows.Parse([Tcp, Udp, Tls6, "", "garbage line", "ipv4 2 icmp 1 29 src=1.1.1.1"]);
        Assert.Equal(3, entries.Count);
        Assert.Equal(new FlowBytes("tcp", "10.0.0.5", 50800, "10.96.0.10", 80, 1216, 4), entries[0].Original);
        // The reply is what the DNAT made of it: from the backend, not from the service address.
        Assert.Equal(new FlowBytes("tcp", "10.0.1.7", 8080, "10.0.0.5", 50800, 464, 3), entries[0].Reply);
        Assert.Equal(new FlowBytes("tcp", "2600:1f14::1", 443, "fd00::5", 41850, 700, 7), entries[2].Reply);
    }

    [Fact]
    public void Top_talkers_rank_directions_by_the_bytes_carried_between_readings()
    {
        var before = ConntrackFlows.Parse([Tcp, Tls6]);
        var after = ConntrackFlows.Parse([
            Tcp.Replace("packets=4 bytes=1216", "packets=40 bytes=51216"), // 50,000 more
            Tls6.Replace("packets=9 bytes=90000", "packets=90 bytes=990000"), // 900,000 more
            Udp, // new: all of it counts
        ]);
        var top = ConntrackFlows.TopTalkers(before, after, 3);
        Assert.Equal(
            [
                new FlowBytes("tcp", "fd00::5", 41850, "2600:1f14::1", 443, 900_000, 81),
                // To the backend the service's DNAT chose, not to the service's address.
                new FlowBytes("tcp", "10.0.0.5", 50800, "10.0.1.7", 8080, 50_000, 36),
                new FlowBytes("udp", "10.0.0.5", 33113, "10.0.0.9", 5556, 78, 1),
            ],
            top
        );
        // Everything but the benchmark's own port: what else talks.
        var other = ConntrackFlows.TopTalkers(before, after, 10, e => !e.Uses([80]));
        Assert.Equal(443, other[0].DestinationPort);
        Assert.DoesNotContain(other, f => f.DestinationPort == 8080 || f.SourcePort == 8080);
        // The service's port counts too: the connection to the backend on 8080 was made to the service's port 80.
        Assert.Equal(
            8080,
            Assert.Single(ConntrackFlows.TopTalkers(before, after, 10, e => e.Uses([80]))).DestinationPort
        );
    }

    [Fact]
    public void A_connection_made_again_between_readings_counts_what_the_new_one_carried()
    {
        var before = ConntrackFlows.Parse([Tcp.Replace("bytes=1216", "bytes=999999")]);
        var after = ConntrackFlows.Parse([Tcp]);
        Assert.Equal(1216, ConntrackFlows.TopTalkers(before, after, 1)[0].Bytes);
    }

    [Fact]
    public void The_kernels_full_ipv6_form_is_read_as_the_short_one()
    {
        var full = Tls6.Replace("src=fd00::5 ", "src=fd00:0000:0000:0000:0000:0000:0000:0005 ");
        Assert.Equal("fd00::5", ConntrackFlows.Parse([full])[0].Original.Source);
    }

    [Fact]
    public void Address_pairs_sum_every_byte_by_its_real_ends_and_keep_what_is_not_listed()
    {
        var before = ConntrackFlows.Parse([Tcp]);
        var second = Tcp.Replace("sport=50800", "sport=50801").Replace("dport=50800", "dport=50801");
        var after = ConntrackFlows.Parse([
            Tcp.Replace("packets=4 bytes=1216", "packets=40 bytes=51216"), // 50,000 more
            second, // new: 1,216 and 464
            Tls6,
        ]);
        var pairs = ConntrackFlows.Pairs(before, after, e => e.Uses([80]), 2, out long unlisted);
        Assert.Equal(
            [
                new AddressPairBytes("fd00::5", "2600:1f14::1", false, 90_000, 9),
                // Both connections of the client to the service's backend, summed.
                new AddressPairBytes("10.0.0.5", "10.0.1.7", true, 51_216, 40),
            ],
            pairs
        );
        // The backend's answers (464 on the new connection; nothing more on the old one) and the IPv6 reply.
        Assert.Equal(464 + 700, unlisted);
    }
}
