using AngleSharp.Html.Parser;
using CniBench.Cli.Features.Transfer;
using CniBench.Cli.Reporting;
using CniBench.Cli.Transfer;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Sampling;
using CniBench.Tests.Support;

namespace CniBench.Tests.Reporting;

/// <summary>Where the bytes went: classification by node, zone and range, the steadiness check, prices and the
/// report's transfer section.</summary>
[Trait(Category.Name, Category.Unit)]
public class TransferReportTests
{
    // Two nodes in two zones, a private endpoint in zone-a; everything else is outside the cluster.
    private static readonly AddressBook Book = new([
        (AddressBook.Range("10.244.1.0/24"), new AddressPlace("n1", "zone-a")),
        (AddressBook.Range("10.244.2.0/24"), new AddressPlace("n2", "zone-b")),
        (AddressBook.Range("192.168.200.1"), new AddressPlace("n1", "zone-a")),
        (AddressBook.Range("192.168.200.2"), new AddressPlace("n2", "zone-b")),
        (AddressBook.Range("fd00:200::2"), new AddressPlace("n2", "zone-b")),
        (AddressBook.Range("192.168.200.250"), new AddressPlace(null, "zone-a")),
    ]);

    private static NodeFlows Flows(params AddressPairBytes[] pairs) => new([], [], Pairs: pairs);

    [Fact]
    public void Every_byte_is_counted_once_on_its_senders_node_and_classed_by_node_zone_and_range()
    {
        var n1 = Flows(
            new("10.244.1.2", "10.244.1.3", true, 1_000, 1), // same node
            new("10.244.1.2", "10.244.2.3", true, 2_000, 1), // to the other zone
            new("10.244.2.3", "10.244.1.2", true, 30_000, 1), // the answer, seen on n1 too: counted on n2
            new("192.168.200.1", "192.168.200.250", false, 400, 1) // the private endpoint, same zone
        );
        var n2 = Flows(
            new("10.244.1.2", "10.244.2.3", true, 2_000, 1), // seen on n2 too: counted on n1
            new("10.244.2.3", "10.244.1.2", true, 30_000, 1),
            new("fd00:200::2", "2001:db8:113::10", false, 5_000, 1), // out of the cluster
            new("2001:db8:113::10", "fd00:200::2", false, 60, 1) // and back in: counted on its receiver's node
        );
        var c = TransferAccounting.Classify([("n1", n1), ("n2", n2)], Book, 10);
        long Bytes(string family, TrafficClass cls) =>
            c.Classes.Where(x => x.Family == family && x.Class == cls).Sum(x => x.Bytes);
        Assert.Equal(1_000, Bytes("ipv4", TrafficClass.SameNode));
        Assert.Equal(400, Bytes("ipv4", TrafficClass.SameZone));
        Assert.Equal(32_000, Bytes("ipv4", TrafficClass.CrossZone));
        Assert.Equal(5_000, Bytes("ipv6", TrafficClass.ToInternet));
        Assert.Equal(60, Bytes("ipv6", TrafficClass.FromInternet));
        Assert.Equal(1_000 + 400 + 32_000 + 5_000 + 60, c.Classes.Sum(x => x.Bytes));
        Assert.Contains(new ZoneBytes("zone-b", "internet", 5_000), c.Zones);
        Assert.Contains(new ZoneBytes("zone-b", "zone-a", 30_000), c.Zones);
        Assert.Contains(new ZoneBytes("zone-a", "zone-a", 1_400), c.Zones);
    }

    [Fact]
    public void Top_talkers_come_from_every_node_once_each_with_its_class()
    {
        var shipper = new FlowBytes("tcp", "fd00:200::2", 40000, "2001:db8:113::10", 443, 9_000, 9, "log-shipper (7)");
        var seenTwice = new FlowBytes("tcp", "10.244.1.2", 50000, "10.244.2.3", 7280, 8_000, 8);
        var c = TransferAccounting.Classify(
            [("n1", new NodeFlows([seenTwice], [], Pairs: [])), ("n2", new NodeFlows([seenTwice], [shipper]))],
            Book,
            10
        );
        var benchmark = Assert.Single(c.TopBenchmark);
        Assert.Equal(("n1", TrafficClass.CrossZone), (benchmark.Node, benchmark.Class));
        var other = Assert.Single(c.TopOther);
        Assert.Equal(("log-shipper (7)", TrafficClass.ToInternet), (other.Flow.Process, other.Class));
    }

    [Fact]
    public void A_run_is_steady_when_what_one_side_sent_the_other_received_within_ten_percent()
    {
        PodTraffic Pod(string role, long sent, long received) => new(role, role, "n1", "zone-a", sent, received, 1, 1);
        Assert.Null(TransferHook.Balance([Pod("client", 1_000, 100_000), Pod("server", 100_000, 950)]));
        Assert.Equal(
            "not steady: servers sent 100000 B but clients received 80000 B (more than 10% apart)",
            TransferHook.Balance([Pod("client", 1_000, 80_000), Pod("server", 100_000, 1_000)])
        );
        Assert.Equal(
            "no traffic was counted on the pods' interfaces",
            TransferHook.Balance([Pod("client", 0, 0), Pod("server", 0, 0)])
        );
    }

    [Fact]
    public void Prices_are_read_with_their_mistakes_located_and_cost_follows_the_measured_rate()
    {
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("ok.yaml"), "currency: EUR\ncrossZonePerGb: 0.01\ninternetPerGb: 0.09\n");
        var prices = PriceTable.Load(dir.File("ok.yaml"));
        Assert.Equal(new PriceTable(0.01, 0.09, "EUR"), prices);
        // 1 GB a second across zones, 0.5 GB a second to the internet, over a 10-s window.
        var data = new TransferData(
            10,
            [],
            [],
            [
                new("ipv4", TrafficClass.CrossZone, true, 10_000_000_000),
                new("ipv6", TrafficClass.ToInternet, false, 5_000_000_000),
                new("ipv4", TrafficClass.SameZone, true, 99_000_000_000),
            ],
            [],
            [],
            [],
            null
        );
        var (cross, internet) = prices.CostPerHour(data.Classes, data.WindowSeconds);
        Assert.Equal(3600 * 0.01 * 2, cross, 6); // charged on each side
        Assert.Equal(1800 * 0.09, internet, 6);

        File.WriteAllText(dir.File("bad.yaml"), "crossZonePerGb: -1\nspeed: 3\n");
        var e = Assert.Throws<PricesException>(() => PriceTable.Load(dir.File("bad.yaml")));
        Assert.Equal(
            [
                $"{dir.File("bad.yaml")}:1:17: crossZonePerGb: '-1' is not a price; allowed: a number 0..1000 per GB",
                $"{dir.File("bad.yaml")}:2:1: speed: unknown field; allowed: currency, crossZonePerGb, internetPerGb",
            ],
            e.Errors.Select(x => x.ToString())
        );
    }

    [Fact]
    public void The_report_shows_tx_rx_classes_talkers_cost_and_a_zone_heat_map()
    {
        var shipper = new FlowBytes(
            "tcp",
            "fd00:200::2",
            40000,
            "2001:db8:113::10",
            443,
            9_000_000,
            9,
            "log-shipper (7)"
        );
        var data = new TransferData(
            2,
            [
                new("client", "p1", "n1", "zone-a", 1_000_000, 50_000_000, 10, 10),
                new("server", "p2", "n2", "zone-b", 50_000_000, 1_000_000, 10, 10),
            ],
            [new("n1", "zone-a", 1, 1, null)],
            [
                new("ipv6", TrafficClass.CrossZone, true, 51_000_000),
                new("ipv6", TrafficClass.ToInternet, false, 9_000_000),
            ],
            [
                new("zone-a", "zone-b", 1_000_000),
                new("zone-b", "zone-a", 50_000_000),
                new("zone-b", "internet", 9_000_000),
            ],
            [],
            [new Talker("n2", shipper, TrafficClass.ToInternet)],
            null
        );
        var result = (Results.Case("r", "transfer", 0, 100, [1000]) with { IpFamily = "ipv6" }).WithExtension(
            TransferData.Key,
            data
        );
        var model = ReportModel.Build(
            [Results.Run("r")],
            [result],
            CniBench.Cli.Features.SuiteFeatures.Report(new PriceTable(0.01, 0.09))
        );
        var html = new StringWriter();
        HtmlExporter.Write(model, html);
        var document = new HtmlParser().ParseDocument(html.ToString());

        var deployments = document.QuerySelector("table.transfer-deployments tbody tr")!;
        Assert.Equal(
            ["transfer", "default", "ipv6", "4", "200", "200", "4", "yes"],
            deployments.QuerySelectorAll("td").Select(td => td.TextContent)
        );
        var other = document.QuerySelector("table.transfer-top-other tbody tr")!.TextContent;
        Assert.Contains("log-shipper (7)", other);
        Assert.Contains("to internet", other);
        // 4.5 MB/s out: 16.2 GB an hour at 0.09; 25.5 MB/s across zones, charged twice at 0.01.
        var cost = document.QuerySelector("table.transfer-cost tbody tr")!.QuerySelectorAll("td");
        Assert.Equal("1.458", cost[3].TextContent);
        Assert.Equal("1.836", cost[2].TextContent);
        var cell = document.QuerySelector("svg.heat-map g.cell[data-from='zone-b'][data-to='internet']")!;
        Assert.Equal("36", cell.GetAttribute("data-value")); // Mbit/s
        Assert.Equal(
            "0",
            document
                .QuerySelector("svg.heat-map g.cell[data-from='internet'][data-to='zone-a']")!
                .GetAttribute("data-value")
        );

        var markdown = new StringWriter();
        MarkdownExporter.Write(model, markdown);
        Assert.Contains("| transfer | default | ipv6 | 4 | 200 | 200 | 4 | yes |", markdown.ToString());

        // The same bytes for pandas: transfer.csv, one row per pod direction, class and zone pair.
        var csv = new StringWriter();
        var (file, write) = Assert.Single(model.Sections.SelectMany(section => section.CsvFiles(model.Results)));
        Assert.Equal("transfer.csv", file);
        write(csv);
        var rows = csv.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("suite,case,config,ip_family,window_s,kind,from,to,detail,bytes,mbit_per_s", rows[0]);
        Assert.True(
            rows.Any(r => r.EndsWith(",zone,zone-b,internet,,9000000,36", StringComparison.Ordinal)),
            string.Join("\n", rows)
        );
        Assert.Contains(rows, r => r.Contains(",pod-sent,"));
        Assert.Contains(rows, r => r.Contains(",class,"));
        using var dir = new TempDirectory();
        Assert.Contains(ReportWriter.WriteAll(model, dir.Path, ["csv"]), p =>
            p.EndsWith("transfer.csv", StringComparison.Ordinal)
        );
    }
}
