using System.Globalization;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Scenarios;

/// <summary>
/// Every field a scenario file may hold: how its value is read, what is allowed, which workloads it
/// applies to, and whether a list of values expands the matrix. The JSON Schema in docs/ is checked
/// against these tables by a test, so the two cannot drift apart.
/// </summary>
public static class ScenarioFields
{
    public delegate bool Reader(string text, out object value);

    /// <param name="PerWorkload">Only some workloads read it: those whose catalog row lists it.</param>
    public sealed record Field(string Name, string Allowed, Reader Read, bool Matrix, bool PerWorkload = false)
    {
        /// <summary>The workloads it applies to; null when it applies to all.</summary>
        public IReadOnlyList<WorkloadKind>? AppliesTo { get; } =
            PerWorkload ? WorkloadCatalog.All.Where(d => d.Fields.Contains(Name)).Select(d => d.Kind).ToArray() : null;
    }

    /// <summary>What a case asks of the dataplane it runs on; a target applies those it can (its capabilities) and
    /// refuses the rest.</summary>
    public static IReadOnlyList<string> Dataplane { get; } = ["proxy", "services", "routing", "mtu", "egress"];

    /// <summary>Fields allowed both at the top level (defaults) and in a case.</summary>
    public static IReadOnlyList<string> Inherited { get; } =
    ["repetitions", "warmup", "duration", "cooldown", "ipFamily", "placement", .. Dataplane];

    public static IReadOnlyList<string> TopLevel { get; } = ["name", "description", .. Inherited, "cases"];

    public static IReadOnlyList<Field> CaseFields { get; } =
    [
        new("name", "a name made of letters, digits, '-', '_' and '.'", ReadName, false),
        new("workload", string.Join(", ", WorkloadNames.UserFacing), ReadWorkload, false),
        new("parallel", $"an integer 1..{Limits.MaxParallel}", Int(1, Limits.MaxParallel), true),
        new("messageSize", SizeAllowed("messageSize"), Size(1, Limits.MaxMessageSize), true, PerWorkload: true),
        new("direction", "send, receive", Enum<StreamDirection>(), true, PerWorkload: true),
        new("requestSize", SizeAllowed("requestSize"), Size(1, Limits.MaxMessageSize), true, PerWorkload: true),
        new("responseSize", SizeAllowed("responseSize"), Size(0, Limits.MaxMessageSize), true, PerWorkload: true),
        new("bitrate", Units.BitrateHelp, Bitrate, true, PerWorkload: true),
        new("model", "closed, open", Enum<HttpModel>(), true, PerWorkload: true),
        new(
            "rate",
            "requests per second, a number "
                + string.Join(
                    ", ",
                    WorkloadCatalog.All.Where(d => d.MaxRate > 0).Select(d => $">0..{d.MaxRate} ({d.Name})")
                ),
            Rate,
            true,
            PerWorkload: true
        ),
        new("keepAlive", "true, false", Bool, true, PerWorkload: true),
        new(
            "close",
            "fin (an orderly close: TIME_WAIT for 60 s per connection), reset (an RST, as neper's tcp_crr: none)",
            Enum<ConnectionClose>(),
            true,
            PerWorkload: true
        ),
        new(
            "thinkTime",
            "a duration 0s..60s each user waits after an answer (closed model): many slow clients",
            Duration(TimeSpan.Zero, TimeSpan.FromMilliseconds(Limits.MaxThinkTimeMs)),
            true,
            PerWorkload: true
        ),
        new("timeout", "a duration 1ms..60s", Duration(TimeSpan.FromMilliseconds(1), TimeSpan.FromSeconds(60)), false),
        new("repetitions", "an integer 1..100", Int(1, 100), false),
        new("warmup", "a duration 0s..10m", Duration(TimeSpan.Zero, Limits.MaxWarmup), false),
        new("duration", "a duration 100ms..1h", Duration(Limits.MinDuration, Limits.MaxDuration), false),
        new(
            "cooldown",
            "auto (wait, at most 120s, until the last case's TIME_WAIT sockets and conntrack entries no longer "
                + "distort the next), none, or a fixed duration 0s..10m",
            ReadCooldown,
            false
        ),
        new("ipFamily", "ipv4, ipv6", Enum<IpFamily>(), true),
        new("placement", string.Join(", ", Placements.All), ReadPlacement, true),
        new("proxy", "iptables, nftables, ebpf, none (lab target)", Enum<CniBench.Cli.Scenarios.ProxyMode>(), true),
        new(
            "services",
            $"the number of services in the tables, real one included, an integer "
                + $"1..{DataplaneSettings.MaxServices + 1} (lab and kube targets)",
            Int(1, DataplaneSettings.MaxServices + 1),
            true
        ),
        new("routing", "native, vxlan (lab target)", Enum<CniBench.Cli.Scenarios.LabRouting>(), true),
        new(
            "egress",
            "direct (each node SNATs its pods), gateway (through the gateway node) (lab and kube targets)",
            Enum<CniBench.Cli.Scenarios.EgressMode>(),
            true
        ),
        new(
            "mtu",
            $"an integer {DataplaneSettings.MinMtu}..{DataplaneSettings.MaxMtu} (lab target)",
            Int(DataplaneSettings.MinMtu, DataplaneSettings.MaxMtu),
            true
        ),
    ];

    public static Field? Find(string name) => CaseFields.FirstOrDefault(f => f.Name == name);

    /// <summary>The fields a case may hold with these features: the common ones, then each feature's.</summary>
    public static IReadOnlyList<Field> With(IReadOnlyList<ICaseFields> features) =>
        [.. CaseFields, .. features.SelectMany(f => f.Fields)];

    /// <summary>"a size ..., 1..16777216 (tcp-stream), 24..65507 (udp-stream)": each range with the workloads that
    /// allow it.</summary>
    private static string SizeAllowed(string field) =>
        Units.SizeHelp
        + ", "
        + string.Join(
            ", ",
            WorkloadCatalog
                .All.SelectMany(d =>
                    d.Bounds.Where(b => b.Field == field).Select(b => (Range: $"{b.Min}..{b.Max}", d.Name))
                )
                .GroupBy(r => r.Range, StringComparer.Ordinal)
                .Select(g => $"{g.Key} ({string.Join(", ", g.Select(r => r.Name))})")
        );

    private static bool ReadName(string text, out object value)
    {
        value = text;
        return text.Length is > 0 and <= 80 && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.');
    }

    private static bool ReadWorkload(string text, out object value)
    {
        bool ok = WorkloadNames.TryParse(text, out var kind) && kind != WorkloadKind.Monitor;
        value = kind;
        return ok;
    }

    private static bool ReadPlacement(string text, out object value)
    {
        bool ok = Placements.TryParse(text, out var placement);
        value = placement;
        return ok;
    }

    public static Reader Int(int min, int max) =>
        (string text, out object value) =>
        {
            bool ok =
                int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int n)
                && n >= min
                && n <= max;
            value = n;
            return ok;
        };

    private static Reader Size(long min, long max) =>
        (string text, out object value) =>
        {
            bool ok = Units.TryParseSize(text, out long n) && n >= min && n <= max;
            value = (int)Math.Clamp(n, 0, int.MaxValue);
            return ok;
        };

    private static bool ReadCooldown(string text, out object value)
    {
        value = Cooldown.Auto;
        if (text == "auto")
            return true;
        if (text == "none")
        {
            value = Cooldown.None;
            return true;
        }
        bool ok = Units.TryParseDuration(text, out var d) && d >= TimeSpan.Zero && d <= TimeSpan.FromMinutes(10);
        value = new Cooldown(false, d);
        return ok;
    }

    public static Reader Duration(TimeSpan min, TimeSpan max) =>
        (string text, out object value) =>
        {
            bool ok = Units.TryParseDuration(text, out var d) && d >= min && d <= max;
            value = d;
            return ok;
        };

    private static bool Bitrate(string text, out object value)
    {
        bool ok = Units.TryParseBitrate(text, out long n) && n >= 0 && n <= Limits.MaxBitrate;
        value = n;
        return ok;
    }

    private static bool Rate(string text, out object value)
    {
        bool ok =
            double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double n)
            && n > 0
            && n <= Limits.MaxHttpRate;
        value = n;
        return ok;
    }

    public static bool Bool(string text, out object value)
    {
        bool ok = bool.TryParse(text, out bool b);
        value = b;
        return ok;
    }

    public static Reader Enum<T>()
        where T : struct, System.Enum =>
        (string text, out object value) =>
        {
            var match = System
                .Enum.GetValues<T>()
                .Where(v => string.Equals(v.ToString(), text, StringComparison.OrdinalIgnoreCase))
                .ToArray();
            value = match.Length == 1 ? match[0] : default(T);
            return match.Length == 1;
        };
}
