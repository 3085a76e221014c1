using CniBench.Contracts.Workloads;

namespace CniBench.Agent.Workloads;

public static class WorkloadFactory
{
    /// <summary>The client for a spec, chosen by its catalog row's port and shape, not by its name.</summary>
    public static IWorkload Create(WorkloadSpec spec)
    {
        var workload = WorkloadCatalog.Of(spec.Kind);
        if (workload.Shape == WorkloadShape.Monitor) return new MonitorWorkload();
        if (!Endpoints.TryParse(spec.Target, out var server))
            throw new ArgumentException($"target '{spec.Target}' is not host:port");
        return (workload.Port, workload.Shape) switch
        {
            (DataPortKind.Tcp, WorkloadShape.Stream) => new TcpStreamWorkload(server),
            (DataPortKind.Tcp, WorkloadShape.RequestResponse) => new TcpRrWorkload(server, workload),
            (DataPortKind.Udp, WorkloadShape.Stream) => new UdpStreamWorkload(server),
            (DataPortKind.Udp, WorkloadShape.RequestResponse) => new UdpRrWorkload(server),
            (DataPortKind.Http, WorkloadShape.Requests) => new HttpWorkload(server),
            (DataPortKind.Http, WorkloadShape.Probes) => new ProbeWorkload(server),
            _ => throw new ArgumentOutOfRangeException(nameof(spec), spec.Kind, "no client for this port and shape"),
        };
    }
}

/// <summary>
/// Sends nothing: the server side of a case runs it so its CPU and memory are sampled in the same window. With processes to watch, also reads their CPU time when the
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
                _before = Sampling.ProcessCpu.Read(names);
            });
        }
        var done = new TaskCompletionSource();
        using var registration = context.Stopping.Register(() => done.TrySetResult());
        await done.Task;
    }

    public Task<WorkloadExtras> CompleteAsync(WorkloadContext context, CancellationToken cancellationToken)
    {
        if (_before is null || context.Spec.Processes is not { } processes) return Task.FromResult(new WorkloadExtras());
        var after = Sampling.ProcessCpu.Read(processes.ToHashSet(StringComparer.Ordinal));
        double seconds = System.Diagnostics.Stopwatch.GetElapsedTime(_beforeAt).TotalSeconds;
        var (used, total) = Sampling.ProcessCpu.Memory();
        return Task.FromResult(new WorkloadExtras(Node: new Contracts.Protocol.NodeTotals(Sampling.ProcessCpu.Between(_before, after, seconds, processes), used, total)));
    }
}
