using System.Globalization;
using System.Text;
using System.Text.Json;
using CniBench.Agent.Http;
using CniBench.Agent.Wire;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Agent.Servers;

/// <summary>
/// The data HTTP server's routes: GET /echo[?size=N] answers with the agent's identity (in a header,
/// and as the body when no size is asked), GET /healthz for readiness probes. Every echo also says which
/// address the request arrived at (the endpoint a service chose) and which source address the server saw
/// (the SNAT address on an egress path). GET /metrics is the agent's counters for Prometheus.
/// </summary>
public sealed class EchoHandler
{
    private static readonly HttpResponse Ok = new(200, "ok\n"u8.ToArray());
    private readonly string _name;
    private readonly byte[] _identityBody;

    private readonly Func<string>? _metrics;

    /// <param name="metrics">The /metrics page, rendered per request.</param>
    public EchoHandler(AgentIdentity identity, Func<string>? metrics = null)
    {
        _metrics = metrics;
        _name = identity.Name;
        _identityBody = Encoding.UTF8.GetBytes(
            JsonSerializer.Serialize(identity, ContractsJson.Default.AgentIdentity) + "\n"
        );
    }

    public ValueTask<HttpResponse> HandleAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.Method is not ("GET" or "HEAD"))
            return ValueTask.FromResult(Text(405, "only GET is served\n"));
        return request.Path switch
        {
            "/echo" => ValueTask.FromResult(Echo(request)),
            "/healthz" => ValueTask.FromResult(Ok),
            "/metrics" when _metrics is not null => ValueTask.FromResult(
                new HttpResponse(200, Encoding.UTF8.GetBytes(_metrics()), Metrics.PrometheusText.ContentType)
            ),
            _ => ValueTask.FromResult(Text(404, "routes: /echo?size=N, /healthz, /metrics\n")),
        };
    }

    private HttpResponse Echo(HttpRequest request)
    {
        var headers = Headers(request.Connection);
        if (!request.TryGetQueryValue("size", out var size))
            return new HttpResponse(200, _identityBody, "application/json", headers);
        if (
            !long.TryParse(size, NumberStyles.None, CultureInfo.InvariantCulture, out long bytes)
            || bytes > Limits.MaxMessageSize
        )
            return Text(400, $"size must be 0..{Limits.MaxMessageSize}\n");
        return new HttpResponse(
            200,
            ReadOnlyMemory<byte>.Empty,
            "application/octet-stream",
            headers,
            FillerLength: bytes
        );
    }

    /// <summary>The identity headers of a connection's responses: built when its first request comes, then
    /// reused.</summary>
    private KeyValuePair<string, string>[] Headers(HttpConnectionInfo? connection)
    {
        if (connection?.HandlerState is KeyValuePair<string, string>[] cached)
            return cached;
        KeyValuePair<string, string>[] headers =
        [
            new(EchoHeaders.Backend, _name),
            new(EchoHeaders.Address, connection?.LocalAddress ?? "?"),
            new(EchoHeaders.Peer, connection?.RemoteAddress ?? "?"),
        ];
        if (connection is not null)
            connection.HandlerState = headers;
        return headers;
    }

    private static HttpResponse Text(int status, string text) => new(status, Encoding.ASCII.GetBytes(text));
}
