using System.Globalization;
using System.Text.Json.Nodes;
using CniBench.Cli.Targets.Kube.Api;

namespace CniBench.Cli.Targets.Kube;

/// <summary>
/// What a kube run records about the cluster: server version, each node's kernel, OS, runtime, instance
/// type and zone, the CNI found among kube-system's DaemonSets (with its image tag as version) and
/// kube-proxy's mode from its ConfigMap. Anything the credentials may not read is recorded as such.
/// </summary>
public static class KubeEnvironment
{
    /// <summary>DaemonSet name prefixes of common CNIs, in kube-system.</summary>
    private static readonly (string Prefix, string Cni)[] KnownCnis =
    [
        ("cilium", "cilium"),
        ("calico-node", "calico"),
        ("kube-flannel", "flannel"),
        ("antrea-agent", "antrea"),
        ("weave-net", "weave"),
        ("kube-router", "kube-router"),
        ("aws-node", "aws-vpc-cni"),
        ("azure-cni", "azure-cni"),
        ("kindnet", "kindnet"),
        ("canal", "canal"),
        ("ovnkube-node", "ovn-kubernetes"),
    ];

    public static async Task<IReadOnlyDictionary<string, string>> DescribeAsync(
        KubeClient kube,
        string ns,
        CancellationToken cancellationToken
    )
    {
        var env = new Dictionary<string, string>
        {
            ["target"] = "kube",
            ["kube.context"] = kube.Connection.ContextName,
            ["kube.server"] = kube.Connection.Server.ToString(),
            ["kube.namespace"] = ns,
        };
        await Try(env, "kube.version", async () =>
            (string?)(await kube.VersionAsync(cancellationToken))["gitVersion"] ?? "?"
        );
        await Try(env, "kube.nodes", async () =>
        {
            var (nodes, _) = await kube.ListAsync(KubeResource.Core("nodes"), null, cancellationToken);
            foreach (var n in nodes)
            {
                var name = (string?)n["metadata"]?["name"] ?? "?";
                var info = n["status"]?["nodeInfo"];
                var labels = n["metadata"]?["labels"];
                env[$"node.{name}"] = string.Join(
                    "; ",
                    new[]
                    {
                        $"kernel {(string?)info?["kernelVersion"]}",
                        $"os {(string?)info?["osImage"]}",
                        $"runtime {(string?)info?["containerRuntimeVersion"]}",
                        $"instance {(string?)labels?["node.kubernetes.io/instance-type"] ?? "-"}",
                        $"zone {(string?)labels?["topology.kubernetes.io/zone"] ?? "-"}",
                    }
                );
            }
            return nodes.Count.ToString(CultureInfo.InvariantCulture);
        });
        await Try(env, "cni", async () =>
        {
            var (sets, _) = await kube.ListAsync(
                new KubeResource("apps", "v1", "daemonsets", "kube-system"),
                null,
                cancellationToken
            );
            foreach (var ds in sets)
            {
                var name = (string?)ds["metadata"]?["name"] ?? "";
                var known = KnownCnis.FirstOrDefault(k => name.StartsWith(k.Prefix, StringComparison.Ordinal));
                if (known.Cni is null)
                    continue;
                var image = (string?)
                    (ds["spec"]?["template"]?["spec"]?["containers"] as JsonArray)?.FirstOrDefault()?["image"]
                    ?? "";
                return $"{known.Cni} {ImageTag(image)}".Trim();
            }
            return "unknown (no known CNI DaemonSet in kube-system)";
        });
        await Try(env, "kube_proxy.mode", async () =>
        {
            var map = await kube.GetAsync(
                KubeResource.Core("configmaps", "kube-system", "kube-proxy"),
                cancellationToken
            );
            var config = (string?)map["data"]?["config.conf"] ?? "";
            var line = config
                .Split('\n')
                .Select(l => l.Trim())
                .FirstOrDefault(l => l.StartsWith("mode:", StringComparison.Ordinal));
            var mode = line?["mode:".Length..].Trim().Trim('"');
            return string.IsNullOrEmpty(mode) ? "iptables (default)" : mode;
        });
        return env;
    }

    public static string ImageTag(string image)
    {
        var at = image.IndexOf('@');
        if (at >= 0)
            image = image[..at];
        var colon = image.LastIndexOf(':');
        return colon > image.LastIndexOf('/') ? image[(colon + 1)..] : "";
    }

    private static async Task Try(Dictionary<string, string> env, string key, Func<Task<string>> read)
    {
        try
        {
            env[key] = await read();
        }
        catch (KubeApiException e)
            when (e.Status is System.Net.HttpStatusCode.Forbidden or System.Net.HttpStatusCode.NotFound)
        {
            env[key] =
                e.Status == System.Net.HttpStatusCode.NotFound ? "not found" : "not readable with these credentials";
        }
    }
}
