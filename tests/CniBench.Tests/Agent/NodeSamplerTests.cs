using System.Diagnostics;
using CniBench.Contracts.Sampling;
using CniBench.Contracts.Workloads;
using CniBench.Tests.Support;

namespace CniBench.Tests.Agent;

/// <summary>A monitor job watching processes by name, as the kube node sampler runs it, against a real busy
/// process.</summary>
[Trait(Category.Name, Category.Unit)]
public class NodeSamplerTests
{
    [Fact]
    public void A_stat_line_gives_the_name_and_cpu_ticks_even_with_spaces_and_parentheses_in_the_name()
    {
        Assert.Equal(
            ("cilium-agent", 1234L + 56),
            ProcessCpu.Parse(
                "4242 (cilium-agent) S 1 4242 4242 0 -1 4194560 12345 0 12 0 1234 56 0 0 20 0 38 0 1000 0 0"
            )
        );
        Assert.Equal(
            ("a (b) c", 7L + 8),
            ProcessCpu.Parse("17 (a (b) c) R 1 17 17 0 -1 0 0 0 0 0 7 8 0 0 20 0 1 0 0 0 0")
        );
        Assert.Null(ProcessCpu.Parse("garbage"));
    }
}

/// <summary>The same against a real busy process: it needs a share of a core, so it is an integration test.</summary>
[Trait(Category.Name, Category.Integration)]
public class NodeSamplerProcessTests
{
    [Fact]
    public async Task A_monitor_job_measures_the_cpu_of_the_named_processes_and_the_nodes_memory()
    {
        // A process named "yes" that keeps one core busy for the length of the test.
        using var busy = Process.Start(new ProcessStartInfo("sh", ["-c", "exec yes > /dev/null"]))!;
        try
        {
            await Task.Delay(200);
            var (result, _) = await Jobs.RunAsync(
                new WorkloadSpec { Kind = WorkloadKind.Monitor, Processes = ["yes", "kube-proxy"] },
                warmupMs: 300,
                durationMs: 1500
            );
            var node = result.Node!;
            // one core, shared with whatever else runs on this 2-core machine
            Assert.InRange(node.ProcessCpuPercent["yes"], 25, 115);
            Assert.Equal(0, node.ProcessCpuPercent["kube-proxy"]); // none here
            Assert.InRange(node.MemoryUsedMiB, 1, node.MemoryTotalMiB);
        }
        finally
        {
            busy.Kill();
            await busy.WaitForExitAsync();
        }
        Assert.Contains(
            "processes: allowed for monitor jobs only",
            string.Join(
                "; ",
                Limits.Check(
                    new WorkloadSpec
                    {
                        Kind = WorkloadKind.TcpRr,
                        Target = "127.0.0.1:1",
                        Processes = ["x"],
                    }
                )
            )
        );
        Assert.Contains(
            "processes:",
            string.Join(
                "; ",
                Limits.Check(new WorkloadSpec { Kind = WorkloadKind.Monitor, Processes = ["a-name-longer-than-15"] })
            )
        );
    }
}

[Trait(Category.Name, Category.Unit)]
public class InterfaceMtuTests
{
    [Fact]
    public void The_mtu_is_the_default_routes_interfaces_else_the_largest_but_loopbacks()
    {
        using var dir = new TempDirectory();
        void Interface(string name, int mtu)
        {
            Directory.CreateDirectory(dir.File($"net/{name}"));
            File.WriteAllText(dir.File($"net/{name}/mtu"), $"{mtu}\n");
        }
        Interface("lo", 65536);
        Interface("eth0", 1450);
        Interface("cilium_vxlan", 1500);
        var route = dir.File("route");
        File.WriteAllText(
            route,
            "Iface\tDestination\tGateway\tFlags\n"
                + "eth0\t0000F40A\t00000000\t0001\n"
                + "eth0\t00000000\t0101F40A\t0003\n"
        );
        Assert.Equal(1450, CniBench.Agent.Sampling.InterfaceMtu.Primary(route, dir.File("net")));
        File.WriteAllText(route, "Iface\tDestination\tGateway\tFlags\neth0\t0000F40A\t00000000\t0001\n");
        // no default route: not loopback's 65536
        Assert.Equal(1500, CniBench.Agent.Sampling.InterfaceMtu.Primary(route, dir.File("net")));
    }
}
