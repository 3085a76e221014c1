using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using CniBench.Agent.Connections;
using CniBench.Agent.Logging;
using CniBench.Agent.Peers;

namespace CniBench.Agent.Http;

/// <summary>
/// A small HTTP/1.1 server on a listening socket: keep-alive, pipelining, bounded input. Every byte is
/// hostile: a request must be complete within its deadline from its first byte, an idle connection is
/// closed, a refused head (see <see cref="HttpAdmission"/>) is answered before its body is read, large
/// bodies go out from one shared buffer, and connections beyond the cap are closed at once.
/// A bad request is answered with its status and that connection alone is closed. With a certificate
/// every connection speaks TLS; the handshake, too, must finish within the request deadline.
/// A peer that accepts no bytes for <see cref="HttpLimits.WriteStallOrDefault"/> is closed, and the large bodies
/// being streamed share one budget of queued bytes, so clients that ask and never read cannot fill the host's TCP
/// memory. With <paramref name="authenticate"/> (the control port) a connection must authenticate within <see
/// cref="HttpLimits.AuthenticateTimeoutOrDefault"/>, and a full server makes room by closing the oldest connection
/// that has not.
/// </summary>
public sealed class HttpServer(
    Socket listener,
    HttpHandler handler,
    HttpLimits limits,
    AgentLog log,
    string name,
    int maxConnections,
    HttpAdmission? admission = null,
    X509Certificate2? certificate = null,
    HttpAuthentication? authenticate = null
)
{
    /// <summary>Bodies up to this size are copied behind their head (one send for a pipelined batch); larger ones are
    /// streamed.</summary>
    private const int InlineFiller = 16 * 1024;
    private static readonly byte[] Filler = CreateFiller();
    private readonly RateLimitedLog _rejects = new(log);
    private readonly ConnectionSet _connections = new(maxConnections, evictUntrusted: authenticate is not null);
    private readonly QueuedBytesBudget _streamed = new(limits.StreamedBytesBudgetOrDefault);
    private readonly SourceRateLimiter _handshakes = new();

    private long _requests;

    public int OpenConnections => _connections.Count;
    public long AcceptedConnections => _connections.Accepted;

    /// <summary>Requests handed to the handler since the start.</summary>
    public long Requests => Volatile.Read(ref _requests);

    public Task RunAsync(CancellationToken cancellationToken) =>
        _connections.AcceptAsync(
            listener,
            socket => ServeConnectionAsync(socket, cancellationToken),
            log,
            name,
            cancellationToken
        );

    private static byte[] CreateFiller()
    {
        var filler = new byte[64 * 1024];
        filler.AsSpan().Fill((byte)'x');
        return filler;
    }

    private async Task ServeConnectionAsync(Socket socket, CancellationToken cancellationToken)
    {
        using var registration = _connections.Track(socket);
        using var deadline = new PeerDeadline(cancellationToken);
        long connected = Stopwatch.GetTimestamp();
        string remote = "?";
        byte[] buffer = ArrayPool<byte>.Shared.Rent(4096);
        var output = new ArrayBufferWriter<byte>(4096);
        int start = 0,
            end = 0;
        long requestStarted = 0; // when the first byte of the request being read arrived (0: none yet)
        bool admitted = false;
        try
        {
            // Inside the try: a shutdown may close the socket before this connection is even looked at.
            if (socket.ProtocolType == ProtocolType.Tcp)
                socket.NoDelay = true;
            remote = socket.RemoteEndPoint?.ToString() ?? "?";
            await using var stream = await OpenStreamAsync(socket, remote, cancellationToken);
            if (stream is null)
                return;
            var connection = new HttpConnectionInfo(AddressOf(socket.LocalEndPoint), AddressOf(socket.RemoteEndPoint));
            while (true)
            {
                var parsed = HttpRequestParser.TryParse(buffer.AsSpan(start, end - start), limits, connection);
                if (!registration.Trusted && authenticate is not null && parsed.Request is { } seen)
                {
                    if (authenticate(seen.Headers))
                        registration.Trust();
                }
                if (
                    parsed.Status == ParseStatus.Incomplete
                    && parsed.Request is { } head
                    && !admitted
                    && admission is not null
                )
                {
                    if (admission(head.Method, head.Path, head.Headers) is { } refusal)
                    {
                        _rejects.Info(
                            $"{name}: refused {head.Method} {head.Path} from {remote} before its body: {refusal.Status}"
                        );
                        await RefuseAsync(stream, socket, output, buffer, refusal, deadline);
                        return;
                    }
                    admitted = true;
                }
                if (parsed.Status == ParseStatus.Invalid)
                {
                    _rejects.Info($"{name}: closing connection from {remote}: {parsed.Reason}");
                    await RefuseAsync(
                        stream,
                        socket,
                        output,
                        buffer,
                        new HttpResponse(
                            parsed.ErrorStatus,
                            Encoding.ASCII.GetBytes(parsed.Reason + "\n"),
                            Close: true
                        ),
                        deadline
                    );
                    return;
                }
                if (parsed.Status == ParseStatus.Incomplete)
                {
                    // Pipelined responses go out before we wait for more input.
                    if (output.WrittenCount > 0)
                        await FlushAsync(stream, output, deadline);
                    if (start > 0)
                    {
                        buffer.AsSpan(start, end - start).CopyTo(buffer);
                        end -= start;
                        start = 0;
                    }
                    if (end == buffer.Length)
                        buffer = Grow(buffer, end);
                    // A request must be complete within its deadline from its first byte, however it trickles in;
                    // an idle keep-alive connection may wait longer, but not for ever.
                    var wait =
                        end == 0
                            ? limits.IdleTimeoutOrDefault
                            : limits.RequestTimeoutOrDefault - Stopwatch.GetElapsedTime(requestStarted);
                    // A stranger's connection holds a place only until its time to authenticate runs out.
                    var toAuthenticate =
                        authenticate is null || registration.Trusted
                            ? TimeSpan.MaxValue
                            : limits.AuthenticateTimeoutOrDefault - Stopwatch.GetElapsedTime(connected);
                    string why =
                        toAuthenticate < wait
                            ? $"not authenticated within {limits.AuthenticateTimeoutOrDefault.TotalSeconds:0}s"
                        : end == 0 ? $"idle for {limits.IdleTimeoutOrDefault.TotalSeconds:0}s"
                        : $"request not completed within {limits.RequestTimeoutOrDefault.TotalSeconds:0}s";
                    wait = toAuthenticate < wait ? toAuthenticate : wait;
                    if (wait <= TimeSpan.Zero)
                    {
                        _rejects.Info($"{name}: closing connection from {remote}: {why}");
                        return;
                    }
                    int n;
                    try
                    {
                        n = await stream.ReadAsync(buffer.AsMemory(end), deadline.Arm(wait));
                    }
                    catch (OperationCanceledException) when (deadline.Expired)
                    {
                        _rejects.Info($"{name}: closing connection from {remote}: {why}");
                        return;
                    }
                    if (n == 0)
                        return;
                    if (end == 0)
                        requestStarted = Stopwatch.GetTimestamp();
                    end += n;
                    continue;
                }

                start += parsed.Consumed;
                admitted = false;
                // A pipelined request already begun starts its clock now; none pending, the next one's first byte will.
                requestStarted = start < end ? Stopwatch.GetTimestamp() : 0;
                Interlocked.Increment(ref _requests);
                var response = await handler(parsed.Request!, cancellationToken);
                if (response.Status == 401)
                    _rejects.Info($"{name}: refused {parsed.Request!.Method} {parsed.Request.Path} from {remote}: 401");
                bool keepAlive = parsed.KeepAlive && !response.Close;
                long streamed = WriteResponse(output, response, keepAlive, headOnly: parsed.Request!.Method == "HEAD");
                if (streamed > 0)
                {
                    await FlushAsync(stream, output, deadline);
                    await SendFillerAsync(stream, streamed, deadline);
                }
                else if (output.WrittenCount > 64 * 1024 || !keepAlive)
                    await FlushAsync(stream, output, deadline);
                if (!keepAlive)
                    return;
                if (start == end)
                    start = end = 0;
            }
        }
        catch (OperationCanceledException) when (deadline.Expired)
        {
            // Only a write is armed with anything but a read's wait here: the peer took no bytes.
            _rejects.Info(
                $"{name}: closing connection from {remote}: it accepted no bytes for "
                    + $"{limits.WriteStallOrDefault.TotalSeconds:0}s"
            );
        }
        catch (Exception e)
            when (e is SocketException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The peer went away or we are shutting down: nothing to answer.
        }
        catch (Exception e)
        {
            // A bug this connection found: logged; the server stays up for the next client.
            _rejects.Info($"{name}: connection from {remote} ended: {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The connection's stream: the socket itself, or TLS over it once the handshake finished in time (null:
    /// it did not).</summary>
    private async Task<Stream?> OpenStreamAsync(Socket socket, string remote, CancellationToken cancellationToken)
    {
        var plain = new NetworkStream(socket, ownsSocket: false);
        if (certificate is null)
            return plain;
        if (!_handshakes.TryTake((socket.RemoteEndPoint as System.Net.IPEndPoint)?.Address))
        {
            _rejects.Info($"{name}: closing connection from {remote}: too many TLS handshakes from that address");
            await plain.DisposeAsync();
            return null;
        }
        var tls = new SslStream(plain, leaveInnerStreamOpen: false);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(
            authenticate is null ? limits.RequestTimeoutOrDefault : limits.AuthenticateTimeoutOrDefault
        );
        try
        {
            await tls.AuthenticateAsServerAsync(
                new SslServerAuthenticationOptions { ServerCertificate = certificate },
                deadline.Token
            );
            return tls;
        }
        catch (Exception e)
            when (e is IOException or System.Security.Authentication.AuthenticationException
                || e is OperationCanceledException && !cancellationToken.IsCancellationRequested
            )
        {
            _rejects.Info(
                $"{name}: closing connection from {remote}: TLS handshake failed: "
                    + (
                        e is OperationCanceledException
                            ? $"not done within {limits.RequestTimeoutOrDefault.TotalSeconds:0}s"
                            : e.Message
                    )
            );
            await tls.DisposeAsync();
            return null;
        }
    }

    private async Task RefuseAsync(
        Stream stream,
        Socket socket,
        ArrayBufferWriter<byte> output,
        byte[] buffer,
        HttpResponse response,
        PeerDeadline deadline
    )
    {
        WriteResponse(output, response with { Close = true }, keepAlive: false);
        await FlushAsync(stream, output, deadline);
        await LingerAsync(stream, socket, buffer, deadline);
    }

    /// <summary>
    /// A large body goes out from one shared read-only buffer: a slow reader holds a socket's buffer, not a copy of the
    /// body. What the kernel may queue for it (up to a socket's largest send buffer) is drawn from the server's
    /// budget first: past it, the next large body waits for room, as long as a write may stall.
    /// </summary>
    private async Task SendFillerAsync(Stream stream, long length, PeerDeadline deadline)
    {
        using var queued = await _streamed.ReserveAsync(length, deadline.Arm(limits.WriteStallOrDefault));
        while (length > 0)
        {
            int chunk = (int)Math.Min(length, Filler.Length);
            await stream.WriteAsync(Filler.AsMemory(0, chunk), deadline.Arm(limits.WriteStallOrDefault));
            length -= chunk;
        }
    }

    private static string? AddressOf(System.Net.EndPoint? endPoint) =>
        endPoint is System.Net.IPEndPoint ip
            ? (ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address).ToString()
            : null;

    /// <summary>
    /// Closing a socket with unread input makes the kernel send a reset, which can destroy the error
    /// response before the client reads it: stop sending, then drain a bounded amount of input first.
    /// </summary>
    private static async Task LingerAsync(Stream stream, Socket socket, byte[] buffer, PeerDeadline deadline)
    {
        if (stream is SslStream tls)
            await tls.ShutdownAsync();
        socket.Shutdown(SocketShutdown.Send);
        var linger = deadline.Arm(TimeSpan.FromSeconds(1));
        for (int drained = 0; drained < 256 * 1024; )
        {
            int n;
            try
            {
                n = await stream.ReadAsync(buffer, linger);
            }
            catch (OperationCanceledException) when (deadline.Expired)
            {
                return; // lingered long enough
            }
            if (n == 0)
                return;
            drained += n;
        }
    }

    private byte[] Grow(byte[] buffer, int used)
    {
        int max = limits.MaxHeaderBytes + limits.MaxBodyBytes;
        var bigger = ArrayPool<byte>.Shared.Rent(Math.Min(Math.Max(buffer.Length * 2, 4096), max + 1));
        buffer.AsSpan(0, used).CopyTo(bigger);
        ArrayPool<byte>.Shared.Return(buffer);
        return bigger;
    }

    private async ValueTask FlushAsync(Stream stream, ArrayBufferWriter<byte> output, PeerDeadline deadline)
    {
        await stream.WriteAsync(output.WrittenMemory, deadline.Arm(limits.WriteStallOrDefault));
        output.ResetWrittenCount();
    }

    /// <summary>Writes the head (straight into <paramref name="output"/>: a keep-alive exchange allocates nothing
    /// here), the body and a small filler; returns how many filler bytes the caller must still stream. The answer to a
    /// HEAD is the head alone, with the length the body would have (RFC 9110 9.3.2): a body after it would be read
    /// as the next response.</summary>
    public static long WriteResponse(
        ArrayBufferWriter<byte> output,
        HttpResponse response,
        bool keepAlive,
        bool headOnly = false
    )
    {
        Ascii(output, "HTTP/1.1 ");
        Number(output, response.Status);
        Ascii(output, " ");
        Ascii(output, ReasonPhrase(response.Status));
        Ascii(output, "\r\nContent-Length: ");
        Number(output, response.Body.Length + response.FillerLength);
        Ascii(output, "\r\nContent-Type: ");
        Ascii(output, response.ContentType);
        Ascii(output, "\r\n");
        // Indexed: an enumerator of the interface would be an object per response.
        for (int i = 0; i < (response.Headers?.Count ?? 0); i++)
        {
            Ascii(output, response.Headers![i].Key);
            Ascii(output, ": ");
            Ascii(output, response.Headers[i].Value);
            Ascii(output, "\r\n");
        }
        if (!keepAlive)
            Ascii(output, "Connection: close\r\n");
        Ascii(output, "\r\n");
        if (headOnly)
            return 0;
        output.Write(response.Body.Span);
        if (response.FillerLength > InlineFiller)
            return response.FillerLength;
        int filler = (int)response.FillerLength;
        Filler.AsSpan(0, filler).CopyTo(output.GetSpan(filler));
        output.Advance(filler);
        return 0;
    }

    /// <summary>Header text is ASCII by construction (names, numbers, addresses, pod names); anything else
    /// becomes '?', as Encoding.ASCII makes it.</summary>
    private static void Ascii(ArrayBufferWriter<byte> output, string text) =>
        output.Advance(Encoding.ASCII.GetBytes(text, output.GetSpan(text.Length)));

    private static void Number(ArrayBufferWriter<byte> output, long value)
    {
        var span = output.GetSpan(20);
        value.TryFormat(span, out int written, default, CultureInfo.InvariantCulture);
        output.Advance(written);
    }

    private static string ReasonPhrase(int status) =>
        status switch
        {
            200 => "OK",
            201 => "Created",
            400 => "Bad Request",
            401 => "Unauthorized",
            404 => "Not Found",
            405 => "Method Not Allowed",
            409 => "Conflict",
            429 => "Too Many Requests",
            413 => "Content Too Large",
            431 => "Request Header Fields Too Large",
            501 => "Not Implemented",
            505 => "HTTP Version Not Supported",
            _ => "Status",
        };
}
