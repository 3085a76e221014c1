using CniBench.Cli.Agents;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Targets;

/// <summary>
/// The agent processes of a target, by key (role and place): reused across cases, replaced when one
/// died, all stopped on dispose. Every target shares this, so none can forget a process on an exit path.
/// </summary>
public sealed class AgentPool : IAsyncDisposable
{
    private readonly Dictionary<string, AgentProcess> _agents = new();

    public IReadOnlyCollection<int> Pids => _agents.Values.Select(a => a.Pid).ToArray();

    public async Task<AgentProcess> EnsureAsync(string key, Func<Task<AgentProcess>> start)
    {
        if (_agents.TryGetValue(key, out var existing))
        {
            // A stopped or hung agent has not exited but is no use: it is killed and replaced like a dead one.
            if (!existing.HasExited && await existing.AnswersAsync())
                return existing;
            await existing.DisposeAsync();
            _agents.Remove(key);
        }
        var agent = await start();
        _agents[key] = agent;
        return agent;
    }

    public static AgentHandle Handle(AgentProcess p) => new(p.Role, p.Info, p.Client, p.DeathNotice);

    /// <summary>The server data port a workload talks to.</summary>
    public static int DataPort(WorkloadKind kind, AgentPorts ports) => DataPort(kind, ports.Tcp, ports.Udp, ports.Http);

    public static int DataPort(WorkloadKind kind, int tcp, int udp, int http) =>
        WorkloadCatalog.Of(kind).Port switch
        {
            DataPortKind.Udp => udp,
            DataPortKind.Http => http,
            _ => tcp,
        };

    public async ValueTask DisposeAsync()
    {
        foreach (var agent in _agents.Values)
            await agent.DisposeAsync();
        _agents.Clear();
    }
}
