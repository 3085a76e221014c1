using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using CniBench.Agent.Logging;
using CniBench.Agent.Wire;
using CniBench.Contracts.Workloads;

namespace CniBench.Agent.Servers;

/// <summary>
/// Serves udp-stream (counts per session, answered on a stats request) and udp-rr (echo) on one port,
/// from one blocking receive thread. Sessions are bounded: the oldest is forgotten past the limit.
/// </summary>
public sealed class UdpDataServer(Socket socket, AgentLog log, int maxSessions = 4096)
{
    private readonly Dictionary<ulong, SessionCounters> _sessions = new();
    private readonly Queue<ulong> _sessionOrder = new();
    private readonly RateLimitedLog _rejects = new(log);

    private sealed class SessionCounters
    {
        public long Packets;
        public long Bytes;
    }

    public Task RunAsync(CancellationToken cancellationToken)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var registration = cancellationToken.Register(socket.Dispose);
        var thread = new Thread(() =>
        {
            try
            {
                ReceiveLoop();
            }
            finally
            {
                registration.Dispose();
                done.TrySetResult();
            }
        })
        {
            IsBackground = true,
            Name = "udp-server",
        };
        thread.Start();
        return done.Task;
    }

    private void ReceiveLoop()
    {
        var buffer = new byte[Limits.MaxUdpPayload + 1];
        var reply = new byte[Limits.MaxUdpPayload];
        var from = new SocketAddress(socket.AddressFamily);
        while (true)
        {
            int n;
            try
            {
                n = socket.ReceiveFrom(buffer, SocketFlags.None, from);
            }
            catch (SocketException e)
                when (e.SocketErrorCode
                        is SocketError.ConnectionReset
                            or SocketError.ConnectionRefused
                            or SocketError.MessageSize
                )
            {
                continue; // ICMP errors from earlier replies surface here; they concern one peer only.
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return;
            }

            if (!UdpHeader.TryRead(buffer.AsSpan(0, n), out var header))
            {
                _rejects.Info($"udp: dropped a {n}-byte datagram from {Describe(from)}: not a CniBench datagram");
                continue;
            }
            try
            {
                switch (header.Type)
                {
                    case UdpType.Data:
                        var counters = Session(header.Session);
                        counters.Packets++;
                        counters.Bytes += n;
                        break;
                    case UdpType.EchoRequest:
                        // Never more than was received: a datagram with a forged source cannot turn this agent into an
                        // amplifier.
                        int size = Math.Clamp(header.ReplySize, UdpHeader.Size, n);
                        (header with { Type = UdpType.EchoReply }).Write(reply);
                        socket.SendTo(reply.AsSpan(0, size), SocketFlags.None, from);
                        break;
                    case UdpType.StatsRequest when n < UdpHeader.StatsReplySize:
                        _rejects.Info(
                            $"udp: dropped a {n}-byte stats request from {Describe(from)}: it must be as large as "
                                + $"its {UdpHeader.StatsReplySize}-byte answer"
                        );
                        break;
                    case UdpType.StatsRequest:
                        _sessions.TryGetValue(header.Session, out var stats);
                        (header with { Type = UdpType.StatsReply }).Write(reply);
                        BinaryPrimitives.WriteInt64LittleEndian(reply.AsSpan(UdpHeader.Size), stats?.Packets ?? 0);
                        BinaryPrimitives.WriteInt64LittleEndian(reply.AsSpan(UdpHeader.Size + 8), stats?.Bytes ?? 0);
                        socket.SendTo(reply.AsSpan(0, UdpHeader.StatsReplySize), SocketFlags.None, from);
                        break;
                    default:
                        _rejects.Info(
                            $"udp: dropped a {header.Type} datagram from {Describe(from)}: servers do not accept "
                                + $"replies"
                        );
                        break;
                }
            }
            catch (SocketException e)
            {
                _rejects.Info($"udp: reply to {Describe(from)} failed: {e.SocketErrorCode}");
            }
        }
    }

    private SessionCounters Session(ulong id)
    {
        if (_sessions.TryGetValue(id, out var counters))
            return counters;
        if (_sessions.Count >= maxSessions)
            _sessions.Remove(_sessionOrder.Dequeue());
        counters = new SessionCounters();
        _sessions[id] = counters;
        _sessionOrder.Enqueue(id);
        return counters;
    }

    private string Describe(SocketAddress address)
    {
        try
        {
            var template =
                socket.AddressFamily == AddressFamily.InterNetworkV6
                    ? new IPEndPoint(IPAddress.IPv6Any, 0)
                    : new IPEndPoint(IPAddress.Any, 0);
            return template.Create(address).ToString() ?? "?";
        }
        catch (Exception)
        {
            return "?";
        }
    }
}
