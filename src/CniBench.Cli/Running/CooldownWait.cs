using System.Globalization;
using CniBench.Cli.Agents;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets;
using CniBench.Contracts.Measurement;

namespace CniBench.Cli.Running;

/// <summary>
/// The pause before a repetition, as connection-rate tools advise between runs: sockets an earlier case left in
/// TIME_WAIT (60 s on Linux) towards the server would make this case search for ports, and a full conntrack table
/// would drop its connections. With auto, the agents are asked every half second (the client for its TIME_WAIT
/// sockets towards the server's data endpoint only: other processes' sockets and the server's own pin no port of
/// this case's) until both are under the levels that draw a warning (<see cref="NetStack.Quiet"/>), for at most the
/// cooldown's bound; a fixed cooldown just waits. Every poll says where the wait stands.
/// </summary>
public static class CooldownWait
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(500);

    /// <summary>Seconds waited (0 when there was nothing to wait for).</summary>
    /// <param name="status">Told, at every poll, what is awaited: "cooling down: 19,367 TIME_WAIT (69% of ports) ·
    /// 35/120 s".</param>
    public static async Task<double> WaitAsync(
        AgentPair agents,
        Cooldown cooldown,
        Action<string> status,
        CancellationToken cancellationToken
    )
    {
        var waited = System.Diagnostics.Stopwatch.StartNew();
        if (!cooldown.UntilQuiet)
        {
            while (waited.Elapsed < cooldown.Wait)
            {
                status($"cooling down: fixed {Seconds(waited.Elapsed)}/{Seconds(cooldown.Wait)} s");
                var left = cooldown.Wait - waited.Elapsed;
                await Task.Delay(left < Poll ? left : Poll, cancellationToken);
            }
            return cooldown.Wait.TotalSeconds;
        }
        // A server known by name (a Service's DNS name) cannot be matched in /proc: then every TIME_WAIT counts.
        string? towards = Contracts.Workloads.Endpoints.TryParse(agents.ServerDataAddress, out _)
            ? agents.ServerDataAddress
            : null;
        while (true)
        {
            NetStack client,
                server;
            try
            {
                client = await agents.Client.Client.NetStackAsync(cancellationToken, towards);
                server = await agents.Server.Client.NetStackAsync(cancellationToken);
            }
            catch (Exception e)
                when (e is AgentRequestException or HttpRequestException
                    || e is TaskCanceledException && !cancellationToken.IsCancellationRequested
                )
            {
                // An agent too old to say, or one that is gone: no wait; the case itself meets and reports a dead
                // agent.
                return waited.Elapsed.TotalSeconds;
            }
            if (client.Quiet && server.ConntrackQuiet || waited.Elapsed >= cooldown.Wait)
                return waited.Elapsed.TotalSeconds;
            string conntrack =
                (client.ConntrackQuiet ? server : client).ConntrackPercent is { } fill
                && !(client.ConntrackQuiet && server.ConntrackQuiet)
                    ? string.Create(CultureInfo.InvariantCulture, $", conntrack {fill:0}% full")
                    : "";
            status(
                string.Create(
                    CultureInfo.InvariantCulture,
                    $"cooling down: {client.Pinning:N0} TIME_WAIT towards the server ({client.PinnedPortsPercent:0}% "
                        + $"of ports){conntrack} · {Seconds(waited.Elapsed)}/{Seconds(cooldown.Wait)} s"
                )
            );
            await Task.Delay(Poll, cancellationToken);
        }
    }

    private static string Seconds(TimeSpan t) => ((long)t.TotalSeconds).ToString(CultureInfo.InvariantCulture);
}
