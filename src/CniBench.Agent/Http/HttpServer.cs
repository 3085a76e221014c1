using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace CniBench.Agent.Http;

/// <summary>
/// A small HTTP/1.1 server on a listening socket: keep-alive, pipelining, bounded input. Every byte is
/// hostile: a request must be complete within its deadline from its first byte, an idle connection is
/// closed, a refused head (see <see cref="HttpAdmission"/>) is answered before its body is read, large
/// bodies go out from one shared buffer, and connections beyond the cap are closed at once.
/// A bad request is answered with its status and that connection alone is closed. With a certificate
/// every connection speaks TLS; the handshake, too, must finish within the request deadline.
/// </summary>
public sealed class HttpServer(
    Socket listener,
    HttpHandler handler,
    HttpLimits limits,
    AgentLog log,
    string name,
    int maxConnections,
    HttpAdmission? admission = null,
    X509Certificate2? certificate = null
)
{
    /// <summary>Bodies up to this size are copied behind their head (one send for a pipelined batch); larger ones are
    /// streamed.</summary>
    private const int InlineFiller = 16 * 1024;
    private static readonly byte[] Filler = CreateFiller();
    private readonly RateLimitedLog _rejects = new(log);
    private readonly ConnectionSet _connections = new(maxConnections);

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
        using var _ = _connections.Track(socket);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
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
                        await RefuseAsync(stream, socket, output, buffer, refusal, cancellationToken);
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
                        cancellationToken
                    );
                    return;
                }
                if (parsed.Status == ParseStatus.Incomplete)
                {
                    // Pipelined responses go out before we wait for more input.
                    if (output.WrittenCount > 0)
                        await FlushAsync(stream, output, cancellationToken);
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
                    if (wait <= TimeSpan.Zero)
                    {
                        _rejects.Info(
                            $"{name}: closing connection from {remote}: request not completed within "
                                + $"{limits.RequestTimeoutOrDefault.TotalSeconds:0}s"
                        );
                        return;
                    }
                    timeout.CancelAfter(wait);
                    int n;
                    try
                    {
                        n = await stream.ReadAsync(buffer.AsMemory(end), timeout.Token);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        _rejects.Info(
                            end == 0
                                ? $"{name}: closing connection from {remote}: idle for "
                                    + $"{limits.IdleTimeoutOrDefault.TotalSeconds:0}s"
                                : $"{name}: closing connection from {remote}: request not completed within "
                                    + $"{limits.RequestTimeoutOrDefault.TotalSeconds:0}s"
                        );
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
                bool keepAlive = parsed.KeepAlive && !response.Close;
                long streamed = WriteResponse(output, response, keepAlive);
                if (streamed > 0)
                {
                    await FlushAsync(stream, output, cancellationToken);
                    await SendFillerAsync(stream, streamed, cancellationToken);
                }
                else if (output.WrittenCount > 64 * 1024 || !keepAlive)
                    await FlushAsync(stream, output, cancellationToken);
                if (!keepAlive)
                    return;
                if (start == end)
                    start = end = 0;
            }
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
        var tls = new SslStream(plain, leaveInnerStreamOpen: false);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(limits.RequestTimeoutOrDefault);
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

    private static async Task RefuseAsync(
        Stream stream,
        Socket socket,
        ArrayBufferWriter<byte> output,
        byte[] buffer,
        HttpResponse response,
        CancellationToken cancellationToken
    )
    {
        WriteResponse(output, response with { Close = true }, keepAlive: false);
        await FlushAsync(stream, output, cancellationToken);
        await LingerAsync(stream, socket, buffer, cancellationToken);
    }

    /// <summary>A large body goes out from one shared read-only buffer: a slow reader holds a socket's buffer, not a
    /// copy of the body.</summary>
    private static async Task SendFillerAsync(Stream stream, long length, CancellationToken cancellationToken)
    {
        while (length > 0)
        {
            int chunk = (int)Math.Min(length, Filler.Length);
            await stream.WriteAsync(Filler.AsMemory(0, chunk), cancellationToken);
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
    private static async Task LingerAsync(
        Stream stream,
        Socket socket,
        byte[] buffer,
        CancellationToken cancellationToken
    )
    {
        if (stream is SslStream tls)
            await tls.ShutdownAsync();
        socket.Shutdown(SocketShutdown.Send);
        using var linger = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        linger.CancelAfter(TimeSpan.FromSeconds(1));
        for (int drained = 0; drained < 256 * 1024; )
        {
            int n = await stream.ReadAsync(buffer, linger.Token);
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

    private static async ValueTask FlushAsync(
        Stream stream,
        ArrayBufferWriter<byte> output,
        CancellationToken cancellationToken
    )
    {
        await stream.WriteAsync(output.WrittenMemory, cancellationToken);
        output.ResetWrittenCount();
    }

    /// <summary>Writes the head (straight into <paramref name="output"/>: a keep-alive exchange allocates nothing
    /// here), the body and a small filler; returns how many filler bytes the caller must still stream.</summary>
    public static long WriteResponse(ArrayBufferWriter<byte> output, HttpResponse response, bool keepAlive)
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
