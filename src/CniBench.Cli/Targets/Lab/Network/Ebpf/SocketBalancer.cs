using System.Buffers.Binary;
using System.Net;

namespace CniBench.Cli.Targets.Lab.Network.Ebpf;

/// <summary>
/// Socket-level load balancing as Cilium's kube-proxy replacement does it for in-cluster traffic: a BPF
/// program on the connect() hook of a node's pod cgroup looks up (ClusterIP, port) in a hash map and
/// rewrites the destination to a backend picked at random from an array, before any packet exists, so no
/// NAT rule is walked per connection. One cgroup, program and pair of maps per node, as every node has its
/// own agent. The program is emitted here as bytecode (no compiler needed on the machine).
///
///   services map: key (ip4, port as u32, both network order) → (count, first backend slot)
///   backends map: slot → (ip4, port); slot 0 holds the next free slot, so another process can go on
///   appending: a change writes new slots, then swaps the service entry in one update.
/// </summary>
public sealed class SocketBalancer(string labId, int node)
{
    private const uint MaxServices = 65_536,
        MaxBackends = 1 << 20;

    public string ServicesMapName => $"cb{labId}n{node}s";
    public string BackendsMapName => $"cb{labId}n{node}b";

    /// <summary>Where the lab's cgroups live: the cgroup v2 mount (e.g. /sys/fs/cgroup or
    /// /sys/fs/cgroup/unified).</summary>
    public static string? CgroupRoot()
    {
        if (!File.Exists("/proc/mounts"))
            return null;
        return File.ReadLines("/proc/mounts")
            .Select(l => l.Split(' '))
            .FirstOrDefault(f => f.Length > 2 && f[2] == "cgroup2")
            ?[1];
    }

    public static string LabCgroup(string cgroupRoot, string labId) => Path.Combine(cgroupRoot, $"cnibench-{labId}");

    public string NodeCgroup(string cgroupRoot) => Path.Combine(LabCgroup(cgroupRoot, labId), $"n{node}");

    /// <summary>Creates fresh maps, fills them, loads the program and attaches it in place of any earlier
    /// one.</summary>
    public void Program(string cgroupRoot, IReadOnlyList<LabService> services)
    {
        int servicesMap = Bpf.CreateMap(Bpf.MapTypeHash, 8, 8, MaxServices, ServicesMapName);
        int backendsMap = Bpf.CreateMap(Bpf.MapTypeArray, 4, 8, MaxBackends, BackendsMapName);
        try
        {
            WriteNextSlot(backendsMap, 1);
            foreach (var s in services)
                Put(servicesMap, backendsMap, s);
            int program = Bpf.LoadProgram(
                Bpf.ProgTypeCgroupSockAddr,
                Bpf.AttachCgroupInet4Connect,
                Connect4(servicesMap, backendsMap),
                $"cb{labId}n{node}"
            );
            int cgroup = Bpf.OpenDirectory(NodeCgroup(cgroupRoot));
            try
            {
                Bpf.Detach(cgroup, Bpf.AttachCgroupInet4Connect);
                Bpf.Attach(cgroup, program, Bpf.AttachCgroupInet4Connect);
            }
            finally
            {
                Bpf.Close(cgroup);
                // The attachment holds the program, and the program its maps: our fds can go.
                Bpf.Close(program);
            }
        }
        finally
        {
            Bpf.Close(servicesMap);
            Bpf.Close(backendsMap);
        }
    }

    /// <summary>Brings the maps from one set of services to another, touching only what changed.</summary>
    public void Update(IReadOnlyList<LabService> before, IReadOnlyList<LabService> after)
    {
        var (servicesMap, backendsMap) = OpenMaps();
        try
        {
            var old = before.ToDictionary(Key);
            foreach (var s in after)
            {
                if (old.Remove(Key(s), out var previous) && previous.Endpoints.SequenceEqual(s.Endpoints))
                    continue;
                Put(servicesMap, backendsMap, s);
            }
            foreach (var gone in old.Values)
                Bpf.Delete(servicesMap, ServiceKey(gone.ClusterIp, gone.Port));
        }
        finally
        {
            Bpf.Close(servicesMap);
            Bpf.Close(backendsMap);
        }
    }

    /// <summary>Detaches the program from the node's cgroup; the maps go with the program.</summary>
    public void Detach(string cgroupRoot)
    {
        var path = NodeCgroup(cgroupRoot);
        if (!Directory.Exists(path))
            return;
        int cgroup = Bpf.OpenDirectory(path);
        try
        {
            Bpf.Detach(cgroup, Bpf.AttachCgroupInet4Connect);
        }
        finally
        {
            Bpf.Close(cgroup);
        }
    }

    private static string Key(LabService s) => $"{s.ClusterIp}:{s.Port}/{s.Protocol}";

    /// <summary>The newest maps of this node: a program just replaced may leave its maps behind for a moment.</summary>
    private (int Services, int Backends) OpenMaps()
    {
        var services = Bpf.FindMaps(ServicesMapName);
        var backends = Bpf.FindMaps(BackendsMapName);
        foreach (var fd in services.SkipLast(1).Concat(backends.SkipLast(1)))
            Bpf.Close(fd);
        if (services.Count > 0 && backends.Count > 0)
            return (services[^1], backends[^1]);
        foreach (var fd in services.TakeLast(1).Concat(backends.TakeLast(1)))
            Bpf.Close(fd);
        throw new LabException($"node {node}: the socket balancer's maps are missing; is the lab's proxy ebpf?");
    }

    /// <summary>Writes the service's endpoints into fresh slots, then points the service at them in one
    /// update.</summary>
    private static void Put(int servicesMap, int backendsMap, LabService s)
    {
        uint first = ReadNextSlot(backendsMap);
        if (first + s.Endpoints.Count >= MaxBackends)
            throw new LabException(
                $"the socket balancer's backend array is full ({MaxBackends} slots); rebuild the lab"
            );
        for (int i = 0; i < s.Endpoints.Count; i++)
            Bpf.Update(backendsMap, Slot((uint)(first + i)), Address(s.Endpoints[i].Address, s.Endpoints[i].Port));
        WriteNextSlot(backendsMap, first + (uint)s.Endpoints.Count);
        var value = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(0), (uint)s.Endpoints.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(value.AsSpan(4), first);
        Bpf.Update(servicesMap, ServiceKey(s.ClusterIp, s.Port), value);
    }

    private static uint ReadNextSlot(int backendsMap)
    {
        var value = new byte[8];
        Bpf.Lookup(backendsMap, Slot(0), value);
        return Math.Max(1, BinaryPrimitives.ReadUInt32LittleEndian(value));
    }

    private static void WriteNextSlot(int backendsMap, uint next)
    {
        var value = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(value, next);
        Bpf.Update(backendsMap, Slot(0), value);
    }

    private static byte[] Slot(uint index)
    {
        var key = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(key, index);
        return key;
    }

    /// <summary>An IPv4 address and port as the program reads them from the socket: both in network order.</summary>
    public static byte[] Address(string ip, int port)
    {
        var bytes = new byte[8];
        IPAddress.Parse(ip).GetAddressBytes().CopyTo(bytes, 0);
        BinaryPrimitives.WriteUInt16BigEndian(bytes.AsSpan(4), (ushort)port);
        return bytes;
    }

    public static byte[] ServiceKey(string ip, int port) => Address(ip, port);

    /// <summary>
    /// The connect4 program. ctx is struct bpf_sock_addr: user_ip4 at offset 4, user_port at 24.
    /// Returns 1 (allow) always; rewrites the destination only for a known service with endpoints.
    /// </summary>
    public static byte[] Connect4(int servicesMapFd, int backendsMapFd)
    {
        var p = new BpfAssembler();
        p.Mov64(6, 1); // r6 = ctx
        p.LoadWord(2, 6, 4); // r2 = ctx->user_ip4
        p.LoadWord(3, 6, 24); // r3 = ctx->user_port
        p.StoreWord(10, -8, 2); // key.ip
        p.StoreWord(10, -4, 3); // key.port
        p.LoadMapFd(1, servicesMapFd);
        p.Mov64(2, 10);
        p.Add64(2, -8);
        p.Call(BpfAssembler.MapLookupElem);
        p.JumpIfZero(0, "out");
        p.LoadWord(7, 0, 0); // r7 = count
        p.LoadWord(8, 0, 4); // r8 = first slot
        p.JumpIfZero(7, "out");
        p.Call(BpfAssembler.GetPrandomU32);
        p.Mod32(0, 7); // r0 = random % count
        p.Add64Register(0, 8); // r0 = first + r0
        p.StoreWord(10, -12, 0);
        p.LoadMapFd(1, backendsMapFd);
        p.Mov64(2, 10);
        p.Add64(2, -12);
        p.Call(BpfAssembler.MapLookupElem);
        p.JumpIfZero(0, "out");
        p.LoadWord(2, 0, 0);
        p.LoadWord(3, 0, 4);
        p.StoreWord(6, 4, 2); // ctx->user_ip4 = backend ip
        p.StoreWord(6, 24, 3); // ctx->user_port = backend port
        p.Label("out");
        p.MovImmediate(0, 1);
        p.Exit();
        return p.Build();
    }
}
