using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace CniBench.Agent.Background;

/// <summary>
/// The far end of a <see cref="LogShipper"/>: accepts TCP connections and reads and drops whatever comes. It listens
/// on a network, so every client is bounded: at most <see cref="MaxConnections"/> at once, a fixed buffer each, a
/// failing client ends only its own connection, and one that sends nothing for <paramref name="idle"/> is closed.
/// When full, a new client takes the place of the connection silent the longest (if silent a second or more): idle
/// clients cannot lock the shippers out, since a shipper is never silent.
/// </summary>
public sealed class DiscardSink(IPEndPoint listen, TimeSpan? idle = null)
{
    public const int MaxConnections = 64;
    private static readonly TimeSpan EvictableAfter = TimeSpan.FromSeconds(1);
    private readonly TimeSpan _idle = idle ?? TimeSpan.FromSeconds(30);

    /// <summary>Each open connection and when it last sent bytes (Environment.TickCount64).</summary>
    private readonly ConcurrentDictionary<Socket, StrongBox<long>> _open = new();

    public int OpenConnections => _open.Count;

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
                if (_open.Count >= MaxConnections && !EvictLongestSilent())
                {
                    client.Dispose();
                    continue;
                }
                _open[client] = new StrongBox<long>(Environment.TickCount64);
                readers.RemoveAll(t => t.IsCompleted);
                readers.Add(DrainAsync(client, cancellationToken));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { }
        await Task.WhenAll(readers);
    }

    private bool EvictLongestSilent()
    {
        var (socket, since) = _open.MinBy(kv => Volatile.Read(ref kv.Value.Value));
        if (
            socket is null
            || Environment.TickCount64 - Volatile.Read(ref since.Value) < EvictableAfter.TotalMilliseconds
        )
            return false;
        if (_open.TryRemove(socket, out _))
            socket.Dispose();
        return true;
    }

    private async Task DrainAsync(Socket client, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        using var silence = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            using (client)
            {
                while (true)
                {
                    silence.CancelAfter(_idle);
                    if (await client.ReceiveAsync(buffer, silence.Token) == 0)
                        break;
                    if (_open.TryGetValue(client, out var lastHeard))
                        Volatile.Write(ref lastHeard.Value, Environment.TickCount64);
                }
            }
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException) { }
        finally
        {
            _open.TryRemove(client, out _);
        }
    }
}
