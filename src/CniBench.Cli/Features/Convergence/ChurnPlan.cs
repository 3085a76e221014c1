namespace CniBench.Cli.Features.Convergence;

/// <summary>A planned endpoint change: what is added (and removed), and the endpoint list after it.</summary>
public sealed record PlannedChange(string Kind, string Added, string? Removed, IReadOnlyList<string> After);

/// <summary>The changes a target that issues them itself makes, and when each was written everywhere.</summary>
public static class ChurnPlan
{
    /// <summary>The endpoint lists after each change: 1→N one at a time, then each of the N replaced by a fresh
    /// one.</summary>
    public static IReadOnlyList<PlannedChange> Of(Churn churn, IReadOnlyList<string> addresses)
    {
        var plan = new List<PlannedChange>();
        var current = new List<string> { addresses[0] };
        for (int k = 1; k < churn.Endpoints; k++)
        {
            current.Add(addresses[k]);
            plan.Add(new("add", addresses[k], null, current.ToArray()));
        }
        for (int k = 0; k < churn.Endpoints; k++)
        {
            var removed = current[k];
            current[k] = addresses[churn.Endpoints + k];
            plan.Add(new("replace", current[k], removed, current.ToArray()));
        }
        return plan;
    }

    /// <summary>When the last node wrote this change or a later one that contains it; null if a node never
    /// did.</summary>
    public static long? WrittenEverywhere(IReadOnlyList<NodeWrite> writes, int version)
    {
        var perNode = writes
            .GroupBy(w => w.Node)
            .Select(g => g.Where(w => w.Version >= version).Select(w => (long?)w.CompletedUnixUs).Min())
            .ToArray();
        return perNode.Length == 0 || perNode.Any(t => t is null) ? null : perNode.Max();
    }
}
