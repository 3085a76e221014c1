using CniBench.Cli.Results;
using CniBench.Cli.Scenarios;
using CniBench.Contracts.Measurement;

namespace CniBench.Cli.Running;

/// <summary>What a runner reports as it goes (the live terminal view is one observer).</summary>
public interface IRunObserver
{
    void CaseStarted(PlannedCase plannedCase, int repetition, int index, int total);
    void SampleReceived(PlannedCase plannedCase, Sample sample);
    void CaseFinished(CaseResult result, int index, int total);

    /// <summary>Between start and the first sample: what the run waits for (a cool-down), so a status line never
    /// stands still without a word.</summary>
    void Waiting(PlannedCase plannedCase, string status) { }
}

public sealed class SilentObserver : IRunObserver
{
    public void CaseStarted(PlannedCase plannedCase, int repetition, int index, int total) { }

    public void SampleReceived(PlannedCase plannedCase, Sample sample) { }

    public void CaseFinished(CaseResult result, int index, int total) { }
}
