namespace CniBench.Cli.Scenarios;

/// <summary>Reads scenarios with the fields every case has and those of the given suite features.</summary>
public sealed class ScenarioReader(IReadOnlyList<ICaseFields> features)
{
    /// <summary>Every field a case may hold: the common ones, then each feature's.</summary>
    public IReadOnlyList<ScenarioFields.Field> CaseFields { get; } = ScenarioFields.With(features);

    public Scenario Load(string text, string source) => ScenarioLoader.Load(features, text, source);

    public Scenario LoadFile(string path) => ScenarioLoader.LoadFile(features, path);

    public Scenario LoadSuite(string suite, string? target = null) => ScenarioLoader.LoadSuite(features, suite, target);
}
