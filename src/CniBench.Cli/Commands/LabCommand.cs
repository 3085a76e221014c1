using System.CommandLine;
using System.Globalization;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets.Lab;
using CniBench.Cli.Targets.Lab.Network;
using CniBench.Contracts.Cli;

namespace CniBench.Cli.Commands;

/// <summary>`cnibench lab up|status|down`: a cluster emulated in network namespaces on this machine.</summary>
public static class LabCommand
{
    public static Command Create()
    {
        var nodes = new Option<int>("--nodes")
        {
            Description = $"Nodes (1..{LabSpec.MaxNodes})",
            DefaultValueFactory = _ => 2,
        };
        var pods = new Option<int>("--pods-per-node")
        {
            Description = $"Pods per node (1..{LabSpec.MaxPodsPerNode})",
            DefaultValueFactory = _ => 2,
        };
        var routing = new Option<string>("--routing")
        {
            Description = "native (routes to other nodes' pod CIDRs) or vxlan (overlay)",
            DefaultValueFactory = _ => "native",
        };
        var mtu = new Option<int>("--mtu")
        {
            Description =
                $"MTU of the underlay ({DataplaneSettings.MinMtu}..{DataplaneSettings.MaxMtu}); pods get 50 less "
                + $"with vxlan",
            DefaultValueFactory = _ => 1500,
        };
        var proxy = new Option<string>("--proxy")
        {
            Description =
                "How services are programmed: iptables (kube-proxy's iptables mode), nftables (its nftables mode), "
                + "ebpf (a socket balancer at connect()), none",
            DefaultValueFactory = _ => "iptables",
        };
        var services = new Option<int>("--services")
        {
            Description = $"Extra dummy services that grow the tables (0..{DataplaneSettings.MaxServices})",
            DefaultValueFactory = _ => 0,
        };
        var iptables = new Option<string>("--iptables")
        {
            Description =
                "iptables backend of the iptables proxy: nft (Debian's default iptables) or legacy (iptables-legacy)",
            DefaultValueFactory = _ => "nft",
        };
        var egress = new Option<string>("--egress")
        {
            Description =
                "How pods reach the external host: direct (each node SNATs its pods) "
                + "or gateway (through the last node)",
            DefaultValueFactory = _ => "direct",
        };
        var ipFamily = new Option<string>("--ip-family")
        {
            Description = "IP families of pods and services: ipv4, ipv6 (the underlay keeps IPv4 too), dual",
            DefaultValueFactory = _ => "ipv4",
        };
        var zones = new Option<int>("--zones")
        {
            Description = "Zones the nodes are spread over, node i in zone (i-1) mod N: zone-a, zone-b, ...",
            DefaultValueFactory = _ => 1,
        };
        var up = new Command("up", "Build a lab and print its id")
        {
            nodes,
            pods,
            routing,
            mtu,
            proxy,
            services,
            iptables,
            egress,
            ipFamily,
            zones,
        };
        up.SetAction(
            (parse, cancellationToken) =>
                Guard(async () =>
                {
                    if (
                        !Enum.TryParse<LabRouting>(parse.GetValue(routing), true, out var mode) || !Enum.IsDefined(mode)
                    )
                        return Fail($"--routing: '{parse.GetValue(routing)}' is not valid; allowed: native, vxlan");
                    if (
                        !Enum.TryParse<CniBench.Cli.Scenarios.ProxyMode>(parse.GetValue(proxy), true, out var proxyMode)
                        || !Enum.IsDefined(proxyMode)
                    )
                        return Fail(
                            $"--proxy: '{parse.GetValue(proxy)}' is not valid; allowed: iptables, nftables, ebpf, none"
                        );
                    if (
                        !Enum.TryParse<CniBench.Cli.Targets.Lab.Network.IptablesBackend>(
                            parse.GetValue(iptables),
                            true,
                            out var backend
                        ) || !Enum.IsDefined(backend)
                    )
                        return Fail($"--iptables: '{parse.GetValue(iptables)}' is not valid; allowed: nft, legacy");
                    if (
                        !Enum.TryParse<EgressMode>(parse.GetValue(egress), true, out var egressMode)
                        || !Enum.IsDefined(egressMode)
                    )
                        return Fail($"--egress: '{parse.GetValue(egress)}' is not valid; allowed: direct, gateway");
                    if (
                        !Enum.TryParse<LabIpFamily>(parse.GetValue(ipFamily), true, out var family)
                        || !Enum.IsDefined(family)
                    )
                        return Fail(
                            $"--ip-family: '{parse.GetValue(ipFamily)}' is not valid; allowed: ipv4, ipv6, dual"
                        );
                    var spec = new LabSpec(
                        LabSpec.NewId(),
                        parse.GetValue(nodes),
                        parse.GetValue(pods),
                        mode,
                        parse.GetValue(mtu),
                        proxyMode,
                        parse.GetValue(services),
                        backend,
                        egressMode,
                        family,
                        parse.GetValue(zones)
                    );
                    var problems = spec.Check();
                    if (problems.Count > 0)
                        return Fail(string.Join(Environment.NewLine, problems));
                    var result = await LabBuilder.UpAsync(spec, cancellationToken);
                    string Lower<T>(T value) => value!.ToString()!.ToLowerInvariant();
                    string took = result.Took.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture);
                    Console.Out.WriteLine(
                        $"lab {spec.Id} up in {took}s: {spec.Nodes} nodes × {spec.PodsPerNode} pods, "
                            + $"{Lower(spec.Routing)} routing, MTU {spec.Mtu}, {Lower(spec.IpFamily)}, "
                            + $"{Lower(spec.Proxy)} proxy with {spec.Services + 1} services, {spec.Zones} zone(s)"
                    );
                    if (result.Programming.PerNode.Count > 0)
                    {
                        var inv = CultureInfo.InvariantCulture;
                        var perNode = result.Programming.PerNode.Select(t => t.TotalMilliseconds.ToString("0", inv));
                        var render = result.Programming.Render.TotalMilliseconds.ToString("0.0", inv);
                        Console.Out.WriteLine(
                            $"services programmed per node in {string.Join(" ms, ", perNode)} ms "
                                + $"(rules generated in {render} ms)"
                        );
                    }
                    return ExitCodes.Ok;
                })
        );

        var status = new Command("status", "List labs, including leftovers of crashed runs");
        status.SetAction(
            (_, cancellationToken) =>
                Guard(async () =>
                {
                    var ids = await LabBuilder.LabIdsAsync(cancellationToken);
                    if (ids.Count == 0)
                        Console.Out.WriteLine("no lab is up");
                    var namespaces = await LabBuilder.NamespacesAsync(cancellationToken);
                    foreach (var id in ids)
                    {
                        var spec = LabBuilder.Load(id);
                        int count = namespaces.Count(n => LabTopology.IdOf(n) == id);
                        var holder = LabBuilder.HolderOf(id);
                        string held = holder switch
                        {
                            null => "",
                            { BuiltIt: true, Alive: true } =>
                                $"; built by the run of {holder.Process}, removed when it ends",
                            { BuiltIt: true } =>
                                $"; ORPHAN: the run that built it ({holder.Process}) is gone; 'cnibench lab down "
                                    + $"--all' removes it",
                            { Alive: true } => $"; in use by the run of {holder.Process}",
                            _ => "",
                        };
                        Console.Out.WriteLine(
                            spec is null
                                ? $"{id}: {count} namespaces without a spec (a crashed run's leftovers; 'cnibench "
                                    + $"lab down --all' removes them){held}"
                                : $"{id}: {spec.Nodes} nodes × {spec.PodsPerNode} pods, "
                                    + $"{spec.Routing.ToString().ToLowerInvariant()}, MTU {spec.Mtu}, "
                                    + $"{spec.Proxy.ToString().ToLowerInvariant()} proxy, {spec.Services + 1} "
                                    + $"services, {count} namespaces{held}"
                        );
                    }
                    WarnUnrecorded(await LabBuilder.UnrecordedNamespacesAsync(cancellationToken));
                    return ExitCodes.Ok;
                })
        );

        var id = new Option<string?>("--id") { Description = "Lab to remove (default: the only one)" };
        var all = new Option<bool>("--all")
        {
            Description = "Remove every lab and every leftover of crashed runs, except labs a living run holds",
        };
        var force = new Option<bool>("--force") { Description = "Also remove labs that a living run built or uses" };
        var down = new Command("down", "Remove a lab (idempotent)") { id, all, force };
        down.SetAction(
            (parse, cancellationToken) =>
                Guard(async () =>
                {
                    if (parse.GetValue(id) is { } named && !LabSpec.IsValidId(named))
                        return Fail($"--id: '{named}' is not a lab id; allowed: {LabSpec.IdFormat}");
                    var ids = await LabBuilder.LabIdsAsync(cancellationToken);
                    if (parse.GetValue(id) is { } unknown && !ids.Contains(unknown))
                    {
                        // Idempotent, and nothing is touched that no lab recorded as its own.
                        Console.Error.WriteLine(
                            $"cnibench lab down: no lab '{unknown}' is up (labs up: "
                                + $"{(ids.Count == 0 ? "none" : string.Join(", ", ids))})"
                        );
                        Console.Out.WriteLine("removed 0 namespaces");
                        return ExitCodes.Ok;
                    }
                    IEnumerable<string> doomed =
                        parse.GetValue(all) ? ids
                        : parse.GetValue(id) is { } one ? [one]
                        : ids.Count <= 1 ? ids
                        : throw new LabException(
                            $"{ids.Count} labs are up ({string.Join(", ", ids)}); name one with --id or use --all"
                        );
                    int removed = 0;
                    foreach (var lab in doomed)
                    {
                        // Another process's lab in the middle of a run: pulling its namespaces would fail that run.
                        if (LabBuilder.HolderOf(lab) is { Alive: true } holder && !parse.GetValue(force))
                        {
                            Console.Error.WriteLine(
                                $"cnibench lab down: skipped {lab}: {(holder.BuiltIt ? "built" : "in use")} by the "
                                    + $"run of {holder.Process}, which is alive (--force removes it anyway)"
                            );
                            continue;
                        }
                        removed += await LabBuilder.DownAsync(lab, cancellationToken);
                    }
                    Console.Out.WriteLine($"removed {removed} namespaces");
                    WarnUnrecorded(await LabBuilder.UnrecordedNamespacesAsync(cancellationToken));
                    return ExitCodes.Ok;
                })
        );

        return new Command("lab", "An emulated cluster in network namespaces (needs root)") { up, status, down };
    }

    /// <summary>Namespaces named like a lab's that no lab recorded: cnibench did not make them (or their record is
    /// gone), so it leaves them to whoever did.</summary>
    private static void WarnUnrecorded(IReadOnlyList<string> namespaces)
    {
        if (namespaces.Count == 0)
            return;
        Console.Error.WriteLine(
            $"cnibench lab: {namespaces.Count} namespace(s) named like a lab's but recorded by none, left alone: "
                + $"{string.Join(", ", namespaces.Take(5))}{(namespaces.Count > 5 ? ", ..." : "")} (not made by "
                + $"cnibench, or their record in {LabBuilder.StateDirectory} is gone; 'ip netns del NAME' removes one)"
        );
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"cnibench lab: {message}");
        return ExitCodes.BadInput;
    }

    private static async Task<int> Guard(Func<Task<int>> body)
    {
        if (!Environment.IsPrivilegedProcess)
            return Fail("the lab needs root to create network namespaces; run it with sudo");
        try
        {
            return await body();
        }
        catch (LabException e)
        {
            Console.Error.WriteLine($"cnibench lab: {e.Message}");
            return ExitCodes.Failed;
        }
    }
}
