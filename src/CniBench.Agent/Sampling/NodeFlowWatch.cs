using CniBench.Contracts.Protocol;
using CniBench.Contracts.Sampling;

namespace CniBench.Agent.Sampling;

/// <summary>
/// Connection tracking's table at the two edges of a monitor job's window, for the node's top talkers. Byte counters
/// exist only with accounting on (net.netfilter.nf_conntrack_acct), and only on connections made while it is: the
/// watch turns it on for the window where it is off and may be, and puts it back at the end, whatever happens.
/// </summary>
public sealed class NodeFlowWatch
{
    private const string Table = "/proc/net/nf_conntrack";
    private const string Accounting = "/proc/sys/net/netfilter/nf_conntrack_acct";
    private const int Top = 20;
    private IReadOnlyList<ConntrackFlows.Entry>? _before,
        _after;
    private string? _unavailable;
    private bool _turnedOn;

    /// <summary>At the window's start.</summary>
    public void Start()
    {
        try
        {
            if (File.ReadAllText(Accounting).Trim() == "0")
            {
                File.WriteAllText(Accounting, "1");
                _turnedOn = true;
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _unavailable =
                $"connection tracking's accounting is off and cannot be turned on here ({e.Message}); run the node "
                + "sampler as root, or set net.netfilter.nf_conntrack_acct=1 on the node";
            return;
        }
        _before = Read(out _unavailable);
    }

    /// <summary>At the window's end, or when the job stops early.</summary>
    public void Stop()
    {
        try
        {
            if (_before is not null && _after is null)
                _after = Read(out _unavailable);
        }
        finally
        {
            if (_turnedOn)
            {
                try
                {
                    File.WriteAllText(Accounting, "0");
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException) { }
                _turnedOn = false;
            }
        }
    }

    /// <summary>The top talkers between the two readings: the flows that use one of <paramref name="ports"/>, and the
    /// others.</summary>
    public NodeFlows Result(IReadOnlyCollection<int> ports) =>
        _before is null || _after is null
            ? new NodeFlows([], [], _unavailable ?? "the window's edges were not both read")
            : new NodeFlows(
                ConntrackFlows.TopTalkers(_before, _after, Top, e => e.Uses(ports)),
                ConntrackFlows.TopTalkers(_before, _after, Top, e => !e.Uses(ports))
            );

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
