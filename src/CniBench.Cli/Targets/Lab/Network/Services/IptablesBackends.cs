namespace CniBench.Cli.Targets.Lab.Network.Services;

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
