using System.Net;
using CniBench.Agent.Wire;
using CniBench.Contracts.Workloads;

namespace CniBench.Agent.Workloads;

/// <summary>N bulk-transfer connections, sending to the server (send) or pulling from it (receive).</summary>
public sealed class TcpStreamWorkload(IPEndPoint server) : IWorkload
{
    public Task RunAsync(WorkloadContext context)
    {
        var spec = context.Spec;
        bool send = spec.Direction == StreamDirection.Send;
        var hello = new TcpHello(
            send ? TcpMode.Sink : TcpMode.Source,
            ShortLived: false,
            0,
            spec.MessageSize
        ).ToArray();
        return WorkerThreads.Run(spec.Parallel, "tcp-stream", _ =>
        {
            var stats = context.NewWorker();
            var slot = context.Watchdog.NewSlot();
            var buffer = new byte[spec.MessageSize];
            WorkerThreads.Loop(context, stats, slot, () =>
            {
                using var socket = TcpConnector.Connect(server, context, slot);
                socket.Send(hello);
                while (!context.IsStopping)
                {
                    Volatile.Write(ref slot.Deadline, context.DeadlineFromNow());
                    int n = send ? socket.Send(buffer) : socket.Receive(buffer);
                    if (n == 0)
                        throw new EndOfStreamException("server closed the stream");
                    stats.Bytes += n;
                }
            });
        });
    }
}
