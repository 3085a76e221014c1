using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using CniBench.Agent.Logging;
using CniBench.Agent.Wire;

namespace CniBench.Agent.Connections;

/// <summary>
/// The open connections of one server, bounded: past <c>maxConnections</c> a new connection is closed as
/// soon as it is accepted, so idle clients cannot exhaust the agent's descriptors or memory; accept errors
/// (a full descriptor table) back off instead of spinning; shutdown closes every connection.
/// With <paramref name="evictUntrusted"/> (the control port) a full set makes room for a new connection by closing
/// its oldest connection not yet trusted (authenticated): strangers cannot lock the controller out, since its
/// connection authenticates in its first request, and a stranger's never does.
/// </summary>
public sealed class ConnectionSet(int maxConnections, bool evictUntrusted = false)
{
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(1);
    private readonly ConcurrentDictionary<Socket, Registration> _sockets = new();
    private int _waitingToAccept;

    private long _accepted;

    public int Count => _sockets.Count;

    /// <summary>Connections accepted since the start, those closed at once past the bound included.</summary>
    public long Accepted => Volatile.Read(ref _accepted);

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
                backoff = Backoff(backoff, e.SocketErrorCode.ToString(), rejects, name);
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
            if (Admit(rejects, name))
                _ = serve(socket);
            else
                socket.Dispose();
        }
    }

    /// <summary>
    /// Accepts with blocking calls on dedicated threads, as netserver does: thread i on listener i modulo their count.
    /// Each new descriptor goes to what <paramref name="newServer"/> made for that thread (given its listener's
    /// descriptor), on that thread (it must hand anything that waits elsewhere, and close or track the descriptor).
    /// On cancellation the listeners stop listening, which ends every blocked accept, every tracked connection is
    /// closed, and the last thread out disposes the listeners.
    /// </summary>
    public Task AcceptOnThreads(
        IReadOnlyList<Socket> listeners,
        int threads,
        Func<int, Action<int>> newServer,
        AgentLog log,
        string name,
        CancellationToken cancellationToken
    )
    {
        var rejects = new RateLimitedLog(log);
        // Held while any thread may call accept on the numbers, so they cannot be closed and reused under them.
        var fds = new int[listeners.Count];
        for (int i = 0; i < fds.Length; i++)
        {
            bool held = false;
            listeners[i].SafeHandle.DangerousAddRef(ref held);
            fds[i] = (int)listeners[i].SafeHandle.DangerousGetHandle();
        }
        var stop = cancellationToken.Register(() =>
        {
            foreach (int fd in fds)
                RawSockets.StopListening(fd);
            CloseAll();
        });
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int running = threads;
        for (int i = 0; i < threads; i++)
        {
            int fd = fds[i % fds.Length];
            new Thread(() =>
            {
                try
                {
                    AcceptBlocking(fd, newServer(fd), rejects, name, cancellationToken);
                }
                finally
                {
                    if (Interlocked.Decrement(ref running) == 0)
                    {
                        stop.Dispose();
                        foreach (var listener in listeners)
                        {
                            listener.SafeHandle.DangerousRelease();
                            listener.Dispose();
                        }
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

    /// <summary>Whether a thread of <see cref="AcceptOnThreads"/> is waiting for the next connection now: a thread
    /// busy with a connection need not watch the listener meanwhile.</summary>
    public bool ThreadWaitingToAccept => Volatile.Read(ref _waitingToAccept) > 0;

    private void AcceptBlocking(
        int listener,
        Action<int> serve,
        RateLimitedLog rejects,
        string name,
        CancellationToken cancellationToken
    )
    {
        const int ConnectionAborted = 103;
        var backoff = TimeSpan.Zero;
        var waitEntries = new RawSockets.PollEntry[2];
        while (!cancellationToken.IsCancellationRequested)
        {
            Interlocked.Increment(ref _waitingToAccept);
            int fd = RawSockets.Accept(listener);
            Interlocked.Decrement(ref _waitingToAccept);
            if (fd >= 0)
            {
                backoff = TimeSpan.Zero;
                if (Admit(rejects, name))
                    serve(fd);
                else
                    RawSockets.Close(fd);
                continue;
            }
            switch (-fd)
            {
                case RawSockets.InvalidArgument or RawSockets.BadDescriptor or RawSockets.NotSocket:
                    return; // no longer listening: stopped
                case ConnectionAborted:
                    continue; // reset before it was accepted
                case RawSockets.WouldBlock:
                    // Someone made the listener non-blocking: wait for it instead of spinning.
                    RawSockets.WaitReadable(listener, -1, (int)MaxBackoff.TotalMilliseconds, waitEntries);
                    continue;
            }
            if (cancellationToken.IsCancellationRequested)
                return;
            backoff = Backoff(backoff, Marshal.GetPInvokeErrorMessage(-fd), rejects, name);
            cancellationToken.WaitHandle.WaitOne(backoff);
        }
    }

    /// <summary>EMFILE/ENFILE and the like: the pending connection stays queued; try again later, not at
    /// once.</summary>
    private static TimeSpan Backoff(TimeSpan previous, string error, RateLimitedLog rejects, string name)
    {
        var backoff =
            previous == TimeSpan.Zero
                ? TimeSpan.FromMilliseconds(10)
                : TimeSpan.FromTicks(Math.Min(previous.Ticks * 2, MaxBackoff.Ticks));
        rejects.Info($"{name}: accept failed: {error}; retrying in {backoff.TotalMilliseconds:0} ms");
        return backoff;
    }

    /// <summary>Past the bound a new connection is to be closed at once (or, evicting, the oldest untrusted one
    /// is).</summary>
    private bool Admit(RateLimitedLog rejects, string name)
    {
        Interlocked.Increment(ref _accepted);
        if (_sockets.Count < maxConnections)
            return true;
        if (evictUntrusted && EvictOldestUntrusted())
        {
            rejects.Info($"{name}: {maxConnections} connections open; closed the oldest unauthenticated one");
            return true;
        }
        rejects.Info($"{name}: {maxConnections} connections open; closing a new one");
        return false;
    }

    private bool EvictOldestUntrusted()
    {
        Registration? oldest = null;
        foreach (var registration in _sockets.Values)
            if (!registration.Trusted && (oldest is null || registration.Since < oldest.Since))
                oldest = registration;
        if (oldest is null)
            return false;
        oldest.Dispose();
        return true;
    }

    public Registration Track(Socket socket)
    {
        var registration = new Registration(this, socket);
        _sockets[socket] = registration;
        return registration;
    }

    public void CloseAll()
    {
        foreach (var socket in _sockets.Keys)
            socket.Dispose();
    }

    /// <summary>One tracked connection; disposing it closes the connection and frees its place.</summary>
    public sealed class Registration(ConnectionSet set, Socket socket) : IDisposable
    {
        public long Since { get; } = Environment.TickCount64;

        /// <summary>Authenticated: never evicted to make room.</summary>
        public bool Trusted { get; private set; }

        public void Trust() => Trusted = true;

        public void Dispose()
        {
            set._sockets.TryRemove(socket, out _);
            socket.Dispose();
        }
    }
}
