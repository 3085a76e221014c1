using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using CniBench.Agent.Http;
using CniBench.Contracts.Protocol;

namespace CniBench.Agent.Control;

/// <summary>
/// The control API (docs/protocol.md): every /v1 request must name a protocol version this agent
/// speaks and carry the run's token; anything else is refused with a JSON error saying why.
/// </summary>
public sealed class ControlHandler(JobManager jobs, Func<AgentInfo> info, string token)
{
    // Error texts quote values ('2'): keep them readable in the raw JSON a curl user sees.
    private static readonly JsonSerializerOptions Readable = new(ContractsJson.Default.Options)
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };
    private readonly byte[] _expectedAuthorization = Encoding.ASCII.GetBytes($"{ControlProtocol.TokenScheme} {token}");
    private readonly byte[] _expectedToken = Encoding.ASCII.GetBytes(token);

    /// <summary>Before a body is read: a request without the right token (or protocol version) is answered now, its
    /// body never buffered.</summary>
    public HttpResponse? Admit(string method, string path, IReadOnlyDictionary<string, string> headers) =>
        Refusal(new HttpRequest(method, path, "", headers, ReadOnlyMemory<byte>.Empty));

    public async ValueTask<HttpResponse> HandleAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.Path == "/healthz")
            return new HttpResponse(200, "ok\n"u8.ToArray());
        if (Refusal(request) is { } refusal)
            return refusal;
        var segments = request.Path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        var controller = request.Header(ControlProtocol.ControllerHeader) is { Length: > 0 and <= 64 } named
            ? named
            : "anonymous";
        try
        {
            return (request.Method, segments) switch
            {
                ("GET", ["v1", "info"]) => Json(200, InfoFor(request), ContractsJson.Default.AgentInfo),
                ("GET", ["v1", "netstack"]) => Towards(request) is { } towards
                    ? Json(200, Sampling.NetStackReader.Read(towards), ContractsJson.Default.NetStack)
                    : Error(
                        400,
                        $"to: at most {Sampling.NetStackReader.MaxEndpoints} comma-separated endpoints "
                            + $"(host:port or [v6]:port)"
                    ),
                ("GET", ["v1", "clock"]) => Json(
                    200,
                    new ClockReading(UnixClock.NowMicroseconds()),
                    ContractsJson.Default.ClockReading
                ),
                ("POST", ["v1", "jobs"]) => Reply(
                    await jobs.CreateAsync(Parse(request, ContractsJson.Default.JobSpec), controller, cancellationToken)
                ),
                ("POST", ["v1", "jobs", var id, "start"]) => Reply(
                    jobs.Start(id, controller, Parse(request, ContractsJson.Default.StartRequest).StartAtUnixMs)
                ),
                ("POST", ["v1", "jobs", var id, "finish"]) => Reply(jobs.Finish(id, controller)),
                ("GET", ["v1", "jobs", var id]) => Reply(jobs.Poll(id, controller, Cursor(request))),
                ("DELETE", ["v1", "jobs", var id]) => Reply(jobs.Cancel(id, controller)),
                _ => Error(404, $"no route {request.Method} {request.Path}"),
            };
        }
        catch (JsonException e)
        {
            return Error(400, $"malformed JSON body: {e.Message}");
        }
    }

    /// <summary>The agent's info, with the MTU of the interface this request came in by (loopback's on
    /// loopback).</summary>
    private AgentInfo InfoFor(HttpRequest request)
    {
        var described = info() with { AllocatedBytes = GC.GetTotalAllocatedBytes(precise: true) };
        return Sampling.InterfaceMtu.ForAddress(request.Connection?.LocalAddress) is { } mtu
            ? described with
            {
                Mtu = mtu,
            }
            : described;
    }

    /// <summary>Why a request may not be served: not under /v1, another protocol version, no or a wrong token; null
    /// when it may.</summary>
    private HttpResponse? Refusal(HttpRequest request)
    {
        if (request.Path == "/healthz")
            return null;
        if (!request.Path.StartsWith("/v1/", StringComparison.Ordinal))
            return Error(404, $"no route {request.Path}; the control API lives under /v1/");
        var version = request.Header(ControlProtocol.VersionHeader);
        if (version is null)
            return Error(
                400,
                $"missing {ControlProtocol.VersionHeader} header; this agent speaks protocol {ControlProtocol.Version}"
            );
        if (version != ControlProtocol.Version.ToString(CultureInfo.InvariantCulture))
            return Error(
                400,
                $"unsupported protocol version '{version}'; this agent speaks protocol {ControlProtocol.Version}"
            );
        return Authenticates(request.Headers)
            ? null
            : Error(
                401,
                $"missing or wrong token: send 'Authorization: Bearer <token>' (or "
                    + $"{ControlProtocol.ProxyTokenHeader}: <token> through a proxy) with the token the agent was "
                    + $"started with"
            );
    }

    /// <summary>Whether a request head carries the run's token (directly, or through the API server's proxy).</summary>
    public bool Authenticates(IReadOnlyDictionary<string, string> headers)
    {
        var proxied = headers.GetValueOrDefault(ControlProtocol.ProxyTokenHeader);
        return proxied is not null
            ? CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(proxied), _expectedToken)
            : CryptographicOperations.FixedTimeEquals(
                Encoding.ASCII.GetBytes(headers.GetValueOrDefault(ControlProtocol.TokenHeader) ?? ""),
                _expectedAuthorization
            );
    }

    /// <summary>A body may not set a field that cannot be null to null (`{"workload":null}`): refused, with the field's
    /// name, as malformed JSON.</summary>
    private static readonly JsonSerializerOptions Strict = new(ContractsJson.Default.Options)
    {
        RespectNullableAnnotations = true,
    };

    private static T Parse<T>(HttpRequest request, JsonTypeInfo<T> type) =>
        JsonSerializer.Deserialize(request.Body.Span, (JsonTypeInfo<T>)Strict.GetTypeInfo(type.Type))
        ?? throw new JsonException("empty body");

    /// <summary>The endpoints of ?to=a:p,[v6]:p (none when absent); null when malformed or too many.</summary>
    private static IReadOnlyCollection<System.Net.IPEndPoint>? Towards(HttpRequest request)
    {
        if (request.QueryValue("to") is not { Length: > 0 } text)
            return [];
        var parts = Uri.UnescapeDataString(text).Split(',');
        var endpoints = new List<System.Net.IPEndPoint>();
        foreach (var part in parts)
        {
            if (
                endpoints.Count == Sampling.NetStackReader.MaxEndpoints
                || !Contracts.Workloads.Endpoints.TryParse(part, out var endpoint)
            )
                return null;
            endpoints.Add(endpoint);
        }
        return endpoints;
    }

    private static int Cursor(HttpRequest request) =>
        int.TryParse(request.QueryValue("cursor"), NumberStyles.None, CultureInfo.InvariantCulture, out int cursor)
            ? cursor
            : 0;

    private static HttpResponse Reply(JobManager.Outcome outcome) =>
        outcome.Status is not null && outcome.Error is null
            ? Json(outcome.HttpStatus, outcome.Status, ContractsJson.Default.JobStatus)
            : Error(outcome.HttpStatus, outcome.Error ?? "failed");

    private static HttpResponse Json<T>(int status, T value, JsonTypeInfo<T> type) =>
        new(
            status,
            JsonSerializer.SerializeToUtf8Bytes(value, (JsonTypeInfo<T>)Readable.GetTypeInfo(type.Type)),
            "application/json"
        );

    private static HttpResponse Error(int status, string message) =>
        Json(status, new ErrorResponse(message), ContractsJson.Default.ErrorResponse);
}
