using System.Diagnostics;
using CniBench.Contracts.Measurement;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Agent.Workloads;

/// <summary>What a running workload shares with the job that runs it: phase, stop signal, workers.</summary>
public sealed class WorkloadContext : IDisposable
{
    private readonly List<WorkerStats> _workers = new();
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private int _phase;
    private long _measuredSince;

    public WorkloadContext(WorkloadSpec spec, Phase initialPhase)
    {
        Spec = spec;
        _phase = (int)initialPhase;
        if (initialPhase == Phase.Measured)
            _measuredSince = Stopwatch.GetTimestamp();
        Watchdog = new OperationWatchdog(TimeSpan.FromMilliseconds(50));
        TimeoutTicks = spec.TimeoutMs * Stopwatch.Frequency / 1000;
        _stop.Token.Register(Watchdog.CloseAll);
    }

    public WorkloadSpec Spec { get; }
    public OperationWatchdog Watchdog { get; }
    public long TimeoutTicks { get; }
    public CancellationToken Stopping => _stop.Token;
    public bool IsStopping => _stop.IsCancellationRequested;
    public bool Measuring => Volatile.Read(ref _phase) == (int)Phase.Measured;

    public void EnterMeasuredPhase()
    {
        Volatile.Write(ref _measuredSince, Stopwatch.GetTimestamp());
        Action[] due;
        lock (_gate)
        {
            Volatile.Write(ref _phase, (int)Phase.Measured);
            due = _onMeasuring.ToArray();
            _onMeasuring.Clear();
        }
        foreach (var action in due)
            action();
    }

    private readonly List<Action> _onMeasuring = new();

    /// <summary>
    /// Runs <paramref name="action"/> as the measured window opens, on the job's sampler thread (not a thread
    /// pool that a saturating workload may starve), or at once if it is open already.
    /// </summary>
    public void WhenMeasuring(Action action)
    {
        lock (_gate)
        {
            if (!Measuring)
            {
                if (Volatile.Read(ref _phase) == (int)Phase.Warmup)
                    _onMeasuring.Add(action);
                return;
            }
        }
        action();
    }

    /// <summary>Which <see cref="JobResult.BackendWindowSeconds"/>-second window of the measured phase it is
    /// now.</summary>
    public int BackendWindow =>
        (int)(
            (Stopwatch.GetTimestamp() - Volatile.Read(ref _measuredSince))
            / (Stopwatch.Frequency * JobResult.BackendWindowSeconds)
        );

    /// <summary>After the window: workers keep running until stopped but record nothing more.</summary>
    public void EndMeasuredPhase() => Volatile.Write(ref _phase, WindowClosed);

    private const int WindowClosed = -1;

    public void Stop() => _stop.Cancel();

    public WorkerStats NewWorker()
    {
        var stats = new WorkerStats();
        lock (_gate)
            _workers.Add(stats);
        return stats;
    }

    public IReadOnlyList<WorkerStats> Workers
    {
        get
        {
            lock (_gate)
                return _workers.ToArray();
        }
    }

    public (long Bytes, long Transactions, long Errors) ReadCounters()
    {
        long bytes = 0,
            transactions = 0,
            errors = 0;
        foreach (var w in Workers)
        {
            bytes += Volatile.Read(ref w.Bytes);
            transactions += Volatile.Read(ref w.Transactions);
            errors += Volatile.Read(ref w.Errors);
        }
        return (bytes, transactions, errors);
    }

    public long DeadlineFromNow() => Stopwatch.GetTimestamp() + TimeoutTicks;

    public void Dispose()
    {
        Watchdog.Dispose();
        _stop.Dispose();
    }
}

/// <summary>Figures a workload adds beyond the common counters.</summary>
public sealed record WorkloadExtras(
    Contracts.Protocol.UdpTotals? Udp = null,
    Contracts.Protocol.OpenModelTotals? OpenModel = null,
    Contracts.Protocol.ProbeTotals? Probe = null,
    Contracts.Protocol.NodeTotals? Node = null
);

public interface IWorkload
{
    /// <summary>Runs until the context is stopped and every worker has exited.</summary>
    Task RunAsync(WorkloadContext context);

    /// <summary>After the run: anything that must be asked of the peer (e.g. UDP receive counts).</summary>
    Task<WorkloadExtras> CompleteAsync(WorkloadContext context, CancellationToken cancellationToken) =>
        Task.FromResult(new WorkloadExtras());
}
