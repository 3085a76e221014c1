using System.Diagnostics;
using System.Net.Sockets;

namespace CniBench.Agent.Workloads;

/// <summary>
/// Times out blocking socket operations without a timer per operation: a worker writes a deadline
/// into its slot before each operation, and one timer closes the socket of any slot past its deadline.
/// Closing every slot's socket is also how a stop unblocks workers stuck in a call.
/// </summary>
public sealed class OperationWatchdog : IDisposable
{
    private readonly List<Slot> _slots = new();
    private readonly Lock _gate = new();
    private readonly Timer _timer;

    public OperationWatchdog(TimeSpan period) => _timer = new Timer(_ => Check(), null, period, period);

    public sealed class Slot
    {
        public Socket? Socket;
        public long Deadline;
        public volatile bool Fired;

        public void Arm(Socket socket, long deadline)
        {
            Socket = socket;
            Deadline = deadline;
        }

        /// <summary>Whether the last failure was this watchdog closing the socket; clears the flag.</summary>
        public bool TakeFired()
        {
            bool fired = Fired;
            Fired = false;
            return fired;
        }
    }

    public Slot NewSlot()
    {
        var slot = new Slot();
        lock (_gate)
            _slots.Add(slot);
        return slot;
    }

    private void Check()
    {
        long now = Stopwatch.GetTimestamp();
        lock (_gate)
        {
            foreach (var slot in _slots)
            {
                long deadline = Volatile.Read(ref slot.Deadline);
                var socket = Volatile.Read(ref slot.Socket);
                if (socket is null || deadline == 0 || now <= deadline)
                    continue;
                // Re-read: the worker may have moved on to a new operation meanwhile.
                if (Volatile.Read(ref slot.Deadline) != deadline)
                    continue;
                slot.Fired = true;
                socket.Dispose();
            }
        }
    }

    public void CloseAll()
    {
        lock (_gate)
        {
            foreach (var slot in _slots)
                Volatile.Read(ref slot.Socket)?.Dispose();
        }
    }

    public void Dispose() => _timer.Dispose();
}
