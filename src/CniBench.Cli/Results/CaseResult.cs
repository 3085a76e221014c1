using System.Text.Json;
using System.Text.Json.Serialization;
using CniBench.Contracts.Json;
using CniBench.Contracts.Measurement;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Cli.Results;

[JsonConverter(typeof(KebabEnumConverter<ResultState>))]
public enum ResultState
{
    Ok,
    Failed,
    Interrupted,
}

[JsonConverter(typeof(KebabEnumConverter<RunState>))]
public enum RunState
{
    Running,
    Completed,
    Failed,
    Interrupted,
    Abandoned,
}

/// <summary>What one agent measured in one case: every sample (warm-up included, tagged) and its result.</summary>
public sealed record AgentSide(string Agent, IReadOnlyList<Sample> Samples, JobResult? Result, string? Error);

/// <summary>
/// One repetition of one case: the stored document. Everything a report needs is in here, so a
/// report can always be rebuilt from the store alone.
/// </summary>
public sealed record CaseResult(
    string RunId,
    string Suite,
    string Case,
    string Config,
    int Repetition,
    string Target,
    string Placement,
    string? AchievedPlacement,
    string IpFamily,
    WorkloadSpec Workload,
    int WarmupMs,
    int DurationMs,
    IReadOnlyDictionary<string, string> Parameters,
    DateTimeOffset StartedAt,
    DateTimeOffset FinishedAt,
    ResultState State,
    string? Error,
    IReadOnlyDictionary<string, double> Metrics,
    AgentSide Client,
    AgentSide? Server
)
{
    /// <summary>
    /// What a suite's feature adds to the stored document, by its key (a convergence case's changes and sightings):
    /// stored as the document's own properties, so that Results needs no suite's types and a feature's part reads
    /// back as it was written (<see cref="Extension{T}"/>).
    /// </summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extensions { get; init; }

    /// <summary>A feature's part of the result, or null when it has none.</summary>
    public T? Extension<T>(string key)
        where T : class =>
        Extensions?.TryGetValue(key, out var part) == true ? part.Deserialize<T>(StoreJson.Options) : null;

    /// <summary>The result with a feature's part set.</summary>
    public CaseResult WithExtension<T>(string key, T part) =>
        this with
        {
            Extensions = new Dictionary<string, JsonElement>(Extensions ?? [])
            {
                [key] = JsonSerializer.SerializeToElement(part, StoreJson.Options),
            },
        };

    /// <summary>Targets whose agents run on this host: the processes other than the agents that used most CPU in the
    /// window.</summary>
    public IReadOnlyList<ProcessShare>? BusiestOtherProcesses { get; init; }
}

public sealed record RunRecord(
    string Id,
    string Suite,
    string Target,
    string Config,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    RunState State,
    IReadOnlyDictionary<string, string> Environment,
    string Scenario,
    Ownership.ProcessOwner? Controller = null,
    DateTimeOffset? HeartbeatAt = null,
    string? Error = null
);
