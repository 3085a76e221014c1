namespace CniBench.Agent.Workloads;

/// <summary>
/// Sends nothing: the server side of a case runs it so its CPU and memory are sampled in the same window. With
/// processes to watch, also reads their CPU time when the
/// measured window opens and when it has closed, and the node's memory then: a node sampler's figures.
/// </summary>
public sealed class MonitorWorkload : IWorkload
{
    private Dictionary<int, (string Name, long Ticks)>? _before;
    private long _beforeAt;

    public async Task RunAsync(WorkloadContext context)
    {
        if (context.Spec.Processes is { Count: > 0 } processes)
        {
            var names = processes.ToHashSet(StringComparer.Ordinal);
            context.WhenMeasuring(() =>
            {
                _beforeAt = System.Diagnostics.Stopwatch.GetTimestamp();
                _before = Contracts.Sampling.ProcessCpu.Read(names);
            });
        }
        var done = new TaskCompletionSource();
        using var registration = context.Stopping.Register(() => done.TrySetResult());
        await done.Task;
    }

    public Task<WorkloadExtras> CompleteAsync(WorkloadContext context, CancellationToken cancellationToken)
    {
        if (_before is null || context.Spec.Processes is not { } processes)
            return Task.FromResult(new WorkloadExtras());
        var after = Contracts.Sampling.ProcessCpu.Read(processes.ToHashSet(StringComparer.Ordinal));
        double seconds = System.Diagnostics.Stopwatch.GetElapsedTime(_beforeAt).TotalSeconds;
        var (used, total) = Contracts.Sampling.ProcessCpu.Memory();
        return Task.FromResult(
            new WorkloadExtras(
                Node: new Contracts.Protocol.NodeTotals(
                    Contracts.Sampling.ProcessCpu.Between(_before, after, seconds, processes),
                    used,
                    total
                )
            )
        );
    }
}
