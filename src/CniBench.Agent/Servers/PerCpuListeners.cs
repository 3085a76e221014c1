using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using CniBench.Agent.Logging;

namespace CniBench.Agent.Servers;

/// <summary>
/// One listening socket per accept thread on the same port (SO_REUSEPORT), with a small classic BPF program that
/// gives each new connection to the listener of the CPU that received it (its number modulo the listeners).
/// <para>
/// Why: with one shared listener, a connection wakes whichever accept thread has waited longest, so each client
/// thread wakes a different server thread each time; the scheduler then spreads them over the cores and every
/// request crosses cores, with idle gaps between. Measured with TCP_CRR and 2 flows on 2 cores: 24k connections/s
/// shared, 21k with SO_REUSEPORT's default (a hash of the addresses, just as random), 29.5k by CPU, which is what
/// netserver reaches with its process per flow. By CPU, a client keeps meeting the same server thread, and the
/// scheduler keeps the pair together. On a real network the CPU is the one the NIC's receive queue interrupts, the
/// same steering receive-side scaling already does.
/// </para>
/// </summary>
internal static class PerCpuListeners
{
    private const int SolSocket = 1,
        ReusePort = 15,
        AttachReusePortCbpf = 51;

    /// <summary>
    /// Lets more listeners join <paramref name="bound"/>'s port. Set after its bind (so the bind still fails when the
    /// port is taken) and before its listen (where the kernel forms the group).
    /// </summary>
    public static void AllowSiblings(Socket bound)
    {
        try
        {
            bound.SetRawSocketOption(SolSocket, ReusePort, BitConverter.GetBytes(1));
        }
        catch (SocketException)
        {
            // Then it stays one listener: Open finds it cannot add more.
        }
    }

    /// <summary>
    /// <paramref name="count"/> listeners on <paramref name="first"/>'s address, <paramref name="first"/> included,
    /// steered by CPU; or <paramref name="first"/> alone (shared by every accept thread) where that cannot be done,
    /// said once in the log.
    /// </summary>
    public static IReadOnlyList<Socket> Open(Socket first, int count, AgentLog log)
    {
        if (count <= 1)
            return [first];
        var listeners = new List<Socket> { first };
        try
        {
            var endpoint = (IPEndPoint)first.LocalEndPoint!;
            while (listeners.Count < count)
            {
                var sibling = new Socket(first.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                listeners.Add(sibling);
                if (first.AddressFamily == AddressFamily.InterNetworkV6)
                    sibling.DualMode = first.DualMode;
                sibling.SetRawSocketOption(SolSocket, ReusePort, BitConverter.GetBytes(1));
                sibling.Bind(endpoint);
                sibling.Listen(4096);
            }
            AttachCpuSteering(first, count);
            return listeners;
        }
        catch (SocketException e)
        {
            foreach (var sibling in listeners.Skip(1))
                sibling.Dispose();
            log.Info($"tcp: one listener shared by the accept threads ({e.SocketErrorCode} making one per CPU)");
            return [first];
        }
    }

    /// <summary>
    /// The group's program: A = the CPU's number; A %= count; return A (the index of the listener, in the order they
    /// joined). An index past the group falls back to the kernel's hash.
    /// </summary>
    private static void AttachCpuSteering(Socket member, int count)
    {
        const ushort LoadWordAbsolute = 0x20,
            ModuloConstant = 0x94,
            ReturnA = 0x16;
        const uint AncillaryCpu = unchecked((uint)(-0x1000 + 36)); // SKF_AD_OFF + SKF_AD_CPU
        Span<byte> program = stackalloc byte[3 * 8];
        WriteInstruction(program[0..8], LoadWordAbsolute, AncillaryCpu);
        WriteInstruction(program[8..16], ModuloConstant, (uint)count);
        WriteInstruction(program[16..24], ReturnA, 0);
        nint instructions = Marshal.AllocHGlobal(program.Length);
        try
        {
            Marshal.Copy(program.ToArray(), 0, instructions, program.Length);
            // struct sock_fprog { unsigned short len; struct sock_filter *filter; }: the pointer aligned to its size.
            Span<byte> fprog = stackalloc byte[2 * IntPtr.Size];
            fprog.Clear();
            MemoryMarshal.Write(fprog, (ushort)3);
            MemoryMarshal.Write(fprog[IntPtr.Size..], instructions);
            member.SetRawSocketOption(SolSocket, AttachReusePortCbpf, fprog);
        }
        finally
        {
            Marshal.FreeHGlobal(instructions);
        }
    }

    /// <summary>struct sock_filter { u16 code; u8 jt; u8 jf; u32 k; }, in the machine's order.</summary>
    private static void WriteInstruction(Span<byte> at, ushort code, uint k)
    {
        MemoryMarshal.Write(at, code);
        at[2] = at[3] = 0;
        MemoryMarshal.Write(at[4..], k);
    }
}
