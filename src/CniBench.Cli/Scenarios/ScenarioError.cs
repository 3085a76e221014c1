namespace CniBench.Cli.Scenarios;

/// <summary>One mistake in a scenario file, printed as file:line:col: field: what is wrong; allowed: ...</summary>
public sealed record ScenarioError(
    string File,
    int Line,
    int Column,
    string Field,
    string Problem,
    string? Allowed = null
)
{
    public override string ToString() =>
        $"{File}:{Line}:{Column}: {Field}: {Problem}{(Allowed is null ? "" : $"; allowed: {Allowed}")}";
}

public sealed class ScenarioException(IReadOnlyList<ScenarioError> errors)
    : Exception(string.Join(Environment.NewLine, errors))
{
    public IReadOnlyList<ScenarioError> Errors { get; } = errors;
}
