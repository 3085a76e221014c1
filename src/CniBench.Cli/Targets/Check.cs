namespace CniBench.Cli.Targets;

/// <summary>One thing a target needs, found or not (`cnibench doctor`, `kube check`); a missing optional one only
/// warns.</summary>
public sealed record Check(string Name, bool Ok, string Detail, bool Required = true);
