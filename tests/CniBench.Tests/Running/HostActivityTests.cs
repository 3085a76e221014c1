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
        // Another program keeps a core busy for a second, as a busy build would: sha256sum of an endless stream,
        // under a name of its own so that other busy processes on this machine (a load test's) are not taken for it.
        using var dir = new TempDirectory();
        string name = "busy" + Guid.NewGuid().ToString("N")[..8];
        File.Copy("/usr/bin/sha256sum", dir.File(name));
        File.SetUnixFileMode(dir.File(name), UnixFileMode.UserRead | UnixFileMode.UserExecute);
        var before = HostActivity.Read();
        using var busy = Process.Start(
            new ProcessStartInfo(dir.File(name), "/dev/zero") { RedirectStandardOutput = true, UseShellExecute = false }
        )!;
        try
        {
            await Task.Delay(TimeSpan.FromSeconds(1.2));
            var (other, _, top) = HostActivity.Since(before);
            var mine = Assert.Single(top, p => p.Name == name);
            // At least a fifth of a core even on a machine kept busy by others; at most the one core it can use.
            Assert.InRange(mine.CpuPercent, 20, 105);
            Assert.True(other >= mine.CpuPercent, $"other processes {other:0}%, of which {name} {mine.CpuPercent:0}%");
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
        while (until.ElapsedMilliseconds < 500)
            spin += Math.Sqrt(until.ElapsedTicks); // this process is busy, not "another"
        var others = HostActivity.OthersBetween(before, HostActivity.Read());
        Assert.True(spin > 0);
        Assert.DoesNotContain(others, p => p.Pid == Environment.ProcessId);
        Assert.DoesNotContain(others, p => p.Name == HostActivity.AgentProcessName);
    }
}
