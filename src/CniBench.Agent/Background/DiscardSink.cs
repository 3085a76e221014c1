using System.Net;
using System.Net.Sockets;

namespace CniBench.Agent.Background;

/// <summary>
/// The far end of a <see cref="LogShipper"/>: accepts TCP connections and reads and drops whatever comes. It listens
/// on a network, so every client is bounded: at most <see cref="MaxConnections"/> at once (more are closed at once),
/// a fixed buffer each, and a failing client ends only its own connection.
/// </summary>
public sealed class DiscardSink(IPEndPoint listen)
{
    public const int MaxConnections = 64;
    private int _open;

    public async Task RunAsync(Action<IPEndPoint>? listening, CancellationToken cancellationToken)
    {
        using var listener = new Socket(listen.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (listen.AddressFamily == AddressFamily.InterNetworkV6)
            listener.DualMode = false;
        listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        listener.Bind(listen);
        listener.Listen(MaxConnections);
        listening?.Invoke((IPEndPoint)listener.LocalEndPoint!);
        var readers = new List<Task>();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var client = await listener.AcceptAsync(cancellationToken);
                if (Interlocked.Increment(ref _open) > MaxConnections)
                {
                    Interlocked.Decrement(ref _open);
                    client.Dispose();
                    continue;
                }
                readers.RemoveAll(t => t.IsCompleted);
                readers.Add(DrainAsync(client, cancellationToken));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { }
        await Task.WhenAll(readers);
    }

    private async Task DrainAsync(Socket client, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        try
        {
            using (client)
            {
                while (await client.ReceiveAsync(buffer, cancellationToken) > 0) { }
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException) { }
        finally
        {
            Interlocked.Decrement(ref _open);
        }
    }
}
