namespace CniBench.Cli.Targets;

/// <summary>
/// What features keep on a target for the length of a run (a suite's objects made once per run, a watch), one of each
/// type, made on first use; those that hold something outside the controller are disposed when the run ends, the last
/// made first.
/// </summary>
public sealed class RunParts : IAsyncDisposable
{
    private readonly List<object> _parts = new();

    public T Get<T>(Func<T> make)
        where T : class
    {
        if (_parts.OfType<T>().FirstOrDefault() is { } made)
            return made;
        var part = make();
        _parts.Add(part);
        return part;
    }

    public async ValueTask DisposeAsync()
    {
        for (int i = _parts.Count - 1; i >= 0; i--)
            if (_parts[i] is IAsyncDisposable disposable)
                await disposable.DisposeAsync();
        _parts.Clear();
    }
}
