using CniBench.Cli.Agents;
using CniBench.Contracts.Measurement;
using CniBench.Contracts.Protocol;

namespace CniBench.Cli.Targets.Hooks;

/// <summary>
/// Node samplers on the case's nodes (kube --node-sampler): a monitor job on each, in the case's window, watching the
/// processes that program the dataplane; their figures become the node and dataplane metrics.
/// </summary>
public sealed class NodeSamplersHook(IReadOnlyList<NodeSampler> samplers) : ICaseHook
{
    private readonly (NodeSampler Sampler, JobTracker Job)[] _jobs = samplers
        .Select(s => (s, new JobTracker(s.Agent)))
        .ToArray();

    public int Jobs => _jobs.Length;

    public async Task CreateAsync(int warmupMs, int durationMs, CancellationToken cancellationToken)
    {
        foreach (var (_, job) in _jobs)
            await job.CreateAsync(new JobSpec(NodeSampler.Monitor, warmupMs, durationMs), cancellationToken);
    }

    public async Task StartAsync(long startAtUnixMs, CancellationToken cancellationToken)
    {
        foreach (var (_, job) in _jobs)
            await job.StartAsync(startAtUnixMs, cancellationToken);
    }

    public Task FinishAsync(TimeSpan poll, CancellationToken cancellationToken) =>
        Task.WhenAll(_jobs.Select(x => x.Job.FollowAsync(poll, JobTracker.SilenceLimit, _ => { }, cancellationToken)));

    public async Task CancelAsync()
    {
        foreach (var (_, job) in _jobs)
            await job.CancelQuietlyAsync();
    }

    public IReadOnlyDictionary<string, double> Metrics(JobResult? client) =>
        MetricsOf(_jobs.Select(x => (x.Sampler, x.Job.Status?.Result, x.Job.Samples)).ToArray());

    public static Dictionary<string, double> MetricsOf(
        IReadOnlyList<(NodeSampler Sampler, JobResult? Result, IReadOnlyList<Sample> Samples)> sampled
    )
    {
        var m = new Dictionary<string, double>();
        double cni = 0,
            kubeProxy = 0;
        bool any = false;
        foreach (var (sampler, result, samples) in sampled)
        {
            var measured = samples.Where(s => s.Phase == Phase.Measured).ToList();
            if (measured.Count > 0)
            {
                double cpu = Contracts
                    .Measurement.Metrics.Describe(Contracts.Measurement.Metrics.NodeServerCpuPercent)
                    .FoldSamples(measured, s => s.HostCpuPercent);
                if (sampler.Server)
                    m[Contracts.Measurement.Metrics.NodeServerCpuPercent] = cpu;
                if (sampler.Client)
                    m[Contracts.Measurement.Metrics.NodeClientCpuPercent] = cpu;
            }
            if (result?.Node is not { } node)
                continue;
            any = true;
            if (sampler.Server)
                m[Contracts.Measurement.Metrics.NodeServerMemoryMiB] = node.MemoryUsedMiB;
            if (sampler.Client)
                m[Contracts.Measurement.Metrics.NodeClientMemoryMiB] = node.MemoryUsedMiB;
            cni += node.ProcessCpuPercent.Where(p => p.Key != NodeSampler.KubeProxy).Sum(p => p.Value);
            kubeProxy += node.ProcessCpuPercent.GetValueOrDefault(NodeSampler.KubeProxy);
        }
        if (any)
        {
            m[Contracts.Measurement.Metrics.CniCpuPercent] = cni;
            m[Contracts.Measurement.Metrics.KubeProxyCpuPercent] = kubeProxy;
        }
        return m;
    }
}
