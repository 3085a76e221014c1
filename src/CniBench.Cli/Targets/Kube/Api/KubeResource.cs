using System.Globalization;

namespace CniBench.Cli.Targets.Kube.Api;

/// <summary>
/// A resource collection or object of the API, and its URL path: core resources under /api/v1, others
/// under /apis/GROUP/VERSION; namespaced or cluster-wide; a subresource (status, exec, proxy) after the name.
/// </summary>
public sealed record KubeResource(
    string Group,
    string Version,
    string Plural,
    string? Namespace = null,
    string? Name = null,
    string? Subresource = null
)
{
    public static KubeResource Core(string plural, string? ns = null, string? name = null) =>
        new("", "v1", plural, ns, name);

    public KubeResource Named(string name) => this with { Name = name };

    public string Path
    {
        get
        {
            var path = Group.Length == 0 ? $"/api/{Version}" : $"/apis/{Group}/{Version}";
            if (Namespace is not null)
                path += $"/namespaces/{Uri.EscapeDataString(Namespace)}";
            path += $"/{Plural}";
            if (Name is not null)
                path += $"/{Uri.EscapeDataString(Name)}";
            if (Subresource is not null)
                path += $"/{Subresource}";
            return path;
        }
    }

    /// <summary>apiVersion as objects carry it: "v1" or "group/version".</summary>
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Plural}{(Name is null ? "" : "/" + Name)}");
}
