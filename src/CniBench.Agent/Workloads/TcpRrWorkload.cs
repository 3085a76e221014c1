using System.Diagnostics;
using System.Net;
using CniBench.Agent.Wire;
using CniBench.Contracts.Workloads;

namespace CniBench.Agent.Workloads;

/// <summary>
/// Request/response on persistent connections (tcp-rr), or a new connection per transaction
/// (tcp-crr: connect, one request/response, close — latency includes the handshake).
/// </summary>
public sealed class TcpRrWorkload(IPEndPoint server, WorkloadDescriptor workload) : IWorkload
{
    public Task RunAsync(WorkloadContext context)
    {
        bool connectEachTime = workload.ConnectionPerTransaction;
        var spec = context.Spec;
        var hello = new TcpHello(TcpMode.RequestResponse, connectEachTime, spec.RequestSize, spec.ResponseSize);
        // tcp-crr sends hello and request in one write, so a transaction is one connect plus one round trip.
        var helloAndRequest = new byte[Contracts.Protocol.ControlProtocol.TcpHelloSize + spec.RequestSize];
        hello.Write(helloAndRequest);
        long bytesPerTransaction = (long)spec.RequestSize + spec.ResponseSize;

        return WorkerThreads.Run(spec.Parallel, workload.Name, _ =>
        {
            var stats = context.NewWorker();
            var slot = context.Watchdog.NewSlot();
            var request = new byte[spec.RequestSize];
            var response = new byte[Math.Min(spec.ResponseSize, 256 * 1024)];
            WorkerThreads.Loop(context, stats, slot, connectEachTime ? ConnectRequestClose : Persistent);

            void Persistent()
            {
                using var socket = TcpConnector.Connect(server, context, slot);
                socket.Send(helloAndRequest, 0, Contracts.Protocol.ControlProtocol.TcpHelloSize, System.Net.Sockets.SocketFlags.None);
                while (!context.IsStopping)
                {
                    long start = Stopwatch.GetTimestamp();
                    Volatile.Write(ref slot.Deadline, start + context.TimeoutTicks);
                    SocketCounts.SendCount(socket, request, spec.RequestSize);
                    if (!SocketCounts.ReceiveExactly(socket, response, spec.ResponseSize))
                        throw new EndOfStreamException("server closed the connection mid-transaction");
                    Complete(start);
                }
            }

            void ConnectRequestClose()
            {
                while (!context.IsStopping)
                {
                    long start = Stopwatch.GetTimestamp();
                    using (var socket = TcpConnector.Connect(server, context, slot))
                    {
                        socket.Send(helloAndRequest);
                        if (!SocketCounts.ReceiveExactly(socket, response, spec.ResponseSize))
                            throw new EndOfStreamException("server closed the connection mid-transaction");
                    }
                    Complete(start);
                }
            }

            void Complete(long start)
            {
                stats.Transactions++;
                stats.Bytes += bytesPerTransaction;
                if (context.Measuring) stats.Latency.Record(TcpConnector.ElapsedNanoseconds(start));
            }
        });
    }
}
