using CniBench.Contracts.Measurement;
using CniBench.Contracts.Protocol;

namespace CniBench.Cli.Agents;

/// <summary>One job on one agent: creation, start, and polling by cursor until it ends.</summary>
public sealed class JobTracker(AgentHandle agent)
{
    /// <summary>How far ahead jobs are told to start: enough for every agent to hear of it first.</summary>
    public static readonly TimeSpan StartLead = TimeSpan.FromMilliseconds(300);

    /// <summary>The lead for a case of <paramref name="jobs"/> jobs: start requests go out a few dozen at once, each
    /// batch a few milliseconds (more through a cluster's API server).</summary>
    public static TimeSpan StartLeadFor(int jobs) => StartLead + TimeSpan.FromMilliseconds(2.0 * jobs);

    /// <summary>How many requests a hook with many jobs has in flight at once (creating, starting them).</summary>
    public const int Concurrency = 32;

    /// <summary>Runs <paramref name="action"/> on every job, <see cref="Concurrency"/> at a time.</summary>
    public static Task ForAllAsync<T>(
        IEnumerable<T> jobs,
        Func<T, CancellationToken, Task> action,
        CancellationToken cancellationToken
    ) =>
        Parallel.ForEachAsync(
            jobs,
            new ParallelOptions { MaxDegreeOfParallelism = Concurrency, CancellationToken = cancellationToken },
            async (job, token) => await action(job, token)
        );

    /// <summary>An agent silent this long is taken for lost.</summary>
    public static readonly TimeSpan SilenceLimit = TimeSpan.FromSeconds(5);

    public static readonly TimeSpan DefaultPoll = TimeSpan.FromMilliseconds(250);

    /// <summary>How often the jobs beside a case's client (monitors, node samplers) are polled: well inside the time
    /// after which an agent abandons a job whose controller fell silent.</summary>
    public static readonly TimeSpan CompanionPoll = TimeSpan.FromSeconds(1);

    private readonly List<Sample> _samples = new();
    private string? _id;
    public JobStatus? Status { get; private set; }
    public IReadOnlyList<Sample> Samples => _samples;

    public async Task CreateAsync(JobSpec spec, CancellationToken cancellationToken)
    {
        Status = await agent.Client.CreateJobAsync(spec, cancellationToken);
        _id = Status.Id;
    }

    public async Task StartAsync(long startAtUnixMs, CancellationToken cancellationToken) =>
        Status = await agent.Client.StartJobAsync(_id!, startAtUnixMs, cancellationToken);

    public async Task FollowAsync(
        TimeSpan interval,
        TimeSpan silenceLimit,
        Action<Sample> onSample,
        CancellationToken cancellationToken
    )
    {
        var lastAnswer = DateTimeOffset.UtcNow;
        // Poll first, then wait: the server's monitor job has usually ended with the client's.
        for (bool first = true; Status!.State is not (JobState.Done or JobState.Failed); first = false)
        {
            if (!first)
                await Task.Delay(interval, cancellationToken);
            if (agent.DeathNotice() is { } death)
                throw new AgentLostException(death);
            try
            {
                var status = await agent.Client.PollAsync(_id!, _samples.Count, cancellationToken);
                lastAnswer = DateTimeOffset.UtcNow;
                foreach (var s in status.Samples)
                {
                    _samples.Add(s);
                    onSample(s);
                }
                Status = status;
            }
            catch (Exception e)
                when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                if (DateTimeOffset.UtcNow - lastAnswer > silenceLimit)
                    throw new AgentLostException(
                        $"{agent.Role} agent stopped answering for {silenceLimit.TotalSeconds:0}s: {e.Message}"
                    );
            }
        }
    }

    /// <summary>Follows the job's one-second samples until one satisfies <paramref name="stop"/>; false if the job
    /// ended first.</summary>
    public async Task<bool> FollowUntilAsync(Func<Sample, bool> stop, CancellationToken cancellationToken)
    {
        using var until = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bool hit = false;
        try
        {
            await FollowAsync(
                TimeSpan.FromMilliseconds(100),
                SilenceLimit,
                s =>
                {
                    if (hit || !stop(s))
                        return;
                    hit = true;
                    until.Cancel();
                },
                until.Token
            );
        }
        catch (OperationCanceledException) when (hit && !cancellationToken.IsCancellationRequested) { }
        return hit;
    }

    /// <summary>Ends a running job's window now (it is done with what it measured); a job already over is left as it
    /// is.</summary>
    public async Task FinishAsync(CancellationToken cancellationToken)
    {
        if (_id is null || Status?.State is JobState.Done or JobState.Failed)
            return;
        try
        {
            Status = await agent.Client.FinishJobAsync(_id, cancellationToken);
        }
        catch (AgentRequestException e) when (e.Status == 409)
        {
            // It ended by itself between our last poll and now.
        }
    }

    public async Task CancelQuietlyAsync()
    {
        if (_id is null || Status?.State is JobState.Done or JobState.Failed || agent.DeathNotice() is not null)
            return;
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await agent.Client.CancelJobAsync(_id, timeout.Token);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or AgentRequestException)
        {
            // The agent abandons the job by itself once we stop polling.
        }
    }
}
