using CniBench.Contracts.Workloads;

namespace CniBench.Agent.Workloads;

public static class WorkloadFactory
{
    public static IWorkload Create(WorkloadSpec spec)
    {
        if (spec.Kind == WorkloadKind.Monitor) return new MonitorWorkload();
        if (!Endpoints.TryParse(spec.Target, out var server))
            throw new ArgumentException($"target '{spec.Target}' is not host:port");
        return spec.Kind switch
        {
            WorkloadKind.TcpStream => new TcpStreamWorkload(server),
            WorkloadKind.TcpRr => new TcpRrWorkload(server, connectEachTime: false),
            WorkloadKind.TcpCrr => new TcpRrWorkload(server, connectEachTime: true),
            WorkloadKind.UdpStream => new UdpStreamWorkload(server),
            WorkloadKind.UdpRr => new UdpRrWorkload(server),
            WorkloadKind.Http => new HttpWorkload(server),
            WorkloadKind.Probe => new ProbeWorkload(server),
            _ => throw new ArgumentOutOfRangeException(nameof(spec), spec.Kind, "unknown workload"),
        };
    }
}

/// <summary>Sends nothing: the server side of a case runs it so its CPU and memory are sampled in the same window.</summary>
public sealed class MonitorWorkload : IWorkload
{
    public Task RunAsync(WorkloadContext context)
    {
        var done = new TaskCompletionSource();
        context.Stopping.Register(() => done.TrySetResult());
        return done.Task;
    }
}
