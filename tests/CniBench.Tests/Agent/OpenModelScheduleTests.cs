using CniBench.Agent.Workloads;
using CniBench.Tests.Support;

namespace CniBench.Tests.Agent;

/// <summary>The open model's arrival decisions, driven by a made-up clock (ticks = microseconds).</summary>
[Trait(Category.Name, Category.Unit)]
public class OpenModelScheduleTests
{
    private const long Second = 1_000_000;

    private static OpenModelSchedule Schedule(double rate) =>
        new(rate, 0, Second, lateToleranceTicks: 2_000, dropAfterTicks: 10_000);

    [Fact]
    public void On_time_wakes_send_every_slot()
    {
        var s = Schedule(1000);
        int dispatched = 0;
        for (long t = 0; t <= Second - 1; t += 1000)
            s.Advance(t, () =>
            {
                dispatched++;
                return true;
            });
        Assert.Equal(1000, s.Scheduled);
        Assert.Equal(1000, s.Sent);
        Assert.Equal(1000, dispatched);
        Assert.Equal(0, s.Late + s.Dropped);
    }

    [Fact]
    public void After_a_stall_missed_slots_are_dropped_not_sent_in_a_burst()
    {
        var s = Schedule(1000);
        s.Advance(0, () => true);
        int burst = 0;
        // The scheduler oversleeps 100 ms: 100 slots are due at once.
        s.Advance(100_000, () =>
        {
            burst++;
            return true;
        });
        Assert.Equal(101, s.Scheduled);
        Assert.True(burst <= 11, $"sent {burst} requests at once after a stall");
        Assert.Equal(89, s.Dropped); // slots 1..89 ms: more than 10 ms behind
        Assert.Equal(1 + 11, s.Sent); // slot 0, then slots 90..100 ms
        Assert.Equal(8, s.Late); // slots 90..97 ms: 3..10 ms behind, sent but late
    }

    [Fact]
    public void A_slot_with_no_free_user_is_dropped()
    {
        var s = Schedule(100);
        bool free = false;
        for (long t = 0; t < Second; t += 10_000)
        {
            s.Advance(t, () => free);
            free = !free;
        }
        Assert.Equal(100, s.Scheduled);
        Assert.Equal(50, s.Sent);
        Assert.Equal(50, s.Dropped);
    }

    [Fact]
    public void Slots_outside_the_measured_window_are_not_counted()
    {
        var s = Schedule(1000);
        s.Advance(9_999, () => true, counting: false);
        Assert.Equal(0, s.Scheduled);
        s.Advance(19_999, () => true);
        Assert.Equal(10, s.Scheduled);
    }
}
