using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Runtime.CompilerServices;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.RateLimiting;
using Polly;

namespace CniBench.Cli.Targets.Kube.Api;

/// <summary>One event of a watch stream: ADDED, MODIFIED, DELETED, BOOKMARK or ERROR, and its object.</summary>
public sealed record WatchEvent(string Type, JsonObject Object)
{
    public string? ResourceVersion => (string?)Object["metadata"]?["resourceVersion"];
}

/// <summary>A watch asked for a resourceVersion the server no longer has (410 Gone): list again and start from
/// there.</summary>
public sealed class WatchExpiredException(string message) : Exception(message);

/// <summary>
/// A small client of the Kubernetes API on HttpClient and System.Text.Json (docs/kube.md says why not the
/// official package: its hostname check, exec arguments and tokenFile handling, and its size): objects as JsonObject,
/// the calls cnibench needs, TLS and credentials from a
/// kubeconfig, API Status errors turned into <see cref="KubeApiException"/>.
/// </summary>
public sealed class KubeClient : IDisposable
{
    public const string FieldManager = "cnibench";
    private readonly HttpClient _http;
    private readonly KubeCredentials _credentials;
    private readonly ResiliencePipeline<HttpResponseMessage> _retry;
    private readonly TokenBucketRateLimiter _limiter;

    public KubeClient(KubeConnection connection, HttpMessageHandler? handler = null, RetryPolicy? retry = null)
    {
        Connection = connection;
        _credentials = new KubeCredentials(connection);
        // The client's own timeout would also end watches: each request is bounded in SendOnceAsync instead.
        _http = new HttpClient(handler ?? CreateHandler(connection))
        {
            BaseAddress = connection.Server,
            Timeout = Timeout.InfiniteTimeSpan,
        };
        retry ??= new RetryPolicy();
        _retry = retry.Build();
        _limiter = retry.Limiter();
    }

    /// <summary>How long a call may wait for the server's answer (its headers, for a watch).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public KubeConnection Connection { get; }

    /// <summary>A handler with the kubeconfig's TLS settings.</summary>
    public static SocketsHttpHandler CreateHandler(KubeConnection c)
    {
        var handler = new SocketsHttpHandler
        {
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1),
            ConnectTimeout = TimeSpan.FromSeconds(15),
            SslOptions = Tls(c),
        };
        // The cluster's proxy-url wins over HTTPS_PROXY and friends, as in kubectl.
        if (c.ProxyUrl is { } proxy)
            handler.Proxy = new WebProxy(proxy);
        return handler;
    }

    /// <summary>What every request carries besides its body: the bearer token and, with `as`, the Impersonate-*
    /// headers.</summary>
    private static async Task AuthorizeAsync(
        HttpRequestMessage request,
        KubeCredentials credentials,
        Impersonation? impersonate,
        CancellationToken cancellationToken
    )
    {
        request.Headers.Authorization = await credentials.TokenAsync(cancellationToken) is { } token
            ? new AuthenticationHeaderValue("Bearer", token)
            : null;
        foreach (var (name, value) in ImpersonationHeaders(impersonate))
            request.Headers.TryAddWithoutValidation(name, value);
    }

    private static IEnumerable<(string Name, string Value)> ImpersonationHeaders(Impersonation? impersonate)
    {
        if (impersonate is null)
            yield break;
        yield return ("Impersonate-User", impersonate.User);
        foreach (var group in impersonate.Groups)
            yield return ("Impersonate-Group", group);
        if (impersonate.Uid is { } uid)
            yield return ("Impersonate-Uid", uid);
    }

    /// <summary>
    /// TLS as the kubeconfig says: its CA (not the machine's) for the server if it gives one, the server's
    /// certificate checked against tls-server-name instead of the address if it gives one (as kubectl does;
    /// the handler's own name check is for the address), its client certificate, or no check at all if asked.
    /// </summary>
    private static SslClientAuthenticationOptions Tls(KubeConnection c)
    {
        var tls = new SslClientAuthenticationOptions();
        if (c.TlsServerName is not null)
            tls.TargetHost = c.TlsServerName;
        if (c.InsecureSkipTlsVerify)
        {
            // The kubeconfig's insecure-skip-tls-verify: the user asked for it, as kubectl honours it (check warns).
#pragma warning disable CA5359
            tls.RemoteCertificateValidationCallback = (_, _, _, _) => true;
#pragma warning restore CA5359
        }
        else if (c.CertificateAuthorityPem is not null || c.TlsServerName is not null)
        {
            var roots = new X509Certificate2Collection();
            if (c.CertificateAuthorityPem is { } caPem)
                roots.ImportFromPem(Encoding.ASCII.GetString(caPem));
            tls.RemoteCertificateValidationCallback = (_, certificate, sent, errors) =>
            {
                if (certificate is null)
                    return false;
                using var presented = new X509Certificate2(certificate);
                bool nameOk = c.TlsServerName is { } name
                    ? presented.MatchesHostname(name)
                    : (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0;
                if (!nameOk)
                    return false;
                if (roots.Count == 0)
                    return (errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) == SslPolicyErrors.None;
                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(roots);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                // The intermediates the server sent: without them a leaf signed by an intermediate of the CA cannot be
                // chained.
                if (sent is not null)
                {
                    chain.ChainPolicy.ExtraStore.AddRange(sent.ChainPolicy.ExtraStore);
                    foreach (var element in sent.ChainElements)
                        chain.ChainPolicy.ExtraStore.Add(element.Certificate);
                }
                return chain.Build(presented);
            };
        }
        if (c.ClientCertificatePem is { } cert && c.ClientKeyPem is { } key)
            tls.ClientCertificates =
            [
                X509Certificate2.CreateFromPem(Encoding.ASCII.GetString(cert), Encoding.ASCII.GetString(key)),
            ];
        return tls;
    }

    /// <summary>
    /// A handler for requests that go to a pod through the API server's proxy subresource: the API's own
    /// credentials in Authorization, <paramref name="extraHeaders"/> (e.g. the agent's token) beside them.
    /// </summary>
    public HttpMessageHandler CreateProxyHandler(
        IReadOnlyDictionary<string, string> extraHeaders,
        HttpMessageHandler? inner = null
    ) =>
        new ProxyHandler(_credentials, Connection.Impersonate, extraHeaders)
        {
            InnerHandler = inner ?? CreateHandler(Connection),
        };

    private sealed class ProxyHandler(
        KubeCredentials credentials,
        Impersonation? impersonate,
        IReadOnlyDictionary<string, string> extraHeaders
    ) : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(
            HttpRequestMessage request,
            CancellationToken cancellationToken
        )
        {
            await AuthorizeAsync(request, credentials, impersonate, cancellationToken);
            foreach (var (k, v) in extraHeaders)
                request.Headers.TryAddWithoutValidation(k, v);
            return await base.SendAsync(request, cancellationToken);
        }
    }

    /// <summary>The bearer token requests carry now (for a WebSocket, which does not go through this client's
    /// handler).</summary>
    public Task<string?> TokenAsync(CancellationToken cancellationToken) => _credentials.TokenAsync(cancellationToken);

    /// <summary>The kubeconfig's TLS settings on a WebSocket: its CA or none, its client certificate.</summary>
    public void ConfigureWebSocket(System.Net.WebSockets.ClientWebSocketOptions options)
    {
        var tls = Tls(Connection);
        if (tls.RemoteCertificateValidationCallback is { } validate)
            options.RemoteCertificateValidationCallback = validate;
        if (tls.ClientCertificates is { } certificates)
            options.ClientCertificates = certificates;
        if (Connection.ProxyUrl is { } proxy)
            options.Proxy = new WebProxy(proxy);
        foreach (var (name, value) in ImpersonationHeaders(Connection.Impersonate))
            options.SetRequestHeader(name, value);
    }

    /// <summary>The server's version (GET /version): gitVersion, platform.</summary>
    public Task<JsonObject> VersionAsync(CancellationToken cancellationToken) =>
        SendAsync("get", new KubeResource("", "", "version"), HttpMethod.Get, "/version", null, cancellationToken);

    public Task<JsonObject> GetAsync(KubeResource resource, CancellationToken cancellationToken) =>
        SendAsync("get", resource, HttpMethod.Get, resource.Path, null, cancellationToken);

    /// <summary>A list, with optional label selector; its items and the resourceVersion to watch from.</summary>
    public async Task<(IReadOnlyList<JsonObject> Items, string ResourceVersion)> ListAsync(
        KubeResource collection,
        string? labelSelector,
        CancellationToken cancellationToken
    )
    {
        var list = await SendAsync(
            "list",
            collection,
            HttpMethod.Get,
            collection.Path + Query(("labelSelector", labelSelector)),
            null,
            cancellationToken
        );
        var items = (list["items"] as JsonArray)?.OfType<JsonObject>().ToArray() ?? [];
        return (items, (string?)list["metadata"]?["resourceVersion"] ?? "");
    }

    public Task<JsonObject> CreateAsync(
        KubeResource collection,
        JsonObject body,
        CancellationToken cancellationToken
    ) =>
        SendAsync(
            "create",
            collection,
            HttpMethod.Post,
            collection.Path + Query(("fieldManager", FieldManager)),
            Json(body, "application/json"),
            cancellationToken
        );

    /// <summary>Server-side apply: the object as we want it, owned by field manager "cnibench", conflicts forced (we
    /// own what we deploy).</summary>
    public Task<JsonObject> ApplyAsync(KubeResource resource, JsonObject body, CancellationToken cancellationToken) =>
        SendAsync(
            "patch",
            resource,
            HttpMethod.Patch,
            resource.Path + Query(("fieldManager", FieldManager), ("force", "true")),
            Json(body, "application/apply-patch+yaml"),
            cancellationToken
        );

    /// <summary>
    /// Deletes with foreground propagation; an object already gone is not an error. <paramref
    /// name="gracePeriodSeconds"/>
    /// overrides the object's own; <paramref name="uid"/> deletes only that incarnation of the name. Background
    /// (<paramref name="foreground"/> false) lets the name and what it holds go at once and its dependents after.
    /// </summary>
    public async Task DeleteAsync(
        KubeResource resource,
        CancellationToken cancellationToken,
        long? gracePeriodSeconds = null,
        string? uid = null,
        bool foreground = true
    )
    {
        var options = new JsonObject
        {
            ["kind"] = "DeleteOptions",
            ["apiVersion"] = "v1",
            ["propagationPolicy"] = foreground ? "Foreground" : "Background",
        };
        if (gracePeriodSeconds is long grace)
            options["gracePeriodSeconds"] = grace;
        if (uid is not null)
            options["preconditions"] = new JsonObject { ["uid"] = uid };
        try
        {
            await SendAsync(
                "delete",
                resource,
                HttpMethod.Delete,
                resource.Path,
                Json(options, "application/json"),
                cancellationToken
            );
        }
        catch (KubeApiException e) when (e.Status == HttpStatusCode.NotFound) { }
    }

    /// <summary>Deletes every object of a collection that the label selector matches (never without a
    /// selector).</summary>
    public Task DeleteCollectionAsync(
        KubeResource collection,
        string labelSelector,
        CancellationToken cancellationToken
    ) =>
        SendAsync(
            "deletecollection",
            collection,
            HttpMethod.Delete,
            collection.Path + Query(("labelSelector", labelSelector)),
            null,
            cancellationToken
        );

    /// <summary>
    /// One watch stream from a resourceVersion: events as the server sends them (bookmarks included), ending
    /// when the server closes it (its timeout) or when nothing, not even a bookmark, came for
    /// <paramref name="silence"/> (a stalled connection). An ERROR event with 410 throws <see
    /// cref="WatchExpiredException"/>.
    /// </summary>
    public async IAsyncEnumerable<WatchEvent> WatchAsync(
        KubeResource collection,
        string resourceVersion,
        string? labelSelector,
        TimeSpan serverTimeout,
        TimeSpan silence,
        [EnumeratorCancellation] CancellationToken cancellationToken
    )
    {
        var path =
            collection.Path
            + Query(
                ("watch", "1"),
                ("resourceVersion", resourceVersion),
                ("allowWatchBookmarks", "true"),
                (
                    "timeoutSeconds",
                    ((int)serverTimeout.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture)
                ),
                ("labelSelector", labelSelector)
            );
        using var response = await SendRawAsync(
            "watch",
            collection,
            HttpMethod.Get,
            path,
            null,
            HttpCompletionOption.ResponseHeadersRead,
            cancellationToken
        );
        using var stream = await response.Content.ReadAsStreamAsync(cancellationToken);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        using var watchdog = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        while (true)
        {
            watchdog.CancelAfter(silence);
            string? line;
            try
            {
                line = await reader.ReadLineAsync(watchdog.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                yield break; // silent for too long: the caller resumes from the last resourceVersion
            }
            catch (IOException e)
            {
                // The connection was cut mid-stream (HttpIOException): the caller resumes from the last
                // resourceVersion.
                throw new KubeConnectionException(
                    $"{Connection.Server}: the watch of {collection} was cut: {e.Message}"
                );
            }
            if (line is null)
                yield break;
            if (line.Length == 0)
                continue;
            JsonObject node;
            try
            {
                node = JsonNode.Parse(line) as JsonObject ?? throw new JsonException("not a JSON object");
            }
            catch (JsonException e)
            {
                // A line cut short by a dropped connection reads as malformed JSON: the same as a cut.
                throw new KubeConnectionException(
                    $"{Connection.Server}: the watch of {collection} sent an unreadable event ({e.Message})"
                );
            }
            var type = (string?)node["type"] ?? "";
            var obj = node["object"] as JsonObject ?? new JsonObject();
            if (type == "ERROR")
            {
                int code = (int?)obj["code"] ?? 0;
                if (code == 410)
                    throw new WatchExpiredException((string?)obj["message"] ?? "resourceVersion too old");
                throw KubeApiException.From("watch", collection, (HttpStatusCode)code, obj.ToJsonString());
            }
            yield return new WatchEvent(type, obj);
        }
    }

    private async Task<JsonObject> SendAsync(
        string verb,
        KubeResource resource,
        HttpMethod method,
        string path,
        HttpContent? content,
        CancellationToken cancellationToken
    )
    {
        using var response = await SendRawAsync(
            verb,
            resource,
            method,
            path,
            content,
            HttpCompletionOption.ResponseContentRead,
            cancellationToken
        );
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return text.Length == 0 ? new JsonObject() : JsonNode.Parse(text) as JsonObject ?? new JsonObject();
    }

    private async Task<HttpResponseMessage> SendRawAsync(
        string verb,
        KubeResource resource,
        HttpMethod method,
        string path,
        HttpContent? content,
        HttpCompletionOption completion,
        CancellationToken cancellationToken
    )
    {
        byte[]? body = content is null ? null : await content.ReadAsByteArrayAsync(cancellationToken);
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(RetryPolicy.Idempotent, method == HttpMethod.Get || method == HttpMethod.Delete);
        try
        {
            for (int attempt = 0; ; attempt++)
            {
                var response = await _retry.ExecuteAsync(
                    async (ctx, _) =>
                        await SendOnceAsync(method, path, body, content, completion, ctx.CancellationToken),
                    context,
                    0
                );
                if (response.IsSuccessStatusCode)
                    return response;
                using (response)
                {
                    // An exec plugin's credential may have expired early: run the plugin once more before giving up.
                    if (response.StatusCode == HttpStatusCode.Unauthorized && attempt == 0 && _credentials.CanRefresh)
                    {
                        _credentials.Invalidate();
                        continue;
                    }
                    var text = await response.Content.ReadAsStringAsync(cancellationToken);
                    // A watch from a resourceVersion the server has compacted away: list again, as for the ERROR event.
                    if (verb == "watch" && response.StatusCode == HttpStatusCode.Gone)
                        throw new WatchExpiredException(text);
                    throw KubeApiException.From(verb, resource, response.StatusCode, text);
                }
            }
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>
    /// One request, after the client-side rate limiter lets it go, bounded by <see cref="RequestTimeout"/> until its
    /// headers arrive (a watch's body is bounded by its own silence deadline instead).
    /// </summary>
    private async Task<HttpResponseMessage> SendOnceAsync(
        HttpMethod method,
        string path,
        byte[]? body,
        HttpContent? content,
        HttpCompletionOption completion,
        CancellationToken cancellationToken
    )
    {
        using var lease = await _limiter.AcquireAsync(1, cancellationToken);
        using var request = new HttpRequestMessage(method, path);
        if (body is not null)
        {
            request.Content = new ByteArrayContent(body);
            request.Content.Headers.ContentType = content!.Headers.ContentType;
        }
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        await AuthorizeAsync(request, _credentials, Connection.Impersonate, cancellationToken);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(RequestTimeout);
        try
        {
            return await _http.SendAsync(request, completion, deadline.Token);
        }
        catch (HttpRequestException e)
        {
            throw new KubeConnectionException($"{Connection.Server} (context {Connection.ContextName}): {Describe(e)}");
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new KubeConnectionException(
                $"{Connection.Server} (context {Connection.ContextName}): no answer within "
                    + $"{RequestTimeout.TotalSeconds:0}s to {method} {path}"
            );
        }
    }

    private static HttpContent Json(JsonObject body, string mediaType)
    {
        var content = new StringContent(body.ToJsonString(), Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        return content;
    }

    private static string Query(params (string Key, string? Value)[] pairs)
    {
        var parts = pairs
            .Where(p => p.Value is not null)
            .Select(p => $"{p.Key}={Uri.EscapeDataString(p.Value!)}")
            .ToArray();
        return parts.Length == 0 ? "" : "?" + string.Join('&', parts);
    }

    /// <summary>A failed request in words a kubeconfig's owner can act on; a TLS failure says what the handshake
    /// lacked.</summary>
    public static string Describe(HttpRequestException e) =>
        e.InnerException is System.Security.Authentication.AuthenticationException tls
            ? $"TLS handshake failed: {tls.Message} (the kubeconfig's certificate-authority must have signed the "
                + $"server's certificate for this address, tls-server-name names another, and the server may require "
                + $"the user's client certificate)"
            : e.Message;

    public void Dispose()
    {
        _http.Dispose();
        _limiter.Dispose();
    }
}

/// <summary>The API server could not be reached at all (DNS, TCP, TLS).</summary>
public sealed class KubeConnectionException(string message) : Exception(message);
