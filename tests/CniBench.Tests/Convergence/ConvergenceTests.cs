using CniBench.Cli.Agents;
using CniBench.Cli.Features.Convergence;
using CniBench.Contracts.Measurement;
using CniBench.Contracts.Protocol;
using CniBench.Tests.Support;

namespace CniBench.Tests.Convergence;

[Trait(Category.Name, Category.Unit)]
public class ConvergenceTests
{
    [Fact]
    public void The_plan_scales_one_to_n_then_replaces_every_endpoint_with_a_fresh_one()
    {
        string[] a = ["a0", "a1", "a2", "a3", "a4", "a5"];
        var plan = ChurnPlan.Of(new Churn(3, TimeSpan.FromMilliseconds(300), TimeSpan.Zero), a);
        Assert.Equal(5, plan.Count);
        Assert.Equal(("add", "a1", (string?)null), (plan[0].Kind, plan[0].Added, plan[0].Removed));
        Assert.Equal(["a0", "a1", "a2"], plan[1].After);
        Assert.Equal(("replace", "a3", "a0"), (plan[2].Kind, plan[2].Added, plan[2].Removed));
        Assert.Equal(["a3", "a4", "a5"], plan[^1].After);
    }

    [Fact]
    public void Latency_per_change_and_node_comes_from_the_first_sighting_after_the_issue()
    {
        const long t0 = 1_800_000_000_000_000;
        EndpointChange[] changes =
        [
            new(1, "add", "b", null, t0, t0 + 20_000),
            new(2, "replace", "c", "a", t0 + 300_000, t0 + 330_000),
            new(3, "add", "d", null, t0 + 600_000, t0 + 600_400),
        ];
        var node1 = new ProbeTotals(
            new Dictionary<string, BackendSeen>
            {
                ["a"] = new(t0 - 900_000, t0 + 310_000, 500), // still reached 10 ms after its removal was issued
                ["b"] = new(t0 + 12_500, t0 + 900_000, 400),
                ["c"] = new(t0 + 341_000, t0 + 900_000, 300),
                // started 0.2 ms before the issue, connected after a 0.4 ms write
                ["d"] = new(t0 + 599_800, t0 + 900_000, 2),
            },
            [new ProbeFailure(t0 - 1, "refused"), new ProbeFailure(t0 + 305_000, "reset")],
            0
        );
        var node2 = new ProbeTotals(
            new Dictionary<string, BackendSeen>
            {
                ["a"] = new(t0 - 900_000, t0 + 299_000, 500),
                ["b"] = new(t0 + 30_000, t0 + 900_000, 400),
                ["d"] = new(t0 + 601_000, t0 + 900_000, 2),
            },
            [],
            0
        );

        var data = ConvergenceCalculator.Compute(changes, [("n1", node1, 2.0), ("n2", node2, 2.0)]);

        Assert.Equal([12.5, 41.0, 0.0], data.Nodes[0].ReachedMs);
        Assert.Equal([30.0, null, 1.0], data.Nodes[1].ReachedMs); // n2 never reached c
        Assert.Equal([null, 10.0, null], data.Nodes[0].StaleMs);
        Assert.Equal([null, null, null], data.Nodes[1].StaleMs); // its last sighting of a came before the removal
        Assert.Equal(1, data.Nodes[0].Failures); // the failure before the churn began does not count
        Assert.Equal(602, data.Nodes[0].ProbesPerSecond); // (500 + 400 + 300 + 2 + 2 failures) / 2 s

        var m = ConvergenceCalculator.MetricsOf(data);
        Assert.Equal(1, m[Metrics.ConvergenceUnreached]);
        Assert.Equal(0, m[Metrics.ConvergenceWithdrawn]); // c stayed
        Assert.Equal(12.5, m[Metrics.ConvergenceP50Ms]); // nearest rank of 0, 1, 12.5, 30, 41
        Assert.Equal(41.0, m[Metrics.ConvergenceMaxMs]);
        Assert.Equal(10.0, m[Metrics.ConvergenceStaleMaxMs]);
        Assert.Equal(16.8, m[Metrics.ConvergenceWriteMs], 1); // (20 + 30 + 0.4) / 3
        Assert.Equal(1, m[Metrics.ChurnFailures]);
    }

    [Fact]
    public void An_endpoint_removed_before_a_node_reached_it_is_withdrawn_not_unreached()
    {
        long t0 = 1_000_000_000;
        EndpointChange[] changes =
        [
            new(1, "add", "a", null, t0, null),
            new(2, "add", "b", null, t0 + 100_000, null), // a rollout deletes the newest pod first
            new(3, "add", "c", null, t0 + 200_000, null),
            new(4, "remove", null, "b", t0 + 400_000, null),
        ];
        var probe = new ProbeTotals(
            new Dictionary<string, BackendSeen> { ["a"] = new(t0 + 50_000, t0 + 900_000, 9) },
            [],
            0
        );
        var m = ConvergenceCalculator.MetricsOf(ConvergenceCalculator.Compute(changes, [("n1", probe, 1.0)]));
        Assert.Equal(1, m[Metrics.ConvergenceWithdrawn]); // b
        Assert.Equal(1, m[Metrics.ConvergenceUnreached]); // c stayed and was never reached
    }

    [Fact]
    public void A_clock_reading_corrects_only_what_it_proves()
    {
        Assert.Equal(0, ClockOffset.Proven(-20_900, 21_500)); // a lopsided round trip, not a clock apart
        Assert.Equal(7_000, ClockOffset.Proven(8_000, 1_000));
        Assert.Equal(-7_000, ClockOffset.Proven(-8_000, 1_000));
        var probe = new ProbeTotals(
            new Dictionary<string, BackendSeen> { ["a"] = new(10_000, 20_000, 3) },
            [new ProbeFailure(15_000, "reset")],
            0
        );
        var shifted = ConvergenceRunner.Shift(probe, 7_000);
        Assert.Equal((3_000, 13_000), (shifted.Backends["a"].FirstUnixUs, shifted.Backends["a"].LastUnixUs));
        Assert.Equal(8_000, shifted.Failures[0].AtUnixUs);
    }

    [Fact]
    public void A_change_is_written_everywhere_when_the_slowest_node_wrote_it_or_a_later_one()
    {
        NodeWrite[] writes = [new("n1", 1, 90, 100), new("n2", 2, 240, 250), new("n1", 3, 390, 400)];
        Assert.Equal(250, ChurnPlan.WrittenEverywhere(writes, 1)); // n2 coalesced 1 into 2
        Assert.Equal(400, ChurnPlan.WrittenEverywhere(writes, 2));
        Assert.Null(ChurnPlan.WrittenEverywhere(writes, 3)); // n2 never wrote 3
    }
}
