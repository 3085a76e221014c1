using System.Diagnostics;
using System.Text.Json;
using CniBench.Cli.Storage;

namespace CniBench.Cli.Lab;

/// <summary>
/// Builds and removes labs. Nothing is created outside the lab's own namespaces; a build that fails
/// half-way removes what it made. `down` is idempotent, `down --all` also clears leftovers of crashed runs.
/// </summary>
public static class LabBuilder
{
    /// <summary>Where lab specs are kept while a lab is up (tmpfs: gone after a reboot, like the namespaces).</summary>
    public static string StateDirectory { get; } = Environment.GetEnvironmentVariable("CNIBENCH_LAB_STATE") ?? "/run/cnibench/labs";

    public sealed record UpResult(TimeSpan Took, Services.ProgrammingTime Programming);

    public static async Task<UpResult> UpAsync(LabSpec spec, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        var topology = new LabTopology(spec);
        try
        {
            await LabShell.RunAsync("ip", ["-batch", "-"], string.Join('\n', topology.Namespaces.Select(n => $"netns add {n}")) + "\n", cancellationToken);
            // Consecutive commands in the same namespace and tool go in one batch: a 2×2 lab is a few dozen processes, not hundreds.
            foreach (var group in Consecutive(topology.BuildCommands()))
                await LabCommand.RunBatchAsync(group.Namespace, group.Tool, group.Commands, cancellationToken);
            foreach (var (ns, settings) in topology.Sysctls())
                await LabShell.RunAsync("ip", ["netns", "exec", ns, "sysctl", "-q", "-w", .. settings], null, cancellationToken);
            await WriteEgressAsync(topology, cancellationToken);
            CreateCgroups(topology);
            var programming = await Services.ServiceProgrammer.ProgramAsync(topology, cancellationToken);
            await SaveAsync(spec, cancellationToken);
            return new UpResult(clock.Elapsed, programming);
        }
        catch
        {
            await DownAsync(spec.Id, CancellationToken.None);
            throw;
        }
    }

    /// <summary>
    /// A cgroup per node for its pods' processes (cnibench-ID/nI under the cgroup v2 mount): the ebpf proxy
    /// attaches its connect() program there, as Cilium does to the pods' cgroups. Not created without cgroup v2.
    /// </summary>
    private static void CreateCgroups(LabTopology topology)
    {
        if (Ebpf.SocketBalancer.CgroupRoot() is not { } root) return;
        foreach (var node in topology.Nodes) Directory.CreateDirectory(new Ebpf.SocketBalancer(topology.Spec.Id, node.Node).NodeCgroup(root));
    }

    /// <summary>Removes a lab's cgroups (children first); a cgroup still holding a process is named, not hidden.</summary>
    private static void RemoveCgroups(string id)
    {
        if (Ebpf.SocketBalancer.CgroupRoot() is not { } root) return;
        var lab = Ebpf.SocketBalancer.LabCgroup(root, id);
        if (!Directory.Exists(lab)) return;
        try
        {
            foreach (var node in Directory.GetDirectories(lab)) Directory.Delete(node);
            Directory.Delete(lab);
        }
        catch (IOException e)
        {
            throw new LabException($"cgroup {lab} could not be removed (a process of the lab still runs in it?): {e.Message}");
        }
    }

    /// <summary>Points every node's pod egress at the external router or the gateway, and SNATs where the spec says.</summary>
    public static async Task WriteEgressAsync(LabTopology topology, CancellationToken cancellationToken)
    {
        foreach (var (node, routes, nft) in topology.EgressRules())
        {
            foreach (var route in routes) await LabCommand.RunBatchAsync(node.Namespace, route.Tool, [route.Command], cancellationToken);
            await LabShell.RunAsync("ip", ["netns", "exec", node.Namespace, "nft", "-f", "-"], nft, cancellationToken);
        }
    }

    private static IEnumerable<(string Namespace, string Tool, List<string> Commands)> Consecutive(IEnumerable<LabCommand> commands)
    {
        (string Namespace, string Tool, List<string> Commands)? current = null;
        foreach (var c in commands)
        {
            if (current is { } g && g.Namespace == c.Namespace && g.Tool == c.Tool)
            {
                g.Commands.Add(c.Command);
                continue;
            }
            if (current is { } done) yield return done;
            current = (c.Namespace, c.Tool, [c.Command]);
        }
        if (current is { } last) yield return last;
    }

    /// <summary>Removes every namespace of the lab (deleting a namespace removes its links, routes and rules) and its state.</summary>
    public static async Task<int> DownAsync(string id, CancellationToken cancellationToken)
    {
        var doomed = (await NamespacesAsync(cancellationToken)).Where(n => LabTopology.IdOf(n) == id).ToArray();
        if (doomed.Length > 0)
            await LabShell.RunAsync("ip", ["-batch", "-"], string.Join('\n', doomed.Reverse().Select(n => $"netns del {n}")) + "\n", cancellationToken);
        RemoveCgroups(id);
        File.Delete(StatePath(id));
        var sockets = Path.Combine(StateDirectory, id);
        if (Directory.Exists(sockets)) Directory.Delete(sockets, recursive: true);
        return doomed.Length;
    }

    /// <summary>Every lab id seen in namespaces or state files, including leftovers of crashed runs.</summary>
    public static async Task<IReadOnlyList<string>> LabIdsAsync(CancellationToken cancellationToken)
    {
        var fromNamespaces = (await NamespacesAsync(cancellationToken)).Select(LabTopology.IdOf).OfType<string>();
        var fromState = Directory.Exists(StateDirectory) ? Directory.GetFiles(StateDirectory, "*.json").Select(Path.GetFileNameWithoutExtension).OfType<string>() : [];
        var fromCgroups = Ebpf.SocketBalancer.CgroupRoot() is { } root && Directory.Exists(root)
            ? Directory.GetDirectories(root, "cnibench-*").Select(d => Path.GetFileName(d)["cnibench-".Length..])
            : [];
        return fromNamespaces.Concat(fromState).Concat(fromCgroups).Distinct().Order(StringComparer.Ordinal).ToArray();
    }

    /// <summary>Records what the lab is now (after `up`, or after a run re-programmed its services).</summary>
    public static async Task SaveAsync(LabSpec spec, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(StateDirectory);
        await File.WriteAllTextAsync(StatePath(spec.Id), JsonSerializer.Serialize(spec, StoreJson.Indented), cancellationToken);
    }

    public static LabSpec? Load(string id)
    {
        var path = StatePath(id);
        return File.Exists(path) ? JsonSerializer.Deserialize<LabSpec>(File.ReadAllText(path), StoreJson.Options) : null;
    }

    public static async Task<IReadOnlyList<string>> NamespacesAsync(CancellationToken cancellationToken)
    {
        var output = await LabShell.RunAsync("ip", ["netns", "list"], null, cancellationToken);
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.Split(' ')[0]).Where(LabTopology.IsLabNamespace).ToArray();
    }

    private static string StatePath(string id) => Path.Combine(StateDirectory, $"{id}.json");
}
