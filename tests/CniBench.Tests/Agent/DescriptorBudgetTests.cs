using CniBench.Agent.Connections;
using CniBench.Contracts.Workloads;
using CniBench.Tests.Support;

namespace CniBench.Tests.Agent;

[Trait(Category.Name, Category.Unit)]
public class DescriptorBudgetTests
{
    [Theory]
    [InlineData(160, 70)]
    [InlineData(1024, 80)]
    [InlineData(65_536, 80)]
    [InlineData(1_048_576, 80)]
    [InlineData(90, 80)]
    public void The_ports_together_never_take_the_reserve_for_threads_files_and_workloads(long limit, long inUse)
    {
        var budget = DescriptorBudget.For(limit, inUse);
        long free = limit - inUse;
        long held = budget.Control + 2L * budget.DataPort;
        Assert.InRange(budget.Control, 1, 64);
        Assert.InRange(budget.DataPort, 1, 20_000);
        if (free >= 8)
            Assert.True(
                free - held >= Math.Min(Limits.MaxParallel + 256, free / 2),
                $"{held} of {free} free descriptors go to connections"
            );
    }

    [Fact]
    public void A_generous_limit_gives_the_data_ports_their_full_share()
    {
        var budget = DescriptorBudget.For(1_048_576, 80);
        Assert.Equal(64, budget.Control);
        Assert.Equal(20_000, budget.DataPort);
    }
}
