using System.Diagnostics;
using System.Net;
using CniBench.Contracts.Protocol;

namespace CniBench.Agent.Workloads;

/// <summary>
/// Probes a service as a convergence prober does: HTTP requests at a fixed total rate from `parallel`
/// loops, each on a new connection so that every probe is balanced afresh by the rules in force at that
/// instant. Notes, per backend address (where the request arrived), the wall-clock time of the first and
/// last success, and every failure with its time. Times are the instant the probe was started, in µs.
/// </summary>
public sealed class ProbeWorkload(IPEndPoint server) : IWorkload
{
    private const int MaxFailuresListed = 10_000;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, BackendSeen> _seen = new();
    private readonly List<ProbeFailure> _failures = new();
    private long _notListed;

    public Task RunAsync(WorkloadContext context)
    {
        var request = HttpWorkload.BuildRequest(context.Spec with { KeepAlive = false });
        int loops = context.Spec.Parallel;
        long interval = (long)(Stopwatch.Frequency * loops / context.Spec.Rate);
        var clock = new WallClock();
        return Task.WhenAll(
            Enumerable
                .Range(0, loops)
                .Select(loop =>
                    Task.Run(async () =>
                    {
                        var slot = context.Watchdog.NewSlot();
                        var stats = context.NewWorker();
                        using var connection = new HttpConnection(server, slot);
                        // Loops are staggered so the probes of all loops are evenly spaced.
                        long next = Stopwatch.GetTimestamp() + interval * loop / loops;
                        while (!context.IsStopping)
                        {
                            long wait = next - Stopwatch.GetTimestamp();
                            if (wait > 0)
                            {
                                try
                                {
                                    await Task.Delay(
                                        TimeSpan.FromSeconds((double)wait / Stopwatch.Frequency),
                                        context.Stopping
                                    );
                                }
                                catch (OperationCanceledException)
                                {
                                    break;
                                }
                            }
                            long start = Stopwatch.GetTimestamp();
                            // After a stall (a probe that waited for its timeout) the pace resumes; missed slots are
                            // not made up in a burst.
                            next = Math.Max(next + interval, start);
                            await ProbeOnceAsync(
                                connection,
                                request,
                                slot,
                                stats,
                                start,
                                clock.UnixMicroseconds(start),
                                context
                            );
                        }
                    })
                )
        );
    }

    private async Task ProbeOnceAsync(
        HttpConnection connection,
        byte[] request,
        OperationWatchdog.Slot slot,
        WorkerStats stats,
        long start,
        long atUs,
        WorkloadContext context
    )
    {
        try
        {
            var response = await connection.ExchangeAsync(request, start + context.TimeoutTicks, context.Stopping);
            connection.Reset();
            if (response.Status is >= 200 and < 300)
            {
                stats.Transactions++;
                if (context.Measuring)
                    stats.Latency.Record(TcpConnector.ElapsedNanoseconds(start));
                if (response.Peer is not null)
                    stats.RecordSource(response.Peer);
                Seen(response.Address ?? response.Backend ?? "unknown", atUs);
            }
            else
            {
                stats.RecordError($"http-{response.Status}", $"HTTP status {response.Status}", context.Measuring);
                Failed(atUs, $"http-{response.Status}");
            }
        }
        catch (Exception) when (context.IsStopping) { }
        catch (Exception e)
        {
            connection.Reset();
            var kind = SocketErrors.Classify(e, slot.TakeFired());
            stats.RecordError(kind, SocketErrors.Describe(e), context.Measuring);
            Failed(atUs, kind);
        }
        finally
        {
            Volatile.Write(ref slot.Deadline, 0);
        }
    }

    private void Seen(string backend, long atUs)
    {
        lock (_gate)
        {
            backend = ServerNamedKeys.KeyFor(_seen, backend);
            _seen[backend] = _seen.TryGetValue(backend, out var s)
                ? new BackendSeen(Math.Min(s.FirstUnixUs, atUs), Math.Max(s.LastUnixUs, atUs), s.Count + 1)
                : new BackendSeen(atUs, atUs, 1);
        }
    }

    private void Failed(long atUs, string kind)
    {
        lock (_gate)
        {
            if (_failures.Count < MaxFailuresListed)
                _failures.Add(new ProbeFailure(atUs, kind));
            else
                _notListed++;
        }
    }

    public Task<WorkloadExtras> CompleteAsync(WorkloadContext context, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return Task.FromResult(
                new WorkloadExtras(
                    Probe: new ProbeTotals(
                        new Dictionary<string, BackendSeen>(_seen),
                        _failures.OrderBy(f => f.AtUnixUs).ToArray(),
                        _notListed
                    )
                )
            );
        }
    }

    /// <summary>Wall-clock microseconds from the monotonic clock: read once, then advanced by Stopwatch (no jumps, µs
    /// resolution).</summary>
    private sealed class WallClock
    {
        private readonly long _unixUs = UnixClock.NowMicroseconds();
        private readonly long _ticks = Stopwatch.GetTimestamp();

        public long UnixMicroseconds(long timestamp) =>
            _unixUs + (timestamp - _ticks) * 1_000_000 / Stopwatch.Frequency;
    }
}
