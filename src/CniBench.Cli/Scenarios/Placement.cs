namespace CniBench.Cli.Scenarios;

/// <summary>Where a case's client and server sit, and the path between them. Which ones a target provides is its to
/// say.</summary>
public enum Placement
{
    HostToHost,
    PodToPodSameNode,
    PodToPodCrossNode,
    PodToClusterIp,
    PodToNodePort,
    PodToExternal,
    PodToGateway,
}

/// <summary>The names scenarios, results and reports use for placements ("pod-to-cluster-ip").</summary>
public static class Placements
{
    private static readonly Dictionary<Placement, string> Names = Enum.GetValues<Placement>()
        .ToDictionary(p => p, Kebab);

    /// <summary>Every placement's name, in the enum's order.</summary>
    public static IReadOnlyList<string> All { get; } = Enum.GetValues<Placement>().Select(p => Names[p]).ToArray();

    public static string ToName(this Placement placement) => Names[placement];

    public static bool TryParse(string? name, out Placement placement)
    {
        placement = Names.FirstOrDefault(n => n.Value == name).Key;
        return name is not null && Names.ContainsValue(name);
    }

    private static string Kebab(Placement placement) =>
        string.Concat(
            placement
                .ToString()
                .Select(
                    (c, i) =>
                        char.IsUpper(c) && i > 0 ? "-" + char.ToLowerInvariant(c) : char.ToLowerInvariant(c).ToString()
                )
        );
}
