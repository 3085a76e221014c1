using CniBench.Cli.Agents;
using CniBench.Cli.Scenarios;

namespace CniBench.Cli.Targets;

/// <summary>
/// What a lab and a cluster both provide to a suite's feature, so that a feature prepares its cases once, for both:
/// the case's dataplane brought to what it asks, agents by role on the run's nodes, a Service in front of the agents
/// of a role, and the wait until a Service answers. A target that has none of it (local) gives none.
/// </summary>
public interface IInfrastructure
{
    /// <summary>The target's name, for messages.</summary>
    string Name { get; }

    /// <summary>Its agents run on the controller's host (the lab): what else used its CPU is measured too.</summary>
    bool AgentsOnThisHost { get; }

    /// <summary>Before a case's agents: the dataplane as the case asks (a lab's proxy mode and services, a cluster's
    /// number of Services); returns what that took (programming times).</summary>
    Task<IReadOnlyDictionary<string, double>> BeginCaseAsync(
        PlannedCase plannedCase,
        CancellationToken cancellationToken
    );

    /// <summary>An agent of a role on one of the run's nodes, serving on the data ports, started once and found
    /// again by its role after that.</summary>
    Task<SiteAgent> AgentAsync(AgentRequest request, CancellationToken cancellationToken);

    /// <summary>A ClusterIP Service whose only endpoints are the agents of <paramref name="role"/>, on the agents'
    /// data ports: its cluster IP in the family.</summary>
    Task<string> ServiceAsync(string role, IpFamily family, CancellationToken cancellationToken);

    /// <summary>Waits until <paramref name="address"/> answers HTTP from <paramref name="client"/>: the milliseconds
    /// that took (how long the proxies took to program it).</summary>
    Task<double> SettleAsync(SiteAgent client, string address, string what, CancellationToken cancellationToken);

    /// <summary>What the target adds to every case's agents however they were placed (a cluster: the path's MTU, the
    /// node samplers).</summary>
    Task<AgentPair> CompleteAsync(PlannedCase plannedCase, AgentPair pair, CancellationToken cancellationToken);

    /// <summary>What a feature keeps here for the run (one of each type, made on first use, disposed at the end
    /// before the target takes down what it made).</summary>
    RunParts Parts { get; }
}

/// <summary>The node a feature's agent runs on: the one the run chose for servers, or the one for clients.</summary>
public enum SiteNode
{
    Server,
    Client,
}

public sealed record AgentRequest(string Role, SiteNode Node, IpFamily Family);

/// <summary>A feature's agent: its handle, its role and the node it runs on.</summary>
public sealed record SiteAgent(AgentHandle Handle, string Role, string Node);
