using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace CniBench.Cli.Targets.Kube.Api;

/// <summary>
/// The API's validation rules for the fields cnibench sets, checked before anything is sent so a mistake
/// is ours to report, field by field, rather than a 422 from the server: names (DNS-1123 labels and
/// subdomains), label keys and values, port numbers and names, NodePort range, protocol and enum values.
/// </summary>
public static partial class ManifestRules
{
    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex Dns1123Label();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")]
    private static partial Regex Dns1123Subdomain();

    [GeneratedRegex("^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")]
    private static partial Regex LabelValue();

    [GeneratedRegex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")]
    private static partial Regex PortName();

    public static IReadOnlyList<string> Check(JsonObject manifest)
    {
        var problems = new List<string>();
        var kind = (string?)manifest["kind"] ?? "";
        var name = (string?)manifest["metadata"]?["name"] ?? "";
        void Fail(string field, string problem) => problems.Add($"{kind}/{name}: {field}: {problem}");

        // Namespaces and Services need DNS-1123 labels; Pods and Secrets may be subdomains.
        bool label = kind is "Namespace" or "Service";
        if (
            name.Length == 0
            || name.Length > (label ? 63 : 253)
            || !(label ? Dns1123Label() : Dns1123Subdomain()).IsMatch(name)
        )
            Fail(
                "metadata.name",
                $"'{name}' is not a DNS-1123 {(label ? "label" : "subdomain")} (lower-case letters, digits, '-', at "
                    + $"most {(label ? 63 : 253)})"
            );
        if (manifest["metadata"]?["labels"] is JsonObject labels)
        {
            foreach (var (key, value) in labels)
            {
                var keyName = key.Contains('/') ? key[(key.IndexOf('/') + 1)..] : key;
                if (keyName.Length is 0 or > 63 || !LabelValue().IsMatch(keyName))
                    Fail($"metadata.labels[{key}]", "bad key");
                var text = (string?)value ?? "";
                if (text.Length > 63 || !LabelValue().IsMatch(text))
                    Fail(
                        $"metadata.labels[{key}]",
                        $"'{text}' is not a valid label value (at most 63 of A-Z a-z 0-9 - _ ., starting and ending "
                            + $"alphanumeric)"
                    );
            }
        }
        if (kind == "Pod")
            CheckPod(manifest["spec"] as JsonObject, "spec", Fail);
        if (kind is "Deployment" or "DaemonSet")
            CheckWorkload(kind, manifest["spec"] as JsonObject, Fail);
        if (kind == "Service")
            CheckService(manifest["spec"] as JsonObject, Fail);
        return problems;
    }

    /// <summary>A Deployment's or DaemonSet's selector must match its template's labels; the template's pods restart
    /// Always and have no deadline.</summary>
    private static void CheckWorkload(string kind, JsonObject? spec, Action<string, string> fail)
    {
        if (spec is null)
        {
            fail("spec", "missing");
            return;
        }
        if (Number(spec["replicas"]) is < 0)
            fail("spec.replicas", "must be 0 or more");
        var selector = spec["selector"]?["matchLabels"] as JsonObject;
        var labels = spec["template"]?["metadata"]?["labels"] as JsonObject;
        if (selector is null || selector.Count == 0)
            fail("spec.selector.matchLabels", "missing");
        else if (selector.Any(m => (string?)labels?[m.Key] != (string?)m.Value))
            fail("spec.template.metadata.labels", "`selector` does not match template `labels`");
        var pod = spec["template"]?["spec"] as JsonObject;
        CheckPod(pod, "spec.template.spec", fail);
        if (pod is null)
            return;
        if ((string?)pod["restartPolicy"] != "Always")
            fail("spec.template.spec.restartPolicy", $"{kind} pods: allowed: Always");
        if (pod.ContainsKey("activeDeadlineSeconds"))
            fail("spec.template.spec.activeDeadlineSeconds", $"not supported in a {kind}");
    }

    /// <summary>A pod spec's rules; <paramref name="at"/> is where the spec sits (spec, or a template's
    /// spec.template.spec).</summary>
    private static void CheckPod(JsonObject? spec, string at, Action<string, string> fail)
    {
        if (spec is null)
        {
            fail(at, "missing");
            return;
        }
        if ((string?)spec["restartPolicy"] is not ("Always" or "OnFailure" or "Never"))
            fail($"{at}.restartPolicy", "allowed: Always, OnFailure, Never");
        if (Number(spec["activeDeadlineSeconds"]) is <= 0)
            fail($"{at}.activeDeadlineSeconds", "must be positive");
        var containers = spec["containers"] as JsonArray;
        if (containers is null || containers.Count == 0)
            fail($"{at}.containers", "at least one container");
        foreach (var c in containers?.OfType<JsonObject>() ?? [])
        {
            var cname = (string?)c["name"] ?? "";
            if (!Dns1123Label().IsMatch(cname) || cname.Length > 63)
                fail($"{at}.containers[].name", $"'{cname}' is not a DNS-1123 label");
            if (string.IsNullOrEmpty((string?)c["image"]))
                fail($"{at}.containers[{cname}].image", "missing");
            var seen = new HashSet<string>();
            foreach (var p in (c["ports"] as JsonArray)?.OfType<JsonObject>() ?? [])
            {
                var pname = (string?)p["name"] ?? "";
                if (
                    pname.Length > 15
                    || !PortName().IsMatch(pname)
                    || !pname.Any(char.IsAsciiLetter)
                    || !seen.Add(pname)
                )
                    fail(
                        $"{at}.containers[{cname}].ports[].name",
                        $"'{pname}' must be a unique IANA service name (at most 15 characters, a letter among them)"
                    );
                CheckPortNumber(
                    $"{at}.containers[{cname}].ports[{pname}].containerPort",
                    Number(p["containerPort"]),
                    fail
                );
                if ((string?)p["protocol"] is not ("TCP" or "UDP" or "SCTP"))
                    fail($"{at}.containers[{cname}].ports[{pname}].protocol", "allowed: TCP, UDP, SCTP");
            }
        }
    }

    private static void CheckService(JsonObject? spec, Action<string, string> fail)
    {
        if (spec is null)
        {
            fail("spec", "missing");
            return;
        }
        var type = (string?)spec["type"];
        if (type is not ("ClusterIP" or "NodePort" or "LoadBalancer"))
            fail("spec.type", "allowed: ClusterIP, NodePort, LoadBalancer");
        if ((string?)spec["ipFamilyPolicy"] is not (null or "SingleStack" or "PreferDualStack" or "RequireDualStack"))
            fail("spec.ipFamilyPolicy", "allowed: SingleStack, PreferDualStack, RequireDualStack");
        var names = new HashSet<string>();
        foreach (var p in (spec["ports"] as JsonArray)?.OfType<JsonObject>() ?? [])
        {
            var pname = (string?)p["name"] ?? "";
            if (!Dns1123Label().IsMatch(pname) || !names.Add(pname))
                fail("spec.ports[].name", $"'{pname}' must be a unique DNS-1123 label");
            CheckPortNumber($"spec.ports[{pname}].port", Number(p["port"]), fail);
            if (Number(p["nodePort"]) is long nodePort)
            {
                if (type != "NodePort" && type != "LoadBalancer")
                    fail($"spec.ports[{pname}].nodePort", "only with type NodePort or LoadBalancer");
                if (nodePort is < 30000 or > 32767)
                    fail(
                        $"spec.ports[{pname}].nodePort",
                        $"{nodePort} is outside the default NodePort range 30000-32767"
                    );
            }
        }
    }

    /// <summary>A number however it was built (parsed JSON, an int, a long).</summary>
    private static long? Number(JsonNode? node) =>
        node is JsonValue v
            ? v.TryGetValue<long>(out var l)
                ? l
                : v.TryGetValue<int>(out var i)
                    ? i
                    : v.TryGetValue<System.Text.Json.JsonElement>(out var e) && e.TryGetInt64(out var n)
                        ? n
                        : null
            : null;

    private static void CheckPortNumber(string field, long? port, Action<string, string> fail)
    {
        if (port is not (>= 1 and <= 65535))
            fail(
                field,
                $"{port?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "missing"} is not a port "
                    + $"(1-65535)"
            );
    }
}
