using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace CniBench.Agent.Workloads;

public static class TcpConnector
{
    /// <summary>Blocking connect under the watchdog's deadline, with Nagle off as every request/response tool does
    /// (<paramref name="oneWrite"/>: a connection that writes once needs no such setting, and skips its system
    /// call).</summary>
    public static Socket Connect(
        IPEndPoint endpoint,
        WorkloadContext context,
        OperationWatchdog.Slot slot,
        bool oneWrite = false
    )
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (!oneWrite)
                socket.NoDelay = true;
            slot.Arm(socket, context.DeadlineFromNow());
            socket.Connect(endpoint);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public static long ElapsedNanoseconds(long startTimestamp) =>
        (long)((Stopwatch.GetTimestamp() - startTimestamp) * (1_000_000_000.0 / Stopwatch.Frequency));
}
