using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Runtime.CompilerServices;
using System.Text;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Agent.Workloads;

/// <summary>
/// HTTP GET /echo?size=N. Closed model: N virtual users, each sending its next request when the
/// previous answered (after its think time, if any). Open model: a fixed arrival rate served by up to N users; see
/// <see cref="OpenModelSchedule"/>.
/// </summary>
public sealed class HttpWorkload(IPEndPoint server) : IWorkload
{
    public static readonly TimeSpan LateTolerance = TimeSpan.FromMilliseconds(2);
    public static readonly TimeSpan DropAfter = TimeSpan.FromMilliseconds(10);
    private OpenModelSchedule? _schedule;

    public static byte[] BuildRequest(WorkloadSpec spec) =>
        Encoding.ASCII.GetBytes(
            $"GET /echo?size={spec.ResponseSize} HTTP/1.1\r\nHost: "
                + $"{spec.Target}\r\n{(spec.KeepAlive ? "" : "Connection: close\r\n")}\r\n"
        );

    public Task RunAsync(WorkloadContext context) =>
        context.Spec.HttpModel == HttpModel.Closed ? RunClosedAsync(context) : RunOpenAsync(context);

    public Task<WorkloadExtras> CompleteAsync(WorkloadContext context, CancellationToken cancellationToken) =>
        Task.FromResult(
            _schedule is null
                ? new WorkloadExtras()
                : new WorkloadExtras(
                    OpenModel: new OpenModelTotals(
                        _schedule.Scheduled,
                        _schedule.Sent,
                        _schedule.Late,
                        _schedule.Dropped
                    )
                )
        );

    private sealed class User(HttpConnection connection, WorkerStats stats, OperationWatchdog.Slot slot)
    {
        public HttpConnection Connection { get; } = connection;
        public WorkerStats Stats { get; } = stats;
        public OperationWatchdog.Slot Slot { get; } = slot;
    }

    private User NewUser(WorkloadContext context)
    {
        var slot = context.Watchdog.NewSlot();
        return new User(new HttpConnection(server, slot), context.NewWorker(), slot);
    }

    /// <remarks>Pooled: an exchange that waits allocates no state machine (see <see cref="HttpConnection"/>).</remarks>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private static async ValueTask ExchangeOnceAsync(User user, byte[] request, WorkloadContext context)
    {
        long start = Stopwatch.GetTimestamp();
        try
        {
            var response = await user.Connection.ExchangeAsync(request, start + context.TimeoutTicks, context.Stopping);
            Record(user, response, start, context);
        }
        catch (Exception) when (context.IsStopping) { }
        catch (Exception e)
        {
            user.Stats.RecordError(
                SocketErrors.Classify(e, user.Slot.TakeFired()),
                SocketErrors.Describe(e),
                context.Measuring
            );
            await Task.Delay(10);
        }
        finally
        {
            Volatile.Write(ref user.Slot.Deadline, 0);
        }
    }

    private static void Record(User user, HttpConnection.Response response, long start, WorkloadContext context)
    {
        bool measuring = context.Measuring;
        if (response.Status is >= 200 and < 300)
        {
            user.Stats.Transactions++;
            if (measuring)
            {
                user.Stats.Latency.Record(TcpConnector.ElapsedNanoseconds(start));
                if (response.Backend is not null)
                    user.Stats.RecordBackend(response.Backend, context.BackendWindow);
                if (response.Peer is not null)
                    user.Stats.RecordSource(response.Peer);
            }
        }
        else
        {
            user.Stats.RecordError($"http-{response.Status}", $"HTTP status {response.Status}", measuring);
        }
    }

    private Task RunClosedAsync(WorkloadContext context)
    {
        var request = BuildRequest(context.Spec);
        int think = context.Spec.ThinkTimeMs;
        if (!context.Spec.KeepAlive && context.Spec.Parallel <= MaxBlockingUsers && think == 0)
            return RunClosedBlocking(context, request);
        var users = Enumerable
            .Range(0, context.Spec.Parallel)
            .Select(_ =>
                Task.Run(async () =>
                {
                    var user = NewUser(context);
                    using var _ = user.Connection;
                    // Users that think start spread over one think time, as independent clients would, not in step.
                    if (think > 0 && !await ThinkAsync(Random.Shared.Next(think), context))
                        return;
                    while (!context.IsStopping)
                    {
                        await ExchangeOnceAsync(user, request, context);
                        if (think > 0 && !await ThinkAsync(think, context))
                            return;
                    }
                })
            );
        return Task.WhenAll(users);
    }

    /// <summary>Waits a user's think time; false when the job stops meanwhile.</summary>
    private static async Task<bool> ThinkAsync(int milliseconds, WorkloadContext context)
    {
        try
        {
            await Task.Delay(milliseconds, context.Stopping);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>
    /// Up to this many users of a closed model that connects per request run as threads with blocking calls, as
    /// netperf's TCP_CRR does (see <see cref="HttpConnection.Exchange"/>); more would cost more in threads than the
    /// asynchronous path costs in hops.
    /// </summary>
    public const int MaxBlockingUsers = 64;

    private Task RunClosedBlocking(WorkloadContext context, byte[] request) =>
        WorkerThreads.Run(context.Spec.Parallel, "http", _ =>
        {
            var user = NewUser(context);
            using var connection = user.Connection;
            WorkerThreads.Loop(context, user.Stats, user.Slot, () =>
            {
                long start = Stopwatch.GetTimestamp();
                var response = connection.Exchange(request, start + context.TimeoutTicks, oneWrite: true);
                Record(user, response, start, context);
            });
        });

    private async Task RunOpenAsync(WorkloadContext context)
    {
        var request = BuildRequest(context.Spec);
        var idle = new ConcurrentStack<User>(Enumerable.Range(0, context.Spec.Parallel).Select(_ => NewUser(context)));
        var all = idle.ToArray();
        var inFlight = new ConcurrentDictionary<Task, byte>();
        long frequency = Stopwatch.Frequency;
        var schedule = new OpenModelSchedule(
            context.Spec.Rate,
            Stopwatch.GetTimestamp(),
            frequency,
            (long)(LateTolerance.TotalSeconds * frequency),
            (long)(DropAfter.TotalSeconds * frequency)
        );
        _schedule = schedule;

        bool TryDispatch()
        {
            if (!idle.TryPop(out var user))
                return false;
            var task = Task.Run(async () =>
            {
                await ExchangeOnceAsync(user, request, context);
                idle.Push(user);
            });
            inFlight[task] = 0;
            task.ContinueWith(t => inFlight.TryRemove(t, out _), TaskScheduler.Default);
            return true;
        }

        try
        {
            // The schedule runs on its own thread: a busy thread pool must not make arrivals late.
            await WorkerThreads.Run(1, "http-arrivals", _ =>
            {
                while (!context.IsStopping)
                {
                    schedule.Advance(Stopwatch.GetTimestamp(), TryDispatch, context.Measuring);
                    long wait = schedule.NextSlotTimestamp - Stopwatch.GetTimestamp();
                    // Waits round down to whole milliseconds; a zero wait would spin a core.
                    if (wait > 0)
                        context.Stopping.WaitHandle.WaitOne(Math.Max(1, (int)(wait * 1000 / frequency)));
                }
            });
            await Task.WhenAll(inFlight.Keys);
        }
        finally
        {
            foreach (var user in all)
                user.Connection.Dispose();
        }
    }
}
