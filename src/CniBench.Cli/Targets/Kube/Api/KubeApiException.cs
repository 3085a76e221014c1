using System.Net;
using System.Text.Json.Nodes;

namespace CniBench.Cli.Targets.Kube.Api;

/// <summary>
/// The API server refused a request. The message says what cnibench tried (verb, resource, namespace),
/// what the server answered (its Status reason and message) and, for a 403, which permission is missing.
/// </summary>
public sealed class KubeApiException(
    string verb,
    KubeResource resource,
    HttpStatusCode status,
    string? reason,
    string serverMessage
) : Exception(Describe(verb, resource, status, reason, serverMessage))
{
    public string Verb { get; } = verb;
    public KubeResource Resource { get; } = resource;
    public HttpStatusCode Status { get; } = status;
    public string? Reason { get; } = reason;

    public static KubeApiException From(string verb, KubeResource resource, HttpStatusCode status, string body)
    {
        string? reason = null,
            message = null;
        try
        {
            if (JsonNode.Parse(body) is JsonObject { } o && (string?)o["kind"] == "Status")
            {
                reason = (string?)o["reason"];
                message = (string?)o["message"];
            }
        }
        catch (System.Text.Json.JsonException)
        {
            // Not a Status object (a proxy in front of the server, say): the text itself is the message.
        }
        return new KubeApiException(
            verb,
            resource,
            status,
            reason,
            message ?? (body.Length > 300 ? body[..300] : body).Trim()
        );
    }

    private static string Describe(
        string verb,
        KubeResource resource,
        HttpStatusCode status,
        string? reason,
        string message
    )
    {
        string where = resource.Namespace is null ? "" : $" in namespace {resource.Namespace}";
        string what =
            $"{verb} "
            + $"{resource.Plural}{(resource.Group.Length == 0 ? "" : "." + resource.Group)}"
            + $"{(resource.Name is null ? "" : "/" + resource.Name)}{where}";
        return status switch
        {
            HttpStatusCode.Forbidden => $"forbidden: cnibench needs '{verb}' on "
                + $"'{resource.Plural}{(resource.Group.Length == 0 ? "" : "." + resource.Group)}'{where} (RBAC; "
                + $"deploy/rbac.yaml lists what it needs): {message}",
            HttpStatusCode.Unauthorized =>
                $"unauthorized: the API server did not accept the credentials of this kubeconfig context ({what}): "
                    + $"{message}",
            _ => $"{what}: {(int)status} {reason ?? status.ToString()}: {message}",
        };
    }
}
