using System.Buffers.Binary;
using CniBench.Contracts.Protocol;
using CniBench.Contracts.Workloads;

namespace CniBench.Agent.Wire;

public enum TcpMode : byte
{
    Sink = 1,
    Source = 2,
    RequestResponse = 3,
}

/// <summary>
/// The first 16 bytes of every data connection: which workload it serves, so that one TCP port
/// answers them all. Layout (little-endian): "CNB1", mode u8, flags u8, reserved u16, request size u32, response size
/// u32.
/// </summary>
public readonly record struct TcpHello(TcpMode Mode, bool ShortLived, int RequestSize, int ResponseSize)
{
    private const byte ShortLivedFlag = 1;

    public void Write(Span<byte> destination)
    {
        ControlProtocol.TcpMagic.CopyTo(destination);
        destination[4] = (byte)Mode;
        destination[5] = ShortLived ? ShortLivedFlag : (byte)0;
        destination[6] = destination[7] = 0;
        BinaryPrimitives.WriteInt32LittleEndian(destination[8..], RequestSize);
        BinaryPrimitives.WriteInt32LittleEndian(destination[12..], ResponseSize);
    }

    public byte[] ToArray()
    {
        var bytes = new byte[ControlProtocol.TcpHelloSize];
        Write(bytes);
        return bytes;
    }

    /// <summary>Decodes and bounds-checks a hello; the error says what was wrong, for the server log.</summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out TcpHello hello, out string error)
    {
        hello = default;
        if (source.Length < ControlProtocol.TcpHelloSize || !source[..4].SequenceEqual(ControlProtocol.TcpMagic))
        {
            error = "not a CniBench data connection (bad magic)";
            return false;
        }
        var mode = (TcpMode)source[4];
        if (mode is not (TcpMode.Sink or TcpMode.Source or TcpMode.RequestResponse))
        {
            error = $"unknown mode {source[4]}";
            return false;
        }
        int request = BinaryPrimitives.ReadInt32LittleEndian(source[8..]);
        int response = BinaryPrimitives.ReadInt32LittleEndian(source[12..]);
        // Every size is checked in every mode, used or not: a server sizes its buffer from both.
        int minRequest = mode == TcpMode.RequestResponse ? 1 : 0;
        int minResponse = mode is TcpMode.RequestResponse or TcpMode.Source ? 1 : 0;
        if (
            request < minRequest
            || request > Limits.MaxMessageSize
            || response < minResponse
            || response > Limits.MaxMessageSize
        )
        {
            error =
                $"sizes out of range (request {request}, response {response}; allowed "
                + $"{minRequest}..{Limits.MaxMessageSize} and {minResponse}..{Limits.MaxMessageSize} in mode {mode})";
            return false;
        }
        hello = new TcpHello(mode, (source[5] & ShortLivedFlag) != 0, request, response);
        error = "";
        return true;
    }
}
