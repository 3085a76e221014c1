using CniBench.Cli.Agents;
using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets;
using CniBench.Contracts.Measurement;

namespace CniBench.Cli.Running;

/// <summary>
/// The pause before a repetition, as connection-rate tools advise between runs: sockets an earlier case left in
/// TIME_WAIT (60 s on Linux) and its conntrack entries would make this case search for ports or fill the table.
/// With auto, the agents' namespaces are read every half second until both are under the levels that draw a
/// warning (<see cref="NetStack.Quiet"/>), for at most the cooldown's bound; a fixed cooldown just waits.
/// </summary>
public static class CooldownWait
{
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(500);

    /// <summary>Seconds waited (0 when there was nothing to wait for).</summary>
    public static async Task<double> WaitAsync(AgentPair agents, Cooldown cooldown, CancellationToken cancellationToken)
    {
        if (!cooldown.UntilQuiet)
        {
            if (cooldown.Wait > TimeSpan.Zero)
                await Task.Delay(cooldown.Wait, cancellationToken);
            return cooldown.Wait.TotalSeconds;
        }
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            NetStack client,
                server;
            try
            {
                client = await agents.Client.Client.NetStackAsync(cancellationToken);
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
            if (client.Quiet && server.Quiet || waited.Elapsed >= cooldown.Wait)
                return waited.Elapsed.TotalSeconds;
            await Task.Delay(Poll, cancellationToken);
        }
    }
}
