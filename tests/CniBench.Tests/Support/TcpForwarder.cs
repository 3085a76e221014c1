using System.Net;
using System.Net.Sockets;

namespace CniBench.Tests.Support;

/// <summary>
/// A userspace TCP balancer on loopback, as a proxy in front of a ClusterIP: each new connection goes where
/// <see cref="_pick"/> says at that instant (null: reset, as when no rule or a gone pod takes it). Listens
/// only after <c>listenAfter</c>, so connections before that are refused, as to a Service whose
/// rules are not written yet.
/// </summary>
public sealed class TcpForwarder : IAsyncDisposable
{
    private readonly Func<IPEndPoint?> _pick;
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accept;
    private readonly MemoryStream _firstUp = new();
    private int _connections;

    /// <param name="port">A port to take again (a Service re-created with the same address); 0: any.</param>
    public TcpForwarder(Func<IPEndPoint?> pick, TimeSpan? listenAfter = null, int port = 0)
    {
        _pick = pick;
        // Bound at once (the port is known and kept), listening only later.
        _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        Port = ((IPEndPoint)_listener.LocalEndPoint!).Port;
        // Without a delay it listens before the constructor returns: a client connecting at once must not find the
        // port bound but not yet listening (refused) while the thread pool is busy.
        if (listenAfter is null)
            Listen();
        _accept = Task.Run(async () =>
        {
            if (listenAfter is { } wait)
            {
                await Task.Delay(wait, _stop.Token).ContinueWith(_ => { });
                if (_stop.IsCancellationRequested)
                    return;
                Listen();
            }
            await AcceptAsync();
        });
    }

    public int Port { get; }

    private void Listen()
    {
        _listener.Listen(512);
        ListeningSinceUnixUs = CniBench.Contracts.Protocol.UnixClock.NowMicroseconds();
    }

    /// <summary>Connections relayed so far.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>The first bytes (at most 64) the first client sent: what the wire carried.</summary>
    public byte[] FirstClientBytes
    {
        get
        {
            lock (_firstUp)
                return _firstUp.ToArray();
        }
    }

    /// <summary>When it really began to listen (a busy test host may run the delay late); null until then.</summary>
    public long? ListeningSinceUnixUs { get; private set; }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = new TcpClient { Client = await _listener.AcceptAsync(_stop.Token) };
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            _ = Task.Run(() => ForwardAsync(client));
        }
    }

    private async Task ForwardAsync(TcpClient client)
    {
        using (client)
        {
            if (_pick() is not { } target)
            {
                client.Client.LingerState = new LingerOption(true, 0);
                return;
            }
            using var backend = new TcpClient();
            try
            {
                await backend.ConnectAsync(target, _stop.Token);
                var up =
                    Interlocked.Increment(ref _connections) == 1
                        ? CopyRecordingAsync(client.GetStream(), backend.GetStream())
                        : client.GetStream().CopyToAsync(backend.GetStream(), _stop.Token);
                var down = backend.GetStream().CopyToAsync(client.GetStream(), _stop.Token);
                await Task.WhenAny(up, down);
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException) { }
        }
    }

    private async Task CopyRecordingAsync(Stream from, Stream to)
    {
        var buffer = new byte[64 * 1024];
        int n;
        while ((n = await from.ReadAsync(buffer, _stop.Token)) > 0)
        {
            lock (_firstUp)
                _firstUp.Write(buffer, 0, Math.Min(n, 64 - (int)_firstUp.Length));
            await to.WriteAsync(buffer.AsMemory(0, n), _stop.Token);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _accept;
        _stop.Dispose();
    }
}
