using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using CniBench.Agent.Wire;

namespace CniBench.Agent.Workloads;

/// <summary>
/// One HTTP/1.1 client connection: writes a prepared request, reads status, Content-Length and the
/// backend header, discards the body. Reconnects lazily when the previous exchange closed it.
/// </summary>
public sealed class HttpConnection(IPEndPoint server, OperationWatchdog.Slot slot) : IDisposable
{
    private const int MaxHeaderBytes = 16 * 1024;
    private static readonly byte[] BackendHeaderName = Encoding.ASCII.GetBytes(EchoHeaders.Backend);
    private static readonly byte[] AddressHeaderName = Encoding.ASCII.GetBytes(EchoHeaders.Address);
    private static readonly byte[] PeerHeaderName = Encoding.ASCII.GetBytes(EchoHeaders.Peer);
    private readonly byte[] _buffer = new byte[MaxHeaderBytes];
    private readonly RepeatedString _backend = new(),
        _address = new(),
        _peer = new();
    private Socket? _socket;
    private int _start,
        _end;

    /// <summary>Status and what the echo server said of itself: name, the address reached, the source it saw.</summary>
    public readonly record struct Response(int Status, string? Backend, string? Address = null, string? Peer = null);

    /// <remarks>Each exchange waits on the socket, so its state machine would be a new object every time without the
    /// pooling builder: the hot path of a keep-alive connection allocates nothing.</remarks>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<Response> ExchangeAsync(
        ReadOnlyMemory<byte> request,
        long deadline,
        CancellationToken cancellationToken
    )
    {
        if (_socket is null)
        {
            _socket = NewSocket(oneWrite: false, deadline);
            await _socket.ConnectAsync(server, cancellationToken);
        }
        else
        {
            slot.Arm(_socket, deadline);
        }
        var socket = _socket;
        try
        {
            for (var rest = request; !rest.IsEmpty; )
                rest = rest[await socket.SendAsync(rest, SocketFlags.None, cancellationToken)..];
            int headerEnd;
            while ((headerEnd = HeaderEnd()) < 0)
                await FillAsync(socket, cancellationToken);
            var (response, remaining, close) = TakeHead(headerEnd);
            while ((remaining -= TakeBody(remaining)) > 0)
                await FillAsync(socket, cancellationToken);
            if (close)
            {
                // The server closes first: wait for its close before this side's, so the TIME_WAIT is the server's
                // and the two closes never cross (both sides would then hold one).
                if (_end == _start)
                    await socket.ReceiveAsync(_buffer.AsMemory(0, 1), SocketFlags.None, cancellationToken);
                Reset();
            }
            return response;
        }
        catch
        {
            Reset();
            throw;
        }
    }

    /// <summary>
    /// The same exchange with blocking calls, for a user on a thread of its own. A connection per request costs
    /// less so: an asynchronous connect registers the new socket with epoll and resumes on another thread, about
    /// 8 µs of CPU per request on this project's 2-core test machine. A request that writes once (Connection:
    /// close) also skips the Nagle setting.
    /// </summary>
    public Response Exchange(byte[] request, long deadline, bool oneWrite)
    {
        if (_socket is null)
        {
            _socket = NewSocket(oneWrite, deadline);
            _socket.Connect(server);
        }
        else
        {
            slot.Arm(_socket, deadline);
        }
        var socket = _socket;
        try
        {
            for (int sent = 0; sent < request.Length; )
                sent += socket.Send(request, sent, request.Length - sent, SocketFlags.None);
            int headerEnd;
            while ((headerEnd = HeaderEnd()) < 0)
                Fill(socket);
            var (response, remaining, close) = TakeHead(headerEnd);
            while ((remaining -= TakeBody(remaining)) > 0)
                Fill(socket);
            if (close)
            {
                if (_end == _start)
                    RawSockets.Receive(socket, _buffer.AsSpan(0, 1)); // the server's close (see ExchangeAsync)
                Reset();
            }
            return response;
        }
        catch
        {
            Reset();
            throw;
        }
    }

    private Socket NewSocket(bool oneWrite, long deadline)
    {
        var socket = new Socket(server.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        _start = _end = 0;
        try
        {
            if (!oneWrite)
                socket.NoDelay = true;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        slot.Arm(socket, deadline);
        return socket;
    }

    private int HeaderEnd() => _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8);

    /// <summary>Parses the head that ends at <paramref name="headerEnd"/> and consumes it.</summary>
    private (Response Response, long ContentLength, bool Close) TakeHead(int headerEnd)
    {
        var head = ParseHead(_buffer.AsSpan(_start, headerEnd));
        _start += headerEnd + 4;
        return head;
    }

    /// <summary>Discards up to <paramref name="remaining"/> body bytes from the buffer; how many it did.</summary>
    private int TakeBody(long remaining)
    {
        int take = (int)Math.Min(remaining, _end - _start);
        _start += take;
        return take;
    }

    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    private async ValueTask FillAsync(Socket socket, CancellationToken cancellationToken) =>
        Filled(await socket.ReceiveAsync(_buffer.AsMemory(MakeRoom()), SocketFlags.None, cancellationToken));

    private void Fill(Socket socket)
    {
        int room = MakeRoom();
        Filled(RawSockets.Receive(socket, _buffer.AsSpan(room)));
    }

    /// <summary>Moves what is unread to the front; where the free space starts.</summary>
    private int MakeRoom()
    {
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _end - _start).CopyTo(_buffer);
            _end -= _start;
            _start = 0;
        }
        if (_end == _buffer.Length)
            throw new InvalidDataException($"response header exceeds {MaxHeaderBytes} bytes");
        return _end;
    }

    private void Filled(int received)
    {
        if (received == 0)
            throw new EndOfStreamException("server closed the connection");
        _end += received;
    }

    private (Response Response, long ContentLength, bool Close) ParseHead(ReadOnlySpan<byte> head)
    {
        // "HTTP/1.1 200 OK"
        if (
            head.Length < 12
            || !head.StartsWith("HTTP/1."u8)
            || !Utf8Parser.TryParse(head.Slice(9, 3), out int status, out _)
        )
            throw new InvalidDataException("malformed status line");
        long contentLength = -1;
        string? backend = null,
            address = null,
            peer = null;
        bool close = false;
        while (true)
        {
            int lineEnd = head.IndexOf("\r\n"u8);
            if (lineEnd < 0)
                break;
            head = head[(lineEnd + 2)..];
            var line = head;
            int next = line.IndexOf("\r\n"u8);
            if (next >= 0)
                line = line[..next];
            int colon = line.IndexOf((byte)':');
            if (colon <= 0)
                continue;
            var name = line[..colon];
            var value = line[(colon + 1)..].Trim((byte)' ');
            if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8))
            {
                if (!Utf8Parser.TryParse(value, out contentLength, out _) || contentLength < 0)
                    throw new InvalidDataException("malformed Content-Length");
            }
            else if (Ascii.EqualsIgnoreCase(name, BackendHeaderName))
            {
                backend = _backend.Get(value);
            }
            else if (Ascii.EqualsIgnoreCase(name, AddressHeaderName))
            {
                address = _address.Get(value);
            }
            else if (Ascii.EqualsIgnoreCase(name, PeerHeaderName))
            {
                peer = _peer.Get(value);
            }
            else if (Ascii.EqualsIgnoreCase(name, "Connection"u8) && Ascii.EqualsIgnoreCase(value, "close"u8))
            {
                close = true;
            }
        }
        if (contentLength < 0)
            throw new InvalidDataException("response without Content-Length");
        return (new Response(status, backend, address, peer), contentLength, close);
    }

    /// <summary>A header value that rarely changes between responses: the last string is reused instead of allocating
    /// one.</summary>
    private sealed class RepeatedString
    {
        private byte[] _bytes = [];
        private string? _text;

        public string Get(ReadOnlySpan<byte> value)
        {
            if (_text is null || !value.SequenceEqual(_bytes))
            {
                _bytes = value.ToArray();
                _text = Encoding.UTF8.GetString(value);
            }
            return _text;
        }
    }

    public void Reset()
    {
        _socket?.Dispose();
        _socket = null;
    }

    public void Dispose() => Reset();
}
