using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json.Serialization.Metadata;
using CniBench.Contracts.Protocol;

namespace CniBench.Cli.Agents;

/// <summary>The controller's side of the control protocol (docs/protocol.md), over HTTP.</summary>
public sealed class AgentClient : IDisposable
{
    /// <summary>This controller process, to every agent: its jobs are its own, and an agent busy with another's says
    /// so.</summary>
    public static readonly string ControllerId = Convert
        .ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8))
        .ToLowerInvariant();

    private readonly HttpClient _http;

    public AgentClient(
        Uri baseAddress,
        string token,
        TimeSpan? requestTimeout = null,
        HttpMessageHandler? handler = null
    )
    {
        _http = new HttpClient(handler ?? new SocketsHttpHandler(), disposeHandler: true)
        {
            BaseAddress = baseAddress,
            Timeout = requestTimeout ?? TimeSpan.FromSeconds(5),
        };
        _http.DefaultRequestHeaders.Add(
            ControlProtocol.VersionHeader,
            ControlProtocol.Version.ToString(CultureInfo.InvariantCulture)
        );
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue(ControlProtocol.TokenScheme, token);
        _http.DefaultRequestHeaders.Add(ControlProtocol.ControllerHeader, ControllerId);
    }

    public Uri BaseAddress => _http.BaseAddress!;

    /// <summary>A client for an agent whose control API speaks TLS with the certificate <paramref name="pin"/> names,
    /// and no other.</summary>
    public static AgentClient Pinned(
        Uri baseAddress,
        string token,
        CertificatePin pin,
        TimeSpan? requestTimeout = null
    ) =>
        new(
            baseAddress,
            token,
            requestTimeout,
            new SocketsHttpHandler
            {
                SslOptions = new System.Net.Security.SslClientAuthenticationOptions
                {
                    RemoteCertificateValidationCallback = (_, certificate, _, _) => pin.Matches(certificate),
                },
            }
        );

    /// <summary>A client for an agent whose control API listens on a Unix socket (agents inside lab
    /// namespaces).</summary>
    public static AgentClient ForUnixSocket(string path, string token) =>
        new(
            new Uri("http://agent/"),
            token,
            handler: new SocketsHttpHandler
            {
                ConnectCallback = async (_, cancellationToken) =>
                {
                    var socket = new System.Net.Sockets.Socket(
                        System.Net.Sockets.AddressFamily.Unix,
                        System.Net.Sockets.SocketType.Stream,
                        System.Net.Sockets.ProtocolType.Unspecified
                    );
                    try
                    {
                        await socket.ConnectAsync(
                            new System.Net.Sockets.UnixDomainSocketEndPoint(path),
                            cancellationToken
                        );
                        return new System.Net.Sockets.NetworkStream(socket, ownsSocket: true);
                    }
                    catch
                    {
                        socket.Dispose();
                        throw;
                    }
                },
            }
        );

    public Task<AgentInfo> InfoAsync(CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, "v1/info", null, ContractsJson.Default.AgentInfo, cancellationToken);

    /// <summary>The agent's network namespace now: TIME_WAIT sockets (those towards <paramref name="towards"/>
    /// apart, when given), conntrack fill, listen-queue drops.</summary>
    public Task<Contracts.Measurement.NetStack> NetStackAsync(
        CancellationToken cancellationToken,
        string? towards = null
    ) =>
        SendAsync(
            HttpMethod.Get,
            towards is null ? "v1/netstack" : $"v1/netstack?to={Uri.EscapeDataString(towards)}",
            null,
            ContractsJson.Default.NetStack,
            cancellationToken
        );

    public Task<JobStatus> CreateJobAsync(JobSpec spec, CancellationToken cancellationToken) =>
        SendAsync(
            HttpMethod.Post,
            "v1/jobs",
            Json(spec, ContractsJson.Default.JobSpec),
            ContractsJson.Default.JobStatus,
            cancellationToken
        );

    public Task<JobStatus> StartJobAsync(string id, long startAtUnixMs, CancellationToken cancellationToken) =>
        SendAsync(
            HttpMethod.Post,
            $"v1/jobs/{id}/start",
            Json(new StartRequest(startAtUnixMs), ContractsJson.Default.StartRequest),
            ContractsJson.Default.JobStatus,
            cancellationToken
        );

    public Task<JobStatus> PollAsync(string id, int cursor, CancellationToken cancellationToken) =>
        SendAsync(
            HttpMethod.Get,
            $"v1/jobs/{id}?cursor={cursor.ToString(CultureInfo.InvariantCulture)}",
            null,
            ContractsJson.Default.JobStatus,
            cancellationToken
        );

    /// <summary>Ends a running job's measured window now; the job finishes with what it measured.</summary>
    public Task<JobStatus> FinishJobAsync(string id, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Post, $"v1/jobs/{id}/finish", null, ContractsJson.Default.JobStatus, cancellationToken);

    public Task<ClockReading> ClockAsync(CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, "v1/clock", null, ContractsJson.Default.ClockReading, cancellationToken);

    public Task<JobStatus> CancelJobAsync(string id, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Delete, $"v1/jobs/{id}", null, ContractsJson.Default.JobStatus, cancellationToken);

    /// <summary>A body with Content-Length: the agent's bounded parser does not take chunked bodies.</summary>
    private static ByteArrayContent Json<T>(T value, JsonTypeInfo<T> type)
    {
        var content = new ByteArrayContent(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(value, type));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        return content;
    }

    private async Task<T> SendAsync<T>(
        HttpMethod method,
        string path,
        HttpContent? content,
        JsonTypeInfo<T> type,
        CancellationToken cancellationToken
    )
    {
        using var request = new HttpRequestMessage(method, path) { Content = content };
        using var response = await _http.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            string message;
            try
            {
                message = (
                    await response.Content.ReadFromJsonAsync(ContractsJson.Default.ErrorResponse, cancellationToken)
                )?.Error
                    ?? response.ReasonPhrase
                    ?? "";
            }
            catch (System.Text.Json.JsonException)
            {
                message = response.ReasonPhrase ?? "";
            }
            throw new AgentRequestException(
                (int)response.StatusCode,
                $"agent at {BaseAddress} refused {method} /{path}: {(int)response.StatusCode} {message}"
            );
        }
        try
        {
            return await response.Content.ReadFromJsonAsync(type, cancellationToken)
                ?? throw new AgentRequestException(
                    (int)response.StatusCode,
                    $"agent at {BaseAddress} sent an empty answer to /{path}"
                );
        }
        catch (System.Text.Json.JsonException e)
        {
            // Something in between (a pod proxy whose pod just went) may answer 200 with nothing an agent would send.
            throw new AgentRequestException(
                (int)response.StatusCode,
                $"agent at {BaseAddress} sent an unreadable answer to /{path}: {e.Message}"
            );
        }
    }

    public void Dispose() => _http.Dispose();
}

public sealed class AgentRequestException(int status, string message) : Exception(message)
{
    public int Status { get; } = status;
}
