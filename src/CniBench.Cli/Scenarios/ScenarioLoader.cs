using CniBench.Contracts.Workloads;
using YamlDotNet.RepresentationModel;

namespace CniBench.Cli.Scenarios;

/// <summary>
/// Reads a scenario (YAML) into expanded cases, or reports every mistake with its file, line,
/// column and field. Nothing runs until a scenario loads without errors.
/// </summary>
public sealed class ScenarioLoader
{
    private const string BuiltInPrefix = "suites/";
    private readonly List<ScenarioError> _errors = new();
    private readonly string _source;
    private readonly IReadOnlyList<ICaseFields> _features;
    private readonly IReadOnlyList<ScenarioFields.Field> _caseFields;

    private ScenarioLoader(string source, IReadOnlyList<ICaseFields> features)
    {
        _source = source;
        _features = features;
        _caseFields = ScenarioFields.With(features);
    }

    private ScenarioFields.Field? Find(string name) => _caseFields.FirstOrDefault(f => f.Name == name);

    private static IReadOnlyList<string> Resources { get; } =
        typeof(ScenarioLoader)
            .Assembly.GetManifestResourceNames()
            .Where(n => n.StartsWith(BuiltInPrefix, StringComparison.Ordinal))
            .ToArray();

    /// <summary>Built-in suite names. A suite may have its own version for a target
    /// (suites/lab/dataplane.yaml).</summary>
    public static IReadOnlyList<string> BuiltInSuites { get; } =
        Resources.Select(n => Path.GetFileNameWithoutExtension(n)).Distinct().Order(StringComparer.Ordinal).ToArray();

    /// <summary>The targets that have their own version of a suite.</summary>
    public static IReadOnlyList<string> TargetsWithOwnVersion(string suite) =>
        Resources
            .Where(n => n.EndsWith($"/{suite}.yaml", StringComparison.Ordinal) && n.Count(c => c == '/') == 2)
            .Select(n => n.Split('/')[1])
            .Order(StringComparer.Ordinal)
            .ToArray();

    /// <summary>The target's own version of a suite if it has one, else the general one.</summary>
    public static string? BuiltInText(string suite, string? target = null)
    {
        var name =
            target is not null && Resources.Contains($"{BuiltInPrefix}{target}/{suite}.yaml")
                ? $"{BuiltInPrefix}{target}/{suite}.yaml"
            : Resources.Contains($"{BuiltInPrefix}{suite}.yaml") ? $"{BuiltInPrefix}{suite}.yaml"
            : Resources.FirstOrDefault(n => n.EndsWith($"/{suite}.yaml", StringComparison.Ordinal));
        if (name is null)
            return null;
        using var stream = typeof(ScenarioLoader).Assembly.GetManifestResourceStream(name)!;
        return new StreamReader(stream).ReadToEnd();
    }

    public static Scenario LoadSuite(IReadOnlyList<ICaseFields> features, string suite, string? target = null)
    {
        var own = TargetsWithOwnVersion(suite);
        if (
            target is not null
            && !Resources.Contains($"{BuiltInPrefix}{suite}.yaml")
            && own.Count > 0
            && !own.Contains(target)
        )
            throw new ScenarioException([
                new ScenarioError(
                    "--suite",
                    1,
                    1,
                    "suite",
                    $"suite '{suite}' runs on --target {string.Join(" or ", own)}, not {target}",
                    string.Join(", ", own)
                ),
            ]);
        var text = BuiltInText(suite, target)
            ?? throw new ScenarioException([
                new ScenarioError(
                    "--suite",
                    1,
                    1,
                    "suite",
                    $"unknown suite '{suite}'",
                    string.Join(", ", BuiltInSuites)
                ),
            ]);
        return Load(features, text, $"suite:{suite}");
    }

    public static Scenario LoadFile(IReadOnlyList<ICaseFields> features, string path)
    {
        if (!File.Exists(path))
            throw new ScenarioException([
                new ScenarioError(path, 1, 1, "file", "no such file", "a path to a scenario YAML file"),
            ]);
        return Load(features, File.ReadAllText(path), path);
    }

    public static Scenario Load(IReadOnlyList<ICaseFields> features, string text, string source)
    {
        var loader = new ScenarioLoader(source, features);
        var scenario = loader.Parse(text);
        if (loader._errors.Count > 0 || scenario is null)
            throw new ScenarioException(loader._errors);
        return scenario;
    }

    private void Error(YamlNode? node, string field, string problem, string? allowed = null) =>
        _errors.Add(
            new ScenarioError(
                _source,
                (int)(node?.Start.Line ?? 1),
                (int)(node?.Start.Column ?? 1),
                field,
                problem,
                allowed
            )
        );

    /// <summary>A scenario lists a few dozen cases; a suite's matrix a few hundred. Past this a file is a mistake (or
    /// a bomb: 741 bytes once expanded to 3,375,000 cases and 2.3 GB).</summary>
    public const int MaxCases = 1000;

    private Scenario? Parse(string text)
    {
        var document = YamlText.Read(text, _source, _errors);
        if (document is null && _errors.Count > 0)
            return null;
        if (document?.RootNode is not YamlMappingNode root)
        {
            Error(
                document?.RootNode,
                "scenario",
                "must be a mapping with name and cases",
                "name, description, cases, " + string.Join(", ", ScenarioFields.Inherited)
            );
            return null;
        }

        var top = Fields(root, "", ScenarioFields.TopLevel);
        string name = top.TryGetValue("name", out var nameNode) ? Scalar(nameNode, "name") ?? "" : "";
        if (nameNode is null)
            Error(root, "name", "missing", "a scenario name");
        string description = top.TryGetValue("description", out var d) ? Scalar(d, "description") ?? "" : "";

        var defaults = new Dictionary<string, List<Value>>();
        foreach (var field in ScenarioFields.Inherited)
        {
            if (top.TryGetValue(field, out var node))
                defaults[field] = Values(node, field, Find(field)!);
        }

        var cases = new List<PlannedCase>();
        if (!top.TryGetValue("cases", out var casesNode))
            Error(root, "cases", "missing", "a list of cases, each with at least a workload");
        else if (casesNode is not YamlSequenceNode list || list.Children.Count == 0)
            Error(casesNode, "cases", "must be a non-empty list", "a list of cases, each with at least a workload");
        else
        {
            for (int i = 0; i < list.Children.Count && cases.Count <= MaxCases; i++)
                cases.AddRange(ParseCase(list.Children[i], $"cases[{i}]", defaults, MaxCases - cases.Count));
        }

        foreach (var duplicate in cases.GroupBy(c => c.Name).Where(g => g.Count() > 1))
            Error(
                casesNode,
                "cases",
                $"two cases expand to the same name '{duplicate.Key}'",
                "give each case its own name"
            );
        return new Scenario(name, description, _source, text, cases);
    }

    private sealed record Value(object Parsed, string Text, YamlNode Node);

    private Dictionary<string, YamlNode> Fields(YamlMappingNode mapping, string prefix, IReadOnlyList<string> allowed)
    {
        var fields = new Dictionary<string, YamlNode>();
        foreach (var (keyNode, valueNode) in mapping.Children)
        {
            var key = (keyNode as YamlScalarNode)?.Value ?? "";
            if (!allowed.Contains(key))
            {
                var close =
                    allowed.MinBy(a => EditDistance(a.ToLowerInvariant(), key.ToLowerInvariant())) is { } nearest
                    && EditDistance(nearest.ToLowerInvariant(), key.ToLowerInvariant()) <= 2
                        ? nearest
                        : null;
                Error(
                    keyNode,
                    prefix + key,
                    close is null ? "unknown field" : $"unknown field (did you mean '{close}'?)",
                    string.Join(", ", allowed)
                );
                continue;
            }
            fields[key] = valueNode;
        }
        return fields;
    }

    /// <summary>Levenshtein distance, for "did you mean" on misspelt field names.</summary>
    private static int EditDistance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (int i = 1; i <= a.Length; i++)
        {
            int diagonal = row[0];
            row[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }

    private string? Scalar(YamlNode node, string field)
    {
        if (node is YamlScalarNode { Value: { } v })
            return v;
        Error(node, field, "must be a single value");
        return null;
    }

    private List<Value> Values(YamlNode node, string path, ScenarioFields.Field field)
    {
        var nodes = node is YamlSequenceNode seq ? seq.Children.ToList() : [node];
        if (node is YamlSequenceNode && !field.Matrix)
        {
            Error(node, path, "takes one value, not a list", field.Allowed);
            return [];
        }
        if (nodes.Count == 0)
            Error(node, path, "an empty list gives no cases", field.Allowed);
        var values = new List<Value>();
        foreach (var n in nodes)
        {
            if (n is not YamlScalarNode { Value: { } text })
            {
                Error(n, path, "must be a value" + (field.Matrix ? " or a list of values" : ""), field.Allowed);
                continue;
            }
            if (field.Read(text, out var parsed))
                values.Add(new Value(parsed, text, n));
            else
                Error(n, path, $"'{text}' is not valid", field.Allowed);
        }
        return values;
    }

    private IEnumerable<PlannedCase> ParseCase(
        YamlNode node,
        string path,
        Dictionary<string, List<Value>> defaults,
        int casesLeft
    )
    {
        if (node is not YamlMappingNode mapping)
        {
            Error(node, path, "must be a mapping", "workload and its parameters");
            return [];
        }
        var allowedNames = _caseFields.Select(f => f.Name).ToArray();
        var raw = Fields(mapping, path + ".", allowedNames);
        int errorsBefore = _errors.Count;

        var values = new Dictionary<string, List<Value>>(defaults);
        foreach (var (key, valueNode) in raw)
            values[key] = Values(valueNode, $"{path}.{key}", Find(key)!);

        if (!raw.ContainsKey("workload"))
        {
            Error(mapping, $"{path}.workload", "missing", string.Join(", ", WorkloadNames.UserFacing));
            return [];
        }
        if (_errors.Count > errorsBefore || values["workload"].Count == 0)
            return [];
        var kind = (WorkloadKind)values["workload"][0].Parsed;

        foreach (var field in _caseFields)
        {
            if (
                field.AppliesTo is null
                || !raw.TryGetValue(field.Name, out var fieldNode)
                || field.AppliesTo.Contains(kind)
            )
                continue;
            Error(
                fieldNode,
                $"{path}.{field.Name}",
                $"does not apply to {kind.ToName()}",
                "only with " + string.Join(", ", field.AppliesTo.Select(k => k.ToName()))
            );
        }
        if (_errors.Count > errorsBefore)
            return [];

        string baseName = values.TryGetValue("name", out var n) ? (string)n[0].Parsed : kind.ToName();
        var matrixFields = values.Where(v => Find(v.Key)!.Matrix && v.Value.Count > 1).Select(v => v.Key).ToHashSet();
        // Counted before anything is built: the product of the lists' lengths.
        long product = values.Values.Aggregate(1L, (p, list) =>
            Math.Min(p * Math.Max(1, list.Count), long.MaxValue / 1024)
        );
        if (product > casesLeft)
        {
            var axes = values.Where(v => v.Value.Count > 1).Select(v => $"{v.Key} {v.Value.Count}");
            Error(
                mapping,
                path,
                $"expands to {YamlText.Count(product)} cases ({string.Join(" × ", axes)})"
                    + (casesLeft < MaxCases ? $", with {YamlText.Count(MaxCases - casesLeft)} before it" : ""),
                $"at most {YamlText.Count(MaxCases)} cases in a scenario: fewer values in its lists, or several "
                    + "scenarios"
            );
            return [];
        }
        var expanded = new List<PlannedCase>();
        foreach (var combination in Cartesian(values))
        {
            var planned = BuildCase(kind, baseName, combination, matrixFields, mapping, path);
            if (planned is not null)
                expanded.Add(planned);
        }
        return expanded;
    }

    private static IEnumerable<Dictionary<string, Value>> Cartesian(Dictionary<string, List<Value>> values)
    {
        IEnumerable<Dictionary<string, Value>> result = [new Dictionary<string, Value>()];
        foreach (var (key, options) in values)
            result = result.SelectMany(partial =>
                options.Select(option => new Dictionary<string, Value>(partial) { [key] = option })
            );
        return result;
    }

    private PlannedCase? BuildCase(
        WorkloadKind kind,
        string baseName,
        Dictionary<string, Value> v,
        HashSet<string> matrixFields,
        YamlMappingNode caseNode,
        string path
    )
    {
        T Get<T>(string key, T fallback) => v.TryGetValue(key, out var value) ? (T)value.Parsed : fallback;
        T? Optional<T>(string key)
            where T : struct => v.TryGetValue(key, out var value) ? (T)value.Parsed : null;
        var defaults = WorkloadDefaults.For(kind);
        var spec = defaults with
        {
            Parallel = Get("parallel", defaults.Parallel),
            MessageSize = Get("messageSize", defaults.MessageSize),
            Direction = Get("direction", defaults.Direction),
            RequestSize = Get("requestSize", defaults.RequestSize),
            ResponseSize = Get("responseSize", defaults.ResponseSize),
            Bitrate = Get("bitrate", defaults.Bitrate),
            HttpModel = Get("model", defaults.HttpModel),
            Rate = Get("rate", defaults.Rate),
            KeepAlive = Get("keepAlive", defaults.KeepAlive),
            Close = Get("close", defaults.Close),
            ThinkTimeMs = (int)Get("thinkTime", TimeSpan.Zero).TotalMilliseconds,
            TimeoutMs = (int)Get("timeout", TimeSpan.FromMilliseconds(defaults.TimeoutMs)).TotalMilliseconds,
            // A placeholder: the target fills in the real server address when it deploys agents.
            Target = "127.0.0.1:1",
        };

        int before = _errors.Count;
        if (kind == WorkloadKind.Http && spec.HttpModel == HttpModel.Open && !v.ContainsKey("rate"))
            Error(caseNode, $"{path}.rate", "missing for the open model", "requests per second, e.g. rate: 1000");
        if (kind == WorkloadKind.Http && spec.HttpModel == HttpModel.Closed && v.TryGetValue("rate", out var rate))
            Error(rate.Node, $"{path}.rate", "applies only to the open model", "add model: open, or remove rate");
        foreach (var problem in Limits.Check(spec))
        {
            string field = problem[..problem.IndexOf(':')];
            var node = v.TryGetValue(field, out var value) ? value.Node : caseNode;
            Error(node, $"{path}.{field}", problem[(problem.IndexOf(':') + 2)..]);
        }
        var parsed = v.ToDictionary(p => p.Key, p => p.Value.Parsed);
        var features = new Dictionary<string, object>();
        foreach (var feature in _features)
        {
            var values = new CaseValues(kind, parsed, (field, problem, allowed, at) =>
                Error(v.TryGetValue(at, out var f) ? f.Node : caseNode, $"{path}.{field}", problem, allowed)
            );
            if (feature.Read(values) is { } options)
                features[feature.Name] = options;
        }
        if (_errors.Count > before)
            return null;

        var parameters = v.Where(p => p.Key is not ("name" or "workload")).ToDictionary(p => p.Key, p => p.Value.Text);
        string name =
            matrixFields.Count == 0
                ? baseName
                : baseName
                    + "/"
                    + string.Join(",", matrixFields.Order(StringComparer.Ordinal).Select(f => $"{f}={v[f].Text}"));
        return new PlannedCase(
            name,
            spec,
            Get("placement", Placement.HostToHost),
            Get("ipFamily", IpFamily.Ipv4),
            Get("warmup", TimeSpan.FromSeconds(1)),
            Get("duration", TimeSpan.FromSeconds(5)),
            Get("repetitions", 3),
            parameters,
            ScenarioFields.Dataplane.Any(v.ContainsKey)
                ? new DataplaneSettings(
                    Optional<CniBench.Cli.Scenarios.ProxyMode>("proxy"),
                    Optional<int>("services"),
                    Optional<CniBench.Cli.Scenarios.LabRouting>("routing"),
                    Optional<int>("mtu"),
                    Optional<CniBench.Cli.Scenarios.EgressMode>("egress")
                )
                : null,
            Get("cooldown", Cooldown.Auto)
        )
        {
            FeatureOptions = features,
        };
    }
}
