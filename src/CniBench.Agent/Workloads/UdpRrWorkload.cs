using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using CniBench.Agent.Wire;

namespace CniBench.Agent.Workloads;

/// <summary>Datagram request/response: one outstanding request per socket; a reply not seen in time counts as a
/// timeout.</summary>
public sealed class UdpRrWorkload(IPEndPoint server) : IWorkload
{
    public Task RunAsync(WorkloadContext context)
    {
        var spec = context.Spec;
        return WorkerThreads.Run(spec.Parallel, "udp-rr", index =>
        {
            var stats = context.NewWorker();
            var slot = context.Watchdog.NewSlot();
            // The server never answers with more than it was sent (no amplification for a spoofed source):
            // a reply larger than the request is measured by padding the request to the reply's size.
            var request = new byte[Math.Max(spec.RequestSize, spec.ResponseSize)];
            var reply = new byte[Math.Max(spec.ResponseSize, UdpHeader.Size) + 1];
            ulong session = (ulong)Environment.ProcessId << 32 | (uint)index;
            WorkerThreads.Loop(context, stats, slot, () =>
            {
                using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                slot.Arm(socket, 0);
                socket.Connect(server);
                new UdpHeader(UdpType.EchoRequest, spec.ResponseSize, session, 0).Write(request);
                ulong sequence = 0;
                while (!context.IsStopping)
                {
                    UdpHeader.WriteSequence(request, ++sequence);
                    long start = Stopwatch.GetTimestamp();
                    Volatile.Write(ref slot.Deadline, start + context.TimeoutTicks);
                    socket.Send(request);
                    while (true)
                    {
                        int n = RawSockets.Receive(socket, reply);
                        // Late replies to earlier (timed-out) requests are skipped, not counted.
                        if (
                            UdpHeader.TryRead(reply.AsSpan(0, n), out var header)
                            && header.Type == UdpType.EchoReply
                            && header.Sequence == sequence
                        )
                            break;
                    }
                    stats.Transactions++;
                    stats.Bytes += request.Length + spec.ResponseSize;
                    if (context.Measuring)
                        stats.Latency.Record(TcpConnector.ElapsedNanoseconds(start));
                }
            });
        });
    }
}
