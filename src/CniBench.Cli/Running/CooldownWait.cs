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
            if (cooldown.Wait > TimeSpan.Zero) await Task.Delay(cooldown.Wait, cancellationToken);
            return cooldown.Wait.TotalSeconds;
        }
        var waited = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            NetStack client, server;
            try
            {
                client = await agents.Client.Client.NetStackAsync(cancellationToken);
                server = await agents.Server.Client.NetStackAsync(cancellationToken);
            }
            catch (AgentRequestException)
            {
                return waited.Elapsed.TotalSeconds; // an agent too old to say: no wait
            }
            if (client.Quiet && server.Quiet || waited.Elapsed >= cooldown.Wait) return waited.Elapsed.TotalSeconds;
            await Task.Delay(Poll, cancellationToken);
        }
    }
}
