using System.Text.Json.Serialization;

namespace CniBench.Cli.Targets.Lab.Network;

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
