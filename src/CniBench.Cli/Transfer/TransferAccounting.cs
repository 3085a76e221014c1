using CniBench.Contracts.Protocol;
using CniBench.Contracts.Sampling;

namespace CniBench.Cli.Transfer;

/// <summary>
/// Classifies every byte the nodes' flow tables counted. A connection between two nodes shows in both nodes' tables,
/// so each direction is counted once, on the node its sender lives on (or, for a sender outside the cluster, on the
/// node of its receiver).
/// </summary>
public static class TransferAccounting
{
    public const string Internet = "internet";

    public sealed record Classified(
        IReadOnlyList<ClassBytes> Classes,
        IReadOnlyList<ZoneBytes> Zones,
        IReadOnlyList<Talker> TopBenchmark,
        IReadOnlyList<Talker> TopOther
    );

    public static Classified Classify(IReadOnlyList<(string Node, NodeFlows Flows)> nodes, AddressBook book, int top)
    {
        var classes = new Dictionary<(string, TrafficClass, bool), long>();
        var zones = new Dictionary<(string, string), long>();
        foreach (var (node, flows) in nodes)
        foreach (var pair in flows.Pairs ?? [])
        {
            var from = book.Locate(pair.Source);
            var to = book.Locate(pair.Destination);
            string? home = from.Node ?? to.Node;
            if (home is not null && home != node)
                continue;
            var c = ClassOf(from, to);
            var key = (AddressBook.FamilyOf(pair.Source), c, pair.Benchmark);
            classes[key] = classes.GetValueOrDefault(key) + pair.Bytes;
            var zoneKey = (from.Zone ?? Internet, to.Zone ?? Internet);
            zones[zoneKey] = zones.GetValueOrDefault(zoneKey) + pair.Bytes;
        }
        IReadOnlyList<Talker> Top(Func<NodeFlows, IReadOnlyList<FlowBytes>> pick) =>
            nodes
                .SelectMany(n => pick(n.Flows).Select(f => (n.Node, Flow: f)))
                .Where(x => Counts(x.Node, x.Flow, book))
                .OrderByDescending(x => x.Flow.Bytes)
                .Take(top)
                .Select(x => new Talker(
                    x.Node,
                    x.Flow,
                    ClassOf(book.Locate(x.Flow.Source), book.Locate(x.Flow.Destination))
                ))
                .ToArray();
        return new Classified(
            classes
                .Select(c => new ClassBytes(c.Key.Item1, c.Key.Item2, c.Key.Item3, c.Value))
                .OrderBy(c => c.Family, StringComparer.Ordinal)
                .ThenBy(c => c.Class)
                .ThenByDescending(c => c.Benchmark)
                .ToArray(),
            zones
                .Select(z => new ZoneBytes(z.Key.Item1, z.Key.Item2, z.Value))
                .OrderBy(z => z.From, StringComparer.Ordinal)
                .ThenBy(z => z.To, StringComparer.Ordinal)
                .ToArray(),
            Top(f => f.Benchmark),
            Top(f => f.Other)
        );
    }

    public static TrafficClass ClassOf(AddressPlace from, AddressPlace to) =>
        !to.InCluster ? TrafficClass.ToInternet
        : !from.InCluster ? TrafficClass.FromInternet
        : from.Node is not null && from.Node == to.Node ? TrafficClass.SameNode
        : from.Zone == to.Zone ? TrafficClass.SameZone
        : TrafficClass.CrossZone;

    /// <summary>Whether <paramref name="node"/> is where this direction is counted (see the class summary).</summary>
    private static bool Counts(string node, FlowBytes flow, AddressBook book)
    {
        string? home = book.Locate(flow.Source).Node ?? book.Locate(flow.Destination).Node;
        return home is null || home == node;
    }
}
