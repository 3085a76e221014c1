using System.Text.Json;
using AngleSharp.Html.Parser;
using CniBench.Cli.Targets.Lab;
using CniBench.Cli.Targets.Lab.Network;
using CniBench.Cli.Transfer;
using CniBench.Tests.Support;

namespace CniBench.Tests.Lab;

/// <summary>
/// The transfer suite end to end on a lab the run builds (root only): IPv4 against IPv6, the pods' tx/rx in balance,
/// the nodes' bytes by zone, and the log shippers found among the other top talkers, leaving the cluster only over
/// IPv6.
/// </summary>
[Trait(Category.Name, Category.Integration)]
public class TransferLabTests
{
    [Fact]
    public async Task The_transfer_suite_finds_the_ipv6_log_shippers_internet_egress_and_leaves_nothing_behind()
    {
        Requires.Lab();
        await LabRuns.RequireNoLabUpAsync();
        using var dir = new TempDirectory();
        File.WriteAllText(dir.File("prices.yaml"), "crossZonePerGb: 0.01\ninternetPerGb: 0.09\n");
        var (code, stdout, stderr) = await ChildProcess.RunAsync(
            "cnibench",
            dir.Path,
            TimeSpan.FromSeconds(180),
            "run",
            "--target",
            "lab",
            "--suite",
            "transfer",
            "--warmup",
            "1s",
            "--duration",
            "3s",
            "--prices",
            "prices.yaml"
        );
        Assert.True(code == 0, $"exit {code}\n{stdout}\n{stderr}");

        using var store = CniBench.Cli.Storage.ResultStore.Open(dir.File("cnibench.db"));
        var results = CniBench
            .Cli.Storage.ResultSelection.OfRun(store, store.ResolveRun("latest"))
            .Results.ToDictionary(r => r.IpFamily);
        Assert.Equal(["ipv4", "ipv6"], results.Keys.Order());
        foreach (var (family, result) in results)
        {
            var t = result.Extension<TransferData>(TransferData.Key)!;
            Assert.Null(t.Balance); // what the clients sent the servers received, and back
            Assert.Equal(3, t.Pods.Count); // a client and a server on each of the two nodes
            Assert.Equal(["zone-a", "zone-b"], t.Nodes.Select(n => n.Zone));
            Assert.All(t.Nodes, n => Assert.Null(n.Unavailable));
            // A server on each node: about half the benchmark's bytes cross zones.
            Assert.InRange(result.Metrics[CniBench.Contracts.Measurement.Metrics.TransferCrossZonePercent], 15, 85);
            var shipper = t.TopOther[0];
            Assert.StartsWith(
                $"{CniBench.Cli.Features.Transfer.LabLogShippers.ProcessName} (",
                shipper.Flow.Process,
                StringComparison.Ordinal
            );
            Assert.Equal(443, shipper.Flow.DestinationPort);
            if (family == "ipv6")
            {
                Assert.Equal(LabFamily.V6.External, shipper.Flow.Destination);
                Assert.Equal(TrafficClass.ToInternet, shipper.Class);
                Assert.True(t.BytesOf(TrafficClass.ToInternet) > 1_000_000, JsonSerializer.Serialize(t.Classes));
            }
            else
            {
                Assert.Equal(LabFamily.V4.PrivateEndpoint, shipper.Flow.Destination);
                Assert.NotEqual(TrafficClass.ToInternet, shipper.Class);
                Assert.Equal(0, t.BytesOf(TrafficClass.ToInternet));
            }
        }

        var html = await File.ReadAllTextAsync(dir.File(Path.Combine("cnibench-report", "report.html")));
        var document = new HtmlParser().ParseDocument(html);
        Assert.Equal(2, document.QuerySelectorAll("table.transfer-cost tbody tr").Length);
        Assert.Equal(2, document.QuerySelectorAll("svg.heat-map").Length);

        Assert.Empty(await LabBuilder.LabIdsAsync(CancellationToken.None));
        Assert.DoesNotContain(
            Directory.EnumerateDirectories("/proc").Where(d => char.IsAsciiDigit(Path.GetFileName(d)[0])),
            d =>
            {
                try
                {
                    return File.ReadAllText(Path.Combine(d, "comm")).Trim()
                        == CniBench.Cli.Features.Transfer.LabLogShippers.ProcessName;
                }
                catch (IOException)
                {
                    return false;
                }
            }
        );
    }
}
