namespace CniBench.Cli.Results;

/// <summary>A process (by name) and the CPU it used in a case's window, in percent of one core.</summary>
public sealed record ProcessShare(string Name, double CpuPercent);
