using System.Text.Json.Nodes;
using CniBench.Cli.Targets.Kube.Api;

namespace CniBench.Cli.Targets.Kube;

/// <summary>The checks of `cnibench kube check`, each asked of the API server itself.</summary>
public static class KubeChecks
{
    /// <summary>Every (verb, group, resource) a run needs; asked one by one with SelfSubjectAccessReview.</summary>
    public static readonly (string Verb, string Group, string Resource)[] Needed =
    [
        ("create", "", "namespaces"),
        ("delete", "", "namespaces"),
        ("get", "", "namespaces"),
        ("create", "", "pods"),
        ("get", "", "pods"),
        ("list", "", "pods"),
        ("watch", "", "pods"),
        ("create", "", "pods/proxy"),
        ("get", "", "pods/proxy"),
        ("delete", "", "pods/proxy"),
        ("create", "", "secrets"),
        ("create", "", "services"),
        ("get", "", "services"),
        ("list", "", "nodes"),
        ("list", "apps", "daemonsets"),
        ("get", "", "configmaps"),
        // convergence, node samplers and transfer cases
        ("create", "apps", "daemonsets"),
        ("get", "apps", "daemonsets"),
        ("create", "apps", "deployments"),
        ("get", "apps", "deployments"),
        ("patch", "apps", "deployments"),
        ("list", "discovery.k8s.io", "endpointslices"),
        ("watch", "discovery.k8s.io", "endpointslices"),
        // service-scale's dummy Services
        ("delete", "", "services"),
    ];

    /// <summary>What only some suites need: traffic-split's Gateway API objects, egress gateway cases'
    /// policies.</summary>
    public static readonly (string Verb, string Group, string Resource)[] Optional =
    [
        ("create", "gateway.networking.k8s.io", "gateways"),
        ("get", "gateway.networking.k8s.io", "gateways"),
        ("create", "gateway.networking.k8s.io", "httproutes"),
        ("get", "gateway.networking.k8s.io", "httproutes"),
        ("patch", "gateway.networking.k8s.io", "httproutes"),
        ("patch", "cilium.io", "ciliumegressgatewaypolicies"),
        ("delete", "cilium.io", "ciliumegressgatewaypolicies"),
        ("patch", "crd.antrea.io", "egresses"),
        ("delete", "crd.antrea.io", "egresses"),
        // --network-policy
        ("create", "networking.k8s.io", "networkpolicies"),
    ];

    /// <summary>What removing a run's objects needs: by run label in a namespace the user gave, and `cnibench kube
    /// cleanup`'s search for leftovers (namespaces and cluster-scoped policies by label).</summary>
    public static readonly (string Verb, string Group, string Resource)[] Cleanup =
    [
        ("list", "", "namespaces"),
        ("deletecollection", "", "pods"),
        ("deletecollection", "", "secrets"),
        ("deletecollection", "", "services"),
        ("deletecollection", "apps", "daemonsets"),
        ("deletecollection", "apps", "deployments"),
        ("deletecollection", "gateway.networking.k8s.io", "gateways"),
        ("deletecollection", "gateway.networking.k8s.io", "httproutes"),
        ("deletecollection", "networking.k8s.io", "networkpolicies"),
        ("list", "cilium.io", "ciliumegressgatewaypolicies"),
        ("list", "crd.antrea.io", "egresses"),
    ];

    public static async Task<IReadOnlyList<Check>> RunAsync(KubeClient kube, CancellationToken cancellationToken)
    {
        var checks = new List<Check>();
        try
        {
            var version = await kube.VersionAsync(cancellationToken);
            checks.Add(
                new(
                    "API server",
                    true,
                    $"{kube.Connection.Server} answers, Kubernetes {(string?)version["gitVersion"]}"
                )
            );
        }
        catch (Exception e) when (e is KubeConnectionException or KubeApiException)
        {
            checks.Add(new("API server", false, e.Message));
            return checks;
        }
        var missing = await MissingAsync(kube, Needed, cancellationToken);
        checks.Add(
            new(
                "permissions",
                missing.Count == 0,
                missing.Count == 0
                    ? "every verb a run needs is allowed"
                    : $"missing: {string.Join(", ", missing)} (deploy/rbac.yaml grants them)"
            )
        );
        var optional = await MissingAsync(kube, Optional, cancellationToken);
        checks.Add(
            new(
                "traffic-split/egress permissions",
                optional.Count == 0,
                optional.Count == 0
                    ? "allowed"
                    : $"missing: {string.Join(", ", optional)} (only traffic-split, egress policies and "
                        + "--network-policy need them)",
                Required: false
            )
        );

        var (nodes, _) = await kube.ListAsync(KubeResource.Core("nodes"), null, cancellationToken);
        int labelled = nodes.Count(n => (string?)n["metadata"]?["labels"]?["agenttype"] is "server" or "client");
        checks.Add(
            new(
                "nodes",
                nodes.Count >= 2,
                $"{nodes.Count} node(s){(nodes.Count < 2 ? ": cross-node and host-to-host cases need 2" : "")}; "
                    + $"{labelled} labelled agenttype=server/client"
            )
        );
        var environment = await KubeEnvironment.DescribeAsync(kube, "-", cancellationToken);
        checks.Add(new("CNI", true, environment["cni"], Required: false));
        checks.Add(new("kube-proxy mode", true, environment["kube_proxy.mode"], Required: false));
        return checks;
    }

    /// <summary>Each (verb, group, resource) asked with a SelfSubjectAccessReview; the ones refused, as "verb
    /// resource.group".</summary>
    private static async Task<List<string>> MissingAsync(
        KubeClient kube,
        IEnumerable<(string Verb, string Group, string Resource)> wanted,
        CancellationToken cancellationToken
    )
    {
        var missing = new List<string>();
        foreach (var (verb, group, resource) in wanted)
        {
            var parts = resource.Split('/');
            var attributes = new JsonObject
            {
                ["verb"] = verb,
                ["group"] = group,
                ["resource"] = parts[0],
                ["subresource"] = parts.Length > 1 ? parts[1] : "",
            };
            // The one ConfigMap a run reads, as the role grants it.
            if (resource == "configmaps")
                (attributes["namespace"], attributes["name"]) = ("kube-system", "kube-proxy");
            var review = new JsonObject
            {
                ["apiVersion"] = "authorization.k8s.io/v1",
                ["kind"] = "SelfSubjectAccessReview",
                ["spec"] = new JsonObject { ["resourceAttributes"] = attributes },
            };
            var answer = await kube.CreateAsync(
                new KubeResource("authorization.k8s.io", "v1", "selfsubjectaccessreviews"),
                review,
                cancellationToken
            );
            if ((bool?)answer["status"]?["allowed"] != true)
                missing.Add($"{verb} {resource}{(group.Length > 0 ? "." + group : "")}");
        }
        return missing;
    }
}
