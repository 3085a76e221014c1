namespace CniBench.Contracts.Cli;

/// <summary>Exit codes of both executables, so scripts can tell a failed run from a mistyped flag.</summary>
public static class ExitCodes
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int BadInput = 2;
    public const int Interrupted = 130;
}
