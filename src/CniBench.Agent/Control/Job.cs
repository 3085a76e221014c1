using System.Diagnostics;
using CniBench.Contracts.Measurement;
using CniBench.Contracts.Protocol;

namespace CniBench.Agent.Control;

/// <summary>
/// One job and its state machine: prepared → ready → running → done | failed. Any state before
/// done may fail. Every control request touching the job counts as a sign of life from the controller.
/// </summary>
[System.Diagnostics.CodeAnalysis.SuppressMessage(
    "Design",
    "CA1001",
    Justification = "Its token sources have no timer: nothing to release, and a job may be dropped while a worker "
        + "still holds its tokens."
)]
public sealed class Job(string id, JobSpec spec, string owner)
{
    private readonly Lock _gate = new();
    private readonly List<Sample> _samples = new();
    private readonly CancellationTokenSource _cancel = new();
    private readonly CancellationTokenSource _finish = new();
    private long _lastSeen = Stopwatch.GetTimestamp();
    private int _startClaimed;

    public string Id { get; } = id;

    /// <summary>The controller that created the job; no other may see, start or stop it.</summary>
    public string Owner { get; } = owner;
    public JobSpec Spec { get; } = spec;
    public JobState State { get; private set; } = JobState.Prepared;
    public string? Error { get; private set; }
    public JobResult? Result { get; private set; }
    public CancellationToken Cancellation => _cancel.Token;
    public CancellationToken FinishEarly => _finish.Token;

    public static bool IsAllowed(JobState from, JobState to) =>
        (from, to) switch
        {
            (JobState.Prepared, JobState.Ready) => true,
            (JobState.Ready, JobState.Running) => true,
            (JobState.Running, JobState.Done) => true,
            (JobState.Prepared or JobState.Ready or JobState.Running, JobState.Failed) => true,
            _ => false,
        };

    /// <summary>Called once, when the job reaches done or failed: what it held is given back.</summary>
    public Action? Ended
    {
        get => _ended;
        set => _ended = value;
    }
    private Action? _ended;

    /// <summary>Moves to <paramref name="to"/> if the machine allows it; false otherwise (state unchanged).</summary>
    public bool TryMove(JobState to, string? error = null, JobResult? result = null)
    {
        lock (_gate)
        {
            if (!IsAllowed(State, to))
                return false;
            State = to;
            Error ??= error;
            Result ??= result;
        }
        if (to is JobState.Done or JobState.Failed)
            Interlocked.Exchange(ref _ended, null)?.Invoke();
        return true;
    }

    /// <summary>
    /// True for the one start request that may start this ready job; a replayed or concurrent second start
    /// is refused even while the job still waits for its start instant (and is still "ready").
    /// </summary>
    public bool TryClaimStart()
    {
        lock (_gate)
        {
            return State == JobState.Ready && Interlocked.Exchange(ref _startClaimed, 1) == 0;
        }
    }

    public void Touch() => Volatile.Write(ref _lastSeen, Stopwatch.GetTimestamp());

    public TimeSpan SilentFor => Stopwatch.GetElapsedTime(Volatile.Read(ref _lastSeen));

    public void AddSample(Sample sample)
    {
        lock (_gate)
            _samples.Add(sample);
    }

    /// <summary>Ends a running job's measured window now; it is done with what it measured. False unless
    /// running.</summary>
    public bool Finish()
    {
        lock (_gate)
        {
            if (State != JobState.Running)
                return false;
        }
        _finish.Cancel();
        return true;
    }

    /// <summary>Fails the job and stops its workload.</summary>
    public void Abort(string reason)
    {
        if (TryMove(JobState.Failed, reason))
            _cancel.Cancel();
    }

    public JobStatus Status(int cursor)
    {
        lock (_gate)
        {
            cursor = Math.Clamp(cursor, 0, _samples.Count);
            return new JobStatus(Id, State, Error, _samples.Skip(cursor).ToArray(), _samples.Count, Result);
        }
    }
}
