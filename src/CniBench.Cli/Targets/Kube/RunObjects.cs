using System.Collections.Concurrent;
using System.Net;
using System.Text.Json.Nodes;
using CniBench.Cli.Targets.Kube.Api;

namespace CniBench.Cli.Targets.Kube;

/// <summary>
/// Writes the named objects of one run. The first write of each is a create, which the API server refuses when an
/// object of that name is already there: in a namespace the user gave (-n), a run never takes over, changes or (through
/// the run label it would add) deletes an object it did not make. The writes after it are server-side applies of what
/// the run made.
/// </summary>
public sealed class RunObjects(KubeClient kube)
{
    private readonly ConcurrentDictionary<string, byte> _made = new();

    public async Task<JsonObject> ApplyAsync(
        KubeResource resource,
        JsonObject body,
        CancellationToken cancellationToken
    )
    {
        if (_made.ContainsKey(resource.Path))
            return await kube.ApplyAsync(resource, body, cancellationToken);
        try
        {
            var created = await kube.CreateAsync(resource with { Name = null }, body, cancellationToken);
            _made[resource.Path] = 0;
            return created;
        }
        catch (KubeApiException e) when (e.Status == HttpStatusCode.Conflict)
        {
            throw new TargetException(
                $"{resource.Plural} '{resource.Name}' already exists in namespace {resource.Namespace} and this run "
                    + "did not make it; a run changes and deletes only what it made: remove it, or give another "
                    + "namespace (-n)"
            );
        }
    }
}
