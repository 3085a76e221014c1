using CniBench.Agent.Control;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;
using CniBench.Tests.Support;

namespace CniBench.Tests.Control;

[Trait(Category.Name, Category.Unit)]
public class JobStateMachineTests
{
    [Theory]
    [InlineData(JobState.Prepared, JobState.Ready, true)]
    [InlineData(JobState.Ready, JobState.Running, true)]
    [InlineData(JobState.Running, JobState.Done, true)]
    [InlineData(JobState.Running, JobState.Failed, true)]
    [InlineData(JobState.Prepared, JobState.Running, false)]
    [InlineData(JobState.Ready, JobState.Done, false)]
    [InlineData(JobState.Done, JobState.Failed, false)]
    [InlineData(JobState.Failed, JobState.Ready, false)]
    [InlineData(JobState.Done, JobState.Running, false)]
    public void Only_forward_transitions_are_allowed(JobState from, JobState to, bool allowed) =>
        Assert.Equal(allowed, Job.IsAllowed(from, to));

    [Fact]
    public void A_failed_job_keeps_its_first_reason()
    {
        var job = new Job("j", new JobSpec(new WorkloadSpec { Kind = WorkloadKind.Monitor }, 0, 1000), "controller");
        Assert.True(job.TryMove(JobState.Ready));
        job.Abort("first");
        job.Abort("second");
        Assert.Equal(JobState.Failed, job.State);
        Assert.Equal("first", job.Error);
        Assert.False(job.TryMove(JobState.Running));
    }
}
