using CniBench.Contracts.Protocol;

namespace CniBench.Cli.Targets;

/// <summary>
/// Work a case carries besides its client and server jobs, attached by the target for what the case is about (the
/// source an egress path must show, node samplers, a traffic split's backend), so that the runner stays the same
/// whatever a suite adds: a check before the window, jobs in it, figures after it.
/// </summary>
public interface ICaseHook
{
    /// <summary>Before any job: a note for the achieved placement, and a problem that fails the case
    /// unmeasured.</summary>
    Task<HookCheck> CheckAsync(CancellationToken cancellationToken) => Task.FromResult(HookCheck.Passed);

    /// <summary>How many jobs it starts: the common start instant leaves time for every start request to
    /// arrive.</summary>
    int Jobs => 0;

    /// <summary>Its own jobs for the window, made beside the case's (started by <see cref="StartAsync"/>).</summary>
    Task CreateAsync(int warmupMs, int durationMs, CancellationToken cancellationToken) => Task.CompletedTask;

    Task StartAsync(long startAtUnixMs, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>From the start on, beside the client's job: its own jobs followed to their end, each polled every
    /// <paramref name="poll"/> (an agent abandons a job nobody polls).</summary>
    Task FinishAsync(TimeSpan poll, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>The case failed or was interrupted: its jobs stopped, quietly.</summary>
    Task CancelAsync() => Task.CompletedTask;

    /// <summary>The figures it adds, from whatever it has (also after a failure).</summary>
    IReadOnlyDictionary<string, double> Metrics(JobResult? client);

    /// <summary>What it adds to the stored result besides figures (e.g. where the bytes went).</summary>
    Results.CaseResult Annotate(Results.CaseResult result) => result;
}

/// <param name="Note">Added to the achieved placement (e.g. the source address the server saw).</param>
/// <param name="Problem">Fails the case before it is measured.</param>
public sealed record HookCheck(string? Note, string? Problem)
{
    public static readonly HookCheck Passed = new(null, null);
}
