using System.Text.Json.Serialization;
using CniBench.Contracts.Json;

namespace CniBench.Cli.Scenarios;

// What a scenario may ask of the dataplane it runs on: the lab builds it so, a cluster is described by it.

/// <summary>What programs the service rules: nothing, iptables, nftables, or eBPF socket load balancing.</summary>
[JsonConverter(typeof(KebabEnumConverter<ProxyMode>))]
public enum ProxyMode
{
    None,
    Iptables,
    Nftables,
    Ebpf,
}

/// <summary>How nodes reach each other's pods: routed natively, or through a VXLAN overlay.</summary>
[JsonConverter(typeof(KebabEnumConverter<LabRouting>))]
public enum LabRouting
{
    Native,
    Vxlan,
}

/// <summary>How pods reach the external host: each node SNATs its own pods, or all go through the gateway
/// node.</summary>
[JsonConverter(typeof(KebabEnumConverter<EgressMode>))]
public enum EgressMode
{
    Direct,
    Gateway,
}
