using System.Buffers.Binary;
using CniBench.Contracts.Protocol;

namespace CniBench.Agent.Wire;

public enum UdpType : byte
{
    Data = 1,
    EchoRequest = 2,
    EchoReply = 3,
    StatsRequest = 4,
    StatsReply = 5,
}

/// <summary>
/// The 24-byte header of every datagram: "CNU1", type u8, reply size u24 (echo requests), session u64, sequence u64.
/// A stats reply carries received packets and bytes (u64 each) after the header.
/// </summary>
public readonly record struct UdpHeader(UdpType Type, int ReplySize, ulong Session, ulong Sequence)
{
    public const int Size = 24;
    public const int StatsReplySize = Size + 16;

    public void Write(Span<byte> destination)
    {
        ControlProtocol.UdpMagic.CopyTo(destination);
        destination[4] = (byte)Type;
        destination[5] = (byte)ReplySize;
        destination[6] = (byte)(ReplySize >> 8);
        destination[7] = (byte)(ReplySize >> 16);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], Session);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], Sequence);
    }

    public static bool TryRead(ReadOnlySpan<byte> source, out UdpHeader header)
    {
        header = default;
        if (source.Length < Size || !source[..4].SequenceEqual(ControlProtocol.UdpMagic))
            return false;
        var type = (UdpType)source[4];
        if (type is < UdpType.Data or > UdpType.StatsReply)
            return false;
        int replySize = source[5] | source[6] << 8 | source[7] << 16;
        header = new UdpHeader(
            type,
            replySize,
            BinaryPrimitives.ReadUInt64LittleEndian(source[8..]),
            BinaryPrimitives.ReadUInt64LittleEndian(source[16..])
        );
        return true;
    }

    /// <summary>Overwrites only the sequence number: the hot send loop reuses one prepared buffer.</summary>
    public static void WriteSequence(Span<byte> datagram, ulong sequence) =>
        BinaryPrimitives.WriteUInt64LittleEndian(datagram[16..], sequence);
}
