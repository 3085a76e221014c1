using System.Text.Json.Serialization;

namespace CniBench.Cli.Targets.Lab.Network.Services;

/// <summary>
/// Which iptables writes kube-proxy's iptables mode: Debian's default `iptables` is the nf_tables backend
/// (rules become nf_tables objects); `iptables-legacy` drives the old x_tables. Both are real choices of
/// clusters in the field, so the lab offers both and records which one ran.
/// </summary>
[JsonConverter(typeof(CniBench.Contracts.Json.KebabEnumConverter<IptablesBackend>))]
public enum IptablesBackend
{
    Nft,
    Legacy,
}

public static class IptablesBackends
{
    public static string RestoreTool(this IptablesBackend backend, LabFamily family) =>
        $"{(family.IsV6 ? "ip6tables" : "iptables")}-{(backend == IptablesBackend.Legacy ? "legacy" : "nft")}-restore";

    /// <summary>The tool's own version line, e.g. "iptables v1.8.9 (legacy)".</summary>
    public static async Task<string> DescribeAsync(IptablesBackend backend, CancellationToken cancellationToken)
    {
        try
        {
            return (
                await LabShell.RunAsync(
                    backend == IptablesBackend.Legacy ? "iptables-legacy" : "iptables-nft",
                    ["-V"],
                    null,
                    cancellationToken
                )
            ).Trim();
        }
        catch (LabException e)
        {
            return $"unknown ({e.Message})";
        }
    }
}
