using System.Diagnostics;
using System.Text.Json;
using CniBench.Cli.Ownership;
using CniBench.Cli.Results;
using CniBench.Cli.Targets.Lab.Network;
using CniBench.Cli.Targets.Lab.Network.Ebpf;
using CniBench.Cli.Targets.Lab.Network.Services;

namespace CniBench.Cli.Targets.Lab;

/// <summary>
/// Builds and removes labs. Nothing is created outside the lab's own namespaces; a build that fails
/// half-way removes what it made. `down` is idempotent, `down --all` also clears leftovers of crashed runs.
/// </summary>
public static class LabBuilder
{
    /// <summary>Where lab specs are kept while a lab is up (tmpfs: gone after a reboot, like the namespaces).</summary>
    public static string StateDirectory { get; } =
        Environment.GetEnvironmentVariable("CNIBENCH_LAB_STATE") ?? "/run/cnibench/labs";

    public sealed record UpResult(TimeSpan Took, ProgrammingTime Programming);

    /// <param name="owner">The run that builds the lab for itself (and removes it when it ends); null for a lab a user
    /// builds to keep.</param>
    public static async Task<UpResult> UpAsync(
        LabSpec spec,
        CancellationToken cancellationToken,
        ProcessOwner? owner = null
    )
    {
        Checked(spec.Id);
        var clock = Stopwatch.StartNew();
        var topology = new LabTopology(spec);
        try
        {
            // Written first: a lab is cnibench's only by its record, and a build killed half-way leaves a lab whose
            // builder is known to be gone (an orphan that `down --all` removes). A user's lab drops this record once
            // it is up: it has no process to outlive.
            WriteHolder(spec.Id, OwnerSuffix, owner ?? ProcessOwner.Current());
            await LabShell.RunAsync(
                "ip",
                ["-batch", "-"],
                string.Join('\n', topology.Namespaces.Select(n => $"netns add {n}")) + "\n",
                cancellationToken
            );
            // Consecutive commands in the same namespace and tool go in one batch: a 2×2 lab is a few dozen processes,
            // not hundreds.
            foreach (var group in Consecutive(topology.BuildCommands()))
                await LabCommand.RunBatchAsync(group.Namespace, group.Tool, group.Commands, cancellationToken);
            foreach (var (ns, settings) in topology.Sysctls())
                await LabShell.RunAsync(
                    "ip",
                    ["netns", "exec", ns, "sysctl", "-q", "-w", .. settings],
                    null,
                    cancellationToken
                );
            await WriteEgressAsync(topology, cancellationToken);
            CreateCgroups(topology);
            var programming = await ServiceProgrammer.ProgramAsync(topology, cancellationToken);
            // Byte counters on every connection the nodes track, from the start: a transfer case's long-lived
            // connections (and the log shippers') are counted whenever its window opens. Connection tracking is
            // loaded by now (the proxy's and the egress NAT); -e: a kernel without it leaves the lab as it is.
            foreach (var node in topology.Nodes)
                await LabShell.RunAsync(
                    "ip",
                    ["netns", "exec", node.Namespace, "sysctl", "-q", "-e", "-w", "net.netfilter.nf_conntrack_acct=1"],
                    null,
                    cancellationToken
                );
            await SaveAsync(spec, cancellationToken);
            if (owner is null)
                File.Delete(HolderPath(spec.Id, OwnerSuffix));
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
        if (SocketBalancer.CgroupRoot() is not { } root)
            return;
        foreach (var node in topology.Nodes)
            Directory.CreateDirectory(new SocketBalancer(topology.Spec.Id, node.Node).NodeCgroup(root));
    }

    /// <summary>
    /// Removes a lab's cgroups (children first). Processes still in them are the lab's own (agents of a run
    /// that was killed and has not noticed yet): they are killed first; one that will not go is named, not hidden.
    /// </summary>
    private static void RemoveCgroups(string id)
    {
        if (SocketBalancer.CgroupRoot() is not { } root)
            return;
        var lab = SocketBalancer.LabCgroup(root, id);
        if (!Directory.Exists(lab))
            return;
        try
        {
            // Only the node cgroups the lab makes (n1, n2, ...): whatever else is there is not the lab's to empty.
            foreach (var node in Directory.GetDirectories(lab).Where(IsNodeCgroup))
            {
                KillMembers(node);
                DeleteWhenReleased(node);
            }
            DeleteWhenReleased(lab);
        }
        catch (IOException e)
        {
            throw new LabException(
                $"cgroup {lab} could not be removed (a process of the lab still runs in it?): {e.Message}"
            );
        }
    }

    /// <summary>
    /// A killed process leaves cgroup.procs before the kernel releases it (until its new parent reaps it the
    /// cgroup stays busy): removal is tried again for a few seconds before the error stands.
    /// </summary>
    private static void DeleteWhenReleased(string cgroup)
    {
        for (var waited = Stopwatch.StartNew(); ; Thread.Sleep(50))
        {
            try
            {
                Directory.Delete(cgroup);
                return;
            }
            catch (IOException) when (waited.Elapsed < TimeSpan.FromSeconds(5)) { }
        }
    }

    private static bool IsNodeCgroup(string path) =>
        Path.GetFileName(path) is ['n', .. var digits]
        && digits.Length is > 0 and <= 3
        && digits.All(char.IsAsciiDigit);

    private static void KillMembers(string cgroup)
    {
        var procs = Path.Combine(cgroup, "cgroup.procs");
        int[] Members() =>
            File.Exists(procs)
                ? File.ReadAllLines(procs)
                    .Select(l => int.TryParse(l, out int pid) ? pid : 0)
                    .Where(pid => pid > 0)
                    .ToArray()
                : [];
        if (Members().Length == 0)
            return;
        foreach (var pid in Members())
        {
            try
            {
                Process.GetProcessById(pid).Kill();
            }
            catch (Exception e)
                // gone meanwhile
                when (e is ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception) { }
        }
        // The kernel empties the cgroup once the processes have died; give it a moment.
        for (var deadline = Stopwatch.StartNew(); Members().Length > 0 && deadline.Elapsed < TimeSpan.FromSeconds(3); )
            Thread.Sleep(20);
    }

    /// <summary>Points every node's pod egress at the external router or the gateway, and SNATs where the spec
    /// says.</summary>
    public static async Task WriteEgressAsync(LabTopology topology, CancellationToken cancellationToken)
    {
        foreach (var (node, routes, nft) in topology.EgressRules())
        {
            foreach (var route in routes)
                await LabCommand.RunBatchAsync(node.Namespace, route.Tool, [route.Command], cancellationToken);
            await LabShell.RunAsync("ip", ["netns", "exec", node.Namespace, "nft", "-f", "-"], nft, cancellationToken);
        }
    }

    private static IEnumerable<(string Namespace, string Tool, List<string> Commands)> Consecutive(
        IEnumerable<LabCommand> commands
    )
    {
        (string Namespace, string Tool, List<string> Commands)? current = null;
        foreach (var c in commands)
        {
            if (current is { } g && g.Namespace == c.Namespace && g.Tool == c.Tool)
            {
                g.Commands.Add(c.Command);
                continue;
            }
            if (current is { } done)
                yield return done;
            current = (c.Namespace, c.Tool, [c.Command]);
        }
        if (current is { } last)
            yield return last;
    }

    /// <summary>Removes every namespace of the lab (deleting a namespace removes its links, routes and rules) and its
    /// state.</summary>
    public static async Task<int> DownAsync(string id, CancellationToken cancellationToken)
    {
        Checked(id);
        var doomed = (await NamespacesAsync(cancellationToken)).Where(n => LabTopology.IdOf(n) == id).ToArray();
        if (doomed.Length > 0)
            await LabShell.RunAsync(
                "ip",
                ["-batch", "-"],
                string.Join('\n', doomed.Reverse().Select(n => $"netns del {n}")) + "\n",
                cancellationToken
            );
        RemoveCgroups(id);
        File.Delete(StatePath(id));
        File.Delete(HolderPath(id, OwnerSuffix));
        File.Delete(HolderPath(id, UserSuffix));
        var sockets = Path.Combine(StateDirectory, id);
        if (Directory.Exists(sockets))
            Directory.Delete(sockets, recursive: true);
        return doomed.Length;
    }

    /// <summary>
    /// Every lab this machine has a record of (its spec, or the run that builds or holds it), including leftovers of
    /// crashed runs. A lab is cnibench's by its record alone: a namespace that merely starts with the lab prefix is
    /// someone else's (see <see cref="UnrecordedNamespacesAsync"/>).
    /// </summary>
    public static Task<IReadOnlyList<string>> LabIdsAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        IReadOnlyList<string> ids = Directory.Exists(StateDirectory)
            ? Directory
                .GetFiles(StateDirectory)
                .Where(f =>
                    f.EndsWith(".json", StringComparison.Ordinal)
                    || f.EndsWith("." + OwnerSuffix, StringComparison.Ordinal)
                    || f.EndsWith("." + UserSuffix, StringComparison.Ordinal)
                )
                .Select(Path.GetFileNameWithoutExtension)
                .Where(LabSpec.IsValidId)
                .OfType<string>()
                .Distinct()
                .Order(StringComparer.Ordinal)
                .ToArray()
            : [];
        return Task.FromResult(ids);
    }

    /// <summary>Namespaces with the lab prefix that no recorded lab owns: never removed by cnibench, only
    /// named.</summary>
    public static async Task<IReadOnlyList<string>> UnrecordedNamespacesAsync(CancellationToken cancellationToken)
    {
        var recorded = (await LabIdsAsync(cancellationToken)).ToHashSet(StringComparer.Ordinal);
        return (await NamespacesAsync(cancellationToken))
            .Where(n => LabTopology.IdOf(n) is not { } id || !recorded.Contains(id))
            .ToArray();
    }

    /// <summary>Records what the lab is now (after `up`, or after a run re-programmed its services).</summary>
    public static async Task SaveAsync(LabSpec spec, CancellationToken cancellationToken)
    {
        Directory.CreateDirectory(StateDirectory);
        await File.WriteAllTextAsync(
            StatePath(spec.Id),
            JsonSerializer.Serialize(spec, StoreJson.Indented),
            cancellationToken
        );
    }

    /// <summary>The recorded spec, or null when there is none or it names another lab than its file does (the id
    /// inside is used for paths later, so it must be the one checked here).</summary>
    public static LabSpec? Load(string id)
    {
        var path = StatePath(id);
        if (!File.Exists(path))
            return null;
        try
        {
            return
                JsonSerializer.Deserialize<LabSpec>(File.ReadAllText(path), StoreJson.Options) is { } spec
                && spec.Id == id
                ? spec
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static async Task<IReadOnlyList<string>> NamespacesAsync(CancellationToken cancellationToken)
    {
        var output = await LabShell.RunAsync("ip", ["netns", "list"], null, cancellationToken);
        return output
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => l.Split(' ')[0])
            .Where(LabTopology.IsLabNamespace)
            .ToArray();
    }

    private static string StatePath(string id) => Path.Combine(StateDirectory, $"{Checked(id)}.json");

    private const string OwnerSuffix = "owner",
        UserSuffix = "user";

    /// <summary>Who holds a lab: the run that built it for itself (owner), or a run using a user's lab now
    /// (user).</summary>
    public sealed record Holder(ProcessOwner Process, bool BuiltIt)
    {
        /// <summary>Alive, or on another host (where this machine cannot tell: taken as alive).</summary>
        public bool Alive => Process.IsAliveHere() ?? true;
    }

    /// <summary>The lab's living holder if it has one (a run that adopted an orphan holds it, though its builder is
    /// gone), else the recorded one.</summary>
    public static Holder? HolderOf(string id)
    {
        var holders = new List<Holder>();
        foreach (var (suffix, built) in new[] { (OwnerSuffix, true), (UserSuffix, false) })
        {
            var path = HolderPath(id, suffix);
            if (File.Exists(path) && ProcessOwner.FromLine(File.ReadAllText(path)) is { } process)
                holders.Add(new Holder(process, built));
        }
        return holders.FirstOrDefault(h => h.Alive) ?? holders.FirstOrDefault();
    }

    /// <summary>A run uses a lab it did not build: `lab down --all` leaves it alone while the run lives.</summary>
    public static void Claim(string id, ProcessOwner user) => WriteHolder(id, UserSuffix, user);

    public static void Release(string id) => File.Delete(HolderPath(id, UserSuffix));

    private static void WriteHolder(string id, string suffix, ProcessOwner process)
    {
        Directory.CreateDirectory(StateDirectory);
        File.WriteAllText(HolderPath(id, suffix), process.ToLine() + "\n");
    }

    private static string HolderPath(string id, string suffix) =>
        Path.Combine(StateDirectory, $"{Checked(id)}.{suffix}");

    /// <summary>The commands check ids with a message for the user; this is the last line before a path is
    /// made.</summary>
    private static string Checked(string id) =>
        LabSpec.IsValidId(id) ? id : throw new LabException($"'{id}' is not a lab id; allowed: {LabSpec.IdFormat}");
}
