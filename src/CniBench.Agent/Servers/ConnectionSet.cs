using System.Collections.Concurrent;
using System.Net.Sockets;

namespace CniBench.Agent;

/// <summary>
/// The open connections of one server, bounded: past <c>maxConnections</c> a new connection is closed as
/// soon as it is accepted, so idle clients cannot exhaust the agent's descriptors or memory; accept errors
/// (a full descriptor table) back off instead of spinning; shutdown closes every connection.
/// </summary>
public sealed class ConnectionSet(int maxConnections)
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(1);
    private readonly ConcurrentDictionary<Socket, byte> _sockets = new();

    public int Count => _sockets.Count;

    /// <summary>
    /// Accepts connections until cancelled and hands each to <paramref name="serve"/> without waiting
    /// for it; on cancellation closes the listener and every tracked connection.
    /// </summary>
    public async Task AcceptAsync(
        Socket listener,
        Func<Socket, Task> serve,
        AgentLog log,
        string name,
        CancellationToken cancellationToken
    )
    {
        var rejects = new RateLimitedLog(log);
        await using var stop = cancellationToken.Register(() =>
        {
            listener.Dispose();
            CloseAll();
        });
        var backoff = TimeSpan.Zero;
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(cancellationToken);
                backoff = TimeSpan.Zero;
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (SocketException e)
            {
                // EMFILE/ENFILE and the like: the pending connection stays queued; try again later, not at once.
                backoff =
                    backoff == TimeSpan.Zero
                        ? TimeSpan.FromMilliseconds(10)
                        : TimeSpan.FromTicks(Math.Min(backoff.Ticks * 2, MaxBackoff.Ticks));
                rejects.Info(
                    $"{name}: accept failed: {e.SocketErrorCode}; retrying in {backoff.TotalMilliseconds:0} ms"
                );
                try
                {
                    await Task.Delay(backoff, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                continue;
            }
            if (_sockets.Count >= maxConnections)
            {
                rejects.Info($"{name}: {maxConnections} connections open; closing a new one");
                socket.Dispose();
                continue;
            }
            _ = serve(socket);
        }
    }

    public IDisposable Track(Socket socket)
    {
        _sockets[socket] = 0;
        return new Registration(this, socket);
    }

    public void CloseAll()
    {
        foreach (var socket in _sockets.Keys)
            socket.Dispose();
    }

    private sealed class Registration(ConnectionSet set, Socket socket) : IDisposable
    {
        public void Dispose()
        {
            set._sockets.TryRemove(socket, out _);
            socket.Dispose();
        }
    }
}
