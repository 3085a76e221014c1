using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Agents;

/// <summary>
/// Before an egress case: a few probes from the client to the server's HTTP port, whose answers say which
/// source address the server saw. Anything but the expected SNAT address fails the case: an egress
/// figure measured on the wrong path is worse than none.
/// </summary>
public static class SourceCheck
{
    private const int WindowMs = 300;

    /// <summary>The sources the server saw, and a problem if they are not exactly the expected one.</summary>
    public static async Task<(IReadOnlyList<string> Seen, string? Problem)> RunAsync(
        AgentHandle client,
        SourceExpectation expected,
        CancellationToken cancellationToken
    )
    {
        var job = new JobTracker(client);
        var probe = WorkloadDefaults.For(WorkloadKind.Probe) with
        {
            Target = expected.HttpAddress,
            Parallel = 1,
            Rate = 50,
        };
        await job.CreateAsync(new JobSpec(probe, 0, WindowMs), cancellationToken);
        if (job.Status?.State == JobState.Failed)
            return ([], $"source check could not start: {job.Status.Error}");
        await job.StartAsync(DateTimeOffset.UtcNow.AddMilliseconds(50).ToUnixTimeMilliseconds(), cancellationToken);
        await job.FollowAsync(TimeSpan.FromMilliseconds(100), JobTracker.SilenceLimit, _ => { }, cancellationToken);
        var seen = job.Status?.Result?.Sources?.Keys.Order(StringComparer.Ordinal).ToArray() ?? [];
        if (seen.Length == 0)
            return (
                seen,
                $"source check: no probe reached {expected.HttpAddress} "
                    + $"({job.Status?.Result?.FirstError ?? job.Status?.Error ?? "no answer"})"
            );
        if (seen.Length > 1 || seen[0] != expected.Address)
            return (
                seen,
                $"source check: the server saw {string.Join(", ", seen)}; expected {expected.Address} ({expected.Why})"
            );
        return (seen, null);
    }
}

/// <summary>The source address the server must see on an egress path, why, and the server's HTTP address to
/// ask.</summary>
public sealed record SourceExpectation(string Address, string Why, string HttpAddress);
