using System.Text.Json.Nodes;

namespace CniBench.Cli.Features.Convergence;

/// <summary>
/// Follows one Service's EndpointSlices as a proxy does: the endpoints new connections may go to are the
/// ready ones (a missing `ready` condition counts as ready, as the API says consumers should take it) of
/// the case's address type, over all slices. Every (re)list and watch event that changes that set becomes
/// endpoint changes stamped with the instant the controller saw it: an address that became ready is an
/// `add`, one that stopped being ready (terminating, deleted) a `remove`.
/// </summary>
public sealed class EndpointSliceTracker(string addressType)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, IReadOnlyList<(string Address, bool Ready)>> _slices = new();
    private readonly List<EndpointChange> _changes = new();
    private HashSet<string> _ready = new();
    private bool _recording;

    /// <summary>Changes recorded since <see cref="StartRecording"/>.</summary>
    public IReadOnlyList<EndpointChange> Changes
    {
        get
        {
            lock (_gate)
                return _changes.ToArray();
        }
    }

    /// <summary>Addresses new connections may go to now.</summary>
    public IReadOnlySet<string> Ready
    {
        get
        {
            lock (_gate)
                return _ready.ToHashSet();
        }
    }

    /// <summary>Every address in a slice, ready or not (terminating endpoints stay until their pods are
    /// gone).</summary>
    public IReadOnlySet<string> Present
    {
        get
        {
            lock (_gate)
                return _slices.Values.SelectMany(s => s).Select(e => e.Address).ToHashSet();
        }
    }

    /// <summary>From now on, changes to the ready set are recorded; before, only the state is kept.</summary>
    public void StartRecording()
    {
        lock (_gate)
            _recording = true;
    }

    /// <summary>A (re)list: the slices as they are now. After a 410 Gone, what happened in between shows as one change
    /// at this instant.</summary>
    public void Reset(IEnumerable<JsonObject> slices, long atUnixUs)
    {
        lock (_gate)
        {
            _slices.Clear();
            foreach (var slice in slices)
                Put(slice);
            Diff(atUnixUs);
        }
    }

    public void Apply(string eventType, JsonObject slice, long atUnixUs)
    {
        lock (_gate)
        {
            if (eventType == "DELETED")
                _slices.Remove(NameOf(slice));
            else
                Put(slice);
            Diff(atUnixUs);
        }
    }

    private static string NameOf(JsonObject slice) => (string?)slice["metadata"]?["name"] ?? "";

    private void Put(JsonObject slice)
    {
        if ((string?)slice["addressType"] != addressType)
            return;
        _slices[NameOf(slice)] = (slice["endpoints"] as JsonArray)
            ?.OfType<JsonObject>()
            .SelectMany(e =>
                ((e["addresses"] as JsonArray)?.Select(a => (string?)a).OfType<string>() ?? []).Select(a =>
                    (a, (bool?)e["conditions"]?["ready"] ?? true)
                )
            )
            .ToArray()
            ?? [];
    }

    private void Diff(long atUnixUs)
    {
        var now = _slices.Values.SelectMany(s => s).Where(e => e.Ready).Select(e => e.Address).ToHashSet();
        if (_recording)
        {
            foreach (var added in now.Except(_ready).Order(StringComparer.Ordinal))
                _changes.Add(new EndpointChange(_changes.Count + 1, "add", added, null, atUnixUs, null));
            foreach (var removed in _ready.Except(now).Order(StringComparer.Ordinal))
                _changes.Add(new EndpointChange(_changes.Count + 1, "remove", null, removed, atUnixUs, null));
        }
        _ready = now;
    }
}
