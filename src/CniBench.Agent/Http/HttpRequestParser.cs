namespace CniBench.Agent.Http;

public enum ParseStatus
{
    Complete,
    Incomplete,
    Invalid,
}

/// <summary>The outcome of parsing: on Invalid, the status to answer and why (for the log).</summary>
public readonly record struct ParseResult(
    ParseStatus Status,
    HttpRequest? Request = null,
    int Consumed = 0,
    bool KeepAlive = true,
    int ErrorStatus = 0,
    string? Reason = null
)
{
    public static ParseResult NeedMore { get; } = new(ParseStatus.Incomplete);

    /// <summary>Incomplete with the head read: the request (its body still empty) for an admission check before the
    /// body comes.</summary>
    public static ParseResult NeedBody(HttpRequest head) => new(ParseStatus.Incomplete, head);

    public static ParseResult Fail(int status, string reason) =>
        new(ParseStatus.Invalid, ErrorStatus: status, Reason: reason);
}

/// <summary>HTTP/1.x request parsing with hard bounds; never throws on bad input.</summary>
public static class HttpRequestParser
{
    private static ReadOnlySpan<byte> HeaderEnd => "\r\n\r\n"u8;

    /// <summary>Headers a request may carry once (RFC 9110 allows no list in them).</summary>
    private static readonly HashSet<string> SingleValued = new(StringComparer.OrdinalIgnoreCase)
    {
        "Content-Length",
        "Host",
        "Authorization",
        Contracts.Protocol.ControlProtocol.ProxyTokenHeader,
    };

    public static ParseResult TryParse(
        ReadOnlySpan<byte> data,
        HttpLimits limits,
        HttpConnectionInfo? connection = null
    )
    {
        int searchLength = Math.Min(data.Length, limits.MaxHeaderBytes);
        int headerEnd = data[..searchLength].IndexOf(HeaderEnd);
        if (headerEnd < 0)
        {
            return data.Length >= limits.MaxHeaderBytes
                ? ParseResult.Fail(431, $"request header section exceeds {limits.MaxHeaderBytes} bytes")
                : ParseResult.NeedMore;
        }

        var head = data[..headerEnd];
        int lineEnd = head.IndexOf("\r\n"u8);
        var requestLine = lineEnd < 0 ? head : head[..lineEnd];
        if (
            !TryParseRequestLine(
                requestLine,
                out var methodBytes,
                out var targetBytes,
                out bool http10,
                out var lineError
            )
        )
            return ParseResult.Fail(lineError == "version" ? 505 : 400, $"malformed request line: {lineError}");

        var strings = connection?.Strings ?? new RepeatedStrings();
        var headers = connection?.Headers ?? new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        headers.Clear();
        var rest = lineEnd < 0 ? ReadOnlySpan<byte>.Empty : head[(lineEnd + 2)..];
        while (!rest.IsEmpty)
        {
            int next = rest.IndexOf("\r\n"u8);
            var line = next < 0 ? rest : rest[..next];
            rest = next < 0 ? ReadOnlySpan<byte>.Empty : rest[(next + 2)..];
            int colon = line.IndexOf((byte)':');
            if (colon <= 0 || line[..colon].IndexOfAny((byte)' ', (byte)'\t') >= 0)
                return ParseResult.Fail(400, "malformed header line");
            if (headers.Count >= limits.MaxHeaderCount)
                return ParseResult.Fail(431, $"more than {limits.MaxHeaderCount} headers");
            var value = line[(colon + 1)..];
            // NUL and other control bytes have no place in a field value (RFC 9110 5.5); a parser that kept them
            // would disagree with the next one on where the value ends.
            if (
                value.IndexOfAnyInRange((byte)0, (byte)8) >= 0
                || value.IndexOfAnyInRange((byte)10, (byte)31) >= 0
                || value.IndexOf((byte)127) >= 0
            )
                return ParseResult.Fail(400, "control characters in a header value");
            var name = strings.Get(line[..colon]);
            // Two lengths for one body is the shape of request smuggling (RFC 9112 6.3); two credentials or two hosts
            // leave which one counts to whichever parser reads last: refuse, whatever the values.
            if (headers.ContainsKey(name) && SingleValued.Contains(name))
                return ParseResult.Fail(400, $"more than one {name} header");
            headers[name] = strings.Get(value.Trim(" \t"u8));
        }

        if (headers.ContainsKey("Transfer-Encoding"))
            return ParseResult.Fail(501, "chunked request bodies are not supported");
        long contentLength = 0;
        if (headers.TryGetValue("Content-Length", out var cl) && !TryParseLength(cl, out contentLength))
            return ParseResult.Fail(400, $"invalid Content-Length '{cl}'; allowed: decimal digits only");
        if (contentLength > limits.MaxBodyBytes)
            return ParseResult.Fail(413, $"body of {contentLength} bytes exceeds {limits.MaxBodyBytes}");

        int total = headerEnd + HeaderEnd.Length + (int)contentLength;
        string method = strings.Get(methodBytes);
        int q = targetBytes.IndexOf((byte)'?');
        string path = strings.Get(q < 0 ? targetBytes : targetBytes[..q]);
        string query = q < 0 ? "" : strings.Get(targetBytes[(q + 1)..]);
        if (data.Length < total)
            return ParseResult.NeedBody(new HttpRequest(method, path, query, headers, ReadOnlyMemory<byte>.Empty));

        var connectionHeader = headers.GetValueOrDefault("Connection");
        bool keepAlive = http10
            ? string.Equals(connectionHeader, "keep-alive", StringComparison.OrdinalIgnoreCase)
            : !string.Equals(connectionHeader, "close", StringComparison.OrdinalIgnoreCase);

        var request = new HttpRequest(
            method,
            path,
            query,
            headers,
            data.Slice(headerEnd + HeaderEnd.Length, (int)contentLength).ToArray()
        )
        {
            Connection = connection,
        };
        return new ParseResult(ParseStatus.Complete, request, total, keepAlive);
    }

    /// <summary>1*DIGIT and nothing else: no sign, no spaces, no hex; at most 18 digits so it cannot
    /// overflow.</summary>
    private static bool TryParseLength(string text, out long length)
    {
        length = 0;
        if (text.Length is 0 or > 18)
            return false;
        foreach (char c in text)
        {
            if (c is < '0' or > '9')
                return false;
            length = length * 10 + (c - '0');
        }
        return true;
    }

    private static bool TryParseRequestLine(
        ReadOnlySpan<byte> line,
        out ReadOnlySpan<byte> method,
        out ReadOnlySpan<byte> target,
        out bool http10,
        out string error
    )
    {
        method = target = default;
        http10 = false;
        int sp1 = line.IndexOf((byte)' ');
        int sp2 = sp1 < 0 ? -1 : line[(sp1 + 1)..].IndexOf((byte)' ');
        if (sp1 <= 0 || sp2 <= 0)
        {
            error = "expected METHOD TARGET VERSION";
            return false;
        }
        sp2 += sp1 + 1;
        var methodBytes = line[..sp1];
        foreach (byte b in methodBytes)
        {
            if (b is < (byte)'A' or > (byte)'Z')
            {
                error = "method must be upper-case letters";
                return false;
            }
        }
        var targetBytes = line[(sp1 + 1)..sp2];
        if (
            targetBytes.IsEmpty
            || targetBytes[0] != (byte)'/'
            || targetBytes.IndexOfAnyInRange((byte)0, (byte)32) >= 0
            || targetBytes.IndexOf((byte)127) >= 0
        )
        {
            error = "target must be an origin-form path";
            return false;
        }
        var version = line[(sp2 + 1)..];
        if (version.SequenceEqual("HTTP/1.1"u8))
            http10 = false;
        else if (version.SequenceEqual("HTTP/1.0"u8))
            http10 = true;
        else
        {
            error = "version";
            return false;
        }
        method = methodBytes;
        target = targetBytes;
        error = "";
        return true;
    }
}
