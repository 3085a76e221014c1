using System.Runtime.InteropServices;

namespace CniBench.Agent.Servers;

/// <summary>
/// The few socket calls the TCP accept threads make per short-lived connection, made on the descriptor itself. A
/// .NET Socket per connection (its SafeHandle, its bookkeeping, its dispose, and the FIONREAD calls its Available
/// took) cost about 13 µs of CPU per connect-request-response-close on this project's 2-core test VM, a third of what
/// the kernel spends on the connection; a connection that needs more than these calls becomes a Socket (see
/// <see cref="TcpDataServer"/>). Linux only, as the agent is. Every call returns what the system call returns, or
/// the negated errno; an interrupted call is made again.
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
        CloseOnExec = 0x80000,
        ShutdownRead = 0;
    private const short Readable = 0x1;

    /// <summary>Blocks until a connection comes; the new descriptor is blocking and closed on exec.</summary>
    public static int Accept(int listener)
    {
        int fd;
        do fd = accept4(listener, 0, 0, CloseOnExec);
        while (WasInterrupted(fd));
        return Result(fd);
    }

    public static int Receive(int socket, byte[] buffer, int count, int flags)
    {
        nint n;
        do n = recv(socket, buffer, count, flags);
        while (WasInterrupted(n));
        return Result(n);
    }

    public static int Send(int socket, byte[] buffer, int count)
    {
        nint n;
        do n = send(socket, buffer, count, NoSignal);
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

    private static bool WasInterrupted(nint result) => result < 0 && Marshal.GetLastPInvokeError() == Interrupted;

    private static int Result(nint result) => result >= 0 ? (int)result : -Marshal.GetLastPInvokeError();

    [StructLayout(LayoutKind.Sequential)]
    public readonly record struct PollEntry(int Fd, short Events, short ReturnedEvents);

    [DllImport("libc", SetLastError = true)]
    private static extern int accept4(int fd, nint address, nint addressLength, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern nint recv(int fd, byte[] buffer, nint count, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern nint send(int fd, byte[] buffer, nint count, int flags);

    [DllImport("libc", SetLastError = true)]
    private static extern int poll([In, Out] PollEntry[] fds, uint count, int timeoutMs);

    [DllImport("libc", SetLastError = true)]
    private static extern int close(int fd);

    [DllImport("libc", SetLastError = true)]
    private static extern int shutdown(int fd, int how);
}
