using System.Text.Json.Serialization;

namespace CniBench.Contracts.Protocol;

/// <summary>Source-generated JSON for everything that crosses the wire: trim-safe and culture-free.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals
)]
[JsonSerializable(typeof(AgentInfo))]
[JsonSerializable(typeof(JobSpec))]
[JsonSerializable(typeof(StartRequest))]
[JsonSerializable(typeof(JobStatus))]
[JsonSerializable(typeof(JobResult))]
[JsonSerializable(typeof(ErrorResponse))]
[JsonSerializable(typeof(ClockReading))]
[JsonSerializable(typeof(RunOutput))]
[JsonSerializable(typeof(AgentIdentity))]
[JsonSerializable(typeof(Measurement.HistogramSnapshot))]
[JsonSerializable(typeof(Measurement.NetStack))]
[JsonSerializable(typeof(List<Measurement.Sample>))]
public sealed partial class ContractsJson : JsonSerializerContext;
