using System.Net;
using System.Text.Json.Nodes;
using CniBench.Cli.Agents;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets;
using CniBench.Cli.Targets.Kube;
using CniBench.Cli.Targets.Kube.Api;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Features.Egress;

/// <summary>The external server of a kube run, the egress policy it applies, and the source each case must be seen
/// from.</summary>
public sealed class KubeEgress(KubeClient kube, string ns, string runId, KubeEgressOptions options, string token)
    : IAsyncDisposable
{
    private AgentProcess? _local;
    private AgentClient? _remote;
    private (AgentHandle Agent, string Host)? _server;
    private bool _policyApplied;

    public string PolicyName => $"cnibench-{runId}";

    /// <summary>Where the agent this run starts on this machine is controlled (removed with it).</summary>
    public string ControlSocket => Path.Combine(Path.GetTempPath(), $"cnibench-{runId}-external.sock");

    /// <summary>What makes the case impossible with the options given.</summary>
    public static IEnumerable<string> Validate(PlannedCase c, KubeEgressOptions options)
    {
        if (c.Placement != Placement.PodToExternal)
        {
            if (c.Dataplane?.Egress is not null)
                yield return $"case {c.Name}: egress applies to placement pod-to-external only";
            yield break;
        }
        if (options.ExternalAddress is null && options.ExternalAgent is null)
            yield return $"case {c.Name}: pod-to-external needs --external-address (the address the cluster reaches "
                + $"this machine at) or --external-agent (an agent already serving elsewhere)";
        if (c.Dataplane?.Egress == EgressMode.Gateway && options.EgressIp is null)
            yield return $"case {c.Name}: egress gateway needs --egress-ip (the source address the external server "
                + $"must see)";
        if (c.Dataplane?.Egress == EgressMode.Gateway && options.Policy == "cilium" && options.EgressNode is null)
            yield return $"case {c.Name}: --egress-policy cilium needs --egress-node (the gateway node's name)";
    }

    /// <summary>The external agent, started or connected on first use.</summary>
    public async Task<(AgentHandle Agent, string Host)> ServerAsync(CancellationToken cancellationToken)
    {
        if (_server is { } known)
            return known;
        if (options.ExternalAgent is { } url)
        {
            var token = options.ExternalToken ?? Environment.GetEnvironmentVariable("CNIBENCH_TOKEN") ?? "";
            _remote = options.ExternalAgentSha256 is { } pin
                ? AgentClient.Pinned(url, token, CertificatePin.Parse(pin), TimeSpan.FromSeconds(10))
                : new AgentClient(url, token, TimeSpan.FromSeconds(10));
            AgentInfo info;
            try
            {
                info = await _remote.InfoAsync(cancellationToken);
            }
            catch (Exception e)
                when (e is HttpRequestException or AgentRequestException or TaskCanceledException
                    && !cancellationToken.IsCancellationRequested
                )
            {
                throw new TargetException(
                    $"--external-agent {url}: {e.Message} (start it with `cnibench-agent serve --bind any --token T` "
                        + $"and give --external-token T)"
                );
            }
            _server = (new AgentHandle("server", info, _remote, () => null), url.Host);
        }
        else
        {
            _local = await AgentProcess.StartAsync(
                AgentCommand.Locate(),
                "external",
                [],
                [
                    "--bind",
                    "any",
                    "--control-socket",
                    ControlSocket,
                    "--tcp-port",
                    "0",
                    "--udp-port",
                    "0",
                    "--http-port",
                    "0",
                ],
                token,
                cancellationToken,
                new Dictionary<string, string> { ["POD_NAME"] = "external", ["NODE_NAME"] = Environment.MachineName }
            );
            _server = (AgentPool.Handle(_local), options.ExternalAddress!);
        }
        return _server.Value;
    }

    /// <summary>
    /// Puts the case's egress path in place (the run's policy applied for a gateway case, removed for a direct
    /// one) and says which source the server must see. After a change of policy, waits until the path is
    /// the expected one (the CNI programs policies in its own time), at most the policy wait.
    /// </summary>
    public async Task<SourceExpectation> PrepareAsync(
        PlannedCase c,
        AgentHandle client,
        string clientNodeAddress,
        string clientNode,
        CancellationToken cancellationToken
    )
    {
        var (server, host) = await ServerAsync(cancellationToken);
        string httpAddress = Endpoints.Format(new IPEndPoint(IPAddress.Parse(host), server.Info.Ports.Http));
        bool gateway = c.Dataplane?.Egress == EgressMode.Gateway;
        var expected = gateway
            ? new SourceExpectation(
                options.EgressIp!,
                options.Policy == "none"
                    ? "the egress gateway's address (--egress-ip)"
                    : $"the {options.Policy} egress policy's address (--egress-ip)",
                httpAddress
            )
            : new SourceExpectation(clientNodeAddress, $"direct: SNAT to the client's node {clientNode}", httpAddress);
        bool changed = false;
        if (gateway && options.Policy != "none" && !_policyApplied)
        {
            var policy = KubeObjects.Checked(Policy(host));
            await kube.ApplyAsync(PolicyResource, policy, cancellationToken);
            (_policyApplied, changed) = (true, true);
        }
        else if (!gateway && _policyApplied)
        {
            await kube.DeleteAsync(PolicyResource, cancellationToken);
            (_policyApplied, changed) = (false, true);
        }
        if (changed)
        {
            var until = DateTimeOffset.UtcNow + (options.PolicyWait ?? TimeSpan.FromSeconds(30));
            while (
                DateTimeOffset.UtcNow < until
                && (await SourceCheck.RunAsync(client, expected, cancellationToken)).Problem is not null
            )
                await Task.Delay(500, cancellationToken);
        }
        return expected;
    }

    /// <summary>The cluster-scoped kinds an egress policy of a run may be (kube cleanup looks through them).</summary>
    public static readonly KubeResource[] PolicyKinds =
    [
        new("cilium.io", "v2", "ciliumegressgatewaypolicies"),
        new("crd.antrea.io", "v1beta1", "egresses"),
    ];

    private KubeResource PolicyResource => PolicyKinds[options.Policy == "cilium" ? 0 : 1].Named(PolicyName);

    /// <summary>The run's egress policy: its client pods, to the external server, leave through the egress
    /// IP.</summary>
    public JsonObject Policy(string externalHost)
    {
        var clients = new JsonObject { [AgentManifests.RunLabel] = runId, [AgentManifests.RoleLabel] = "client" };
        var metadata = new JsonObject
        {
            ["name"] = PolicyName,
            ["labels"] = new JsonObject { [AgentManifests.ManagedBy] = "cnibench", [AgentManifests.RunLabel] = runId },
        };
        string cidr = externalHost + (externalHost.Contains(':') ? "/128" : "/32");
        return options.Policy == "cilium"
            ? new JsonObject
            {
                ["apiVersion"] = "cilium.io/v2",
                ["kind"] = "CiliumEgressGatewayPolicy",
                ["metadata"] = metadata,
                ["spec"] = new JsonObject
                {
                    ["selectors"] = new JsonArray(
                        new JsonObject
                        {
                            ["podSelector"] = new JsonObject
                            {
                                ["matchLabels"] = new JsonObject
                                {
                                    [AgentManifests.RunLabel] = runId,
                                    [AgentManifests.RoleLabel] = "client",
                                    ["io.kubernetes.pod.namespace"] = ns,
                                },
                            },
                        }
                    ),
                    ["destinationCIDRs"] = new JsonArray(cidr),
                    ["egressGateway"] = new JsonObject
                    {
                        ["nodeSelector"] = new JsonObject
                        {
                            ["matchLabels"] = new JsonObject { ["kubernetes.io/hostname"] = options.EgressNode },
                        },
                        ["egressIP"] = options.EgressIp,
                    },
                },
            }
            : new JsonObject
            {
                ["apiVersion"] = "crd.antrea.io/v1beta1",
                ["kind"] = "Egress",
                ["metadata"] = metadata,
                ["spec"] = new JsonObject
                {
                    ["appliedTo"] = new JsonObject
                    {
                        ["namespaceSelector"] = new JsonObject
                        {
                            ["matchLabels"] = new JsonObject { ["kubernetes.io/metadata.name"] = ns },
                        },
                        ["podSelector"] = new JsonObject { ["matchLabels"] = clients },
                    },
                    ["egressIP"] = options.EgressIp,
                },
            };
    }

    public async ValueTask DisposeAsync()
    {
        if (_policyApplied)
        {
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(15));
                await kube.DeleteAsync(PolicyResource, timeout.Token);
            }
            catch (Exception e) when (e is KubeApiException or KubeConnectionException or OperationCanceledException)
            {
                Console.Error.WriteLine(
                    $"cnibench: could not delete egress policy {PolicyResource}: {e.Message}; 'cnibench kube "
                        + $"cleanup' removes it later"
                );
            }
        }
        if (_local is not null)
        {
            await _local.DisposeAsync();
            File.Delete(ControlSocket);
        }
        _remote?.Dispose();
    }
}
