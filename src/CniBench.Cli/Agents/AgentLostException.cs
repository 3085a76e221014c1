namespace CniBench.Cli.Agents;

/// <summary>An agent died or stopped answering while a job ran on it.</summary>
public sealed class AgentLostException(string message) : Exception(message);
