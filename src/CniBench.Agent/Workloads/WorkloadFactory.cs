using CniBench.Contracts.Workloads;

namespace CniBench.Agent.Workloads;

public static class WorkloadFactory
{
    /// <summary>The client for a spec, chosen by its catalog row's port and shape, not by its name.</summary>
    public static IWorkload Create(WorkloadSpec spec)
    {
        var workload = WorkloadCatalog.Of(spec.Kind);
        if (workload.Shape == WorkloadShape.Monitor)
            return new MonitorWorkload();
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
