using System.Globalization;
using System.Net;
using CniBench.Agent;
using CniBench.Agent.Servers;
using CniBench.Contracts.Protocol;

namespace CniBench.Scale;

/// <summary>
/// Many agents in one process: each a whole agent server (control API on its own Unix socket, TCP, UDP and HTTP
/// ports), as a pod's agent would be, without a runtime per agent. Prints "ready PORT" (the first agent's HTTP port)
/// once all serve, and stops when its standard input closes.
///
///   cnibench-scale farm --agents N --dir DIR --token TOKEN
/// </summary>
public static class AgentFarm
{
    public static async Task<int> RunAsync(string[] args)
    {
        int agents = int.Parse(Arg(args, "--agents"), CultureInfo.InvariantCulture);
        string dir = Arg(args, "--dir"),
            token = Arg(args, "--token");
        var servers = new List<AgentServer>();
        using var stop = new CancellationTokenSource();
        var running = new List<Task>();
        for (int i = 0; i < agents; i++)
        {
            var server = AgentServer.Bind(
                new ServeOptions(
                    IPAddress.Loopback,
                    0,
                    0,
                    0,
                    0,
                    token,
                    new AgentIdentity("farm", $"agent-{i}", "node-1"),
                    ControlSocket: Path.Combine(dir, $"a{i}.sock")
                ),
                AgentLog.Null
            );
            servers.Add(server);
            running.Add(server.RunAsync(stop.Token));
        }
        Console.Out.WriteLine($"ready {servers[0].Info.Ports.Http}");
        Console.Out.Flush();
        await Console.In.ReadToEndAsync();
        await stop.CancelAsync();
        await Task.WhenAll(running);
        foreach (var server in servers)
            await server.DisposeAsync();
        return 0;
    }

    public static string Arg(string[] args, string name, string? fallback = null)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length
            ? args[i + 1]
            : fallback ?? throw new ArgumentException($"{name} is required");
    }
}
