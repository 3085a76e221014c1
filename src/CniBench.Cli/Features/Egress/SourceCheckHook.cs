using CniBench.Cli.Agents;
using CniBench.Cli.Targets;
using CniBench.Contracts.Protocol;

namespace CniBench.Cli.Features.Egress;

/// <summary>Egress cases: before the window, the server must see the expected SNAT address; a figure measured on the
/// wrong path is worse than none.</summary>
public sealed class SourceCheckHook(AgentHandle client, SourceExpectation expected) : ICaseHook
{
    public async Task<HookCheck> CheckAsync(CancellationToken cancellationToken)
    {
        var (seen, problem) = await SourceCheck.RunAsync(client, expected, cancellationToken);
        return new HookCheck($"source seen {(seen.Count == 0 ? "none" : string.Join(", ", seen))}", problem);
    }

    public IReadOnlyDictionary<string, double> Metrics(JobResult? client) => new Dictionary<string, double>();
}
