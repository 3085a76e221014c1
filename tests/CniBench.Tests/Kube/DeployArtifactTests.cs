using System.Text.Json.Nodes;
using CniBench.Cli.Targets.Kube.Api;
using CniBench.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace CniBench.Tests.Kube;

/// <summary>The files under deploy/ hold to the API's rules, and the RBAC role grants every call the controller
/// makes.</summary>
[Trait(Category.Name, Category.Unit)]
public class DeployArtifactTests
{
    /// <summary>The shipped role grants exactly what the controller uses: nothing missing, and no verb that no run
    /// or cleanup makes (it once granted every Secret in the cluster, read, listed and watched, which no run
    /// needs).</summary>
    [Fact]
    public void The_shipped_role_grants_what_the_controller_uses_and_nothing_else()
    {
        string Show(IEnumerable<(string Verb, string Group, string Resource)> set) =>
            string.Join(", ", set.Select(p => $"{p.Verb} {p.Group}/{p.Resource}").Order());
        var granted = DeployFiles.Granted();
        var declared = DeployFiles.Declared();
        Assert.True(granted.Except(declared).ToArray() is [], $"granted, never used: {Show(granted.Except(declared))}");
        Assert.True(declared.Except(granted).ToArray() is [], $"used, not granted: {Show(declared.Except(granted))}");
        Assert.DoesNotContain(granted, p => p.Resource == "secrets" && p.Verb is "get" or "list" or "watch");
    }

    [Fact]
    public void The_kustomize_manifests_hold_to_the_apis_rules()
    {
        var files = Directory
            .GetFiles(Path.Combine(DeployFiles.Root(), "deploy", "kustomize", "base"), "*.yaml")
            .Where(f => !f.EndsWith("kustomization.yaml", StringComparison.Ordinal))
            .ToArray();
        Assert.Equal(5, files.Length);
        foreach (var doc in files.SelectMany(DeployFiles.Documents))
        {
            // A Deployment's pod template is checked as the Pod it becomes.
            var checkable =
                (string?)doc["kind"] == "Deployment"
                    ? new JsonObject
                    {
                        ["kind"] = "Pod",
                        ["metadata"] = new JsonObject
                        {
                            ["name"] = (string?)doc["metadata"]!["name"],
                            ["labels"] = doc["spec"]!["template"]!["metadata"]!["labels"]!.DeepClone(),
                        },
                        ["spec"] = doc["spec"]!["template"]!["spec"]!.DeepClone(),
                    }
                    : doc;
            if ((string?)checkable["kind"] == "Pod")
                checkable["spec"]!["restartPolicy"] ??= "Always";
            Assert.True(ManifestRules.Check(checkable).Count == 0, string.Join("; ", ManifestRules.Check(checkable)));
        }
    }

    [Fact]
    public void The_control_port_is_admitted_only_from_the_controller_and_the_data_ports_from_anyone()
    {
        var policy = DeployFiles
            .Documents(Path.Combine(DeployFiles.Root(), "deploy", "kustomize", "base", "networkpolicy.yaml"))
            .Single();
        Assert.Equal("NetworkPolicy", (string?)policy["kind"]);
        var rules = policy["spec"]!["ingress"]!.AsArray().Select(r => r!.AsObject()).ToArray();
        int[] Ports(JsonObject rule) => rule["ports"]!.AsArray().Select(p => (int)(long)p!["port"]!).ToArray();
        var control = Assert.Single(rules, r => Ports(r).Contains(7200));
        Assert.Equal([7200], Ports(control));
        Assert.NotEmpty(control["from"]!.AsArray());
        Assert.All(control["from"]!.AsArray(), peer =>
            Assert.Equal("controller", (string?)peer!["podSelector"]!["matchLabels"]!["cnibench.dev/role"])
        );
        // A label any pod can give itself is no credential: each peer is scoped to a namespace named here (none
        // given: the policy's own), never to every namespace.
        Assert.All(control["from"]!.AsArray(), peer =>
            Assert.True(
                peer!["namespaceSelector"] is null
                    || peer["namespaceSelector"]!["matchLabels"]?["kubernetes.io/metadata.name"] is not null,
                $"a peer any namespace matches: {peer.ToJsonString()}"
            )
        );
        var data = Assert.Single(rules, r => !Ports(r).Contains(7200));
        Assert.Equal([7201, 7202, 7280], Ports(data));
        Assert.Null(data["from"]); // from every peer
        // Agents refuse short tokens, so no token may ship: the overlay reads one from a file of the user's.
        Assert.DoesNotContain(
            "secretGenerator",
            File.ReadAllText(Path.Combine(DeployFiles.Root(), "deploy", "kustomize", "base", "kustomization.yaml"))
                .Split('#')[0]
        );
    }

    [Fact]
    public void The_kind_cluster_has_the_nodes_the_suites_place_agents_on_and_no_cni_of_its_own()
    {
        var cluster = DeployFiles
            .Documents(Path.Combine(DeployFiles.Root(), "deploy", "kind", "cluster.yaml"))
            .Single();
        Assert.Equal("kind.x-k8s.io/v1alpha4", (string?)cluster["apiVersion"]);
        Assert.True((bool)cluster["networking"]!["disableDefaultCNI"]!);
        var workers = cluster["nodes"]!
            .AsArray()
            .Where(n => (string?)n!["role"] == "worker")
            .Select(n => n!["labels"]!)
            .ToArray();
        Assert.Contains(workers, l => (string?)l["agenttype"] == "server");
        Assert.Contains(workers, l => (string?)l["agenttype"] == "client");
        // --zones same and cross can both be met.
        Assert.True(workers.Select(l => (string?)l["topology.kubernetes.io/zone"]).Distinct().Count() >= 2);
        Assert.True(
            workers.Count(l =>
                (string?)l["topology.kubernetes.io/zone"] == (string?)workers[0]["topology.kubernetes.io/zone"]
            ) >= 2
        );
    }
}

/// <summary>Reading deploy/ files as the API objects they hold, and checking calls against the shipped RBAC
/// role.</summary>
internal static class DeployFiles
{
    public static string Root([System.Runtime.CompilerServices.CallerFilePath] string here = "") =>
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(here)!, "..", "..", ".."));

    public static IEnumerable<JsonObject> Documents(string path)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(File.ReadAllText(path)));
        return stream.Documents.Select(d => (JsonObject)ToJson(d.RootNode)!);
    }

    private static JsonNode? ToJson(YamlNode node) =>
        node switch
        {
            YamlMappingNode m => new JsonObject(
                m.Children.Select(c => KeyValuePair.Create(((YamlScalarNode)c.Key).Value!, ToJson(c.Value)))
            ),
            YamlSequenceNode s => new JsonArray(s.Children.Select(ToJson).ToArray()),
            YamlScalarNode
            {
                Style: not (YamlDotNet.Core.ScalarStyle.SingleQuoted or YamlDotNet.Core.ScalarStyle.DoubleQuoted)
            } v when long.TryParse(v.Value, out var n) => JsonValue.Create(n),
            YamlScalarNode
            {
                Style: not (YamlDotNet.Core.ScalarStyle.SingleQuoted or YamlDotNet.Core.ScalarStyle.DoubleQuoted)
            } v when v.Value is "true" or "false" => JsonValue.Create(v.Value == "true"),
            YamlScalarNode v => JsonValue.Create(v.Value),
            _ => null,
        };

    /// <summary>What the controller asked of the API in a run, as RBAC verbs and resources.</summary>
    public static IEnumerable<(string Verb, string Group, string Resource)> Permissions(
        IEnumerable<CniBench.Tests.Support.FakeApiServer.Request> requests
    )
    {
        foreach (var r in requests)
        {
            var path = r.PathAndQuery.Split('?')[0];
            if (path == "/version")
                continue;
            var s = path.Split('/', StringSplitOptions.RemoveEmptyEntries).ToList();
            string group = s[0] == "api" ? "" : s[1];
            s.RemoveRange(0, s[0] == "api" ? 2 : 3);
            // /namespaces/NS/pods/NAME/proxy... is a namespaced resource; /namespaces/NAME is a namespace itself.
            if (s[0] == "namespaces" && s.Count >= 3)
                s.RemoveRange(0, 2);
            bool named = s.Count >= 2;
            string resource = s.Count >= 3 ? $"{s[0]}/{s[2]}" : s[0];
            string verb = (r.Method, named) switch
            {
                ("GET", true) => "get",
                ("GET", false) => r.PathAndQuery.Contains("watch=1") ? "watch" : "list",
                ("POST", _) => "create",
                ("PATCH", _) => "patch",
                ("DELETE", true) => "delete",
                _ => "deletecollection",
            };
            yield return (verb, group, resource);
        }
    }

    /// <summary>Every (verb, group, resource) the shipped role grants, one per verb.</summary>
    public static IReadOnlySet<(string Verb, string Group, string Resource)> Granted() =>
        Documents(Path.Combine(Root(), "deploy", "rbac.yaml")).First()["rules"]!
            .AsArray()
            .OfType<JsonObject>()
            .SelectMany(rule =>
                from g in rule["apiGroups"]!.AsArray()
                from r in rule["resources"]!.AsArray()
                from v in rule["verbs"]!.AsArray()
                select ((string)v!, (string)g!, (string)r!)
            )
            .ToHashSet();

    /// <summary>What the controller says it uses: a run's, some suites', and cleanup's.</summary>
    public static IReadOnlySet<(string Verb, string Group, string Resource)> Declared() =>
        CniBench
            .Cli.Targets.Kube.KubeChecks.Needed.Concat(CniBench.Cli.Targets.Kube.KubeChecks.Optional)
            .Concat(CniBench.Cli.Targets.Kube.KubeChecks.Cleanup)
            .ToHashSet();

    public static void AssertGranted(IEnumerable<(string Verb, string Group, string Resource)> needed)
    {
        // A request the controller does not declare would be missing from `kube check` and from the role's review.
        var undeclared = needed.Where(n => !Declared().Contains(n)).Distinct().ToArray();
        Assert.True(
            undeclared.Length == 0,
            "used but not in KubeChecks: "
                + string.Join(", ", undeclared.Select(n => $"{n.Verb} {n.Group}/{n.Resource}"))
        );
        var rules = Documents(Path.Combine(Root(), "deploy", "rbac.yaml")).First()["rules"]!
            .AsArray()
            .OfType<JsonObject>()
            .ToArray();
        foreach (var (verb, group, resource) in needed.Distinct())
        {
            bool granted = rules.Any(rule =>
                rule["apiGroups"]!.AsArray().Any(g => (string?)g == group)
                && rule["resources"]!.AsArray().Any(x => (string?)x == resource)
                && rule["verbs"]!.AsArray().Any(x => (string?)x == verb)
            );
            Assert.True(granted, $"deploy/rbac.yaml does not grant '{verb}' on '{resource}' in API group '{group}'");
        }
    }
}
