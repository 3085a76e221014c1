namespace CniBench.Agent.Peers;

/// <summary>
/// How long a server waits on one peer: for its next bytes (idle) and for it to accept the bytes sent to it (a write
/// stall). A peer that reads nothing fills the host's TCP memory with what is queued for it, one that sends nothing
/// holds a connection slot: both are closed once their limit passes. One timer per connection, re-armed before each
/// read and write (the paths here never read and write at once), so a keep-alive exchange allocates nothing for it.
/// </summary>
public sealed class PeerDeadline(CancellationToken stopping) : IDisposable
{
    /// <summary>A peer that takes no bytes for this long is gone or hostile (a benchmark never stalls that
    /// long).</summary>
    public static readonly TimeSpan DefaultWriteStall = TimeSpan.FromSeconds(30);

    private readonly CancellationTokenSource _timer = CancellationTokenSource.CreateLinkedTokenSource(stopping);

    /// <summary>The token for the next read or write, cancelled <paramref name="limit"/> from now or when the server
    /// stops.</summary>
    public CancellationToken Arm(TimeSpan limit)
    {
        _timer.CancelAfter(limit);
        return _timer.Token;
    }

    /// <summary>Whether the limit passed (rather than the server stopping).</summary>
    public bool Expired => _timer.IsCancellationRequested && !stopping.IsCancellationRequested;

    public void Dispose() => _timer.Dispose();
}

/// <summary>
/// A connection's stream whose every read waits at most <see cref="Idle"/> and every write at most <paramref
/// name="writeStall"/>: the asynchronous TCP and TLS data paths use it, so no peer holds them for ever. A limit that
/// passes ends the call with <see cref="TimeoutException"/>. Calls are cancelled by the deadline's token (linked to
/// the server's stop), not the caller's: a TLS stream over this one passes its own.
/// </summary>
public sealed class DeadlineStream(Stream inner, PeerDeadline deadline, TimeSpan idle, TimeSpan writeStall) : Stream
{
    /// <summary>The limit of the next reads: shorter while a handshake and hello are due.</summary>
    public TimeSpan Idle { get; set; } = idle;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await inner.ReadAsync(buffer, deadline.Arm(Idle));
        }
        catch (OperationCanceledException) when (deadline.Expired)
        {
            throw new TimeoutException($"no bytes from the peer for {Idle.TotalSeconds:0}s");
        }
    }

    public override async ValueTask WriteAsync(
        ReadOnlyMemory<byte> buffer,
        CancellationToken cancellationToken = default
    )
    {
        try
        {
            await inner.WriteAsync(buffer, deadline.Arm(writeStall));
        }
        catch (OperationCanceledException) when (deadline.Expired)
        {
            throw new TimeoutException($"the peer accepted no bytes for {writeStall.TotalSeconds:0}s");
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override void Flush() => inner.Flush();

    // The synchronous calls would have no deadline: the servers never make them.
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
            inner.Dispose();
        base.Dispose(disposing);
    }
}

/// <summary>How long the data servers wait on a peer (docs/protocol.md): tests set shorter ones.</summary>
/// <param name="Idle">A data connection that sends nothing for this long is gone (a benchmark never pauses that
/// long).</param>
/// <param name="WriteStall">A peer that accepts no bytes for this long is closed.</param>
/// <param name="Authenticate">A control connection that has not shown the token this long after it connected is
/// closed.</param>
public sealed record PeerLimits(TimeSpan Idle, TimeSpan WriteStall, TimeSpan Authenticate)
{
    public PeerLimits()
        : this(TimeSpan.FromSeconds(120), PeerDeadline.DefaultWriteStall, TimeSpan.FromSeconds(5)) { }
}
