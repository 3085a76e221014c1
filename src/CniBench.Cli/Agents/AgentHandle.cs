using CniBench.Contracts.Protocol;

namespace CniBench.Cli.Agents;

/// <summary>A running agent as the runner sees it: its control client, and a way to ask whether it died.</summary>
public sealed record AgentHandle(string Role, AgentInfo Info, AgentClient Client, Func<string?> DeathNotice);
