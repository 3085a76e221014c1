using CniBench.Cli.Scenarios;
using CniBench.Cli.Targets;
using CniBench.Cli.Targets.Kube;
using CniBench.Cli.Targets.Lab;
using CniBench.Cli.Targets.Lab.Network;
using CniBench.Cli.Targets.Local;

namespace CniBench.Cli.Commands;

/// <summary>Turns `--target NAME [--lab ID]` into a target, or a clear reason why not.</summary>
public static class TargetFactory
{
    public static IReadOnlyList<string> Names { get; } = ["local", "lab", "kube"];

    public static async Task<ITarget> CreateAsync(
        string name,
        string? labId,
        CancellationToken cancellationToken,
        Func<KubeTargetOptions, ITarget>? kube = null,
        IReadOnlyCollection<IpFamily>? families = null
    )
    {
        if (name == "kube")
        {
            var runId = Convert
                .ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3))
                .ToLowerInvariant();
            if (kube is null)
                throw new TargetException("--target kube: no cluster connection was given");
            return kube(
                new KubeTargetOptions(KubeOptions.DefaultImage, runId, TimeSpan.FromHours(6), TimeSpan.FromMinutes(3))
            );
        }
        var agent = AgentCommand.Locate();
        if (name == "local")
            return new LocalTarget(agent);
        if (!Environment.IsPrivilegedProcess)
            throw new TargetException(
                "--target lab: the lab needs root (agents run in network namespaces); run with sudo"
            );
        var labs = (await LabBuilder.LabIdsAsync(cancellationToken))
            .Select(LabBuilder.Load)
            .OfType<LabSpec>()
            .ToArray();
        if (labId is null && labs.Length == 0)
        {
            // Nothing up: the run builds a lab of its own (2 nodes × 2 pods, each node its own zone) with the families
            // the cases ask for, and removes it at the end.
            bool v6 = families?.Contains(IpFamily.Ipv6) == true,
                v4 = families is null || families.Contains(IpFamily.Ipv4);
            var spec = new LabSpec(
                LabSpec.NewId(),
                2,
                2,
                LabRouting.Native,
                1500,
                IpFamily: v6 ? (v4 ? LabIpFamily.Dual : LabIpFamily.Ipv6) : LabIpFamily.Ipv4,
                Zones: 2
            );
            return await LabTarget.BuildAsync(spec, agent, cancellationToken);
        }
        var existing =
            labId is not null
                ? labs.FirstOrDefault(l => l.Id == labId)
                    ?? throw new TargetException(
                        $"--lab: no lab '{labId}' is up; allowed: "
                            + (
                                labs.Length == 0
                                    ? "none (without --lab the run builds its own)"
                                    : string.Join(", ", labs.Select(l => l.Id))
                            )
                    )
            : labs.Length == 1 ? labs[0]
            : throw new TargetException(
                $"--target lab: {labs.Length} labs are up; name one with --lab "
                    + $"({string.Join(", ", labs.Select(l => l.Id))})"
            );
        return LabTarget.Existing(existing, agent);
    }
}
