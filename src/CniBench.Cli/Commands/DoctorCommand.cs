using System.CommandLine;
using CniBench.Cli.Targets;
using CniBench.Cli.Targets.Kube;
using CniBench.Cli.Targets.Lab.Network;
using CniBench.Contracts.Cli;

namespace CniBench.Cli.Commands;

/// <summary>`cnibench doctor`: can this machine run the lab? Says what is missing and how to get it.</summary>
public static class DoctorCommand
{
    public static Command Create()
    {
        var target = new Option<string>("--target")
        {
            Description =
                "lab (this machine's kernel and tools) or kube (a cluster: reachability, permissions, nodes, CNI)",
            DefaultValueFactory = _ => "lab",
        };
        var kube = new KubeOptions();
        var command = new Command(
            "doctor",
            "Check what a target needs: the lab's root, kernel features and tools, or a cluster's API and permissions"
        )
        {
            target,
        };
        foreach (var o in kube.All.Take(2))
            command.Options.Add(o);
        command.SetAction(
            (parse, cancellationToken) =>
                CommonOptions.GuardAsync(async () =>
                {
                    if (parse.GetValue(target) is not ("lab" or "kube"))
                    {
                        Console.Error.WriteLine(
                            $"cnibench doctor: --target: '{parse.GetValue(target)}' is not valid; allowed: lab, kube"
                        );
                        return ExitCodes.BadInput;
                    }
                    IReadOnlyList<Check> checks;
                    if (parse.GetValue(target) == "kube")
                    {
                        using var client = kube.Connect(parse);
                        checks = await KubeChecks.RunAsync(client, cancellationToken);
                    }
                    else
                    {
                        checks = await RunAsync(cancellationToken);
                    }
                    foreach (var c in checks)
                        Console.Out.WriteLine(
                            $"{(c.Ok ? "ok  " : c.Required ? "FAIL" : "warn")}  {c.Name, -22} {c.Detail}"
                        );
                    bool ok = checks.All(c => c.Ok || !c.Required);
                    Console.Out.WriteLine(
                        ok
                            ? $"the {parse.GetValue(target)} target can run here"
                            : $"the {parse.GetValue(target)} target cannot run here until the failures above are fixed"
                    );
                    return ok ? ExitCodes.Ok : ExitCodes.Failed;
                })
        );
        return command;
    }

    public static async Task<IReadOnlyList<Check>> RunAsync(CancellationToken cancellationToken)
    {
        var checks = new List<Check>
        {
            new(
                "root",
                Environment.IsPrivilegedProcess,
                Environment.IsPrivilegedProcess ? "running as root" : "network namespaces need root: run with sudo"
            ),
        };
        foreach (
            var (tool, package, required) in new[]
            {
                ("ip", "iproute2", true),
                ("bridge", "iproute2", true),
                ("sysctl", "procps", true),
                ("iptables-restore", "iptables", true),
                ("nft", "nftables", true),
                ("ip6tables-restore", "iptables", false),
                ("conntrack", "conntrack", false),
            }
        )
        {
            var path = new[] { "/usr/sbin", "/sbin", "/usr/bin", "/bin" }
                .Select(d => Path.Combine(d, tool))
                .FirstOrDefault(File.Exists);
            checks.Add(new(tool, path is not null, path ?? $"not found: apt-get install {package}", required));
        }
        if (checks.Any(c => c.Required && !c.Ok))
            return checks;

        // Try each kernel feature in a throw-away namespace: nothing touches this machine's own network.
        string probe = $"{LabTopology.Prefix}doctor-{Environment.ProcessId}";
        async Task Try(string name, string detail, params string[] args) => await TryAs(name, detail, true, args);
        async Task TryAs(string name, string detail, bool required, params string[] args)
        {
            try
            {
                await LabShell.RunAsync(args[0], args[1..], null, cancellationToken);
                checks.Add(new(name, true, detail, required));
            }
            catch (LabException e)
            {
                checks.Add(new(name, false, e.Message, required));
            }
        }
        await Try("netns", "network namespaces", "ip", "netns", "add", probe);
        if (checks[^1].Ok)
        {
            try
            {
                await Try(
                    "veth",
                    "veth pairs",
                    "ip",
                    "-n",
                    probe,
                    "link",
                    "add",
                    "d0",
                    "type",
                    "veth",
                    "peer",
                    "name",
                    "d1"
                );
                await Try("bridge device", "Linux bridges", "ip", "-n", probe, "link", "add", "br0", "type", "bridge");
                await Try(
                    "vxlan",
                    "VXLAN overlay",
                    "ip",
                    "-n",
                    probe,
                    "link",
                    "add",
                    "vx0",
                    "type",
                    "vxlan",
                    "id",
                    "42",
                    "dstport",
                    "4789"
                );
                await Try(
                    "nf_tables",
                    "nftables in a namespace",
                    "ip",
                    "netns",
                    "exec",
                    probe,
                    "nft",
                    "add",
                    "table",
                    "ip",
                    "cnibench-doctor"
                );
                await Try(
                    "iptables nat",
                    "iptables nat table",
                    "ip",
                    "netns",
                    "exec",
                    probe,
                    "iptables",
                    "-t",
                    "nat",
                    "-L",
                    "-n"
                );
                await Try(
                    "bridge netfilter",
                    "net.bridge.bridge-nf-call-iptables (br_netfilter; needed for same-node service backends)",
                    "ip",
                    "netns",
                    "exec",
                    probe,
                    "sysctl",
                    "-q",
                    "-w",
                    "net.bridge.bridge-nf-call-iptables=1"
                );
                await TryAs(
                    "ipv6",
                    "IPv6 addresses in a namespace (--ip-family ipv6 or dual)",
                    false,
                    "ip",
                    "-n",
                    probe,
                    "addr",
                    "add",
                    "fd00:200::1/64",
                    "dev",
                    "d0",
                    "nodad"
                );
            }
            finally
            {
                await LabShell.RunAsync("ip", ["netns", "del", probe], null, CancellationToken.None);
            }
        }
        var version = await LabShell.RunAsync("iptables", ["-V"], null, cancellationToken);
        checks.Add(
            new(
                "iptables backend",
                true,
                version.Trim() + (File.Exists("/usr/sbin/iptables-legacy") ? "; iptables-legacy also present" : "")
            )
        );
        string? Read(string p) => File.Exists(p) ? File.ReadAllText(p).Trim() : null;
        var count = Read("/proc/sys/net/netfilter/nf_conntrack_count");
        var max = Read("/proc/sys/net/netfilter/nf_conntrack_max");
        checks.Add(EbpfCheck());
        checks.Add(
            new(
                "conntrack table",
                max is not null,
                max is null
                    ? "nf_conntrack not loaded yet (it loads with the first NAT rule)"
                    : $"{count}/{max} entries (read only: the lab never changes nf_conntrack_max)",
                Required: false
            )
        );
        return checks;
    }

    /// <summary>The ebpf proxy needs a cgroup v2 mount and the bpf syscall: try both without attaching
    /// anything.</summary>
    private static Check EbpfCheck()
    {
        if (CniBench.Cli.Targets.Lab.Network.Ebpf.SocketBalancer.CgroupRoot() is not { } root)
            return new(
                "ebpf proxy",
                false,
                "cgroup v2 is not mounted (mount -t cgroup2 none /sys/fs/cgroup/unified); --proxy ebpf needs it",
                Required: false
            );
        try
        {
            CniBench.Cli.Targets.Lab.Network.Ebpf.Bpf.Close(
                CniBench.Cli.Targets.Lab.Network.Ebpf.Bpf.CreateMap(
                    CniBench.Cli.Targets.Lab.Network.Ebpf.Bpf.MapTypeArray,
                    4,
                    8,
                    1,
                    "cnbdoctor"
                )
            );
            return new("ebpf proxy", true, $"bpf(2) works, cgroup v2 at {root}", Required: false);
        }
        catch (CniBench.Cli.Targets.Lab.Network.Ebpf.BpfException e)
        {
            return new("ebpf proxy", false, e.Message, Required: false);
        }
    }
}
