using System.Collections.Concurrent;
using System.Net.Sockets;

namespace CniBench.Agent;

/// <summary>The open connections of one server, so shutdown can close every one of them.</summary>
public sealed class ConnectionSet
{
    private readonly ConcurrentDictionary<Socket, byte> _sockets = new();

    public int Count => _sockets.Count;

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
