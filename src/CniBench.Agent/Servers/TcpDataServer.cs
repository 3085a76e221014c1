using System.Net.Security;
using System.Net.Sockets;
using CniBench.Agent.Wire;
using CniBench.Contracts.Protocol;

namespace CniBench.Agent.Servers;

/// <summary>
/// Serves every TCP workload on one port, the way netserver does where it can: connections are accepted with blocking
/// calls on one thread per core, and a short-lived request/response (connect, request, response, close) whose hello
/// and request are already there is answered on that thread, with no thread-pool hop; long-lived connections (stream,
/// request/response) get a dedicated thread with blocking calls, because a ping-pong is fastest without hops.
/// Whatever would wait (a slow hello, a partial request, a client that does not close) goes to the asynchronous
/// path, so no client can hold an accept thread. A connection that starts with a TLS handshake (tls-rr, tls-crr)
/// gets the same protocol inside TLS 1.3, asynchronously.
/// </summary>
public sealed class TcpDataServer(Socket listener, AgentLog log, int maxConnections, int maxDedicatedThreads = 1024)
{
    private const int ChunkSize = 256 * 1024;

    /// <summary>Sizes up to this are answered on the accept thread: they fit a fresh connection's buffers and one
    /// segment.</summary>
    private const int AcceptThreadLimit = 4096;

    /// <summary>
    /// How long an accept thread waits for the close before the async path takes over; it stops waiting at once when
    /// another connection is waiting to be accepted, so no connection waits behind another's close.
    /// </summary>
    private static readonly TimeSpan AcceptThreadWait = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan HelloTimeout = TimeSpan.FromSeconds(10);

    /// <summary>A data connection that neither sends nor reads for this long is gone (a benchmark never pauses that
    /// long).</summary>
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(120);
    private readonly ConnectionSet _connections = new(maxConnections);
    private readonly RateLimitedLog _rejects = new(log);
    private int _dedicatedThreads;

    /// <summary>Made at the first TLS connection: an agent nobody asks for TLS never makes a key.</summary>
    private readonly Lazy<SslServerAuthenticationOptions> _tls = new(TlsSession.CreateServerOptions);

    public int OpenConnections => _connections.Count;

    public Task RunAsync(CancellationToken cancellationToken)
    {
        DeferAcceptUntilData(listener);
        return _connections.AcceptOnThreads(
            listener,
            Environment.ProcessorCount,
            () =>
            {
                var scratch = new byte[ControlProtocol.TcpHelloSize + AcceptThreadLimit];
                var ready = new List<Socket>(2);
                return socket => ServeAccepted(socket, scratch, ready, cancellationToken);
            },
            log,
            "tcp",
            cancellationToken
        );
    }

    /// <summary>What an accept thread did with a connection.</summary>
    private enum Accepted
    {
        /// <summary>Answered and closed by the client: done.</summary>
        Answered,

        /// <summary>Its hello (and perhaps one transaction) taken; the async path goes on from a request's
        /// start.</summary>
        HelloTaken,

        /// <summary>Nothing taken: the async path reads it from the start (TLS, other modes, a hello still
        /// coming).</summary>
        Untouched,
    }

    /// <summary>On an accept thread: answers what is already there, and hands the rest to the async path.</summary>
    private void ServeAccepted(Socket socket, byte[] scratch, List<Socket> ready, CancellationToken cancellationToken)
    {
        var registration = _connections.Track(socket);
        Accepted done;
        TcpHello hello;
        try
        {
            done = AnswerAtOnce(socket, scratch, ready, out hello);
        }
        catch (Exception e)
        {
            if (e is not (SocketException or ObjectDisposedException))
                _rejects.Info($"tcp: connection from {Describe(socket)} ended: {e.GetType().Name}: {e.Message}");
            registration.Dispose();
            return;
        }
        if (done == Accepted.Answered)
            registration.Dispose();
        else
            // Runs on this thread only until it would wait.
            _ = HandleAsync(socket, registration, done == Accepted.HelloTaken ? hello : null, cancellationToken);
    }

    /// <summary>
    /// A short-lived request/response whose hello and request are both there (TCP_DEFER_ACCEPT makes that the rule):
    /// read together, answered with one send, then the close awaited for a moment. Five system calls besides accept
    /// and close, as netserver makes; a response this small fits a fresh connection's buffer, so the send never waits.
    /// </summary>
    private Accepted AnswerAtOnce(Socket socket, byte[] scratch, List<Socket> ready, out TcpHello hello)
    {
        const int HelloSize = ControlProtocol.TcpHelloSize;
        hello = default;
        int available = socket.Available;
        if (available < HelloSize)
            return Accepted.Untouched;
        int peeked = socket.Receive(scratch, 0, Math.Min(available, scratch.Length), SocketFlags.Peek);
        if (
            peeked < HelloSize
            || !TcpHello.TryRead(scratch.AsSpan(0, HelloSize), out hello, out _)
            || !hello.ShortLived
            || hello.Mode != TcpMode.RequestResponse
        )
            return Accepted.Untouched;
        if (
            hello.RequestSize > AcceptThreadLimit
            || hello.ResponseSize > AcceptThreadLimit
            || peeked < HelloSize + hello.RequestSize
        )
        {
            socket.Receive(scratch, 0, HelloSize, SocketFlags.None);
            return Accepted.HelloTaken;
        }
        socket.Receive(scratch, 0, HelloSize + hello.RequestSize, SocketFlags.None);
        socket.Send(scratch, 0, hello.ResponseSize, SocketFlags.None);
        // Readable with nothing to read: the client closed. Anything else (more requests, no close yet, a connection
        // waiting on the listener) goes async.
        ready.Clear();
        ready.Add(socket);
        ready.Add(listener);
        Socket.Select(ready, null, null, (int)(AcceptThreadWait.Ticks / 10));
        return ready.Contains(socket) && socket.Available == 0 ? Accepted.Answered : Accepted.HelloTaken;
    }

    /// <param name="taken">The hello, when the accept thread has already read it.</param>
    private async Task HandleAsync(
        Socket socket,
        IDisposable registration,
        TcpHello? taken,
        CancellationToken cancellationToken
    )
    {
        bool handedOff = false;
        try
        {
            socket.NoDelay = true;
            socket.ReceiveTimeout = socket.SendTimeout = (int)IdleTimeout.TotalMilliseconds;
            if (taken is { } known)
            {
                await using var resumed = new NetworkStream(socket, ownsSocket: false);
                await ServeAsync(resumed, known, cancellationToken);
                return;
            }
            if (await PeekFirstByteAsync(socket, cancellationToken) == TlsSession.HandshakeRecord)
            {
                await ServeTlsAsync(socket, cancellationToken);
                return;
            }
            var helloBytes = new byte[ControlProtocol.TcpHelloSize];
            // Read the hello synchronously when it is already there (TCP_DEFER_ACCEPT makes that the
            // rule): a socket that has seen one async call stays in .NET's emulated-blocking mode, which
            // more than halves a dedicated thread's request/response rate.
            if (socket.Available >= helloBytes.Length)
            {
                socket.Receive(helloBytes);
            }
            else
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(HelloTimeout);
                if (!await ReceiveExactlyAsync(socket, helloBytes, timeout.Token))
                    return;
            }
            if (!TcpHello.TryRead(helloBytes, out var hello, out var error))
            {
                _rejects.Info($"tcp: closing connection from {socket.RemoteEndPoint}: {error}");
                return;
            }
            if (!hello.ShortLived && Interlocked.Increment(ref _dedicatedThreads) <= maxDedicatedThreads)
            {
                handedOff = true;
                var thread = new Thread(() =>
                {
                    // Nothing a connection does may end the agent: an exception escaping a thread kills the process.
                    try
                    {
                        ServeBlocking(socket, hello);
                    }
                    catch (Exception e)
                    {
                        _rejects.Info(
                            $"tcp: connection from {Describe(socket)} ended: {e.GetType().Name}: {e.Message}"
                        );
                    }
                    finally
                    {
                        Interlocked.Decrement(ref _dedicatedThreads);
                        registration.Dispose();
                    }
                })
                {
                    IsBackground = true,
                    Name = "tcp-conn",
                };
                thread.Start();
                return;
            }
            if (!hello.ShortLived)
                Interlocked.Decrement(ref _dedicatedThreads);
            await using var stream = new NetworkStream(socket, ownsSocket: false);
            await ServeAsync(stream, hello, cancellationToken);
        }
        catch (Exception e)
            when (e is SocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // Peer closed, reset or shutdown: the normal ends of a data connection.
        }
        catch (Exception e)
        {
            // Anything else is a bug this connection found; the agent logs it and stays up for the next client.
            _rejects.Info($"tcp: connection from {Describe(socket)} ended: {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            if (!handedOff)
                registration.Dispose();
        }
    }

    /// <summary>The first byte without taking it (-1 at a close): a TLS handshake record or the hello's
    /// magic.</summary>
    private static async ValueTask<int> PeekFirstByteAsync(Socket socket, CancellationToken cancellationToken)
    {
        var first = new byte[1];
        // Synchronously when the byte is there (see the hello below for why).
        if (socket.Available > 0)
            return socket.Receive(first, 0, 1, SocketFlags.Peek) == 1 ? first[0] : -1;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(HelloTimeout);
        return await socket.ReceiveAsync(first, SocketFlags.Peek, timeout.Token) == 1 ? first[0] : -1;
    }

    private async Task ServeTlsAsync(Socket socket, CancellationToken cancellationToken)
    {
        await using var tls = new SslStream(new NetworkStream(socket, ownsSocket: false));
        var helloBytes = new byte[ControlProtocol.TcpHelloSize];
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeout.CancelAfter(HelloTimeout);
            await tls.AuthenticateAsServerAsync(_tls.Value, timeout.Token);
            await tls.ReadExactlyAsync(helloBytes, timeout.Token);
        }
        if (!TcpHello.TryRead(helloBytes, out var hello, out var error))
        {
            _rejects.Info($"tcp: closing TLS connection from {Describe(socket)}: {error}");
            return;
        }
        await ServeAsync(tls, hello, cancellationToken);
    }

    private static string Describe(Socket socket)
    {
        try
        {
            return socket.RemoteEndPoint?.ToString() ?? "?";
        }
        catch (ObjectDisposedException)
        {
            return "?";
        }
    }

    /// <summary>Linux TCP_DEFER_ACCEPT: accept() returns once the client's first bytes (the hello) have
    /// arrived.</summary>
    private static void DeferAcceptUntilData(Socket listener)
    {
        const int IpProtoTcp = 6,
            TcpDeferAccept = 9;
        try
        {
            listener.SetRawSocketOption(
                IpProtoTcp,
                TcpDeferAccept,
                BitConverter.GetBytes((int)HelloTimeout.TotalSeconds)
            );
        }
        catch (SocketException)
        {
            // Not Linux: the asynchronous hello path below still works.
        }
    }

    private static void ServeBlocking(Socket socket, TcpHello hello)
    {
        var buffer = new byte[Math.Min(ChunkSize, Math.Max(hello.RequestSize, hello.ResponseSize) + 1)];
        try
        {
            switch (hello.Mode)
            {
                case TcpMode.Sink:
                    while (socket.Receive(buffer) > 0) { }
                    break;
                case TcpMode.Source:
                    var chunk = buffer.AsSpan(0, Math.Min(buffer.Length, hello.ResponseSize));
                    while (true)
                        socket.Send(chunk);
                case TcpMode.RequestResponse:
                    while (SocketCounts.ReceiveExactly(socket, buffer, hello.RequestSize))
                        SocketCounts.SendCount(socket, buffer, hello.ResponseSize);
                    break;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException) { }
    }

    private static async Task ServeAsync(Stream stream, TcpHello hello, CancellationToken cancellationToken)
    {
        var buffer = new byte[Math.Min(ChunkSize, Math.Max(hello.RequestSize, hello.ResponseSize) + 1)];
        switch (hello.Mode)
        {
            case TcpMode.Sink:
                while (await stream.ReadAsync(buffer, cancellationToken) > 0) { }
                break;
            case TcpMode.Source:
                int chunk = Math.Min(buffer.Length, hello.ResponseSize);
                while (true)
                    await stream.WriteAsync(buffer.AsMemory(0, chunk), cancellationToken);
            case TcpMode.RequestResponse:
                while (await ReadCountAsync(stream, buffer, hello.RequestSize, cancellationToken))
                {
                    for (int left = hello.ResponseSize; left > 0; left -= Math.Min(left, buffer.Length))
                        await stream.WriteAsync(buffer.AsMemory(0, Math.Min(left, buffer.Length)), cancellationToken);
                }
                break;
        }
    }

    private static async ValueTask<bool> ReadCountAsync(
        Stream stream,
        byte[] buffer,
        int count,
        CancellationToken cancellationToken
    )
    {
        while (count > 0)
        {
            int n = await stream.ReadAsync(buffer.AsMemory(0, Math.Min(count, buffer.Length)), cancellationToken);
            if (n == 0)
                return false;
            count -= n;
        }
        return true;
    }

    private static async ValueTask<bool> ReceiveExactlyAsync(
        Socket socket,
        Memory<byte> destination,
        CancellationToken cancellationToken
    )
    {
        while (!destination.IsEmpty)
        {
            int n = await socket.ReceiveAsync(destination, SocketFlags.None, cancellationToken);
            if (n == 0)
                return false;
            destination = destination[n..];
        }
        return true;
    }
}
