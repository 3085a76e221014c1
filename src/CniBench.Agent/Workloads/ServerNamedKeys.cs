using System.Runtime.InteropServices;

namespace CniBench.Agent.Workloads;

/// <summary>
/// Counts keyed by a name the server sends (the backend that answered, the source address it saw). The target is not
/// trusted: one answering a new name per response once grew a 10 s job's result to 120,532 backends, 55 MB. Each
/// count keeps at most <see cref="MaxKeys"/> names of at most <see cref="MaxKeyLength"/> characters; the rest is
/// counted under <see cref="Other"/>, a name no pod or address can have.
/// </summary>
public static class ServerNamedKeys
{
    /// <summary>Far more backends than a Service has in any benchmark (the convergence suite scales to 44).</summary>
    public const int MaxKeys = 256;

    /// <summary>A DNS name's length: pod names and addresses fit.</summary>
    public const int MaxKeyLength = 253;

    public const string Other = "(other)";

    /// <summary>The key to count <paramref name="name"/> under in <paramref name="counts"/>.</summary>
    public static string KeyFor<T>(Dictionary<string, T> counts, string name) =>
        name.Length > MaxKeyLength ? Other
        : counts.Count < MaxKeys - 1 || counts.ContainsKey(name) ? name
        : Other;

    public static void Add(Dictionary<string, long> counts, string name, long count = 1) =>
        CollectionsMarshal.GetValueRefOrAddDefault(counts, KeyFor(counts, name), out _) += count;

    /// <summary>The sum of several workers' counts, bounded as each of them is.</summary>
    public static Dictionary<string, long> Sum(IEnumerable<IReadOnlyDictionary<string, long>> counts)
    {
        var sum = new Dictionary<string, long>();
        // The largest first, so that what falls into Other is the long tail, whichever worker saw it.
        foreach (var (name, count) in counts.SelectMany(c => c).OrderByDescending(kv => kv.Value))
            Add(sum, name, count);
        return sum;
    }
}
