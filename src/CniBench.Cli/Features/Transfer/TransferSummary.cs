using CniBench.Cli.Charts;
using CniBench.Cli.Results;
using CniBench.Cli.Transfer;

namespace CniBench.Cli.Features.Transfer;

/// <summary>
/// A transfer case under one configuration, its repetitions added up: bytes over the sum of their windows, the largest
/// talkers any repetition saw, and the repetitions whose clients and servers disagreed.
/// </summary>
public sealed record TransferSummary(
    string Suite,
    string Case,
    string Config,
    string IpFamily,
    int Repetitions,
    double WindowSeconds,
    IReadOnlyList<PodTraffic> Pods,
    IReadOnlyList<ClassBytes> Classes,
    IReadOnlyList<ZoneBytes> Zones,
    IReadOnlyList<Talker> TopBenchmark,
    IReadOnlyList<Talker> TopOther,
    IReadOnlyList<string> Unsteady,
    IReadOnlyList<string> FlowsUnavailable
)
{
    public const int TalkersShown = 5;

    public double Mbps(long bytes) => bytes * 8 / 1e6 / Math.Max(1e-9, WindowSeconds);

    public double RoleMbps(string role, bool sent) =>
        Mbps(Pods.Where(p => p.Role == role).Sum(p => sent ? p.SentBytes : p.ReceivedBytes));

    public double ClassMbps(TrafficClass c, bool? benchmark = null) =>
        Mbps(Classes.Where(x => x.Class == c && (benchmark is null || x.Benchmark == benchmark)).Sum(x => x.Bytes));

    /// <summary>What the window moved at this rate costs per hour under <paramref name="prices"/>.</summary>
    public (double CrossZone, double Internet) CostPerHour(PriceTable prices) =>
        prices.CostPerHour(Classes, WindowSeconds);

    public IReadOnlyList<string> ZoneLabels =>
        Zones
            .SelectMany(z => new[] { z.From, z.To })
            .Distinct()
            .OrderBy(z => z == TransferAccounting.Internet)
            .ThenBy(z => z, StringComparer.Ordinal)
            .ToArray();

    public Chart ZoneChart(string idPrefix) =>
        new(
            $"{idPrefix}zones-{ReportCharts.Slug(Config)}",
            $"{Case} ({Config}): from zone to zone",
            HeatMap.Render(
                $"{Case} ({Config}): from zone to zone",
                "from",
                "to",
                ZoneLabels,
                (from, to) => Mbps(Zones.Where(z => z.From == from && z.To == to).Sum(z => z.Bytes)),
                "Mbit/s, every byte the nodes' flow tables counted"
            )
        );

    public static IReadOnlyList<TransferSummary> From(IReadOnlyList<CaseResult> results) =>
        results
            .Where(r => r.Extensions?.ContainsKey(TransferData.Key) == true && r.State == ResultState.Ok)
            .GroupBy(r => (r.Suite, r.Case, r.Config))
            .Select(g =>
            {
                var data = g.Select(r => r.Extension<TransferData>(TransferData.Key)!).ToArray();
                return new TransferSummary(
                    g.Key.Suite,
                    g.Key.Case,
                    g.Key.Config,
                    g.First().IpFamily,
                    data.Length,
                    data.Sum(d => d.WindowSeconds),
                    data.SelectMany(d => d.Pods)
                        .GroupBy(p => (p.Role, p.Pod, p.Node, p.Zone))
                        .Select(p => new PodTraffic(
                            p.Key.Role,
                            p.Key.Pod,
                            p.Key.Node,
                            p.Key.Zone,
                            p.Sum(x => x.SentBytes),
                            p.Sum(x => x.ReceivedBytes),
                            p.Sum(x => x.SentPackets),
                            p.Sum(x => x.ReceivedPackets)
                        ))
                        .ToArray(),
                    data.SelectMany(d => d.Classes)
                        .GroupBy(c => (c.Family, c.Class, c.Benchmark))
                        .Select(c => new ClassBytes(c.Key.Family, c.Key.Class, c.Key.Benchmark, c.Sum(x => x.Bytes)))
                        .ToArray(),
                    data.SelectMany(d => d.Zones)
                        .GroupBy(z => (z.From, z.To))
                        .Select(z => new ZoneBytes(z.Key.From, z.Key.To, z.Sum(x => x.Bytes)))
                        .ToArray(),
                    Largest(data.SelectMany(d => d.TopBenchmark)),
                    Largest(data.SelectMany(d => d.TopOther)),
                    data.Select(d => d.Balance).OfType<string>().Distinct().ToArray(),
                    data.SelectMany(d => d.Nodes)
                        .Where(n => n.Unavailable is not null)
                        .Select(n => $"{n.Node}: {n.Unavailable}")
                        .Distinct()
                        .ToArray()
                );
            })
            .ToArray();

    private static Talker[] Largest(IEnumerable<Talker> talkers) =>
        talkers.OrderByDescending(t => t.Flow.Bytes).Take(TalkersShown).ToArray();
}
