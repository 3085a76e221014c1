using System.Text.Json.Serialization;
using CniBench.Contracts.Json;
using CniBench.Contracts.Sampling;

namespace CniBench.Cli.Transfer;

/// <summary>Where a byte went, as a cloud bills it.</summary>
[JsonConverter(typeof(KebabEnumConverter<TrafficClass>))]
public enum TrafficClass
{
    SameNode,
    SameZone,
    CrossZone,

    /// <summary>To an address outside the cluster's pod, service and node ranges.</summary>
    ToInternet,
    FromInternet,
}

/// <summary>
/// Where the bytes of one repetition went: what each pod sent and received (its interfaces), what each node's flows
/// carried by class, family and zone pair, and the top talkers; stored with the result so a report can price it later.
/// </summary>
/// <param name="Balance">Why the clients' and the servers' rates disagree (the run was not steady), or null.</param>
public sealed record TransferData(
    double WindowSeconds,
    IReadOnlyList<PodTraffic> Pods,
    IReadOnlyList<NodeTraffic> Nodes,
    IReadOnlyList<ClassBytes> Classes,
    IReadOnlyList<ZoneBytes> Zones,
    IReadOnlyList<Talker> TopBenchmark,
    IReadOnlyList<Talker> TopOther,
    string? Balance
)
{
    /// <summary>Its key among a stored result's extensions.</summary>
    public const string Key = "transfer";

    public long BytesOf(TrafficClass c) => Classes.Where(x => x.Class == c).Sum(x => x.Bytes);

    [JsonIgnore]
    public long TotalBytes => Classes.Sum(x => x.Bytes);
}

/// <param name="Role">client or server: the deployment the pod belongs to.</param>
public sealed record PodTraffic(
    string Role,
    string Pod,
    string Node,
    string Zone,
    long SentBytes,
    long ReceivedBytes,
    long SentPackets,
    long ReceivedPackets
);

/// <param name="Unavailable">Why the node's flows could not be read (no conntrack, not root).</param>
public sealed record NodeTraffic(string Node, string Zone, long SentBytes, long ReceivedBytes, string? Unavailable);

/// <param name="Family">ipv4 or ipv6.</param>
/// <param name="Benchmark">The benchmark's own connections (its ports), or everything else.</param>
public sealed record ClassBytes(string Family, TrafficClass Class, bool Benchmark, long Bytes);

/// <summary>Bytes from one zone to another; "internet" stands for everything outside the cluster.</summary>
public sealed record ZoneBytes(string From, string To, long Bytes);

/// <summary>One directional flow as a node's flow table ranked it.</summary>
public sealed record Talker(string Node, FlowBytes Flow, TrafficClass Class);
