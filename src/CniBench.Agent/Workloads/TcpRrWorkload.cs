using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using CniBench.Agent.Wire;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Agent.Workloads;

/// <summary>
/// Request/response on persistent connections (tcp-rr), or a new connection per transaction
/// (tcp-crr: connect, one request/response, close — latency includes the handshake). Over TLS 1.3 when the row
/// says so (tls-rr, tls-crr: each tls-crr transaction then includes the TLS handshake too).
/// </summary>
public sealed class TcpRrWorkload(IPEndPoint server, WorkloadDescriptor workload) : IWorkload
{
    public Task RunAsync(WorkloadContext context)
    {
        var spec = context.Spec;
        var hello = new TcpHello(
            TcpMode.RequestResponse,
            workload.ConnectionPerTransaction,
            spec.RequestSize,
            spec.ResponseSize
        );
        // A new connection sends hello and request in one write, so a transaction is one connect plus one round trip.
        var helloAndRequest = new byte[ControlProtocol.TcpHelloSize + spec.RequestSize];
        hello.Write(helloAndRequest);
        long bytesPerTransaction = (long)spec.RequestSize + spec.ResponseSize;
        // After the server's end of stream, an RST rather than a FIN: the server's socket, waiting in FIN_WAIT_2,
        // is gone at once instead of spending 60 s in TIME_WAIT.
        bool reset = spec.Close == ConnectionClose.Reset;

        return WorkerThreads.Run(spec.Parallel, workload.Name, _ =>
        {
            var stats = context.NewWorker();
            var slot = context.Watchdog.NewSlot();
            var request = new byte[spec.RequestSize];
            var response = new byte[Math.Min(spec.ResponseSize, 256 * 1024)];
            var address = RawSockets.Address(server);
            WorkerThreads.Loop(
                context,
                stats,
                slot,
                !workload.ConnectionPerTransaction ? Persistent
                    : workload.Tls ? ConnectRequestClose
                    : ConnectRequestCloseOnDescriptor
            );

            void Persistent()
            {
                using var connection = Open();
                connection.Send(helloAndRequest, ControlProtocol.TcpHelloSize);
                while (!context.IsStopping)
                {
                    long start = Stopwatch.GetTimestamp();
                    Volatile.Write(ref slot.Deadline, start + context.TimeoutTicks);
                    connection.SendCount(request, spec.RequestSize);
                    connection.ReceiveCount(response, spec.ResponseSize);
                    Complete(start);
                }
            }

            void ConnectRequestClose()
            {
                while (!context.IsStopping)
                {
                    long start = Stopwatch.GetTimestamp();
                    using (var connection = Open())
                    {
                        connection.Send(helloAndRequest, helloAndRequest.Length);
                        connection.ReceiveCount(response, spec.ResponseSize);
                        connection.ReceiveEnd(response);
                        if (reset)
                            connection.LingerZero();
                    }
                    Complete(start);
                }
            }

            // Plain and per transaction: the system calls netperf's TCP_CRR makes (less its bind), on a bare
            // descriptor, so a transaction allocates nothing.
            void ConnectRequestCloseOnDescriptor()
            {
                while (!context.IsStopping)
                {
                    long start = Stopwatch.GetTimestamp();
                    int fd = Succeed(RawSockets.OpenStream(server.AddressFamily));
                    slot.Arm(fd, start + context.TimeoutTicks);
                    try
                    {
                        Succeed(RawSockets.Connect(fd, address));
                        for (int sent = 0; sent < helloAndRequest.Length; )
                            sent += Succeed(RawSockets.Send(fd, helloAndRequest.AsSpan(sent)));
                        for (int left = spec.ResponseSize; left > 0; )
                        {
                            int n = Succeed(RawSockets.Receive(fd, response, Math.Min(left, response.Length), 0));
                            if (n == 0)
                                throw new EndOfStreamException("server closed the connection mid-transaction");
                            left -= n;
                        }
                        if (Succeed(RawSockets.Receive(fd, response, 1, 0)) != 0)
                            throw new InvalidDataException(
                                "the server sent more than the response on a short-lived connection"
                            );
                        if (reset)
                            Succeed(RawSockets.LingerZero(fd));
                    }
                    finally
                    {
                        slot.CloseDescriptor();
                    }
                    Complete(start);
                }
            }

            Connection Open()
            {
                // Plain and per transaction, the hello and request go in one write.
                var socket = TcpConnector.Connect(
                    server,
                    context,
                    slot,
                    oneWrite: workload.ConnectionPerTransaction && !workload.Tls
                );
                try
                {
                    return new Connection(socket, workload.Tls ? TlsSession.Connect(socket) : null);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            }

            void Complete(long start)
            {
                stats.Transactions++;
                stats.Bytes += bytesPerTransaction;
                if (context.Measuring)
                    stats.Latency.Record(TcpConnector.ElapsedNanoseconds(start));
            }
        });
    }

    /// <summary>A system call's result, or its failure as Socket's calls throw it.</summary>
    private static int Succeed(int result) => result >= 0 ? result : throw RawSockets.Failure(result);

    /// <summary>One connection, plain or TLS: blocking calls on the socket itself when plain (the fastest
    /// path).</summary>
    private sealed class Connection(Socket socket, SslStream? tls) : IDisposable
    {
        /// <summary>Sends the first count bytes of data as they are (the hello, the request).</summary>
        public void Send(byte[] data, int count)
        {
            if (tls is null)
                socket.Send(data, 0, count, SocketFlags.None);
            else
                tls.Write(data, 0, count);
        }

        /// <summary>Sends count payload bytes through buffer, repeating it when count is larger.</summary>
        public void SendCount(byte[] buffer, int count)
        {
            if (tls is null)
                SocketCounts.SendCount(socket, buffer, count);
            else
                SocketCounts.SendCount(tls, buffer, count);
        }

        public void ReceiveCount(byte[] buffer, int count)
        {
            bool complete = tls is null
                ? SocketCounts.ReceiveExactly(socket, buffer, count)
                : SocketCounts.ReceiveExactly(tls, buffer, count);
            if (!complete)
                throw new EndOfStreamException("server closed the connection mid-transaction");
        }

        /// <summary>The server closes a short-lived connection after its answer: its end of stream comes before this
        /// side's close, so the TIME_WAIT is the server's, as with netperf's TCP_CRR.</summary>
        public void ReceiveEnd(byte[] buffer)
        {
            int n = tls is null ? RawSockets.Receive(socket, buffer.AsSpan(0, 1)) : tls.Read(buffer, 0, 1);
            if (n != 0)
                throw new InvalidDataException("the server sent more than the response on a short-lived connection");
        }

        public void LingerZero() => socket.LingerState = new LingerOption(true, 0);

        public void Dispose()
        {
            tls?.Dispose();
            socket.Dispose();
        }
    }
}
