using System.Globalization;
using System.Text;
using System.Text.Json;
using CniBench.Agent.Http;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Agent.Servers;

/// <summary>
/// The data HTTP server's routes: GET /echo[?size=N] answers with the agent's identity (in a header,
/// and as the body when no size is asked), GET /healthz for readiness probes.
/// </summary>
public sealed class EchoHandler
{
    public const string BackendHeader = "X-CniBench-Backend";
    private static readonly HttpResponse Ok = new(200, "ok\n"u8.ToArray());
    private readonly KeyValuePair<string, string>[] _identityHeaders;
    private readonly byte[] _identityBody;

    public EchoHandler(AgentIdentity identity)
    {
        _identityHeaders = [new(BackendHeader, identity.Name)];
        _identityBody = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(identity, ContractsJson.Default.AgentIdentity) + "\n");
    }

    public ValueTask<HttpResponse> HandleAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.Method is not ("GET" or "HEAD"))
            return ValueTask.FromResult(Text(405, "only GET is served\n"));
        return request.Path switch
        {
            "/echo" => ValueTask.FromResult(Echo(request)),
            "/healthz" => ValueTask.FromResult(Ok),
            _ => ValueTask.FromResult(Text(404, "routes: /echo?size=N, /healthz\n")),
        };
    }

    private HttpResponse Echo(HttpRequest request)
    {
        var size = request.QueryValue("size");
        if (size is null)
            return new HttpResponse(200, _identityBody, "application/json", _identityHeaders);
        if (!long.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out long bytes) || bytes > Limits.MaxMessageSize)
            return Text(400, $"size must be 0..{Limits.MaxMessageSize}\n");
        return new HttpResponse(200, ReadOnlyMemory<byte>.Empty, "application/octet-stream", _identityHeaders, FillerLength: bytes);
    }

    private static HttpResponse Text(int status, string text) => new(status, Encoding.ASCII.GetBytes(text));
}
