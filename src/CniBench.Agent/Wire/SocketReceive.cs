using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace CniBench.Agent.Wire;

/// <summary>
/// A blocking receive made with recv(2). .NET's Socket.Receive makes recvmsg(2), whose message header and iovec
/// import cost about 0.5 µs more per call in the kernel: on a 1-byte request/response that was all of the gap to
/// netperf (perf, TCP_RR with 2 flows on this project's 2-core test VM). The handle is referenced for the call, as
/// Socket's own calls do, so a Dispose from the watchdog still ends a blocked receive.
/// </summary>
public static class SocketReceive
{
    private const int Interrupted = 4;

    /// <summary>What recv returns: the bytes read, 0 at the end of stream; a failure throws SocketException, as
    /// Socket.Receive does.</summary>
    public static int Receive(Socket socket, Span<byte> buffer)
    {
        nint n;
        do n = recv(socket.SafeHandle, ref MemoryMarshal.GetReference(buffer), buffer.Length, 0);
        while (n < 0 && Marshal.GetLastPInvokeError() == Interrupted);
        if (n < 0)
            throw RawSockets.Failure(-Marshal.GetLastPInvokeError());
        return (int)n;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern nint recv(SafeSocketHandle socket, ref byte buffer, nint count, int flags);
}
