using CniBench.Agent.Workloads;
using CniBench.Contracts.Measurement;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Tests.Support;

public static class Jobs
{
    /// <summary>Runs a client workload in this process, as `cnibench-agent run` does.</summary>
    public static async Task<(JobResult Result, List<Sample> Samples)> RunAsync(
        WorkloadSpec spec,
        int warmupMs = 0,
        int durationMs = 600
    )
    {
        var samples = new List<Sample>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var result = await JobExecution.RunAsync(
            new JobSpec(spec, warmupMs, durationMs),
            0,
            () => { },
            samples.Add,
            timeout.Token
        );
        return (result, samples);
    }
}
