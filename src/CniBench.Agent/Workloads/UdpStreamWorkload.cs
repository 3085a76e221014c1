using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using CniBench.Agent.Wire;
using CniBench.Contracts.Protocol;

namespace CniBench.Agent.Workloads;

/// <summary>
/// Datagrams at a fixed bitrate (or as fast as possible). Each socket uses one session id for
/// warm-up and another for the measured window, so the server's count of the measured session
/// gives loss over exactly that window. A sender that falls behind skips slots instead of bursting.
/// </summary>
public sealed class UdpStreamWorkload(IPEndPoint server) : IWorkload
{
    private static readonly TimeSpan MaxBacklog = TimeSpan.FromMilliseconds(10);
    private readonly ulong _sessionBase =
        BinaryPrimitives.ReadUInt64LittleEndian(RandomNumberGenerator.GetBytes(8)) & ~0xFFFFFUL;
    private long _sentMeasured;

    private ulong SessionId(int socketIndex, bool measured) =>
        _sessionBase | ((ulong)socketIndex << 1) | (measured ? 1UL : 0UL);

    public Task RunAsync(WorkloadContext context)
    {
        var spec = context.Spec;
        double packetsPerSecond = spec.Bitrate > 0 ? spec.Bitrate / (8.0 * spec.MessageSize) / spec.Parallel : 0;
        return WorkerThreads.Run(spec.Parallel, "udp-stream", index =>
        {
            var stats = context.NewWorker();
            var slot = context.Watchdog.NewSlot();
            var datagram = new byte[spec.MessageSize];
            long sentMeasured = 0;
            WorkerThreads.Loop(context, stats, slot, () =>
            {
                using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
                slot.Arm(socket, 0);
                socket.Connect(server);
                bool measured = context.Measuring;
                new UdpHeader(UdpType.Data, 0, SessionId(index, measured), 0).Write(datagram);
                var pacer = new Pacer(packetsPerSecond, MaxBacklog);
                ulong sequence = 0;
                while (!context.IsStopping)
                {
                    if (!pacer.MaySend())
                        continue;
                    if (context.Measuring != measured)
                    {
                        measured = !measured;
                        BinaryPrimitives.WriteUInt64LittleEndian(datagram.AsSpan(8), SessionId(index, measured));
                    }
                    UdpHeader.WriteSequence(datagram, ++sequence);
                    int n = socket.Send(datagram);
                    stats.Bytes += n;
                    stats.Transactions++;
                    if (measured)
                        sentMeasured++;
                }
            });
            Interlocked.Add(ref _sentMeasured, sentMeasured);
        });
    }

    public async Task<WorkloadExtras> CompleteAsync(WorkloadContext context, CancellationToken cancellationToken)
    {
        // Let datagrams still in flight arrive before asking what the server counted.
        await Task.Delay(200, cancellationToken);
        using var socket = new Socket(server.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        socket.Connect(server);
        long received = 0;
        bool answered = true;
        var request = new byte[UdpHeader.StatsReplySize]; // as large as the answer: the server never amplifies
        var reply = new byte[UdpHeader.StatsReplySize + 64];
        for (int i = 0; i < context.Spec.Parallel; i++)
        {
            ulong session = SessionId(i, measured: true);
            new UdpHeader(UdpType.StatsRequest, 0, session, 0).Write(request);
            long? count = await AskAsync(socket, request, reply, session, cancellationToken);
            if (count is null)
                answered = false;
            received += count ?? 0;
        }
        return new WorkloadExtras(Udp: new UdpTotals(Interlocked.Read(ref _sentMeasured), received, answered));
    }

    private static async Task<long?> AskAsync(
        Socket socket,
        byte[] request,
        byte[] reply,
        ulong session,
        CancellationToken cancellationToken
    )
    {
        for (int attempt = 0; attempt < 3; attempt++)
        {
            await socket.SendAsync(request, SocketFlags.None, cancellationToken);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromMilliseconds(300));
            try
            {
                while (true)
                {
                    int n = await socket.ReceiveAsync(reply, SocketFlags.None, timeout.Token);
                    if (
                        n >= UdpHeader.StatsReplySize
                        && UdpHeader.TryRead(reply.AsSpan(0, n), out var h)
                        && h.Type == UdpType.StatsReply
                        && h.Session == session
                    )
                        return BinaryPrimitives.ReadInt64LittleEndian(reply.AsSpan(UdpHeader.Size));
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested) { }
            catch (SocketException)
            {
                return null;
            }
        }
        return null;
    }

    /// <summary>
    /// Paces sends to a rate in short sleeps; a sender more than the backlog behind drops the missed slots. A sleep
    /// lasts until the next datagram is due, at least 100 µs (a wake-up per datagram would cost more than the send);
    /// .NET's 1 ms sleep made bursts of about 90 datagrams at 1 Gbit/s, enough to overflow a default receive buffer
    /// (4% lost on loopback, where iperf3 lost 0.3%).
    /// </summary>
    private sealed class Pacer(double perSecond, TimeSpan maxBacklog)
    {
        private const long MinSleepNanoseconds = 100_000;

        /// <summary>A slow rate still looks at the stop often.</summary>
        private const long MaxSleepNanoseconds = 10_000_000;
        private readonly long _start = Stopwatch.GetTimestamp();
        private readonly double _ticksPerPacket = perSecond > 0 ? Stopwatch.Frequency / perSecond : 0;
        private readonly long _maxBacklogPackets = Math.Max(1, (long)(perSecond * maxBacklog.TotalSeconds));
        private long _sent;

        public bool MaySend()
        {
            if (_ticksPerPacket == 0)
                return true;
            long due = (long)((Stopwatch.GetTimestamp() - _start) / _ticksPerPacket) + 1;
            if (_sent >= due)
            {
                // The next datagram is due once _sent slots have passed.
                double untilDue = _sent * _ticksPerPacket - (Stopwatch.GetTimestamp() - _start);
                long nanoseconds = (long)(untilDue * 1e9 / Stopwatch.Frequency);
                Sleep(Math.Clamp(nanoseconds, MinSleepNanoseconds, MaxSleepNanoseconds));
                return false;
            }
            if (due - _sent > _maxBacklogPackets)
                _sent = due - _maxBacklogPackets;
            _sent++;
            return true;
        }

        private static void Sleep(long nanoseconds)
        {
            var duration = new TimeSpec(nanoseconds / 1_000_000_000, nanoseconds % 1_000_000_000);
            _ = nanosleep(in duration, 0);
        }

        [StructLayout(LayoutKind.Sequential)]
        private readonly record struct TimeSpec(long Seconds, long Nanoseconds);

        [DllImport("libc")]
        private static extern int nanosleep(in TimeSpec duration, nint remaining);
    }
}
