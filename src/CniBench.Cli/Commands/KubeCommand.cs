using System.CommandLine;
using CniBench.Cli.Features.Egress;
using CniBench.Cli.Targets.Kube;
using CniBench.Cli.Targets.Kube.Api;
using CniBench.Contracts.Cli;

namespace CniBench.Cli.Commands;

/// <summary>`cnibench kube cleanup|check`: leftovers of crashed runs, and whether a cluster can run cnibench.</summary>
public static class KubeCommand
{
    public static Command Create()
    {
        var cleanupOptions = new KubeOptions();
        var cleanup = new Command(
            "cleanup",
            "Delete every namespace an earlier run left behind (found by label app.kubernetes.io/managed-by=cnibench)"
        );
        foreach (var o in cleanupOptions.All.Take(2))
            cleanup.Options.Add(o);
        cleanup.SetAction(
            (parse, cancellationToken) =>
                CommonOptions.GuardAsync(async () =>
                {
                    using var kube = cleanupOptions.Connect(parse);
                    var (namespaces, _) = await kube.ListAsync(
                        KubeResource.Core("namespaces"),
                        $"{AgentManifests.ManagedBy}=cnibench",
                        cancellationToken
                    );
                    foreach (var ns in namespaces)
                    {
                        var name = (string?)ns["metadata"]?["name"] ?? "";
                        await kube.DeleteAsync(KubeResource.Core("namespaces", null, name), cancellationToken);
                        Console.Out.WriteLine(
                            $"deleted namespace {name} (run "
                                + $"{(string?)ns["metadata"]?["labels"]?[AgentManifests.RunLabel] ?? "?"})"
                        );
                    }
                    // Egress policies are cluster-scoped: they do not go with a namespace. A cluster without that CNI
                    // has no such kind (404).
                    int policies = 0;
                    foreach (var kind in KubeEgress.PolicyKinds)
                    {
                        try
                        {
                            var (items, _) = await kube.ListAsync(
                                kind,
                                $"{AgentManifests.ManagedBy}=cnibench",
                                cancellationToken
                            );
                            foreach (var item in items)
                            {
                                var name = (string?)item["metadata"]?["name"] ?? "";
                                await kube.DeleteAsync(kind.Named(name), cancellationToken);
                                Console.Out.WriteLine($"deleted {kind.Plural}/{name}");
                                policies++;
                            }
                        }
                        catch (KubeApiException e) when (e.Status == System.Net.HttpStatusCode.NotFound) { }
                    }
                    Console.Out.WriteLine(
                        $"{namespaces.Count} namespace(s) and {policies} egress policies removed from context "
                            + $"{kube.Connection.ContextName}"
                    );
                    return ExitCodes.Ok;
                })
        );

        var checkOptions = new KubeOptions();
        var check = new Command(
            "check",
            "Can this cluster run cnibench? Reachability, permissions (names any missing verb and resource), nodes, "
                + "CNI and kube-proxy mode"
        );
        foreach (var o in checkOptions.All.Take(3))
            check.Options.Add(o);
        check.SetAction(
            (parse, cancellationToken) =>
                CommonOptions.GuardAsync(async () =>
                {
                    using var kube = checkOptions.Connect(parse);
                    var checks = await KubeChecks.RunAsync(kube, cancellationToken);
                    foreach (var c in checks)
                        Console.Out.WriteLine(
                            $"{(c.Ok ? "ok  " : c.Required ? "FAIL" : "warn")}  {c.Name, -28} {c.Detail}"
                        );
                    bool ok = checks.All(c => c.Ok || !c.Required);
                    Console.Out.WriteLine(
                        ok ? $"context {kube.Connection.ContextName} can run cnibench" : "fix the failures above first"
                    );
                    return ok ? ExitCodes.Ok : ExitCodes.Failed;
                })
        );
        return new Command("kube", "Real clusters: clean up after crashed runs, check a cluster") { cleanup, check };
    }
}
