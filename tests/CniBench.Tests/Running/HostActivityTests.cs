using System.Diagnostics;
using CniBench.Cli.Running;
using CniBench.Tests.Support;

namespace CniBench.Tests.Running;

/// <summary>What else used this host's CPU in a window, read from /proc as the runner reads it.</summary>
[Trait(Category.Name, Category.Integration)]
public class HostActivityTests
{
    [Fact]
    public async Task A_busy_process_beside_the_benchmark_is_measured_and_named()
    {
        var before = HostActivity.Read();
        // Another program keeps a core busy for a second: sha256sum of an endless stream, as a busy build would.
        using var busy = Process.Start(new ProcessStartInfo("sha256sum", "/dev/zero") { RedirectStandardOutput = true, UseShellExecute = false })!;
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(1.2));
            var (other, _, top) = HostActivity.Since(before);
            Assert.True(other >= 40, $"other processes {other:0}%");
            var sha = Assert.Single(top, p => p.Name == "sha256sum");
            Assert.InRange(sha.CpuPercent, 40, 110);
        }
        finally
        {
            busy.Kill();
            await busy.WaitForExitAsync();
        }
    }

    [Fact]
    public void The_agents_and_this_process_are_not_counted_as_other()
    {
        var before = HostActivity.Read();
        var until = Stopwatch.StartNew();
        double spin = 0;
        while (until.ElapsedMilliseconds < 500) spin += Math.Sqrt(until.ElapsedTicks); // this process is busy, not "another"
        var (_, _, top) = HostActivity.Since(before);
        Assert.True(spin > 0);
        Assert.DoesNotContain(top, p => p.Name == Process.GetCurrentProcess().ProcessName && p.CpuPercent > 50);
        Assert.DoesNotContain(top, p => p.Name == HostActivity.AgentProcessName);
    }
}
