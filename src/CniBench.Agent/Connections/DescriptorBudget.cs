using System.Runtime.InteropServices;
using CniBench.Contracts.Workloads;

namespace CniBench.Agent.Connections;

/// <summary>
/// How many connections each listening port may hold, so that clients can never fill the agent's descriptor
/// table: with the table full the runtime cannot even start a thread (it aborts with "Out of memory"), so the
/// caps leave a reserve for threads, files and the workloads' own sockets rather than relying on accept's EMFILE.
/// </summary>
public sealed record DescriptorBudget(int Control, int DataPort)
{
    private const int ControlCeiling = 64;
    private const int DataPortCeiling = 20_000;

    /// <summary>Of the descriptors still free, half at least (up to a full workload's sockets and some) stays in
    /// reserve.</summary>
    public static DescriptorBudget For(long limit, long inUse)
    {
        long free = Math.Max(0, limit - inUse);
        long reserve = Math.Min(Limits.MaxParallel + 256, free / 2);
        long share = free - reserve;
        int control = (int)Math.Clamp(share / 4, 1, ControlCeiling);
        int data = (int)Math.Clamp((share - control) / 2, 1, DataPortCeiling);
        return new DescriptorBudget(control, data);
    }

    /// <summary>
    /// The budget of this process: its soft RLIMIT_NOFILE is first raised to the hard limit (as servers that
    /// hold many connections do; a container's soft 1024 would otherwise cap a data port at a few hundred).
    /// </summary>
    public static DescriptorBudget ForThisProcess()
    {
        long limit = 1024;
        if (GetRLimit(RlimitNofile, out var rlimit) == 0)
        {
            if (rlimit.Current < rlimit.Maximum)
            {
                var raised = rlimit with { Current = rlimit.Maximum };
                if (SetRLimit(RlimitNofile, in raised) == 0)
                    rlimit = raised;
            }
            limit = (long)Math.Min(rlimit.Current, int.MaxValue);
        }
        long inUse = Directory.Exists("/proc/self/fd") ? Directory.GetFiles("/proc/self/fd").Length : 64;
        return For(limit, inUse);
    }

    private const int RlimitNofile = 7;

    [StructLayout(LayoutKind.Sequential)]
    private record struct RLimit(ulong Current, ulong Maximum);

    [DllImport("libc", EntryPoint = "getrlimit")]
    private static extern int GetRLimit(int resource, out RLimit limit);

    [DllImport("libc", EntryPoint = "setrlimit")]
    private static extern int SetRLimit(int resource, in RLimit limit);
}
