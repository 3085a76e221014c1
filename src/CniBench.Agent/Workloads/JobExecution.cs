using System.Diagnostics;
using CniBench.Agent.Sampling;
using CniBench.Contracts.Measurement;
using CniBench.Contracts.Protocol;

namespace CniBench.Agent.Workloads;

/// <summary>
/// Runs one job: waits for the start instant, runs the workload through warm-up and the measured
/// window, emits a sample at every second and at the phase boundary, then folds the measured
/// samples into the result. Used both by the control API and by `cnibench-agent run`.
/// </summary>
public static class JobExecution
{
    private static readonly TimeSpan SampleInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(5);

    /// <param name="finishEarly">Ends the measured window now (the controller has seen what it needed): the result
    /// covers what ran.</param>
    public static async Task<JobResult> RunAsync(
        JobSpec job,
        long startAtUnixMs,
        Action onStarted,
        Action<Sample> onSample,
        CancellationToken cancellationToken,
        CancellationToken finishEarly = default
    )
    {
        // Timers can fire a little early against the wall clock: wait until the instant has really come.
        for (long waitMs; (waitMs = startAtUnixMs - DateTimeOffset.UtcNow.ToUnixTimeMilliseconds()) > 0; )
            await Task.Delay(TimeSpan.FromMilliseconds(waitMs), cancellationToken);
        onStarted();

        var warmup = TimeSpan.FromMilliseconds(job.WarmupMs);
        var duration = TimeSpan.FromMilliseconds(job.DurationMs);
        using var context = new WorkloadContext(job.Workload, warmup > TimeSpan.Zero ? Phase.Warmup : Phase.Measured);
        var workload = WorkloadFactory.Create(job.Workload);
        var sampler = new ResourceSampler();
        var samples = new List<Sample>();
        long startedUnixMs = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
        var clock = Stopwatch.StartNew();
        var run = Task.Run(() => workload.RunAsync(context), CancellationToken.None);

        try
        {
            // Sample on a thread of its own: the phase switches and window edges must not wait for a
            // thread pool (or a caller's synchronization context) that a saturating workload starves.
            await WorkerThreads.Run(1, "sampler", _ => SampleWindow(
                    warmup,
                    duration,
                    context,
                    sampler,
                    clock,
                    run,
                    sample =>
                    {
                        samples.Add(sample);
                        onSample(sample);
                    },
                    cancellationToken,
                    finishEarly
                ));
        }
        finally
        {
            context.Stop();
            await Task.WhenAny(run, Task.Delay(StopGrace, CancellationToken.None));
        }

        if (run.IsFaulted)
            await run;
        var extras = await workload.CompleteAsync(context, cancellationToken);
        var result = Fold(samples, context.Workers, extras, startedUnixMs);
        if (result is { Transactions: 0, Bytes: 0, Errors.Count: 0 } && !finishEarly.IsCancellationRequested)
            result = result with { FirstError = await PeerDiagnosis.ExplainAsync(job.Workload, cancellationToken) };
        return result;
    }

    private static void SampleWindow(
        TimeSpan warmup,
        TimeSpan duration,
        WorkloadContext context,
        ResourceSampler sampler,
        Stopwatch clock,
        Task run,
        Action<Sample> emit,
        CancellationToken cancellationToken,
        CancellationToken finishEarly
    )
    {
        // A client's TIME_WAIT sockets that can hold its ports towards this server: counted in the last sample only,
        // once the window is closed (they pile up over a case, so its end sees the most), and only when the
        // namespace's total says they matter.
        var target = Contracts.Workloads.Endpoints.TryParse(context.Spec.Target, out var endpoint) ? endpoint : null;
        var previous = (Bytes: 0L, Transactions: 0L, Errors: 0L);
        var previousClock = TimeSpan.Zero;
        WaitHandle[] wakeUps =
        [
            cancellationToken.WaitHandle,
            ((IAsyncResult)run).AsyncWaitHandle,
            finishEarly.WaitHandle,
        ];
        int index = 0;
        foreach (var (at, phase) in Boundaries(warmup, duration))
        {
            var wait = at - clock.Elapsed;
            if (wait > TimeSpan.Zero)
                WaitHandle.WaitAny(wakeUps, wait);
            cancellationToken.ThrowIfCancellationRequested();
            if (run.IsFaulted)
                run.GetAwaiter().GetResult(); // a workload only ends early by failing: surface it
            bool finishing = finishEarly.IsCancellationRequested;
            // Close the window before reading, so the histograms hold no transaction the counters miss.
            bool last = finishing || at == warmup + duration;
            if (last)
                context.EndMeasuredPhase();
            var counters = context.ReadCounters();
            var resources = sampler.Read();
            if (!finishing && phase == Phase.Warmup && at == warmup)
                context.EnterMeasuredPhase();
            // Rates use the time that really passed, even if this thread woke late.
            var elapsed = clock.Elapsed;
            emit(
                new Sample(
                    index++,
                    phase,
                    DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
                    (elapsed - previousClock).TotalSeconds,
                    counters.Bytes - previous.Bytes,
                    counters.Transactions - previous.Transactions,
                    counters.Errors - previous.Errors,
                    resources.HostCpuPercent,
                    resources.ProcessCpuPercent,
                    resources.ProcessMemoryMiB,
                    resources.TcpRetransmits,
                    Sampling.NetStackReader.ReadDuringJob(last ? target : null),
                    resources.ProcessAllocatedBytes
                )
            );
            previous = counters;
            previousClock = elapsed;
            if (finishing)
                return;
        }
    }

    /// <summary>Sample instants: every second of warm-up, its end, every second of the measured window, its
    /// end.</summary>
    public static IEnumerable<(TimeSpan At, Phase Phase)> Boundaries(TimeSpan warmup, TimeSpan duration)
    {
        for (var t = SampleInterval; t < warmup; t += SampleInterval)
            yield return (t, Phase.Warmup);
        if (warmup > TimeSpan.Zero)
            yield return (warmup, Phase.Warmup);
        var end = warmup + duration;
        for (var t = warmup + SampleInterval; t < end; t += SampleInterval)
            yield return (t, Phase.Measured);
        yield return (end, Phase.Measured);
    }

    private static JobResult Fold(
        List<Sample> samples,
        IReadOnlyList<WorkerStats> workers,
        WorkloadExtras extras,
        long startedUnixMs
    )
    {
        var measured = samples.Where(s => s.Phase == Phase.Measured).ToList();
        var latency = LatencyHistogram.Merge(workers.Select(w => w.Latency));
        var windows = BackendWindows(workers);
        return new JobResult(
            startedUnixMs,
            DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
            measured.Sum(s => s.Seconds),
            measured.Sum(s => s.Bytes),
            measured.Sum(s => s.Transactions),
            SumByKey(workers.Select(w => w.ErrorsByKind)),
            latency.ToSnapshot(),
            SumByKey(windows ?? []),
            extras.Udp,
            extras.OpenModel,
            workers.Select(w => w.FirstError).FirstOrDefault(e => e is not null),
            workers.Any(w => w.Sources.Count > 0) ? SumByKey(workers.Select(w => w.Sources)) : null,
            extras.Probe,
            windows,
            extras.Node
        );
    }

    private static IReadOnlyList<IReadOnlyDictionary<string, long>>? BackendWindows(IReadOnlyList<WorkerStats> workers)
    {
        int windows = workers.Select(w => w.BackendWindows.Count).DefaultIfEmpty(0).Max();
        if (windows == 0)
            return null;
        return Enumerable
            .Range(0, windows)
            .Select(i =>
                (IReadOnlyDictionary<string, long>)
                    SumByKey(workers.Where(w => w.BackendWindows.Count > i).Select(w => w.BackendWindows[i]))
            )
            .ToArray();
    }

    /// <summary>Error kinds are the agent's own few; backends and sources are the server's to name, so the sum is
    /// bounded.</summary>
    private static Dictionary<string, long> SumByKey(IEnumerable<IReadOnlyDictionary<string, long>> dictionaries) =>
        ServerNamedKeys.Sum(dictionaries);
}
