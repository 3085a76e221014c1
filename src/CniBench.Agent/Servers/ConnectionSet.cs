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
                backoff = Backoff(backoff, e, rejects, name);
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
            if (Admit(socket, rejects, name))
                _ = serve(socket);
        }
    }

    /// <summary>
    /// Accepts with blocking calls on dedicated threads, as netserver does, and serves each connection on the
    /// thread that accepted it, with what <paramref name="newServer"/> made for that thread (it must hand anything
    /// that waits elsewhere); on cancellation closes the listener, which ends every blocked accept, and every
    /// tracked connection.
    /// </summary>
    public Task AcceptOnThreads(
        Socket listener,
        int threads,
        Func<Action<Socket>> newServer,
        AgentLog log,
        string name,
        CancellationToken cancellationToken
    )
    {
        var rejects = new RateLimitedLog(log);
        var stop = cancellationToken.Register(() =>
        {
            listener.Dispose();
            CloseAll();
        });
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int running = threads;
        for (int i = 0; i < threads; i++)
        {
            new Thread(() =>
            {
                try
                {
                    AcceptBlocking(listener, newServer(), rejects, name, cancellationToken);
                }
                finally
                {
                    if (Interlocked.Decrement(ref running) == 0)
                    {
                        stop.Dispose();
                        done.TrySetResult();
                    }
                }
            })
            {
                IsBackground = true,
                Name = $"{name}-accept",
            }.Start();
        }
        return done.Task;
    }

    private void AcceptBlocking(
        Socket listener,
        Action<Socket> serve,
        RateLimitedLog rejects,
        string name,
        CancellationToken cancellationToken
    )
    {
        var backoff = TimeSpan.Zero;
        while (!cancellationToken.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = listener.Accept();
                backoff = TimeSpan.Zero;
            }
            catch (Exception e) when (cancellationToken.IsCancellationRequested || e is ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e)
            {
                backoff = Backoff(backoff, e, rejects, name);
                cancellationToken.WaitHandle.WaitOne(backoff);
                continue;
            }
            if (Admit(socket, rejects, name))
                serve(socket);
        }
    }

    /// <summary>EMFILE/ENFILE and the like: the pending connection stays queued; try again later, not at
    /// once.</summary>
    private static TimeSpan Backoff(TimeSpan previous, SocketException e, RateLimitedLog rejects, string name)
    {
        var backoff =
            previous == TimeSpan.Zero
                ? TimeSpan.FromMilliseconds(10)
                : TimeSpan.FromTicks(Math.Min(previous.Ticks * 2, MaxBackoff.Ticks));
        rejects.Info($"{name}: accept failed: {e.SocketErrorCode}; retrying in {backoff.TotalMilliseconds:0} ms");
        return backoff;
    }

    /// <summary>Past the bound a new connection is closed at once.</summary>
    private bool Admit(Socket socket, RateLimitedLog rejects, string name)
    {
        if (_sockets.Count < maxConnections)
            return true;
        rejects.Info($"{name}: {maxConnections} connections open; closing a new one");
        socket.Dispose();
        return false;
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
