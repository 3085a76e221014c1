using CniBench.Cli.Targets;
using CniBench.Cli.Targets.Lab;
using CniBench.Tests.Support;

namespace CniBench.Tests.Running;

[Trait(Category.Name, Category.Unit)]
public class LabCaseOrderTests
{
    [Fact]
    public void Cases_that_share_lab_settings_run_one_after_another_in_the_plans_order()
    {
        var scenario = CniBench.Cli.Features.SuiteFeatures.Scenarios.Load(
            """
            name: order
            cases:
              - name: a
                workload: tcp-stream
                routing: native
              - name: b
                workload: tcp-stream
                routing: vxlan
              - name: c
                workload: tcp-rr
                routing: native
              - name: d
                workload: tcp-rr
                routing: vxlan
              - name: e
                workload: tcp-crr
                routing: native
                mtu: 9000
              - name: f
                workload: tcp-crr
                routing: vxlan
            """,
            "order.yaml"
        );
        var settings = scenario.Cases.Select(c => (c.Dataplane?.Routing, c.Dataplane?.Mtu)).ToArray();
        Assert.Equal(5, Changes(settings)); // a lab rebuilt before every case

        var ordered = LabTarget.GroupBySettings(scenario.Cases);
        Assert.Equal(scenario.Cases.Count, ordered.Count);
        // Three labs, each built once, each group in the plan's order.
        Assert.Equal(["a", "c", "b", "d", "f", "e"], ordered.Select(c => c.Name));
    }

    private static int Changes<T>(IReadOnlyList<T> keys) =>
        keys.Zip(keys.Skip(1)).Count(p => !EqualityComparer<T>.Default.Equals(p.First, p.Second));

    [Fact]
    public void Refusals_are_said_once_per_reason_with_the_count_of_cases_they_hit()
    {
        var problems = Enumerable
            .Range(1, 27)
            .Select(i =>
                ($"c{i}", $"case c{i}: asks for vxlan routing and MTU 1500, but lab 1a2b was built with native")
            )
            .Append(("x", "case x: pod-to-pod-same-node needs 2 pods per node"))
            .ToArray();
        var lines = TargetValidation.Summarize(problems);
        Assert.Equal(2, lines.Count);
        Assert.Equal(
            "27 cases (c1, c2, c3 and 24 more): asks for vxlan routing and MTU 1500, but lab 1a2b was built with "
                + "native",
            lines[0]
        );
        Assert.Equal("case x: pod-to-pod-same-node needs 2 pods per node", lines[1]);
    }
}
