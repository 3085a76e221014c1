using CniBench.Contracts.Protocol;

namespace CniBench.Cli.Agents;

/// <summary>
/// How far an agent's wall clock stands from the controller's, as NTP estimates it: read the agent's clock
/// between two readings of ours; of a few tries, the one with the shortest round trip is taken, its
/// midpoint as our time of the reading and half the round trip as the uncertainty.
/// </summary>
public static class ClockOffset
{
    /// <summary>
    /// The correction a reading proves: none when the offset is within its uncertainty (nodes kept in step by
    /// NTP usually are, and a slow, lopsided round trip must not shift every sighting), else the offset less
    /// its uncertainty, the least the clocks are known to differ by.
    /// </summary>
    public static long Proven(long offsetUs, long uncertaintyUs) =>
        Math.Abs(offsetUs) <= uncertaintyUs ? 0 : offsetUs - Math.Sign(offsetUs) * uncertaintyUs;

    public static async Task<(long OffsetUs, long UncertaintyUs)> MeasureAsync(
        AgentClient agent,
        CancellationToken cancellationToken,
        int tries = 5
    )
    {
        long bestRoundTrip = long.MaxValue,
            offset = 0;
        for (int i = 0; i < tries; i++)
        {
            long sent = UnixClock.NowMicroseconds();
            var reading = await agent.ClockAsync(cancellationToken);
            long received = UnixClock.NowMicroseconds();
            if (received - sent >= bestRoundTrip)
                continue;
            bestRoundTrip = received - sent;
            offset = reading.UnixUs - (sent + received) / 2;
        }
        return (offset, Math.Max(1, bestRoundTrip / 2));
    }
}
