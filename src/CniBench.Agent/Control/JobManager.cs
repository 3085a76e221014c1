using System.Collections.Concurrent;
using System.Security.Cryptography;
using CniBench.Agent.Logging;
using CniBench.Agent.Metrics;
using CniBench.Agent.Workloads;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Agent.Control;

/// <summary>
/// Holds the agent's jobs, runs them, and abandons any whose controller went silent longer than
/// the job's controller timeout (the agent side of liveness). Keeps the last few finished jobs for polling.
/// </summary>
public sealed class JobManager : IAsyncDisposable
{
    private const int MaxJobs = 64;
    private const int MaxWaitingJobs = 16;

    /// <summary>A controller silent for longer than this is gone: its jobs are abandoned whatever it asked
    /// for.</summary>
    public const int MaxControllerTimeoutMs = 600_000;
    private readonly ConcurrentDictionary<string, Job> _jobs = new();
    private readonly ConcurrentDictionary<string, Task> _running = new();
    private readonly AgentLog _log;
    private readonly Timer _watchdog;

    private readonly WorkloadTotals _totals;
    private readonly Sampling.ConntrackAccounting _accounting = new();

    /// <param name="totals">Where every job's figures are added up for /metrics.</param>
    public JobManager(AgentLog log, WorkloadTotals? totals = null, TimeSpan? watchdogPeriod = null)
    {
        _log = log;
        _totals = totals ?? new WorkloadTotals();
        var period = watchdogPeriod ?? TimeSpan.FromMilliseconds(250);
        _watchdog = new Timer(_ => AbandonSilentJobs(), null, period, period);
    }

    public sealed record Outcome(int HttpStatus, JobStatus? Status, string? Error);

    /// <summary>Validates and prepares a job; a client job checks that its target answers before it is ready.</summary>
    public async Task<Outcome> CreateAsync(JobSpec spec, string controller, CancellationToken cancellationToken)
    {
        var problems = Limits.Check(spec.Workload).ToList();
        if (
            spec.DurationMs < Limits.MinDuration.TotalMilliseconds
            || spec.DurationMs > Limits.MaxDuration.TotalMilliseconds
        )
            problems.Add(
                $"durationMs: {spec.DurationMs} is out of range; allowed: "
                    + $"{Limits.MinDuration.TotalMilliseconds}..{Limits.MaxDuration.TotalMilliseconds}"
            );
        if (spec.WarmupMs < 0 || spec.WarmupMs > Limits.MaxWarmup.TotalMilliseconds)
            problems.Add(
                $"warmupMs: {spec.WarmupMs} is out of range; allowed: 0..{Limits.MaxWarmup.TotalMilliseconds}"
            );
        if (spec.ControllerTimeoutMs is < 100 or > MaxControllerTimeoutMs)
            problems.Add(
                $"controllerTimeoutMs: {spec.ControllerTimeoutMs} is out of range; allowed: "
                    + $"100..{MaxControllerTimeoutMs}"
            );
        if (problems.Count > 0)
            return new Outcome(400, null, string.Join("; ", problems));
        // Ready jobs hold a prepared workload each and wait for a start: a bounded number, so a client that
        // creates and never starts cannot pile them up.
        if (_jobs.Values.Count(j => j.State is JobState.Prepared or JobState.Ready) >= MaxWaitingJobs)
            return new Outcome(
                429,
                null,
                $"{MaxWaitingJobs} jobs already wait to start on this agent; start or cancel one first"
            );

        // One controller at a time: another's live jobs (its controller still polling) make this agent busy.
        var others = _jobs
            .Values.Where(j =>
                j.Owner != controller
                && j.State is JobState.Prepared or JobState.Ready or JobState.Running
                && j.SilentFor <= TimeSpan.FromMilliseconds(j.Spec.ControllerTimeoutMs)
            )
            .ToArray();
        if (others.Length > 0)
            return new Outcome(
                409,
                null,
                $"this agent is busy: another controller has {others.Length} job(s) here; try again when they end "
                    + $"(jobs are abandoned {others.Max(j => j.Spec.ControllerTimeoutMs) / 1000.0:0.#} s after their "
                    + $"controller goes silent)"
            );
        EvictFinished();
        // Not guessable: a job id is no handle for anyone but its controller.
        var job = new Job(
            "job-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant(),
            spec,
            controller
        );
        _jobs[job.Id] = job;
        if (spec.Workload.FlowPorts is { Count: > 0 })
        {
            // The counters from now on, so that the case's connections made at its start carry them; a problem
            // shows as the flows' unavailable reason when the window opens.
            _accounting.Acquire();
            job.Ended = _accounting.Release;
        }
        var unreachable = await Preflight.CheckAsync(spec.Workload, cancellationToken);
        if (unreachable is not null)
            job.TryMove(JobState.Failed, unreachable);
        else
            job.TryMove(JobState.Ready);
        _log.Info(
            $"{job.Id}: {spec.Workload.Kind.ToName()} → {job.State}{(unreachable is null ? "" : $" ({unreachable})")}"
        );
        return new Outcome(201, job.Status(0), null);
    }

    public Outcome Start(string id, string controller, long startAtUnixMs)
    {
        if (!_jobs.TryGetValue(id, out var job) || job.Owner != controller)
            return NotFound(id);
        job.Touch();
        if (!job.TryClaimStart())
            return new Outcome(
                409,
                job.Status(0),
                job.State == JobState.Ready
                    ? $"job {id} is already starting; a job starts once"
                    : $"job {id} is {job.State.ToString().ToLowerInvariant()}; only a ready job can start"
            );
        _running[id] = Task.Run(() => ExecuteAsync(job, startAtUnixMs));
        return new Outcome(200, job.Status(0), null);
    }

    public Outcome Poll(string id, string controller, int cursor)
    {
        if (!_jobs.TryGetValue(id, out var job) || job.Owner != controller)
            return NotFound(id);
        job.Touch();
        return new Outcome(200, job.Status(cursor), null);
    }

    public Outcome Cancel(string id, string controller)
    {
        if (!_jobs.TryGetValue(id, out var job) || job.Owner != controller)
            return NotFound(id);
        job.Abort("cancelled by the controller");
        return new Outcome(200, job.Status(0), null);
    }

    public Outcome Finish(string id, string controller)
    {
        if (!_jobs.TryGetValue(id, out var job) || job.Owner != controller)
            return NotFound(id);
        job.Touch();
        return job.Finish()
            ? new Outcome(200, job.Status(0), null)
            : new Outcome(
                409,
                job.Status(0),
                $"job {id} is {job.State.ToString().ToLowerInvariant()}; only a running job can finish early"
            );
    }

    public Job? Find(string id) => _jobs.GetValueOrDefault(id);

    private static Outcome NotFound(string id) => new(404, null, $"no job '{id}' on this agent");

    private async Task ExecuteAsync(Job job, long startAtUnixMs)
    {
        try
        {
            string workload = job.Spec.Workload.Kind.ToName();
            var result = await JobExecution.RunAsync(
                job.Spec,
                startAtUnixMs,
                () => job.TryMove(JobState.Running),
                sample =>
                {
                    job.AddSample(sample);
                    _totals.Add(workload, sample);
                },
                job.Cancellation,
                job.FinishEarly
            );
            _totals.Finished(workload, result);
            job.TryMove(JobState.Done, result: result);
        }
        catch (OperationCanceledException) when (job.Cancellation.IsCancellationRequested)
        {
            // Already failed with its reason (cancelled or abandoned).
        }
        catch (Exception e)
        {
            job.TryMove(JobState.Failed, $"{e.GetType().Name}: {e.Message}");
        }
        _log.Info($"{job.Id}: {job.State}{(job.Error is null ? "" : $" ({job.Error})")}");
        _running.TryRemove(job.Id, out _);
    }

    private void AbandonSilentJobs()
    {
        foreach (var job in _jobs.Values)
        {
            if (job.State is not (JobState.Ready or JobState.Running))
                continue;
            var timeout = TimeSpan.FromMilliseconds(job.Spec.ControllerTimeoutMs);
            if (job.SilentFor <= timeout)
                continue;
            var reason = $"controller silent for {timeout.TotalSeconds:0.#}s; job abandoned";
            job.Abort(reason);
            _log.Info($"{job.Id}: {reason}");
        }
    }

    private void EvictFinished()
    {
        if (_jobs.Count < MaxJobs)
            return;
        foreach (
            var job in _jobs
                .Values.Where(j => j.State is JobState.Done or JobState.Failed)
                .Take(_jobs.Count - MaxJobs + 1)
        )
            _jobs.TryRemove(job.Id, out _);
    }

    public async ValueTask DisposeAsync()
    {
        await _watchdog.DisposeAsync();
        foreach (var job in _jobs.Values)
            job.Abort("agent shutting down");
        await Task.WhenAll(_running.Values).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { });
    }
}
