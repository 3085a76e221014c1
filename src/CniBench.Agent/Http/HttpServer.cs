using System.Buffers;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace CniBench.Agent.Http;

/// <summary>
/// A small HTTP/1.1 server on a listening socket: keep-alive, pipelining, bounded input.
/// A bad request is answered with its status and that connection alone is closed.
/// </summary>
public sealed class HttpServer(Socket listener, HttpHandler handler, HttpLimits limits, AgentLog log, string name)
{
    private readonly RateLimitedLog _rejects = new(log);
    private readonly ConnectionSet _connections = new();

    public Task RunAsync(CancellationToken cancellationToken) =>
        _connections.AcceptAsync(listener, socket => ServeConnectionAsync(socket, cancellationToken), log, name, cancellationToken);

    private async Task ServeConnectionAsync(Socket socket, CancellationToken cancellationToken)
    {
        using var _ = _connections.Track(socket);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (socket.ProtocolType == ProtocolType.Tcp) socket.NoDelay = true;
        var remote = socket.RemoteEndPoint?.ToString() ?? "?";
        var connection = new HttpConnectionInfo(AddressOf(socket.LocalEndPoint), AddressOf(socket.RemoteEndPoint));
        byte[] buffer = ArrayPool<byte>.Shared.Rent(4096);
        var output = new ArrayBufferWriter<byte>(4096);
        int start = 0, end = 0;
        try
        {
            while (true)
            {
                var parsed = HttpRequestParser.TryParse(buffer.AsSpan(start, end - start), limits, connection);
                if (parsed.Status == ParseStatus.Invalid)
                {
                    _rejects.Info($"{name}: closing connection from {remote}: {parsed.Reason}");
                    WriteResponse(output, new HttpResponse(parsed.ErrorStatus, Encoding.ASCII.GetBytes(parsed.Reason + "\n"), Close: true), keepAlive: false);
                    await FlushAsync(socket, output, cancellationToken);
                    await LingerAsync(socket, buffer, cancellationToken);
                    return;
                }
                if (parsed.Status == ParseStatus.Incomplete)
                {
                    // Pipelined responses go out before we wait for more input.
                    if (output.WrittenCount > 0) await FlushAsync(socket, output, cancellationToken);
                    if (start > 0)
                    {
                        buffer.AsSpan(start, end - start).CopyTo(buffer);
                        end -= start;
                        start = 0;
                    }
                    if (end == buffer.Length) buffer = Grow(buffer, end);
                    // A half-received request must complete in time; an idle keep-alive connection may wait.
                    timeout.CancelAfter(end > 0 ? limits.RequestTimeoutOrDefault : Timeout.InfiniteTimeSpan);
                    int n;
                    try
                    {
                        n = await socket.ReceiveAsync(buffer.AsMemory(end), SocketFlags.None, timeout.Token);
                    }
                    catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                    {
                        _rejects.Info($"{name}: closing connection from {remote}: request not completed within {limits.RequestTimeoutOrDefault.TotalSeconds:0}s");
                        return;
                    }
                    if (n == 0) return;
                    end += n;
                    continue;
                }

                start += parsed.Consumed;
                var response = await handler(parsed.Request!, cancellationToken);
                bool keepAlive = parsed.KeepAlive && !response.Close;
                WriteResponse(output, response, keepAlive);
                if (output.WrittenCount > 64 * 1024 || !keepAlive) await FlushAsync(socket, output, cancellationToken);
                if (!keepAlive) return;
            }
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            // The peer went away or we are shutting down: nothing to answer.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static string? AddressOf(System.Net.EndPoint? endPoint) => endPoint is System.Net.IPEndPoint ip
        ? (ip.Address.IsIPv4MappedToIPv6 ? ip.Address.MapToIPv4() : ip.Address).ToString()
        : null;

    /// <summary>
    /// Closing a socket with unread input makes the kernel send a reset, which can destroy the error
    /// response before the client reads it: stop sending, then drain a bounded amount of input first.
    /// </summary>
    private static async Task LingerAsync(Socket socket, byte[] buffer, CancellationToken cancellationToken)
    {
        socket.Shutdown(SocketShutdown.Send);
        using var linger = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        linger.CancelAfter(TimeSpan.FromSeconds(1));
        for (int drained = 0; drained < 256 * 1024;)
        {
            int n = await socket.ReceiveAsync(buffer, SocketFlags.None, linger.Token);
            if (n == 0) return;
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

    private static async ValueTask FlushAsync(Socket socket, ArrayBufferWriter<byte> output, CancellationToken cancellationToken)
    {
        var data = output.WrittenMemory;
        while (!data.IsEmpty)
        {
            int sent = await socket.SendAsync(data, SocketFlags.None, cancellationToken);
            data = data[sent..];
        }
        output.ResetWrittenCount();
    }

    public static void WriteResponse(ArrayBufferWriter<byte> output, HttpResponse response, bool keepAlive)
    {
        var head = new StringBuilder(128);
        head.Append("HTTP/1.1 ").Append(response.Status.ToString(CultureInfo.InvariantCulture)).Append(' ').Append(ReasonPhrase(response.Status)).Append("\r\n");
        head.Append("Content-Length: ").Append((response.Body.Length + response.FillerLength).ToString(CultureInfo.InvariantCulture)).Append("\r\n");
        head.Append("Content-Type: ").Append(response.ContentType).Append("\r\n");
        if (response.Headers is not null)
        {
            foreach (var (key, value) in response.Headers) head.Append(key).Append(": ").Append(value).Append("\r\n");
        }
        if (!keepAlive) head.Append("Connection: close\r\n");
        head.Append("\r\n");
        int n = Encoding.ASCII.GetBytes(head.ToString(), output.GetSpan(head.Length));
        output.Advance(n);
        output.Write(response.Body.Span);
        long filler = response.FillerLength;
        while (filler > 0)
        {
            int chunk = (int)Math.Min(filler, 64 * 1024);
            output.GetSpan(chunk)[..chunk].Fill((byte)'x');
            output.Advance(chunk);
            filler -= chunk;
        }
    }

    private static string ReasonPhrase(int status) => status switch
    {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Content Too Large",
        431 => "Request Header Fields Too Large",
        501 => "Not Implemented",
        505 => "HTTP Version Not Supported",
        _ => "Status",
    };
}
