using System.Collections.Concurrent;
using System.Net.Sockets;

namespace CniBench.Agent;

/// <summary>The open connections of one server, so shutdown can close every one of them.</summary>
public sealed class ConnectionSet
{
    private readonly ConcurrentDictionary<Socket, byte> _sockets = new();

    public int Count => _sockets.Count;

    /// <summary>
    /// Accepts connections until cancelled and hands each to <paramref name="serve"/> without waiting
    /// for it; on cancellation closes the listener and every tracked connection.
    /// </summary>
    public async Task AcceptAsync(Socket listener, Func<Socket, Task> serve, AgentLog log, string name, CancellationToken cancellationToken)
    {
        await using var stop = cancellationToken.Register(() => { listener.Dispose(); CloseAll(); });
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptAsync(cancellationToken);
            }
            catch (Exception) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (SocketException e)
            {
                log.Info($"{name}: accept failed: {e.SocketErrorCode}");
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
        foreach (var socket in _sockets.Keys) socket.Dispose();
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
