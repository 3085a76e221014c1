using CniBench.Contracts.Measurement;

namespace CniBench.Agent.Workloads;

/// <summary>
/// Counters of one worker thread or virtual user. One writer (the worker); the sampler reads the
/// counters racily once a second, which is safe for aligned 64-bit fields on 64-bit platforms.
/// </summary>
public sealed class WorkerStats
{
    public long Bytes;
    public long Transactions;
    public long Errors;
    public readonly LatencyHistogram Latency = new();
    public readonly Dictionary<string, long> ErrorsByKind = new();
    public readonly Dictionary<string, long> Sources = new();
    public string? FirstError;

    public void RecordError(string kind, string message, bool measuring)
    {
        Errors++;
        FirstError ??= message;
        if (measuring)
            ErrorsByKind[kind] = ErrorsByKind.GetValueOrDefault(kind) + 1;
    }

    /// <summary>Answers per backend in each window of the measured phase; the job's totals are their sum.</summary>
    public readonly List<Dictionary<string, long>> BackendWindows = new();

    public void RecordBackend(string backend, int window)
    {
        while (BackendWindows.Count <= window)
            BackendWindows.Add(new Dictionary<string, long>());
        ServerNamedKeys.Add(BackendWindows[window], backend);
    }

    /// <summary>The source address a server reported seeing (what SNAT made of ours).</summary>
    public void RecordSource(string source) => ServerNamedKeys.Add(Sources, source);
}
