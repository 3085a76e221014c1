using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace CniBench.Agent.Wire;

/// <summary>
/// The few socket calls a short-lived connection needs (the TCP accept threads' side and tcp-crr's client side),
/// made on the descriptor itself. A .NET Socket per connection (its SafeHandle, its bookkeeping, its dispose, and
/// the FIONREAD calls its Available took) cost the server about 13 µs of CPU per connect-request-response-close on
/// this project's 2-core test VM, a third of what the kernel spends on the connection, and the client 500 bytes of
/// garbage; a connection that needs more than these calls stays a Socket. Linux only, as the agent is. Every call
/// returns what the system call returns, or the negated errno; an interrupted call is made again.
/// </summary>
internal static class RawSockets
{
    public const int Peek = 0x2,
        DontWait = 0x40,
        NoSignal = 0x4000;

    /// <summary>errno values the callers act on.</summary>
    public const int WouldBlock = 11,
        InvalidArgument = 22,
        BadDescriptor = 9,
        NotSocket = 88;

    private const int Interrupted = 4,
        GetStatusFlags = 3,
        NonBlocking = 0x800,
        CloseOnExec = 0x80000,
        Stream = 1,
        ShutdownRead = 0,
        ShutdownBoth = 2;
    private const short Readable = 0x1;

    /// <summary>Blocks until a connection comes; the new descriptor is blocking and closed on exec.</summary>
    public static int Accept(int listener)
    {
        int fd;
        do fd = accept4(listener, 0, 0, CloseOnExec);
        while (WasInterrupted(fd));
        return Result(fd);
    }

    /// <summary>A blocking TCP socket closed on exec, for <paramref name="family"/>'s addresses.</summary>
    public static int OpenStream(AddressFamily family) =>
        Result(socket(family == AddressFamily.InterNetworkV6 ? 10 : 2, Stream | CloseOnExec, 0));

    /// <summary>Blocks until connected. An interrupted connect goes on in the kernel: waiting for it is what a second
    /// call would do, so a blocking socket's connect is not repeated.</summary>
    public static int Connect(int socket, byte[] address) => Result(connect(socket, address, address.Length));

    /// <summary>SO_LINGER on with a zero timeout: close then sends an RST and the socket leaves no
    /// TIME_WAIT.</summary>
    public static int LingerZero(int socket)
    {
        Span<int> linger = [1, 0]; // struct linger { int l_onoff; int l_linger; }
        return Result(
            setsockopt(
                socket,
                1 /* SOL_SOCKET */
                ,
                13 /* SO_LINGER */
                ,
                ref linger[0],
                sizeof(int) * 2
            )
        );
    }

    /// <summary>The sockaddr_in or sockaddr_in6 that connect takes.</summary>
    public static byte[] Address(IPEndPoint endpoint)
    {
        bool v6 = endpoint.AddressFamily == AddressFamily.InterNetworkV6;
        var address = new byte[v6 ? 28 : 16];
        MemoryMarshal.Write(address, (ushort)(v6 ? 10 : 2)); // sa_family, in the machine's order
        address[2] = (byte)(endpoint.Port >> 8); // the port, in network order
        address[3] = (byte)endpoint.Port;
        endpoint.Address.TryWriteBytes(address.AsSpan(v6 ? 8 : 4), out _);
        if (v6)
            MemoryMarshal.Write(address.AsSpan(24), (uint)endpoint.Address.ScopeId);
        return address;
    }

    /// <summary>
    /// A blocking receive on a Socket, made with recv(2): .NET's Socket.Receive makes recvmsg(2), whose message header
    /// and iovec import cost about 0.5 µs more per call in the kernel; on a 1-byte request/response that was all of
    /// the gap to netperf (perf, TCP_RR with 2 flows). The handle is referenced for the call, as Socket's own calls
    /// do, so a Dispose from the watchdog still ends a blocked receive. The bytes read, 0 at the end of stream; a
    /// failure throws, as Socket.Receive does.
    /// A socket that has seen one asynchronous call (a hello that came late and was awaited) is non-blocking
    /// underneath for good: .NET sets O_NONBLOCK then and emulates blocking for its own calls. Here EAGAIN from such a
    /// socket means "nothing yet", so the call waits for bytes as a blocking one would, up to the socket's receive
    /// timeout; from a blocking socket it means that timeout passed.
    /// </summary>
    public static int Receive(Socket socket, Span<byte> buffer)
    {
        while (true)
        {
            nint n;
            do n = recv(socket.SafeHandle, ref MemoryMarshal.GetReference(buffer), buffer.Length, 0);
            while (WasInterrupted(n));
            if (n >= 0)
                return (int)n;
            int errno = Marshal.GetLastPInvokeError();
            if (errno != WouldBlock || !IsNonBlocking(socket.SafeHandle))
                throw Failure(-errno);
            if (!WaitForBytes(socket.SafeHandle, socket.ReceiveTimeout))
                throw Failure(-WouldBlock);
        }
    }

    private static bool IsNonBlocking(SafeSocketHandle socket)
    {
        int flags = fcntl(socket, GetStatusFlags, 0);
        return flags >= 0 && (flags & NonBlocking) != 0;
    }

    /// <summary>Whether bytes (or the end of stream, or an error) came within <paramref name="timeoutMs"/> (0: no
    /// limit, as a socket's timeouts mean).</summary>
    private static bool WaitForBytes(SafeSocketHandle socket, int timeoutMs)
    {
        bool referenced = false;
        try
        {
            // Held for the wait, so a Dispose meanwhile cannot free the number for another descriptor.
            socket.DangerousAddRef(ref referenced);
            var entry = new PollEntry((int)socket.DangerousGetHandle(), Readable, 0);
            int ready;
            do ready = poll(ref entry, 1, timeoutMs > 0 ? timeoutMs : -1);
            while (WasInterrupted(ready));
            return ready != 0;
        }
        finally
        {
            if (referenced)
                socket.DangerousRelease();
        }
    }

    public static int Receive(int socket, byte[] buffer, int count, int flags)
    {
        nint n;
        do n = recv(socket, buffer, count, flags);
        while (WasInterrupted(n));
        return Result(n);
    }

    public static int Send(int socket, ReadOnlySpan<byte> data)
    {
        nint n;
        do n = send(socket, ref MemoryMarshal.GetReference(data), data.Length, NoSignal);
        while (WasInterrupted(n));
        return Result(n);
    }

    /// <summary>Waits until <paramref name="socket"/> (or <paramref name="alsoWatch"/>, when not -1) is readable, at
    /// most <paramref name="timeoutMs"/>.</summary>
    /// <param name="fds">Two entries the caller keeps, so a wait allocates nothing.</param>
    public static void WaitReadable(int socket, int alsoWatch, int timeoutMs, PollEntry[] fds)
    {
        fds[0] = new PollEntry(socket, Readable, 0);
        fds[1] = new PollEntry(alsoWatch, Readable, 0);
        // An interrupted wait simply ends early: every caller looks again at what it waited for.
        _ = poll(fds, alsoWatch < 0 ? 1u : 2u, timeoutMs);
    }

    /// <summary>On Linux the descriptor is released even when close reports an error: nothing to retry.</summary>
    public static void Close(int socket) => _ = close(socket);

    /// <summary>Wakes every thread blocked accepting on <paramref name="listener"/> (their accept fails with
    /// EINVAL); it stops listening. Closing the descriptor alone would leave them blocked.</summary>
    public static void StopListening(int listener) => _ = shutdown(listener, ShutdownRead);

    /// <summary>Ends a blocked call on <paramref name="socket"/> from another thread (its receive sees the end of
    /// stream), without freeing the descriptor's number for reuse.</summary>
    public static void Abort(int socket) => _ = shutdown(socket, ShutdownBoth);

    /// <summary>A negated errno as the exception Socket's own calls throw, for the errors a benchmark meets; the
    /// others by their text.</summary>
    public static SocketException Failure(int negatedErrno)
    {
        int errno = -negatedErrno;
        var error = errno switch
        {
            11 => SocketError.TimedOut, // EAGAIN: a receive timeout passed
            32 => SocketError.Shutdown, // EPIPE
            101 => SocketError.NetworkUnreachable,
            103 => SocketError.ConnectionAborted,
            104 => SocketError.ConnectionReset,
            107 => SocketError.NotConnected,
            110 => SocketError.TimedOut,
            111 => SocketError.ConnectionRefused,
            113 => SocketError.HostUnreachable,
            _ => SocketError.SocketError,
        };
        return error == SocketError.SocketError
            ? new SocketException((int)error, Marshal.GetPInvokeErrorMessage(errno))
            : new SocketException((int)error);
    }

    private static bool WasInterrupted(nint result) => result < 0 && Marshal.GetLastPInvokeError() == Interrupted;

    private static int Result(nint result) => result >= 0 ? (int)result : -Marshal.GetLastPInvokeError();

    [StructLayout(LayoutKind.Sequential)]
    public readonly record struct PollEntry(int Fd, short Events, short ReturnedEvents);

    [DllImport("libc", SetLastError = true)]
    private static extern int socket(int domain, int type, int protocol);

    [DllImport("libc", SetLastError = true)]
    private static extern int connect(int fd, byte[] address, int addressLength);

    [DllImport("libc", SetLastError = true)]
    private static extern int accept4(int fd, nint address, nint addressLength, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern nint recv(int fd, byte[] buffer, nint count, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern nint recv(SafeSocketHandle socket, ref byte buffer, nint count, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern nint send(int fd, ref byte data, nint count, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int poll([In, Out] PollEntry[] fds, uint count, int timeoutMs);

    [DllImport("libc", SetLastError = true)]
    private static extern int poll(ref PollEntry fds, uint count, int timeoutMs);

    [DllImport("libc", SetLastError = true)]
    private static extern int fcntl(SafeSocketHandle fd, int command, int argument);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);

    [DllImport("libc", SetLastError = true)]
    private static extern int setsockopt(int fd, int level, int name, ref int value, int length);

    [DllImport("libc", SetLastError = true)]
    private static extern int shutdown(int fd, int how);
}
