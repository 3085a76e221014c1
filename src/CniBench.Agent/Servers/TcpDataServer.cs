using System.Net.Security;
using System.Net.Sockets;
using CniBench.Agent.Connections;
using CniBench.Agent.Logging;
using CniBench.Agent.Peers;
using CniBench.Agent.Wire;
using CniBench.Contracts.Protocol;

namespace CniBench.Agent.Servers;

/// <summary>
/// Serves every TCP workload on one port, the way netserver does where it can: connections are accepted with blocking
/// calls on one thread per core, and a short-lived request/response (connect, request, response, close) is answered
/// on that thread, with no thread-pool hop and no Socket object; long-lived connections (stream,
/// request/response) get a dedicated thread with blocking calls, because a ping-pong is fastest without hops.
/// Whatever would wait (a slow hello, a partial request, a client that does not close) goes to the asynchronous
/// path, so no client can hold an accept thread. A connection that starts with a TLS handshake (tls-rr, tls-crr)
/// gets the same protocol inside TLS 1.3, asynchronously.
/// </summary>
public sealed class TcpDataServer(
    Socket listener,
    AgentLog log,
    int maxConnections,
    PeerLimits? limits = null,
    int maxDedicatedThreads = 1024
)
{
    private const int ChunkSize = 256 * 1024;

    /// <summary>Sizes up to this are answered on the accept thread: they fit a fresh connection's buffers and one
    /// segment.</summary>
    private const int AcceptThreadLimit = 4096;

    /// <summary>
    /// How long an accept thread waits for a connection's first bytes, or for its close, before the async path takes
    /// over; while no other accept thread is free it also stops waiting when the next connection arrives, so no
    /// connection waits behind another.
    /// </summary>
    private static readonly TimeSpan AcceptThreadWait = TimeSpan.FromMilliseconds(20);
    private static readonly TimeSpan HelloTimeout = TimeSpan.FromSeconds(10);
    private readonly PeerLimits _limits = limits ?? new PeerLimits();
    private readonly ConnectionSet _connections = new(maxConnections);
    private readonly RateLimitedLog _rejects = new(log);
    private int _dedicatedThreads;

    /// <summary>Made at the first TLS connection: an agent nobody asks for TLS never makes a key.</summary>
    private readonly Lazy<SslServerAuthenticationOptions> _tls = new(TlsSession.CreateServerOptions);

    public int OpenConnections => _connections.Count;
    public long AcceptedConnections => _connections.Accepted;

    public Task RunAsync(CancellationToken cancellationToken)
    {
        int threads = Environment.ProcessorCount;
        var listeners = PerCpuListeners.Open(listener, threads, log);
        bool shared = listeners.Count < threads;
        return _connections.AcceptOnThreads(
            listeners,
            threads,
            listenerFd =>
            {
                var thread = new AcceptThreadState(
                    new byte[ControlProtocol.TcpHelloSize + AcceptThreadLimit],
                    new RawSockets.PollEntry[2],
                    listenerFd,
                    shared
                );
                return fd => ServeAccepted(fd, thread, cancellationToken);
            },
            log,
            "tcp",
            cancellationToken
        );
    }

    /// <summary>What an accept thread keeps between connections, so serving one allocates nothing.</summary>
    /// <param name="SharedListener">Whether other accept threads take connections from <paramref name="Listener"/>
    /// too.</param>
    private sealed record AcceptThreadState(
        byte[] Scratch,
        RawSockets.PollEntry[] WaitEntries,
        int Listener,
        bool SharedListener
    );

    /// <summary>What an accept thread did with a connection.</summary>
    private enum Accepted
    {
        /// <summary>Answered (or gone): nothing left but to close it.</summary>
        Done,

        /// <summary>Its hello taken; the async path goes on from the request.</summary>
        HelloTaken,

        /// <summary>Nothing taken: the async path reads it from the start (TLS, other modes, a hello still
        /// coming).</summary>
        Untouched,
    }

    /// <summary>On an accept thread: answers what comes at once, and hands the rest to the async path as a
    /// Socket.</summary>
    private void ServeAccepted(int fd, AcceptThreadState thread, CancellationToken cancellationToken)
    {
        Accepted done;
        TcpHello hello;
        try
        {
            done = AnswerAtOnce(fd, thread, out hello);
        }
        catch (Exception e)
        {
            // A bug this connection found: logged, and the accept thread goes on (an exception escaping it would end
            // the agent).
            _rejects.Info($"tcp: a connection ended: {e.GetType().Name}: {e.Message}");
            done = Accepted.Done;
            hello = default;
        }
        if (done == Accepted.Done)
        {
            RawSockets.Close(fd);
            return;
        }
        var handle = new SafeSocketHandle(fd, ownsHandle: true);
        Socket socket;
        try
        {
            socket = new Socket(handle);
        }
        catch (SocketException)
        {
            handle.Dispose(); // gone meanwhile
            return;
        }
        // Runs on this thread only until it would wait.
        _ = HandleAsync(
            socket,
            _connections.Track(socket),
            done == Accepted.HelloTaken ? hello : null,
            cancellationToken
        );
    }

    /// <summary>
    /// A short-lived request/response (connect, hello and request in one write, response, close) answered on the
    /// accept thread with the calls netserver makes for TCP_CRR, plus a look at the first bytes without taking them
    /// (a TLS handshake or another mode must reach the async path whole). Whatever does not come within <see
    /// cref="AcceptThreadWait"/>, or while another connection waits to be accepted, goes to the async path, so no
    /// client can hold an accept thread.
    /// </summary>
    private Accepted AnswerAtOnce(int fd, AcceptThreadState thread, out TcpHello hello)
    {
        const int HelloSize = ControlProtocol.TcpHelloSize;
        var scratch = thread.Scratch;
        hello = default;
        int peeked = LookAtFirstBytes(fd, thread, HelloSize);
        if (peeked <= 0)
            return peeked == -RawSockets.WouldBlock ? Accepted.Untouched : Accepted.Done; // gone, or reset
        if (
            peeked < HelloSize
            || !TcpHello.TryRead(scratch.AsSpan(0, HelloSize), out hello, out _)
            || !hello.ShortLived
            || hello.Mode != TcpMode.RequestResponse
        )
            return Accepted.Untouched;
        int request = HelloSize + hello.RequestSize;
        if (hello.RequestSize > AcceptThreadLimit || hello.ResponseSize > AcceptThreadLimit)
            return TakeHello(fd, scratch);
        if (peeked < request && (peeked = LookAtFirstBytes(fd, thread, request)) < request)
            return peeked <= 0 && peeked != -RawSockets.WouldBlock ? Accepted.Done : TakeHello(fd, scratch);
        RawSockets.Receive(fd, scratch, request, 0);
        // A response this small fits a fresh connection's send buffer, so the send never waits; then the server
        // closes first, as netserver does for TCP_CRR (the TIME_WAIT is the server's).
        RawSockets.Send(fd, scratch.AsSpan(0, hello.ResponseSize));
        return Accepted.Done;
    }

    /// <summary>
    /// Peeks at up to the scratch buffer's size once <paramref name="wanted"/> bytes (or the end of stream) are there,
    /// waiting at most <see cref="AcceptThreadWait"/>; the bytes seen, 0 at the end of stream, -EAGAIN when fewer came.
    /// While no other thread waits to accept from its listener, the wait also ends when a connection arrives on it,
    /// so the next connection never waits behind a slow one.
    /// </summary>
    private int LookAtFirstBytes(int fd, AcceptThreadState thread, int wanted)
    {
        const int Flags = RawSockets.Peek | RawSockets.DontWait;
        var scratch = thread.Scratch;
        int seen = RawSockets.Receive(fd, scratch, scratch.Length, Flags);
        if (seen >= wanted || (seen <= 0 && seen != -RawSockets.WouldBlock))
            return seen; // enough, the end, or an error
        // A listener of its own has nobody else to take its next connection.
        int alsoWatch = thread.SharedListener && _connections.ThreadWaitingToAccept ? -1 : thread.Listener;
        RawSockets.WaitReadable(fd, alsoWatch, (int)AcceptThreadWait.TotalMilliseconds, thread.WaitEntries);
        seen = RawSockets.Receive(fd, scratch, scratch.Length, Flags);
        return seen > 0 && seen < wanted ? -RawSockets.WouldBlock : seen;
    }

    private static Accepted TakeHello(int fd, byte[] scratch) =>
        RawSockets.Receive(fd, scratch, ControlProtocol.TcpHelloSize, 0) == ControlProtocol.TcpHelloSize
            ? Accepted.HelloTaken
            : Accepted.Done;

    /// <param name="taken">The hello, when the accept thread has already read it.</param>
    private async Task HandleAsync(
        Socket socket,
        IDisposable registration,
        TcpHello? taken,
        CancellationToken cancellationToken
    )
    {
        bool handedOff = false;
        using var deadline = new PeerDeadline(cancellationToken);
        try
        {
            socket.NoDelay = true;
            // The dedicated thread's blocking calls: a peer that sends nothing, or takes nothing, ends them.
            socket.ReceiveTimeout = (int)_limits.Idle.TotalMilliseconds;
            socket.SendTimeout = (int)_limits.WriteStall.TotalMilliseconds;
            if (taken is { } known)
            {
                await using var resumed = Bounded(socket, deadline);
                await ServeAsync(resumed, known, cancellationToken);
                return;
            }
            if (await PeekFirstByteAsync(socket, cancellationToken) == TlsSession.HandshakeRecord)
            {
                await ServeTlsAsync(socket, deadline, cancellationToken);
                return;
            }
            var helloBytes = new byte[ControlProtocol.TcpHelloSize];
            // Read the hello synchronously when it is already there (the accept thread waited for it, so that is
            // the rule): a socket that has seen one async call stays in .NET's emulated-blocking mode, which
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
            await using var stream = Bounded(socket, deadline);
            await ServeAsync(stream, hello, cancellationToken);
        }
        catch (TimeoutException e)
        {
            _rejects.Info($"tcp: closing connection from {Describe(socket)}: {e.Message}");
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

    /// <summary>The connection as a stream whose reads and writes end when the peer stalls (the asynchronous path has
    /// no socket timeouts).</summary>
    private DeadlineStream Bounded(Socket socket, PeerDeadline deadline) =>
        new(new NetworkStream(socket, ownsSocket: false), deadline, _limits.Idle, _limits.WriteStall);

    private async Task ServeTlsAsync(Socket socket, PeerDeadline deadline, CancellationToken cancellationToken)
    {
        var bounded = Bounded(socket, deadline);
        bounded.Idle = HelloTimeout; // each read of the handshake and the hello
        await using var tls = new SslStream(bounded);
        var helloBytes = new byte[ControlProtocol.TcpHelloSize];
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeout.CancelAfter(HelloTimeout);
            await tls.AuthenticateAsServerAsync(_tls.Value, timeout.Token);
            await tls.ReadExactlyAsync(helloBytes, timeout.Token);
        }
        bounded.Idle = _limits.Idle;
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
                    if (hello.ShortLived)
                        break; // one transaction, then the server closes first
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
