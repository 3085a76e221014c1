namespace CniBench.Agent.Peers;

/// <summary>
/// Bounds what a server's large responses may have queued in the kernel at once, over all its connections. A client
/// that asks for a large body and reads nothing leaves up to a socket's largest send buffer queued for it until its
/// write stall ends the connection; two thousand of them once pushed the host's TCP memory to its hard limit, which
/// hurts every socket on the host. Each large body reserves what the kernel can queue for it before it is sent and
/// gives it back when done; past the budget the next one waits for room, first come first served.
/// </summary>
public sealed class QueuedBytesBudget(long capacity)
{
    /// <summary>The most the kernel queues for one socket (net.ipv4.tcp_wmem's largest by default).</summary>
    public const long PerConnection = 4L * 1024 * 1024;

    private readonly Lock _gate = new();
    private readonly LinkedList<(long Bytes, TaskCompletionSource Granted)> _waiting = new();
    private readonly long _capacity = capacity;
    private long _free = capacity;

    public long Free
    {
        get
        {
            lock (_gate)
                return _free;
        }
    }

    /// <summary>Reserves room for a body of <paramref name="length"/> bytes; cancelled, nothing stays
    /// reserved.</summary>
    public async ValueTask<IDisposable> ReserveAsync(long length, CancellationToken cancellationToken)
    {
        long bytes = Math.Min(Math.Min(length, PerConnection), _capacity);
        LinkedListNode<(long, TaskCompletionSource)> node;
        lock (_gate)
        {
            if (_waiting.Count == 0 && _free >= bytes)
            {
                _free -= bytes;
                return new Reservation(this, bytes);
            }
            node = _waiting.AddLast(
                (bytes, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously))
            );
        }
        try
        {
            await node.Value.Item2.Task.WaitAsync(cancellationToken);
            return new Reservation(this, bytes);
        }
        catch (OperationCanceledException)
        {
            lock (_gate)
            {
                if (node.List is not null)
                {
                    _waiting.Remove(node);
                    throw;
                }
            }
            Release(bytes); // granted just as the wait ended
            throw;
        }
    }

    private void Release(long bytes)
    {
        lock (_gate)
        {
            _free += bytes;
            while (_waiting.First is { } first && _free >= first.Value.Bytes)
            {
                _free -= first.Value.Bytes;
                _waiting.RemoveFirst();
                first.Value.Granted.TrySetResult();
            }
        }
    }

    private sealed class Reservation(QueuedBytesBudget budget, long bytes) : IDisposable
    {
        private int _released;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
                budget.Release(bytes);
        }
    }
}
