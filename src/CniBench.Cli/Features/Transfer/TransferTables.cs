using System.Globalization;
using CniBench.Cli.Reporting;
using CniBench.Cli.Transfer;

namespace CniBench.Cli.Features.Transfer;

/// <summary>
/// The transfer section of a report: per-deployment tx/rx (IPv4 and IPv6 side by side when both ran), where the bytes
/// went by class, the top talkers, and the cost at the measured rate when prices are given.
/// </summary>
public static class TransferTables
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Mbps(double v) => v.ToString(v >= 100 ? "0" : "0.##", Inv);

    public static IReadOnlyList<ReportTable> For(IReadOnlyList<TransferSummary> summaries, PriceTable? prices)
    {
        var tables = new List<ReportTable>
        {
            new(
                "transfer-deployments",
                "Per deployment, from the pods' interfaces (Mbit/s): what the clients sent the servers must receive, "
                    + "and the other way round, or the run was not steady",
                ["case", "config", "family", "clients tx", "clients rx", "servers tx", "servers rx", "steady"],
                summaries
                    .Select(s =>
                        new[]
                        {
                            s.Case,
                            s.Config,
                            s.IpFamily,
                            Mbps(s.RoleMbps("client", sent: true)),
                            Mbps(s.RoleMbps("client", sent: false)),
                            Mbps(s.RoleMbps("server", sent: true)),
                            Mbps(s.RoleMbps("server", sent: false)),
                            s.Unsteady.Count == 0 ? "yes" : string.Join("; ", s.Unsteady),
                        }
                    )
                    .ToArray()
            ),
            new(
                "transfer-classes",
                "Every byte the nodes' flow tables counted, by where it went (Mbit/s; in brackets: of it, traffic "
                    + "other than the benchmark's)",
                ["case", "config", .. Enum.GetValues<TrafficClass>().Select(Name)],
                summaries
                    .Select(s =>
                        new[] { s.Case, s.Config }
                            .Concat(
                                Enum.GetValues<TrafficClass>()
                                    .Select(c => $"{Mbps(s.ClassMbps(c))} ({Mbps(s.ClassMbps(c, benchmark: false))})")
                            )
                            .ToArray()
                    )
                    .ToArray()
            ),
        };
        foreach (
            var (kind, pick) in new (string, Func<TransferSummary, IReadOnlyList<Talker>>)[]
            {
                ("benchmark", s => s.TopBenchmark),
                ("other", s => s.TopOther),
            }
        )
            tables.Add(
                new(
                    $"transfer-top-{kind}",
                    $"Top talkers, {kind} traffic: each direction of a connection, from its sender to its real "
                        + "receiver (after NAT), with the local process that owns it where its node has one",
                    ["case", "config", "node", "protocol", "from", "to", "MB", "class", "process"],
                    summaries
                        .SelectMany(s =>
                            pick(s)
                                .Select(t =>
                                    new[]
                                    {
                                        s.Case,
                                        s.Config,
                                        t.Node,
                                        t.Flow.Protocol,
                                        Endpoint(t.Flow.Source, t.Flow.SourcePort),
                                        Endpoint(t.Flow.Destination, t.Flow.DestinationPort),
                                        (t.Flow.Bytes / 1e6).ToString("0.##", Inv),
                                        Name(t.Class),
                                        t.Flow.Process ?? "",
                                    }
                                )
                        )
                        .ToArray()
                )
            );
        tables.Add(
            prices is null
                ? new(
                    "transfer-cost",
                    "Cost: no prices given; pass --prices FILE (crossZonePerGb, internetPerGb) to estimate it",
                    [],
                    []
                )
                : new(
                    "transfer-cost",
                    string.Format(
                        Inv,
                        "Cost at the measured rate ({0}): cross zone {1} per GB on each side, to the internet {2} per "
                            + "GB; inside a zone and from the internet free",
                        prices.Currency,
                        prices.CrossZonePerGb,
                        prices.InternetPerGb
                    ),
                    ["case", "config", "cross zone / h", "internet / h", "total / h", "total / month (730 h)"],
                    summaries
                        .Select(s =>
                        {
                            var (cross, internet) = s.CostPerHour(prices);
                            double total = cross + internet;
                            return new[]
                            {
                                s.Case,
                                s.Config,
                                Money(cross),
                                Money(internet),
                                Money(total),
                                Money(total * PriceTable.HoursPerMonth),
                            };
                        })
                        .ToArray()
                )
        );
        return tables;
    }

    public static string Name(TrafficClass c) =>
        c switch
        {
            TrafficClass.SameNode => "same node",
            TrafficClass.SameZone => "same zone",
            TrafficClass.CrossZone => "cross zone",
            TrafficClass.ToInternet => "to internet",
            _ => "from internet",
        };

    private static string Endpoint(string address, int port) =>
        address.Contains(':') ? $"[{address}]:{port.ToString(Inv)}" : $"{address}:{port.ToString(Inv)}";

    private static string Money(double v) => v.ToString(v >= 10 ? "0.00" : "0.####", Inv);
}
