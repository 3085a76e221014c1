using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace CniBench.Cli.Targets.Lab.Network.Ebpf;

/// <summary>
/// The few bpf(2) commands the socket balancer needs, called directly (no libbpf, clang or bpftool on the
/// machine): create and find maps, read and write their elements, load a program, attach it to a cgroup.
/// Attribute layouts follow include/uapi/linux/bpf.h; every failure names the command and errno.
/// </summary>
public static class Bpf
{
    private const long SysBpf = 321; // x86-64

    private enum Command
    {
        MapCreate = 0,
        MapLookupElem = 1,
        MapUpdateElem = 2,
        MapDeleteElem = 3,
        ProgLoad = 5,
        ProgAttach = 8,
        ProgDetach = 9,
        MapGetNextId = 12,
        MapGetFdById = 14,
        ObjGetInfoByFd = 15,
    }

    public const uint MapTypeHash = 1,
        MapTypeArray = 2;
    public const uint ProgTypeCgroupSockAddr = 18;
    public const uint AttachCgroupInet4Connect = 10;

    [DllImport("libc", EntryPoint = "syscall", SetLastError = true)]
    private static extern long Syscall(long number, long command, IntPtr attr, long size);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int CloseFd(int fd);

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int OpenPath([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    /// <summary>Closes a descriptor we own; a failure (EBADF) would be our bug, and there is nothing else to do about
    /// it.</summary>
    public static void Close(int fd) => _ = CloseFd(fd);

    /// <summary>Calls bpf(cmd, attr); returns the result (an fd for creating commands).</summary>
    private static int Call(Command command, byte[] attr)
    {
        var attrHandle = GCHandle.Alloc(attr, GCHandleType.Pinned);
        try
        {
            long result = Syscall(SysBpf, (long)command, attrHandle.AddrOfPinnedObject(), attr.Length);
            if (result < 0)
                throw new BpfException(command.ToString(), Marshal.GetLastPInvokeError());
            return (int)result;
        }
        finally
        {
            attrHandle.Free();
        }
    }

    /// <summary>The address of a pinned buffer, to put into an attribute (valid while <see cref="Call"/> holds the
    /// pin).</summary>
    private static ulong Address(byte[] buffer, List<GCHandle> pins)
    {
        var handle = GCHandle.Alloc(buffer, GCHandleType.Pinned);
        pins.Add(handle);
        return (ulong)handle.AddrOfPinnedObject();
    }

    private static int CallWith(Command command, Func<List<GCHandle>, byte[]> build)
    {
        var pins = new List<GCHandle>();
        try
        {
            return Call(command, build(pins));
        }
        finally
        {
            foreach (var p in pins)
                p.Free();
        }
    }

    public static int CreateMap(uint type, uint keySize, uint valueSize, uint maxEntries, string name) =>
        CallWith(Command.MapCreate, _ =>
        {
            var attr = new byte[72];
            BinaryPrimitives.WriteUInt32LittleEndian(attr.AsSpan(0), type);
            BinaryPrimitives.WriteUInt32LittleEndian(attr.AsSpan(4), keySize);
            BinaryPrimitives.WriteUInt32LittleEndian(attr.AsSpan(8), valueSize);
            BinaryPrimitives.WriteUInt32LittleEndian(attr.AsSpan(12), maxEntries);
            Encoding.ASCII.GetBytes(name, attr.AsSpan(28, 15));
            return attr;
        });

    public static void Update(int mapFd, byte[] key, byte[] value) => CallWith(Command.MapUpdateElem, pins =>
        {
            var attr = new byte[32];
            BinaryPrimitives.WriteUInt32LittleEndian(attr.AsSpan(0), (uint)mapFd);
            BinaryPrimitives.WriteUInt64LittleEndian(attr.AsSpan(8), Address(key, pins));
            BinaryPrimitives.WriteUInt64LittleEndian(attr.AsSpan(16), Address(value, pins));
            return attr;
        });

    public static bool Lookup(int mapFd, byte[] key, byte[] value)
    {
        try
        {
            CallWith(Command.MapLookupElem, pins =>
            {
                var attr = new byte[32];
                BinaryPrimitives.WriteUInt32LittleEndian(attr.AsSpan(0), (uint)mapFd);
                BinaryPrimitives.WriteUInt64LittleEndian(attr.AsSpan(8), Address(key, pins));
                BinaryPrimitives.WriteUInt64LittleEndian(attr.AsSpan(16), Address(value, pins));
                return attr;
            });
            return true;
        }
        catch (BpfException e) when (e.Errno == 2) // ENOENT
        {
            return false;
        }
    }

    public static void Delete(int mapFd, byte[] key)
    {
        try
        {
            CallWith(Command.MapDeleteElem, pins =>
            {
                var attr = new byte[32];
                BinaryPrimitives.WriteUInt32LittleEndian(attr.AsSpan(0), (uint)mapFd);
                BinaryPrimitives.WriteUInt64LittleEndian(attr.AsSpan(8), Address(key, pins));
                return attr;
            });
        }
        catch (BpfException e) when (e.Errno == 2) { }
    }

    /// <summary>Loads a program; on a verifier rejection the message carries the verifier's log.</summary>
    public static int LoadProgram(uint type, uint expectedAttachType, byte[] instructions, string name)
    {
        var log = new byte[64 * 1024];
        try
        {
            return CallWith(Command.ProgLoad, pins =>
            {
                var attr = new byte[128];
                var license = Encoding.ASCII.GetBytes("GPL\0");
                BinaryPrimitives.WriteUInt32LittleEndian(attr.AsSpan(0), type);
                BinaryPrimitives.WriteUInt32LittleEndian(attr.AsSpan(4), (uint)(instructions.Length / 8));
                BinaryPrimitives.WriteUInt64LittleEndian(attr.AsSpan(8), Address(instructions, pins));
                BinaryPrimitives.WriteUInt64LittleEndian(attr.AsSpan(16), Address(license, pins));
                BinaryPrimitives.WriteUInt32LittleEndian(attr.AsSpan(24), 1);
                BinaryPrimitives.WriteUInt32LittleEndian(attr.AsSpan(28), (uint)log.Length);
                BinaryPrimitives.WriteUInt64LittleEndian(attr.AsSpan(32), Address(log, pins));
                Encoding.ASCII.GetBytes(name, attr.AsSpan(48, 15));
                BinaryPrimitives.WriteUInt32LittleEndian(attr.AsSpan(68), expectedAttachType);
                return attr;
            });
        }
        catch (BpfException e)
        {
            var text = Encoding.ASCII.GetString(log).TrimEnd('\0').Trim();
            throw new BpfException($"{e.Command} (verifier: {(text.Length > 600 ? text[^600..] : text)})", e.Errno);
        }
    }

    public static void Attach(int cgroupFd, int programFd, uint attachType) =>
        CallWith(Command.ProgAttach, _ => AttachAttr(cgroupFd, programFd, attachType));

    public static void Detach(int cgroupFd, uint attachType)
    {
        try
        {
            CallWith(Command.ProgDetach, _ => AttachAttr(cgroupFd, 0, attachType));
        }
        catch (BpfException e) when (e.Errno == 2) { } // nothing attached
    }

    private static byte[] AttachAttr(int cgroupFd, int programFd, uint attachType)
    {
        var attr = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(attr.AsSpan(0), (uint)cgroupFd);
        BinaryPrimitives.WriteUInt32LittleEndian(attr.AsSpan(4), (uint)programFd);
        BinaryPrimitives.WriteUInt32LittleEndian(attr.AsSpan(8), attachType);
        return attr;
    }

    /// <summary>An fd for every map whose name is <paramref name="name"/>, oldest first; the caller closes
    /// them.</summary>
    public static IReadOnlyList<int> FindMaps(string name)
    {
        var found = new List<int>();
        uint id = 0;
        while (true)
        {
            var next = new byte[8];
            BinaryPrimitives.WriteUInt32LittleEndian(next.AsSpan(0), id);
            try
            {
                Call(Command.MapGetNextId, next);
            }
            catch (BpfException e) when (e.Errno == 2)
            {
                return found;
            } // ENOENT: no more maps
            id = BinaryPrimitives.ReadUInt32LittleEndian(next.AsSpan(4));
            var byId = new byte[12];
            BinaryPrimitives.WriteUInt32LittleEndian(byId.AsSpan(0), id);
            int fd;
            try
            {
                fd = Call(Command.MapGetFdById, byId);
            }
            catch (BpfException e) when (e.Errno == 2)
            {
                continue;
            } // freed meanwhile
            var info = new byte[80];
            CallWith(Command.ObjGetInfoByFd, pins =>
            {
                var attr = new byte[16];
                BinaryPrimitives.WriteUInt32LittleEndian(attr.AsSpan(0), (uint)fd);
                BinaryPrimitives.WriteUInt32LittleEndian(attr.AsSpan(4), (uint)info.Length);
                BinaryPrimitives.WriteUInt64LittleEndian(attr.AsSpan(8), Address(info, pins));
                return attr;
            });
            if (Encoding.ASCII.GetString(info, 24, 16).TrimEnd('\0') == name)
                found.Add(fd);
            else
                Close(fd);
        }
    }

    /// <summary>An fd of a cgroup directory, to attach programs to.</summary>
    public static int OpenDirectory(string path)
    {
        const int ReadOnlyDirectory = 0x10000; // O_RDONLY | O_DIRECTORY
        int fd = OpenPath(path, ReadOnlyDirectory);
        if (fd < 0)
            throw new BpfException($"open {path}", Marshal.GetLastPInvokeError());
        return fd;
    }
}

/// <summary>A bpf(2) call failed: the command and the errno, in words where it helps.</summary>
public sealed class BpfException(string command, int errno)
    : Exception($"bpf {command} failed: errno {errno}{Hint(errno)}")
{
    public string Command { get; } = command;
    public int Errno { get; } = errno;

    private static string Hint(int errno) =>
        errno switch
        {
            1 => " (EPERM: needs root / CAP_BPF and CAP_NET_ADMIN)",
            13 => " (EACCES: the verifier refused the program)",
            22 => " (EINVAL)",
            38 => " (ENOSYS: this kernel has no bpf syscall)",
            _ => "",
        };
}
