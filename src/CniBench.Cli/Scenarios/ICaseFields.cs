using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Scenarios;

/// <summary>
/// The scenario fields a suite's feature adds to a case, and how it turns their values into its options. The loader
/// knows only the fields every case has (<see cref="ScenarioFields.CaseFields"/>); a feature's fields are allowed,
/// read, checked and explained ("did you mean", the schema, the field help) only because a feature lists them here.
/// </summary>
public interface ICaseFields
{
    /// <summary>The feature's name: the key of its options in <see cref="PlannedCase.FeatureOptions"/>.</summary>
    string Name { get; }

    IReadOnlyList<ScenarioFields.Field> Fields { get; }

    /// <summary>The case's options for this feature, or null when the case does not use it; a problem goes to
    /// <see cref="CaseValues.Error"/>, located at its field.</summary>
    object? Read(CaseValues values);
}

/// <summary>One expanded case's field values, as a feature reads them.</summary>
public sealed class CaseValues(
    WorkloadKind kind,
    IReadOnlyDictionary<string, object> values,
    Action<string, string, string, string> error
)
{
    public WorkloadKind Kind => kind;

    public Placement Placement => Get("placement", Placement.HostToHost);

    public bool Has(string field) => values.ContainsKey(field);

    public T Get<T>(string field, T fallback) => values.TryGetValue(field, out var value) ? (T)value : fallback;

    /// <summary>A problem with <paramref name="field"/>, located at the value of <paramref name="at"/> (by default
    /// the field's own), or at the case when that is missing.</summary>
    public void Error(string field, string problem, string allowed, string? at = null) =>
        error(field, problem, allowed, at ?? field);
}
