using CniBench.Cli.Results;

namespace CniBench.Cli.Storage;

/// <summary>
/// Which stored results a report or a comparison is about, and which runs they came from. A run named
/// by id is taken whatever its state; results gathered by configuration label come from completed runs
/// only, unless incomplete ones are asked for, so an interrupted or killed run never tips a verdict unseen.
/// </summary>
public sealed record ResultSelection(
    string Key,
    IReadOnlyList<RunRecord> Runs,
    IReadOnlyList<RunRecord> LeftOut,
    IReadOnlyList<CaseResult> Results
)
{
    /// <summary>"'kpr': 2 runs pooled (a, b), 6 repetitions; left out, not completed: c (interrupted)".</summary>
    public string Describe()
    {
        var text =
            $"'{Key}': {(Runs.Count == 1 ? "run" : $"{Runs.Count} runs pooled")} "
            + $"({string.Join(", ", Runs.Select(r => r.Id))}), {Results.Count} repetitions";
        if (LeftOut.Count > 0)
            text +=
                $"; left out, not completed: {string.Join(", ", LeftOut.Select(r => $"{r.Id} ({Name(r.State)})"))} "
                + $"(--include-incomplete takes them)";
        return text;
    }

    public static ResultSelection OfRun(ResultStore store, RunRecord run) =>
        new(run.Id, [run], [], store.Results(run.Id));

    /// <summary>A run (id, unique prefix, or `latest`) if one matches, else a configuration label.</summary>
    public static ResultSelection ByKey(ResultStore store, string key, string flag, bool includeIncomplete)
    {
        var runs = store.ListRuns();
        if (key == "latest" || runs.Any(r => r.Id.StartsWith(key, StringComparison.Ordinal)))
            return OfRun(store, store.ResolveRun(key));
        var labels = store.ConfigLabels();
        if (labels.Contains(key))
            return OfConfig(store, key, includeIncomplete);
        throw new StoreException(
            $"{flag}: no run or configuration label '{key}'; allowed: a run id (or its first characters, or "
                + $"'latest') from 'cnibench runs list', or one of the labels: {string.Join(", ", labels)}"
        );
    }

    public static ResultSelection OfConfig(ResultStore store, string label, bool includeIncomplete)
    {
        var all = store.ResultsForConfig(label);
        var withResults = all.Select(r => r.RunId).ToHashSet();
        var runs = store.ListRuns().Where(r => withResults.Contains(r.Id)).ToArray();
        var taken = runs.Where(r => includeIncomplete || r.State == RunState.Completed)
            .OrderBy(r => r.StartedAt)
            .ThenBy(r => r.Id, StringComparer.Ordinal)
            .ToArray();
        var leftOut = runs.Except(taken).ToArray();
        var ids = taken.Select(r => r.Id).ToHashSet();
        var results = all.Where(r => ids.Contains(r.RunId)).ToArray();
        if (results.Length == 0)
            throw new StoreException(
                leftOut.Length > 0
                    ? $"configuration '{label}' has no completed run "
                        + $"({string.Join(", ", leftOut.Select(r => $"{r.Id} {Name(r.State)}"))}); "
                        + $"--include-incomplete takes those"
                    : $"no results with configuration label '{label}'; allowed: "
                        + $"{string.Join(", ", store.ConfigLabels())}"
            );
        return new ResultSelection(label, taken, leftOut, results);
    }

    /// <summary>The newest completed run: what `report` shows when not told which.</summary>
    public static RunRecord NewestCompleted(ResultStore store)
    {
        var runs = store.ListRuns();
        if (runs.Count == 0)
            throw new StoreException("no runs stored yet; 'cnibench run' makes one");
        return runs.FirstOrDefault(r => r.State == RunState.Completed)
            ?? throw new StoreException(
                $"no completed run; the newest is {runs[0].Id} ({Name(runs[0].State)}): give --run {runs[0].Id} to "
                    + $"report on it anyway"
            );
    }

    private static string Name(RunState state) => state.ToString().ToLowerInvariant();
}
