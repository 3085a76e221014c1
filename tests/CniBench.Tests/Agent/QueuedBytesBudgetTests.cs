using CniBench.Agent.Peers;
using CniBench.Tests.Support;

namespace CniBench.Tests.Agent;

[Trait(Category.Name, Category.Unit)]
public class QueuedBytesBudgetTests
{
    private const long MiB = 1024 * 1024;

    [Fact]
    public async Task Large_bodies_reserve_at_most_a_sockets_queue_each_and_wait_beyond_the_budget_in_order()
    {
        var budget = new QueuedBytesBudget(10 * MiB);
        using var first = await budget.ReserveAsync(16 * MiB, CancellationToken.None); // counts 4 MiB
        var second = await budget.ReserveAsync(3 * MiB, CancellationToken.None);
        Assert.Equal(3 * MiB, budget.Free);
        var third = budget.ReserveAsync(4 * MiB, CancellationToken.None).AsTask();
        var fourth = budget.ReserveAsync(1 * MiB, CancellationToken.None).AsTask(); // fits, but comes after
        await Task.Delay(50);
        Assert.False(third.IsCompleted);
        Assert.False(fourth.IsCompleted);

        second.Dispose();
        second.Dispose(); // given back once
        (await third.WaitAsync(TimeSpan.FromSeconds(5))).Dispose();
        (await fourth.WaitAsync(TimeSpan.FromSeconds(5))).Dispose();
        Assert.Equal(6 * MiB, budget.Free);
    }

    [Fact]
    public async Task A_wait_that_is_cancelled_leaves_nothing_reserved()
    {
        var budget = new QueuedBytesBudget(4 * MiB);
        var held = await budget.ReserveAsync(4 * MiB, CancellationToken.None);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => budget.ReserveAsync(MiB, cancel.Token).AsTask());
        held.Dispose();
        Assert.Equal(4 * MiB, budget.Free);
    }
}
