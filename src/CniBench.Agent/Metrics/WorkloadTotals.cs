using CniBench.Contracts.Measurement;
using CniBench.Contracts.Protocol;

namespace CniBench.Agent.Metrics;

/// <summary>
/// What the agent's client jobs did since it started, by workload, for /metrics: transactions and bytes as each
/// second's sample comes (a long run can be watched), errors by kind and the latency histogram as each job ends
/// (the workers' histograms are single-writer and are merged only then). Counters only grow, as Prometheus expects
/// of a process's lifetime.
/// </summary>
public sealed class WorkloadTotals
{
    /// <summary>Latency bucket bounds in seconds, 100 µs to 10 s, the usual spread for request latency.</summary>
    private static readonly double[] BucketBounds =
    [
        0.0001,
        0.00025,
        0.0005,
        0.001,
        0.0025,
        0.005,
        0.01,
        0.025,
        0.05,
        0.1,
        0.25,
        0.5,
        1,
        2.5,
        5,
        10,
    ];

    private readonly Lock _gate = new();
    private readonly SortedDictionary<string, Totals> _byWorkload = new(StringComparer.Ordinal);

    private sealed class Totals
    {
        public long Transactions,
            Bytes,
            Jobs;
        public readonly SortedDictionary<string, long> Errors = new(StringComparer.Ordinal);
        public readonly LatencyHistogram Latency = new();
    }

    public void Add(string workload, Sample sample)
    {
        lock (_gate)
        {
            var totals = For(workload);
            totals.Transactions += sample.Transactions;
            totals.Bytes += sample.Bytes;
        }
    }

    public void Finished(string workload, JobResult result)
    {
        lock (_gate)
        {
            var totals = For(workload);
            totals.Jobs++;
            foreach (var (kind, count) in result.Errors)
                totals.Errors[kind] = totals.Errors.GetValueOrDefault(kind) + count;
            totals.Latency.Add(result.Latency);
        }
    }

    public void Write(PrometheusText text)
    {
        lock (_gate)
        {
            text.Family("cnibench_client_jobs_total", "counter", "Client jobs finished, by workload.");
            foreach (var (workload, totals) in _byWorkload)
                text.Sample("cnibench_client_jobs_total", totals.Jobs, ("workload", workload));
            text.Family("cnibench_client_transactions_total", "counter", "Transactions completed, by workload.");
            foreach (var (workload, totals) in _byWorkload)
                text.Sample("cnibench_client_transactions_total", totals.Transactions, ("workload", workload));
            text.Family("cnibench_client_bytes_total", "counter", "Payload bytes sent and received, by workload.");
            foreach (var (workload, totals) in _byWorkload)
                text.Sample("cnibench_client_bytes_total", totals.Bytes, ("workload", workload));
            text.Family("cnibench_client_errors_total", "counter", "Failed operations of finished jobs, by kind.");
            foreach (var (workload, totals) in _byWorkload)
            foreach (var (kind, count) in totals.Errors)
                text.Sample("cnibench_client_errors_total", count, ("workload", workload), ("kind", kind));
            WriteLatency(text);
        }
    }

    /// <summary>A bucket counts its whole histogram bucket at the bound: values up to 0.8% above a bound may be in
    /// it (the histogram's resolution).</summary>
    private void WriteLatency(PrometheusText text)
    {
        const string Name = "cnibench_client_latency_seconds";
        text.Family(Name, "histogram", "Transaction latency of the measured windows of finished jobs.");
        foreach (var (workload, totals) in _byWorkload)
        {
            foreach (double bound in BucketBounds)
            {
                long count = totals.Latency.CountAtOrBelow((long)(bound * 1e9));
                text.Sample(Name + "_bucket", count, ("workload", workload), ("le", Bound(bound)));
            }
            text.Sample(Name + "_bucket", totals.Latency.Count, ("workload", workload), ("le", "+Inf"));
            text.Sample(Name + "_sum", totals.Latency.Sum / 1e9, ("workload", workload));
            text.Sample(Name + "_count", totals.Latency.Count, ("workload", workload));
        }
    }

    private static string Bound(double seconds) =>
        seconds.ToString("R", System.Globalization.CultureInfo.InvariantCulture);

    private Totals For(string workload)
    {
        if (!_byWorkload.TryGetValue(workload, out var totals))
            _byWorkload[workload] = totals = new Totals();
        return totals;
    }
}
