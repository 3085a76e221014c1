namespace CniBench.Cli.Features.Convergence;

/// <summary>
/// The endpoint changes of a convergence case: a service's endpoints go 1→N one at a time, then each of the
/// N is replaced by a new one, a change every <see cref="Interval"/>; each change is written
/// <see cref="InjectedDelay"/> after it is issued (zero but in tests of the measurement itself).
/// </summary>
public sealed record Churn(int Endpoints, TimeSpan Interval, TimeSpan InjectedDelay)
{
    public const int MaxEndpoints = 60;
    public int Changes => Endpoints - 1 + Endpoints;
}
