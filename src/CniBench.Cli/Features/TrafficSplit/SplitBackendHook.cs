using CniBench.Cli.Targets;
using CniBench.Contracts.Protocol;

namespace CniBench.Cli.Features.TrafficSplit;

/// <summary>Traffic-split cases: how the answers shared out between the route's backends against the configured
/// weights.</summary>
/// <param name="backend">The name (as the echo reports it) of the backend of the route's second weight.</param>
public sealed class SplitBackendHook(string backend, SplitWeights weights) : ICaseHook
{
    public IReadOnlyDictionary<string, double> Metrics(JobResult? client) =>
        client is null ? new Dictionary<string, double>() : SplitAnalysis.MetricsOf(client, backend, weights);
}
