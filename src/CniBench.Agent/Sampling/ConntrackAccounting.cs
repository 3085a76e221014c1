namespace CniBench.Agent.Sampling;

/// <summary>
/// Connection tracking's byte counters (net.netfilter.nf_conntrack_acct) for as long as any job that ranks flows
/// exists: on from the job's creation, so that every connection its case makes from its start on carries counters, and
/// put back when the last such job ends, if it was this agent that turned it on.
/// </summary>
public sealed class ConntrackAccounting(string path = ConntrackAccounting.Switch)
{
    public const string Switch = "/proc/sys/net/netfilter/nf_conntrack_acct";

    private readonly Lock _gate = new();
    private int _holders;
    private bool _turnedOn;

    /// <summary>One more job needs the counters. Where they cannot be turned on, the job's flow watch says why when
    /// its window opens.</summary>
    public void Acquire()
    {
        lock (_gate)
        {
            _holders++;
            try
            {
                if (File.ReadAllText(path).Trim() == "0")
                {
                    File.WriteAllText(path, "1");
                    _turnedOn = true;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }

    /// <summary>A job that acquired the counters ended.</summary>
    public void Release()
    {
        lock (_gate)
        {
            if (--_holders > 0 || !_turnedOn)
                return;
            _turnedOn = false;
            try
            {
                File.WriteAllText(path, "0");
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
        }
    }
}
