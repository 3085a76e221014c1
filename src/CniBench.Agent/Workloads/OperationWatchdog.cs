using System.Diagnostics;
using System.Net.Sockets;
using CniBench.Agent.Wire;

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

        /// <summary>A connection kept as a bare descriptor (see <see cref="RawSockets"/>), or -1. Its number is only
        /// ever closed under the lock, so the watchdog cannot abort a number already reused by another
        /// connection.</summary>
        private int _descriptor = -1;
        private readonly Lock _descriptorGate = new();

        public void Arm(Socket socket, long deadline)
        {
            Socket = socket;
            Deadline = deadline;
        }

        public void Arm(int descriptor, long deadline)
        {
            lock (_descriptorGate)
                _descriptor = descriptor;
            Volatile.Write(ref Deadline, deadline);
        }

        /// <summary>Closes the descriptor armed last.</summary>
        public void CloseDescriptor()
        {
            lock (_descriptorGate)
            {
                RawSockets.Close(_descriptor);
                _descriptor = -1;
            }
        }

        /// <summary>Whether a connection was ever armed here: a deadline alone has nothing to end.</summary>
        internal bool Armed => Volatile.Read(ref Socket) is not null || Volatile.Read(ref _descriptor) >= 0;

        /// <summary>Ends the blocked call of the worker, if any.</summary>
        internal void Abort()
        {
            Volatile.Read(ref Socket)?.Dispose();
            lock (_descriptorGate)
            {
                if (_descriptor >= 0)
                    RawSockets.Abort(_descriptor);
            }
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
                if (deadline == 0 || now <= deadline)
                    continue;
                // Re-read: the worker may have moved on to a new operation meanwhile.
                if (Volatile.Read(ref slot.Deadline) != deadline || !slot.Armed)
                    continue;
                slot.Fired = true;
                slot.Abort();
            }
        }
    }

    public void CloseAll()
    {
        lock (_gate)
        {
            foreach (var slot in _slots)
                slot.Abort();
        }
    }

    public void Dispose() => _timer.Dispose();
}
