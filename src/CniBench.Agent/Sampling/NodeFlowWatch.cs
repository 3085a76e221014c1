using CniBench.Contracts.Protocol;
using CniBench.Contracts.Sampling;

namespace CniBench.Agent.Sampling;

/// <summary>
/// Connection tracking's table at the two edges of a monitor job's window, for the node's top talkers. Byte counters
/// exist only with accounting on (net.netfilter.nf_conntrack_acct), and only on connections made while it is: the
/// agent turns it on when such a job is created (see <see cref="ConntrackAccounting"/>). Connections older than that
/// carry no counters: set it on the node for long-lived ones.
/// </summary>
public sealed class NodeFlowWatch(IReadOnlyCollection<int> ports)
{
    private const string Table = "/proc/net/nf_conntrack";
    private const string Accounting = ConntrackAccounting.Switch;
    private const int Top = 20;
    private const int TopPairs = 256;
    private IReadOnlyList<ConntrackFlows.Entry>? _before,
        _after;
    private string? _unavailable;
    private NodeFlows? _result;

    /// <summary>At the window's start.</summary>
    public void Start()
    {
        try
        {
            if (File.ReadAllText(Accounting).Trim() == "0")
            {
                _unavailable =
                    "connection tracking's accounting is off and could not be turned on; run the node sampler as "
                    + "root, or set net.netfilter.nf_conntrack_acct=1 on the node";
                return;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _unavailable = $"{Accounting}: {e.Message} (no connection tracking here, or not readable)";
            return;
        }
        _before = Read(out _unavailable);
    }

    /// <summary>At the window's end, or when the job stops early: the talkers are ranked and their processes found
    /// now, while the connections and processes still exist.</summary>
    public void Stop()
    {
        if (_before is not null && _after is null)
            _after = Read(out _unavailable);
        if (_before is not null && _after is not null && _result is null)
            _result = Rank(_before, _after);
    }

    /// <summary>The top talkers between the two readings: the flows that use one of the benchmark's ports, and the
    /// others.</summary>
    public NodeFlows Result =>
        _result ?? new NodeFlows([], [], _unavailable ?? "the window's edges were not both read");

    private NodeFlows Rank(IReadOnlyList<ConntrackFlows.Entry> before, IReadOnlyList<ConntrackFlows.Entry> after)
    {
        bool Ours(ConntrackFlows.Entry e) => e.Uses(ports);
        var pairs = ConntrackFlows.Pairs(before, after, Ours, TopPairs, out long unlisted);
        return new NodeFlows(
            ConntrackFlows.TopTalkers(before, after, Top, Ours),
            SocketOwners.Attach(ConntrackFlows.TopTalkers(before, after, Top, e => !Ours(e))),
            Pairs: pairs,
            UnlistedBytes: unlisted
        );
    }

    private static IReadOnlyList<ConntrackFlows.Entry>? Read(out string? unavailable)
    {
        unavailable = null;
        try
        {
            return ConntrackFlows.Parse(File.ReadLines(Table));
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            unavailable =
                $"no connection tracking here: {Table} is missing (the nf_conntrack module is not loaded, or the "
                + "kernel does not show its table in /proc)";
        }
        catch (UnauthorizedAccessException)
        {
            unavailable = $"{Table} is readable by root only; run the node sampler as root";
        }
        catch (IOException e)
        {
            unavailable = $"{Table}: {e.Message}";
        }
        return null;
    }
}
