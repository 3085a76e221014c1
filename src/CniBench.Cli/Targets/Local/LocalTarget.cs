using System.Net;
using System.Security.Cryptography;
using CniBench.Cli.Scenarios;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Targets.Local;

/// <summary>
/// Agents as child processes of this program on loopback: one server and one client agent per IP
/// family, reused across cases and restarted if one died. No privileges needed.
/// </summary>
public sealed class LocalTarget(AgentCommand command) : ITarget
{
    private readonly AgentPool _agents = new();
    private readonly string _token = Convert.ToHexString(RandomNumberGenerator.GetBytes(16)).ToLowerInvariant();

    public string Name => "local";

    public IReadOnlyCollection<int> AgentPids => _agents.Pids;

    /// <summary>Two processes on this host's loopback: no pods, no services, nothing of a dataplane to set.</summary>
    public TargetCapabilities Capabilities { get; } =
        new([Placement.HostToHost], [], "the lab target sets them: --target lab");

    public IEnumerable<string> CheckCase(PlannedCase plannedCase) => [];

    public async Task<AgentPair> PrepareAsync(PlannedCase plannedCase, CancellationToken cancellationToken)
    {
        var bind = plannedCase.IpFamily == IpFamily.Ipv6 ? IPAddress.IPv6Loopback : IPAddress.Loopback;
        var server = await EnsureAsync("server", bind, cancellationToken);
        var client = await EnsureAsync("client", bind, cancellationToken);
        int port = AgentPool.DataPort(plannedCase.Workload.Kind, server.Info.Ports);
        return new AgentPair(
            AgentPool.Handle(server),
            AgentPool.Handle(client),
            Endpoints.Format(new IPEndPoint(bind, port)),
            Placement.HostToHost.ToName()
        )
        {
            AgentsOnThisHost = true,
        };
    }

    private Task<AgentProcess> EnsureAsync(string role, IPAddress bind, CancellationToken cancellationToken) =>
        _agents.EnsureAsync($"{role}/{bind}", () =>
            AgentProcess.StartAsync(
                command,
                role,
                [],
                [
                    "--bind",
                    bind.ToString(),
                    "--control-port",
                    "0",
                    "--tcp-port",
                    "0",
                    "--udp-port",
                    "0",
                    "--http-port",
                    "0",
                ],
                _token,
                cancellationToken
            )
        );

    public Task<IReadOnlyDictionary<string, string>> DescribeEnvironmentAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyDictionary<string, string>>(
            new Dictionary<string, string> { ["target"] = Name, ["path"] = "loopback" }
        );

    public ValueTask DisposeAsync() => _agents.DisposeAsync();
}
