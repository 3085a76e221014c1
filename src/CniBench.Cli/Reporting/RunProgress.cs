using CniBench.Cli.Scenarios;

namespace CniBench.Cli.Reporting;

/// <summary>
/// How far a run is and how long the rest should take: the plan's own estimate of what is left,
/// scaled by how much longer than planned the finished repetitions really took (start-up, agents,
/// lab programming are not in the plan).
/// </summary>
public sealed class RunProgress(Scenario scenario, TimeProvider clock, Func<PlannedCase, TimeSpan>? preparation = null)
{
    private readonly long _started = clock.GetTimestamp();
    private long _caseStarted;
    private TimeSpan _plannedDone,
        _elapsedAtLastFinish;
    private TimeSpan _currentPlanned;

    public TimeSpan Elapsed => clock.GetElapsedTime(_started);

    public void CaseStarted(PlannedCase plannedCase)
    {
        _caseStarted = clock.GetTimestamp();
        _currentPlanned = plannedCase.EstimateRepetition(preparation);
    }

    public void CaseFinished()
    {
        _plannedDone += _currentPlanned;
        _elapsedAtLastFinish = Elapsed;
        _currentPlanned = TimeSpan.Zero;
    }

    /// <summary>The estimated time left for the whole run.</summary>
    public TimeSpan Remaining
    {
        get
        {
            var plannedLeft = Total - _plannedDone - Min(clock.GetElapsedTime(_caseStarted), _currentPlanned);
            double overrun = _plannedDone > TimeSpan.Zero ? Math.Max(1, _elapsedAtLastFinish / _plannedDone) : 1;
            return plannedLeft <= TimeSpan.Zero ? TimeSpan.Zero : plannedLeft * overrun;
        }
    }

    private TimeSpan Total { get; } = scenario.Estimate(preparation);

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
