using System.Diagnostics;
using System.Globalization;
using CniBench.Cli.Targets;
using CniBench.Cli.Targets.Lab.Network;

namespace CniBench.Cli.Features.Transfer;

/// <summary>
/// A log shipper on every node of the lab, as a node's logging agent runs in host networking: each sends a steady rate
/// to the logging service's endpoint, which its family decides. Over IPv4 the service has a private endpoint on the
/// node network; over IPv6 it has none, so the shipper goes to the service's public address (the external host): the
/// way an IPv6 cluster ends up paying for internet egress that an IPv4 one does not.
/// </summary>
public sealed class LabLogShippers(LabTopology topology, LabFamily family, AgentCommand agent) : IBackgroundTraffic
{
    public const int Port = 443;
    public const string Rate = "1MiB";
    public const string ProcessName = "log-shipper";

    private readonly List<Process> _processes = [];

    /// <summary>Where the shippers of this family send.</summary>
    public string Endpoint => family.Endpoint(family.PrivateEndpoint ?? topology.External.At(family), Port);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            if (family.PrivateEndpoint is { } address)
            {
                await LabShell.RunAsync(
                    "ip",
                    ["-n", topology.Underlay, "addr", "replace", $"{address}/{family.SubnetBits}", "dev", "br0"],
                    null,
                    cancellationToken
                );
                await StartAsync(
                    topology.Underlay,
                    ["sink", "--listen", Endpoint],
                    waitForLine: true,
                    cancellationToken
                );
            }
            else
            {
                await StartAsync(
                    topology.External.Namespace,
                    ["sink", "--listen", Endpoint],
                    waitForLine: true,
                    cancellationToken
                );
            }
            foreach (var node in topology.Nodes)
                await StartAsync(
                    node.Namespace,
                    ["ship", "--to", Endpoint, "--rate", Rate, "--name", ProcessName],
                    waitForLine: false,
                    cancellationToken
                );
        }
        catch
        {
            await StopAsync();
            throw;
        }
    }

    private async Task StartAsync(string ns, string[] arguments, bool waitForLine, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("ip")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true, // closed below: the controller's stdin is not the shippers'
            UseShellExecute = false,
        };
        foreach (
            var a in new[] { "netns", "exec", ns, agent.FileName }
                .Concat(agent.PrefixArguments)
                .Concat(arguments)
                .Concat(["--parent-pid", Environment.ProcessId.ToString(CultureInfo.InvariantCulture)])
        )
            start.ArgumentList.Add(a);
        var process = Process.Start(start)
            ?? throw new TargetException($"could not start {string.Join(' ', arguments)}");
        process.StandardInput.Close();
        _processes.Add(process);
        if (!waitForLine)
            return;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(15));
        string? line;
        try
        {
            line = await process.StandardOutput.ReadLineAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            line = null;
        }
        if (line is null)
        {
            string why = await process.StandardError.ReadToEndAsync(cancellationToken);
            throw new TargetException($"{string.Join(' ', arguments)} in {ns} did not start: {why}");
        }
    }

    public async Task StopAsync()
    {
        foreach (var process in _processes)
            await AgentProcess.StopAsync(process);
        _processes.Clear();
    }
}
