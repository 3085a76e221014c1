using System.Buffers.Binary;

namespace CniBench.Cli.Targets.Lab.Network.Ebpf;

/// <summary>
/// Emits eBPF instructions (8 bytes: opcode, dst|src registers, 16-bit offset, 32-bit immediate), with
/// forward jumps to named labels resolved on <see cref="Build"/>. Only what the socket balancer uses.
/// </summary>
public sealed class BpfAssembler
{
    public const int MapLookupElem = 1,
        GetPrandomU32 = 7;
    private readonly List<(byte Op, byte Dst, byte Src, short Off, int Imm)> _code = new();
    private readonly Dictionary<string, int> _labels = new();
    private readonly List<(int At, string Label)> _jumps = new();

    private void Emit(byte op, int dst, int src, int off, int imm) =>
        _code.Add((op, (byte)dst, (byte)src, (short)off, imm));

    public void Mov64(int dst, int src) => Emit(0xbf, dst, src, 0, 0);

    public void MovImmediate(int dst, int imm) => Emit(0xb7, dst, 0, 0, imm);

    public void Add64(int dst, int imm) => Emit(0x07, dst, 0, 0, imm);

    public void Add64Register(int dst, int src) => Emit(0x0f, dst, src, 0, 0);

    public void Mod32(int dst, int src) => Emit(0x9c, dst, src, 0, 0);

    public void LoadWord(int dst, int src, int offset) => Emit(0x61, dst, src, offset, 0);

    public void StoreWord(int dst, int offset, int src) => Emit(0x63, dst, src, offset, 0);

    public void Call(int helper) => Emit(0x85, 0, 0, 0, helper);

    public void Exit() => Emit(0x95, 0, 0, 0, 0);

    /// <summary>lddw with src = BPF_PSEUDO_MAP_FD: the kernel replaces the fd with the map on load.</summary>
    public void LoadMapFd(int dst, int mapFd)
    {
        Emit(0x18, dst, 1, 0, mapFd);
        Emit(0x00, 0, 0, 0, 0);
    }

    public void JumpIfZero(int register, string label)
    {
        _jumps.Add((_code.Count, label));
        Emit(0x15, register, 0, 0, 0);
    }

    public void Label(string name) => _labels[name] = _code.Count;

    public byte[] Build()
    {
        foreach (var (at, label) in _jumps)
        {
            var i = _code[at];
            _code[at] = i with { Off = (short)(_labels[label] - at - 1) };
        }
        var bytes = new byte[_code.Count * 8];
        for (int n = 0; n < _code.Count; n++)
        {
            var (op, dst, src, off, imm) = _code[n];
            var span = bytes.AsSpan(n * 8, 8);
            span[0] = op;
            span[1] = (byte)((src << 4) | (dst & 0x0f));
            BinaryPrimitives.WriteInt16LittleEndian(span[2..], off);
            BinaryPrimitives.WriteInt32LittleEndian(span[4..], imm);
        }
        return bytes;
    }
}
