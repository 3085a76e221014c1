using System.Security.Cryptography;
using System.Text.Json;
using CniBench.Cli.Results;

namespace CniBench.Cli.Storage;

/// <summary>A run and results the database would not take, kept as one JSON file: what `runs import` reads.</summary>
public sealed record UnsavedRun(RunRecord Run, IReadOnlyList<CaseResult> Results);

/// <summary>
/// Where a run's results go when the database refuses them (read-only, disk full, server gone): a JSON
/// file beside the database, else in the temporary directory when that place is full too. Nothing
/// measured is lost; `cnibench runs import FILE` puts it into a database later.
/// </summary>
public sealed class UnsavedResults(string preferredDirectory, RunRecord run)
{
    private readonly List<CaseResult> _results = [];
    private RunRecord _run = run;

    /// <summary>The file written last; null until something was kept.</summary>
    public string? Path { get; private set; }

    public int Count => _results.Count;

    public void Add(CaseResult result)
    {
        _results.Add(result);
        Write();
    }

    public void Finish(RunRecord finished)
    {
        _run = finished;
        Write();
    }

    private void Write()
    {
        var json = JsonSerializer.Serialize(new UnsavedRun(_run, _results), StoreJson.Indented);
        var name = $"cnibench-unsaved-{_run.Id}.json";
        foreach (var directory in new[] { preferredDirectory, System.IO.Path.GetTempPath() }.Distinct())
        {
            var path = System.IO.Path.Combine(directory, name);
            if (TryWriteWhole(path, json))
            {
                Path = path;
                return;
            }
        }
        throw new IOException(
            $"could not keep the unsaved results anywhere (tried {preferredDirectory} and "
                + $"{System.IO.Path.GetTempPath()})"
        );
    }

    /// <summary>
    /// Whole or not at all: written beside, then moved over the previous version. The file beside has a name nobody
    /// can guess and is created new (O_EXCL, which follows no symlink), so in a shared directory such as /tmp another
    /// user cannot point it elsewhere; the move replaces whatever is at the path, link or not, without following it.
    /// </summary>
    private static bool TryWriteWhole(string path, string json)
    {
        string beside = $"{path}.{Convert.ToHexString(RandomNumberGenerator.GetBytes(8))}.tmp";
        try
        {
            using (
                var file = new FileStream(
                    beside,
                    new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write }
                )
            )
            using (var writer = new StreamWriter(file))
                writer.Write(json);
            File.Move(beside, path, overwrite: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                File.Delete(beside);
            }
            // the next place is tried all the same
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException) { }
            return false;
        }
    }

    public static UnsavedRun Read(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<UnsavedRun>(File.ReadAllText(path), StoreJson.Options)
                ?? throw new StoreException($"{path}: empty; allowed: a cnibench-unsaved-*.json file");
        }
        catch (JsonException e)
        {
            throw new StoreException(
                $"{path}: not a file of unsaved results ({e.Message}); allowed: a cnibench-unsaved-*.json file"
            );
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new StoreException($"{path}: cannot read it: {e.Message}");
        }
    }
}
