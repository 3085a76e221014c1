using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace CniBench.Agent.Background;

/// <summary>
/// A node's background sender, as a log shipper is: one TCP connection to its endpoint, a steady number of bytes a
/// second in tenth-of-a-second batches, a new connection a second after a failed one. It gives itself its own process
/// name, so a flow table that names the owners of sockets (`ss -p`) shows it as itself.
/// </summary>
public sealed class LogShipper(IPEndPoint endpoint, long bytesPerSecond)
{
    private const int BatchesPerSecond = 10;

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var batch = new byte[Math.Max(1, bytesPerSecond / BatchesPerSecond)];
        Array.Fill(batch, (byte)'l');
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                await socket.ConnectAsync(endpoint, cancellationToken);
                using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1.0 / BatchesPerSecond));
                do
                {
                    await socket.SendAsync(batch, cancellationToken);
                } while (await timer.WaitForNextTickAsync(cancellationToken));
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (SocketException)
            {
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>Sets this process's name (/proc/PID/comm, at most 15 bytes): the main thread's name is the
    /// process's.</summary>
    public static void NameProcess(string name)
    {
        const int PrSetName = 15;
        if (OperatingSystem.IsLinux())
            _ = Prctl(PrSetName, name, 0, 0, 0);
    }

    [DllImport("libc", EntryPoint = "prctl")]
    private static extern int Prctl(
        int option,
        [MarshalAs(UnmanagedType.LPUTF8Str)] string name,
        nint arg3,
        nint arg4,
        nint arg5
    );
}
