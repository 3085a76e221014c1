namespace CniBench.Agent.Workloads;

/// <summary>
/// Arrival slots of the open model at a fixed rate, decided without catch-up: when the scheduler
/// wakes, every slot that is due is sent if a user is free (late if more than the tolerance behind),
/// and a slot more than the drop window behind — the scheduler overslept — is dropped, never sent in a burst.
/// Pure logic over a timestamp source, so it is tested with a made-up clock.
/// </summary>
public sealed class OpenModelSchedule(
    double ratePerSecond,
    long startTimestamp,
    long ticksPerSecond,
    long lateToleranceTicks,
    long dropAfterTicks
)
{
    private readonly double _ticksPerSlot = ticksPerSecond / ratePerSecond;
    private long _nextSlot;

    public long Scheduled { get; private set; }
    public long Sent { get; private set; }
    public long Late { get; private set; }
    public long Dropped { get; private set; }

    public long NextSlotTimestamp => startTimestamp + (long)(_nextSlot * _ticksPerSlot);

    /// <summary>Handles every slot due at <paramref name="now"/>; <paramref name="tryDispatch"/> returns false when no
    /// user is free.</summary>
    public void Advance(long now, Func<bool> tryDispatch, bool counting = true)
    {
        while (NextSlotTimestamp <= now)
        {
            long lateness = now - NextSlotTimestamp;
            _nextSlot++;
            bool sent = lateness <= dropAfterTicks && tryDispatch();
            if (!counting)
                continue;
            Scheduled++;
            if (!sent)
                Dropped++;
            else
            {
                Sent++;
                if (lateness > lateToleranceTicks)
                    Late++;
            }
        }
    }
}
