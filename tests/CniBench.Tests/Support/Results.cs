using CniBench.Cli.Results;
using CniBench.Cli.Running;
using CniBench.Contracts.Measurement;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Tests.Support;

/// <summary>Stored-result documents made up for store, analysis and report tests.</summary>
public static class Results
{
    /// <summary>For a failed assertion: which cases failed and why, never a row of empty separators.</summary>
    public static string Failures(RunOutcome outcome) =>
        $"run {outcome.State.ToString().ToLowerInvariant()}: "
        + string.Join(
            "; ",
            outcome
                .Results.Where(r => r.State != ResultState.Ok)
                .Select(r => $"{r.Case} #{r.Repetition} {r.State.ToString().ToLowerInvariant()}: {r.Error}")
        );

    public static RunRecord Run(string id = "run-1", RunState state = RunState.Completed) =>
        new(
            id,
            "quick",
            "local",
            "default",
            DateTimeOffset.Parse("2026-11-22T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture),
            DateTimeOffset.Parse("2026-11-22T10:01:00Z", System.Globalization.CultureInfo.InvariantCulture),
            state,
            new Dictionary<string, string> { ["kernel"] = "6.1.0", ["cpu.model"] = "Test CPU <fast>" },
            "name: quick\n"
        );

    public static CaseResult Case(
        string runId,
        string name,
        int repetition,
        double tps,
        long[] latenciesNs,
        ResultState state = ResultState.Ok,
        string? error = null
    )
    {
        var h = new LatencyHistogram();
        foreach (var l in latenciesNs)
            h.Record(l);
        var result = new JobResult(
            0,
            1000,
            1,
            0,
            (long)tps,
            new Dictionary<string, long>(),
            h.ToSnapshot(),
            new Dictionary<string, long>(),
            null,
            null,
            null
        );
        var metrics = new Dictionary<string, double>
        {
            [Metrics.TransactionsPerSecond] = tps,
            [Metrics.HostCpuPercent] = 150,
            [Metrics.Errors] = 0,
        };
        return new CaseResult(
            runId,
            "quick",
            name,
            "default",
            repetition,
            "local",
            "host-to-host",
            "host-to-host",
            "ipv4",
            new WorkloadSpec { Kind = WorkloadKind.TcpRr, Target = "127.0.0.1:7201" },
            500,
            1000,
            new Dictionary<string, string>(),
            DateTimeOffset.Parse("2026-11-22T10:00:00Z", System.Globalization.CultureInfo.InvariantCulture),
            DateTimeOffset.Parse("2026-11-22T10:00:02Z", System.Globalization.CultureInfo.InvariantCulture),
            state,
            error,
            state == ResultState.Ok ? metrics : new Dictionary<string, double>(),
            new AgentSide(
                "client",
                [new Sample(0, Phase.Measured, 0, 1, 0, (long)tps, 0, 150, 90, 30, 0)],
                state == ResultState.Ok ? result : null,
                null
            ),
            new AgentSide("server", [], null, null)
        );
    }
}
