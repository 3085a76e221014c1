namespace CniBench.Agent.Http;

public sealed record HttpRequest(
    string Method,
    string Path,
    string Query,
    IReadOnlyDictionary<string, string> Headers,
    ReadOnlyMemory<byte> Body
)
{
    /// <summary>The connection the request came on (null when parsed outside a server).</summary>
    public HttpConnectionInfo? Connection { get; init; }

    public string? Header(string name) => Headers.TryGetValue(name, out var v) ? v : null;

    /// <summary>Value of a query parameter (no percent-decoding: our parameters are plain tokens).</summary>
    public string? QueryValue(string name) => TryGetQueryValue(name, out var value) ? value.ToString() : null;

    /// <summary>The same without making a string of it.</summary>
    public bool TryGetQueryValue(string name, out ReadOnlySpan<char> value)
    {
        var rest = Query.AsSpan();
        while (!rest.IsEmpty)
        {
            int amp = rest.IndexOf('&');
            var part = amp < 0 ? rest : rest[..amp];
            rest = amp < 0 ? ReadOnlySpan<char>.Empty : rest[(amp + 1)..];
            int eq = part.IndexOf('=');
            if ((eq < 0 ? part : part[..eq]).SequenceEqual(name))
            {
                value = eq < 0 ? ReadOnlySpan<char>.Empty : part[(eq + 1)..];
                return true;
            }
        }
        value = default;
        return false;
    }
}

/// <summary>
/// One connection, known once when it is accepted: the address it arrived at (after any DNAT on the way)
/// and the address it came from (after any SNAT), and a slot where a handler may keep what it derives from
/// them, so that nothing is worked out again per request.
/// </summary>
public sealed class HttpConnectionInfo(string? localAddress, string? remoteAddress)
{
    public string? LocalAddress { get; } = localAddress;
    public string? RemoteAddress { get; } = remoteAddress;
    public object? HandlerState { get; set; }

    /// <summary>What the parser reuses from one request of this connection to the next (the requests are parsed and
    /// handled one at a time, and no handler keeps a request past its answer).</summary>
    internal RepeatedStrings Strings { get; } = new();
    internal Dictionary<string, string> Headers { get; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary>A response; <see cref="FillerLength"/> appends that many filler bytes after <see cref="Body"/> without
/// allocating them.</summary>
public sealed record HttpResponse(
    int Status,
    ReadOnlyMemory<byte> Body,
    string ContentType = "text/plain",
    IReadOnlyList<KeyValuePair<string, string>>? Headers = null,
    long FillerLength = 0,
    bool Close = false
);

public delegate ValueTask<HttpResponse> HttpHandler(HttpRequest request, CancellationToken cancellationToken);

/// <summary>Bounds on what one connection may send; beyond them the connection is answered with an error and
/// closed.</summary>
public sealed record HttpLimits(
    int MaxHeaderBytes = 8 * 1024,
    int MaxHeaderCount = 64,
    int MaxBodyBytes = 64 * 1024,
    TimeSpan? RequestTimeout = null,
    TimeSpan? IdleTimeout = null,
    TimeSpan? WriteStall = null,
    TimeSpan? AuthenticateTimeout = null,
    long? StreamedBytesBudget = null
)
{
    /// <summary>A peer that accepts no bytes of a response for this long is closed.</summary>
    public TimeSpan WriteStallOrDefault => WriteStall ?? Peers.PeerDeadline.DefaultWriteStall;

    /// <summary>Where connections must authenticate (the control port): from connect to the first authenticated
    /// request head, the TLS handshake included.</summary>
    public TimeSpan AuthenticateTimeoutOrDefault => AuthenticateTimeout ?? TimeSpan.FromSeconds(5);

    /// <summary>What the large bodies being streamed may have queued in the kernel at once, all connections
    /// together (the host's TCP memory is shared by every socket on it).</summary>
    public long StreamedBytesBudgetOrDefault => StreamedBytesBudget ?? 256L * 1024 * 1024;

    /// <summary>From a request's first byte to its last: a client trickling a byte at a time is cut off here, not
    /// served.</summary>
    public TimeSpan RequestTimeoutOrDefault => RequestTimeout ?? TimeSpan.FromSeconds(10);

    /// <summary>How long a keep-alive connection may sit with no request before it is closed.</summary>
    public TimeSpan IdleTimeoutOrDefault => IdleTimeout ?? TimeSpan.FromSeconds(60);
}

/// <summary>
/// Looks at a request's head before its body is read (the control API's token): a refusal is answered at
/// once and the body is never buffered.
/// </summary>
public delegate HttpResponse? HttpAdmission(string method, string path, IReadOnlyDictionary<string, string> headers);

/// <summary>Whether a request head proves its connection is the controller's (it carries the token).</summary>
public delegate bool HttpAuthentication(IReadOnlyDictionary<string, string> headers);
