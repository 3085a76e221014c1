using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace CniBench.Agent.Workloads;

public static class TcpConnector
{
    /// <summary>Blocking connect under the watchdog's deadline, with Nagle off as every request/response tool
    /// does.</summary>
    /// <param name="ports">For a connection per transaction: the local ports to take in turn (see <see
    /// cref="LocalPorts"/>).</param>
    public static Socket Connect(
        IPEndPoint endpoint,
        WorkloadContext context,
        OperationWatchdog.Slot slot,
        LocalPorts? ports = null
    )
    {
        for (int attempt = 0; ; attempt++)
        {
            var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                slot.Arm(socket, context.DeadlineFromNow());
                if (ports is not null && attempt < LocalPorts.Attempts)
                {
                    socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                    socket.Bind(
                        new IPEndPoint(
                            endpoint.AddressFamily == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any,
                            ports.Next()
                        )
                    );
                }
                socket.Connect(endpoint);
                return socket;
            }
            catch (SocketException e)
                when (ports is not null
                    && attempt < LocalPorts.Attempts
                    && e.SocketErrorCode is SocketError.AddressAlreadyInUse or SocketError.AddressNotAvailable
                )
            {
                // That port is someone's listener, or the same four-tuple is still open: the next one.
                socket.Dispose();
            }
            catch
            {
                socket.Dispose();
                throw;
            }
        }
    }

    public static long ElapsedNanoseconds(long startTimestamp) =>
        (long)((Stopwatch.GetTimestamp() - startTimestamp) * (1_000_000_000.0 / Stopwatch.Frequency));
}

/// <summary>
/// Local ports taken in turn by a client that opens a connection per transaction, as netperf's TCP_CRR does: bound
/// with SO_REUSEADDR below the kernel's ephemeral range, so a connect never searches a range full of the client's
/// own TIME_WAIT sockets (tens of thousands after a few seconds), and the cost measured is the path's, not that search.
/// </summary>
public sealed class LocalPorts
{
    /// <summary>Ports tried before the kernel is left to pick one.</summary>
    public const int Attempts = 8;

    private const int First = 10_000,
        Count = 22_000;
    private int _next = Random.Shared.Next(Count);

    public int Next() => First + (int)((uint)Interlocked.Increment(ref _next) % Count);
}
