using CniBench.Contracts.Sampling;

namespace CniBench.Agent.Workloads;

/// <summary>
/// Sends nothing: the server side of a case runs it so its CPU and memory are sampled in the same window. With
/// processes to watch, also reads their CPU time when the
/// measured window opens and when it has closed, and the node's memory then: a node sampler's figures. With flow
/// ports, also the node's top talkers over the window (see <see cref="Sampling.NodeFlowWatch"/>); with
/// <see cref="Contracts.Workloads.WorkloadSpec.CountInterfaces"/>, what its namespace's interfaces carried.
/// </summary>
public sealed class MonitorWorkload : IWorkload
{
    private Dictionary<int, (string Name, long Ticks)>? _before;
    private long _beforeAt;
    private Sampling.NodeFlowWatch? _flows;
    private IReadOnlyList<InterfaceCounters.Counters>? _interfacesBefore,
        _interfaces;

    public async Task RunAsync(WorkloadContext context)
    {
        if (context.Spec.FlowPorts is { Count: > 0 })
        {
            _flows = new Sampling.NodeFlowWatch(context.Spec.FlowPorts);
            context.WhenMeasuring(_flows.Start);
        }
        if (context.Spec.CountInterfaces)
            context.WhenMeasuring(() => _interfacesBefore = InterfaceCounters.Read());
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
        try
        {
            await done.Task;
        }
        finally
        {
            _flows?.Stop();
            if (_interfacesBefore is not null)
                _interfaces = InterfaceCounters.Between(_interfacesBefore, InterfaceCounters.Read());
        }
    }

    public Task<WorkloadExtras> CompleteAsync(WorkloadContext context, CancellationToken cancellationToken)
    {
        var flows = _flows?.Result;
        if (_before is null && flows is null && _interfaces is null)
            return Task.FromResult(new WorkloadExtras());
        var cpu = new Dictionary<string, double>();
        if (_before is not null && context.Spec.Processes is { } processes)
        {
            var after = Contracts.Sampling.ProcessCpu.Read(processes.ToHashSet(StringComparer.Ordinal));
            double seconds = System.Diagnostics.Stopwatch.GetElapsedTime(_beforeAt).TotalSeconds;
            cpu = Contracts.Sampling.ProcessCpu.Between(_before, after, seconds, processes);
        }
        var (used, total) = Contracts.Sampling.ProcessCpu.Memory();
        return Task.FromResult(
            new WorkloadExtras(Node: new Contracts.Protocol.NodeTotals(cpu, used, total, flows, _interfaces))
        );
    }
}
