#!/usr/bin/env python3
"""CniBench benchmark harness: the agent side by side with the native tools, on loopback, in one run.

Every row pairs an agent workload with the native tool a user would reach for (netperf 2.7.1 for TCP and
UDP request/response and streams, iperf3 for UDP goodput at a fixed load, wrk for HTTP), with the same sizes
and flow counts: N flows of netperf are N netperf processes, as super_netperf runs them. Each round runs every
pair back to back and alternates which goes first, because this machine drifts 10-30% within the hour.

CPU is the time on a CPU of every thread of the tools' processes (clients and servers, the agent's included) and of
the kernel's softirq threads, from each thread's schedstat, in a steady window (from 1 s after the start to 0.2 s
before the end), divided by the units done: core-µs per transaction or core-s per GB. A fast rate bought by
spinning a core, or by a server that burns CPU, shows up there. (The machine's /proc/stat busy time, kept in the raw
figures, is sampled at timer ticks: a tool that sleeps and wakes on a 1 ms timer, as iperf3 paces UDP, is mostly
not running when the tick samples, and looked four times cheaper than it was.) The agent's memory (resident set of the serving
agent, idle and at its peak under the HTTP rows) is printed after the table, and so is what the agent allocates per
unit (managed bytes: the client's over its measured window, from its samples; the server's over the whole row, from
its /v1/info before and after): a steady hot path allocates nothing.

    python3 bench/run.py [--rounds 3] [--seconds 5] [--skip-publish] [--only NAME] [--syscalls]

--syscalls counts instead, once per row under strace -c -f: the system calls of client and server per unit, for the
agent and the native tool (the client's start-up calls are included; rates under strace mean nothing).

netperf and netserver are taken from ../shared/tools beside the repository (or $CNIBENCH_NETPERF_DIR); iperf3
and wrk from PATH (apt-get install iperf3 wrk). A missing tool is named and its rows are skipped.
Traffic goes only to 127.0.0.1; every loop is bounded by --rounds and --seconds.
"""
import argparse, json, os, re, shutil, signal, statistics, subprocess, sys, time, urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
AGENT = os.path.join(OUT, "agent", "cnibench-agent")
PORTS = {"control": 17200, "tcp": 17201, "udp": 17202, "http": 17280, "iperf3": 15201, "netserver": 12865}
TOKEN = "bench-0123456789abcdef"


def publish():
    # The agent as it ships: self-contained, trimmed, one file.
    subprocess.run(["dotnet", "publish", os.path.join(ROOT, "src", "CniBench.Agent"), "-c", "Release", "-r", "linux-x64",
                    "--self-contained", "-p:PublishTrimmed=true", "-p:PublishSingleFile=true", "-o", os.path.join(OUT, "agent")],
                   check=True, stdout=subprocess.DEVNULL)


def netperf_dir():
    for d in (os.environ.get("CNIBENCH_NETPERF_DIR"), os.path.join(os.path.dirname(ROOT), "shared", "tools")):
        if d and os.access(os.path.join(d, "netperf"), os.X_OK) and os.access(os.path.join(d, "netserver"), os.X_OK):
            return d
    return None


def machine_busy_seconds():
    """Core-seconds the whole machine spent busy since boot (user, nice, system, irq, softirq, steal)."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    user, nice, system, idle, iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


TOOLS = {"cnibench-agent", "netperf", "netserver", "iperf3", "wrk"}


def tools_on_cpu_seconds():
    """Per thread: seconds on a CPU since it started (schedstat), for the tools' threads and the softirq threads."""
    times = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/comm") as f:
                comm = f.read().strip()
            if comm not in TOOLS and not comm.startswith("ksoftirqd/"):
                continue
            for tid in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                    times[tid] = int(f.read().split()[0]) / 1e9
        except (FileNotFoundError, ProcessLookupError):
            continue  # gone meanwhile
    return times


def on_cpu_between(before, after):
    """Seconds on a CPU between two snapshots, over the threads alive at both (a thread born in between counts whole)."""
    return sum(t - before.get(tid, 0.0) for tid, t in after.items())


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def server_allocated_bytes():
    """Managed bytes the serving agent has allocated since it started (its /v1/info)."""
    request = urllib.request.Request(f"http://127.0.0.1:{PORTS['control']}/v1/info",
                                     headers={"Authorization": f"Bearer {TOKEN}", "CniBench-Protocol": "1"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response).get("allocatedBytes", 0)


def client_allocated_per_unit(out, units):
    """Managed bytes the agent client allocated in its measured window (its samples), per unit done."""
    measured = [s for s in json.loads(out)["samples"] if s["phase"] == "measured"]
    return sum(s.get("processAllocatedBytes", 0) for s in measured) / units if units > 0 else float("nan")


def strace_total(path):
    """The call count on strace -c's total line."""
    with open(path) as f:
        for line in f:
            if line.rstrip().endswith(" total"):
                return int(line.split()[3])
    return 0


def count_syscalls(cmds, server_pid, units_of, seconds):
    """Client (all processes) and server system calls per unit, one run under strace -c -f."""
    os.makedirs(OUT, exist_ok=True)
    server_file = os.path.join(OUT, "strace-server.txt")
    tracer = subprocess.Popen(["strace", "-c", "-f", "-p", str(server_pid), "-o", server_file],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    client_files = [os.path.join(OUT, f"strace-client-{i}.txt") for i in range(len(cmds))]
    traced = [["strace", "-c", "-f", "-o", f, *c] for f, c in zip(client_files, cmds)]
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in traced]
    outs = [p.communicate(timeout=seconds + 60)[0] for p in procs]
    tracer.send_signal(signal.SIGINT)
    tracer.wait(timeout=10)
    units = units_of(outs)
    client = sum(strace_total(f) for f in client_files)
    return client / units, strace_total(server_file) / units


def run_clients(cmds, seconds, watch_pid=None):
    """Runs clients side by side to completion; returns (outputs, busy core-seconds, window seconds, peak RSS of watch_pid)."""
    procs = [subprocess.Popen(c, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for c in cmds]
    peak = rss_mib(watch_pid) if watch_pid else 0.0
    time.sleep(1.0)
    before, threads_before, t0 = machine_busy_seconds(), tools_on_cpu_seconds(), time.monotonic()
    end = t0 + max(0.5, seconds - 1.2)
    while time.monotonic() < end:
        time.sleep(min(0.25, max(0.0, end - time.monotonic())))
        if watch_pid:
            peak = max(peak, rss_mib(watch_pid))
    after, threads_after, t1 = machine_busy_seconds(), tools_on_cpu_seconds(), time.monotonic()
    outs = []
    for p, c in zip(procs, cmds):
        out, err = p.communicate(timeout=seconds + 60)
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(c)} exited {p.returncode}: {err.strip()[:400]}")
        outs.append(out)
    return outs, on_cpu_between(threads_before, threads_after), t1 - t0, peak, after - before


class Servers:
    def __init__(self):
        self.procs = {}

    def start(self, name, cmd, wait_for_port=None):
        self.procs[name] = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if wait_for_port:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                if subprocess.run(["bash", "-c", f"echo > /dev/tcp/127.0.0.1/{wait_for_port}"], stderr=subprocess.DEVNULL).returncode == 0:
                    return self.procs[name]
                time.sleep(0.1)
            raise RuntimeError(f"{name} did not listen on {wait_for_port}")
        return self.procs[name]

    def pid(self, name):
        return self.procs[name].pid

    def stop(self):
        for p in self.procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.procs.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


def agent_port_flags():
    return sum(([f"--{k}-port", str(PORTS[k])] for k in ("control", "tcp", "udp", "http")), [])


def agent(workload, seconds, *extra):
    return [[AGENT, "run", "-w", workload, "-d", f"{seconds}s", "--warmup", "1s", "--json", *extra]]


def agent_rate(kind):
    def parse(outs):
        r = json.loads(outs[0])["result"]
        s = r["measuredSeconds"]
        if kind == "goodput":
            udp = r.get("udp") or {}
            received = udp.get("received", 0) / udp["sent"] if udp.get("sent") else 0.0
            return r["bytes"] * 8 / s / 1e9 * min(1.0, received)
        return r["bytes"] * 8 / s / 1e9 if kind == "stream" else r["transactions"] / s
    return parse


def netperf(tools, test, flows, seconds, *options):
    # -P 0 -v 0: no banner, only the rate (10^6 bit/s for streams, transactions per second otherwise).
    base = [os.path.join(tools, "netperf"), "-H", "127.0.0.1", "-p", str(PORTS["netserver"]), "-t", test, "-l", str(seconds),
            "-P", "0", "-v", "0"]
    return [base + (["--", *options] if options else []) for _ in range(flows)]


def netperf_rate(kind):
    def parse(outs):
        total = sum(float(out.split()[-1]) for out in outs)
        return total / 1000 if kind == "stream" else total
    return parse


def rows(seconds, tools):
    """(name, kind, agent commands, native commands, native parser, needs)."""
    tcp, udp, http = (f"127.0.0.1:{PORTS[p]}" for p in ("tcp", "udp", "http"))
    items = []
    if tools:
        rr1, rr64 = ["--request-size", "1", "--response-size", "1"], ["--request-size", "64", "--response-size", "64"]
        netperf_rows = [
            # name, kind, agent workload, its address, flows, netperf test, agent options, netperf test options
            ("TCP stream, 1 flow, 128 KiB sends", "stream", "tcp-stream", tcp, 1, "TCP_STREAM", ["--message-size", "128KiB"], ["-m", "131072"]),
            ("TCP_RR 1 byte, 1 flow", "rr", "tcp-rr", tcp, 1, "TCP_RR", rr1, ["-r", "1,1"]),
            ("TCP_RR 1 byte, 2 flows", "rr", "tcp-rr", tcp, 2, "TCP_RR", rr1, ["-r", "1,1"]),
            ("TCP_CRR, 1 flow", "rr", "tcp-crr", tcp, 1, "TCP_CRR", rr1, ["-r", "1,1"]),
            ("TCP_CRR, 2 flows", "rr", "tcp-crr", tcp, 2, "TCP_CRR", rr1, ["-r", "1,1"]),
            ("UDP_RR 64 bytes, 1 flow", "rr", "udp-rr", udp, 1, "UDP_RR", rr64, ["-r", "64,64"]),
        ]
        items += [(name, kind, agent(workload, seconds, "--to", to, "-P", str(flows), *agent_options),
                   netperf(tools, test, flows, seconds, *test_options), netperf_rate(kind))
                  for name, kind, workload, to, flows, test, agent_options, test_options in netperf_rows]
    if shutil.which("iperf3"):
        def iperf_goodput(outs):
            s = json.loads(outs[0])["end"]["sum"]
            return s["bits_per_second"] * (1 - s.get("lost_percent", 0) / 100) / 1e9
        items.append(("UDP stream 1400 B at 1 Gbit/s offered, goodput", "goodput",
                      agent("udp-stream", seconds, "--to", udp, "-P", "1", "--message-size", "1400", "--bitrate", "1Gbit"),
                      [["iperf3", "-c", "127.0.0.1", "-p", str(PORTS["iperf3"]), "-u", "-b", "1G", "-l", "1400", "-t", str(seconds), "-J"]],
                      iperf_goodput))
    if shutil.which("wrk"):
        def wrk(outs):
            return float(re.search(r"Requests/sec:\s*([\d.]+)", outs[0]).group(1))
        url = f"http://{http}/echo?size=64"
        items.append(("HTTP keep-alive, 32 connections", "rr",
                      agent("http", seconds, "--to", http, "-P", "32", "--response-size", "64"),
                      [["wrk", "-t", "2", "-c", "32", "-d", f"{seconds}s", url]], wrk))
        items.append(("HTTP new connection per request, 8 connections", "rr",
                      agent("http", seconds, "--to", http, "-P", "8", "--response-size", "64", "--new-connection"),
                      [["wrk", "-t", "2", "-c", "8", "-d", f"{seconds}s", "-H", "Connection: close", url]], wrk))
    return items


def print_syscalls(table, servers, seconds):
    def agent_units(kind):
        def units(outs):
            # Every phase: the client's calls include its warm-up.
            samples = json.loads(outs[0])["samples"]
            return sum(x["transactions"] if kind == "rr" else x["bytes"] / 1e9 for x in samples)
        return units

    def native_units(kind, parse):
        return lambda outs: parse(outs) * seconds / (1 if kind == "rr" else 8)

    print("| case | agent client | agent server | native client | native server |")
    print("|---|---:|---:|---:|---:|")
    for name, kind, agent_cmds, native_cmds, native_parse in table:
        unit = "/tx" if kind == "rr" else "/GB"
        native_server = ("agent" if name.startswith("HTTP") else "iperf3" if kind == "goodput" else "netserver")
        a = count_syscalls(agent_cmds, servers.pid("agent"), agent_units(kind), seconds)
        n = count_syscalls(native_cmds, servers.pid(native_server), native_units(kind, native_parse), seconds)
        print(f"| {name} | {a[0]:,.2f}{unit} | {a[1]:,.2f}{unit} | {n[0]:,.2f}{unit} | {n[1]:,.2f}{unit} |", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="rounds (1..20)")
    ap.add_argument("--seconds", type=int, default=5, help="measured seconds per measurement (2..60)")
    ap.add_argument("--skip-publish", action="store_true", help="reuse bench/out/agent")
    ap.add_argument("--only", help="run the rows whose name contains this text")
    ap.add_argument("--syscalls", action="store_true", help="count system calls per unit instead (strace)")
    args = ap.parse_args()
    if not 1 <= args.rounds <= 20 or not 2 <= args.seconds <= 60:
        sys.exit("bench: --rounds must be 1..20 and --seconds 2..60")
    tools = netperf_dir()
    missing = ([] if tools else ["netperf/netserver (../shared/tools or $CNIBENCH_NETPERF_DIR)"]) + [t for t in ("iperf3", "wrk") if not shutil.which(t)]
    if missing:
        print(f"bench: missing {', '.join(missing)}; those rows are skipped (apt-get install iperf3 wrk)", file=sys.stderr)
    if not args.skip_publish:
        publish()

    servers = Servers()
    results, memory = {}, {}
    try:
        serve = [AGENT, "serve", "--token", TOKEN, *agent_port_flags()]
        servers.start("agent", serve, wait_for_port=PORTS["tcp"])
        time.sleep(1.0)
        memory["idle"] = rss_mib(servers.pid("agent"))
        if tools:
            servers.start("netserver", [os.path.join(tools, "netserver"), "-D", "-L", "127.0.0.1", "-p", str(PORTS["netserver"])],
                          wait_for_port=PORTS["netserver"])
        if shutil.which("iperf3"):
            servers.start("iperf3", ["iperf3", "-s", "-p", str(PORTS["iperf3"])], wait_for_port=PORTS["iperf3"])

        table = [r for r in rows(args.seconds, tools) if not args.only or args.only.lower() in r[0].lower()]
        if args.syscalls:
            print_syscalls(table, servers, args.seconds)
            return
        for rnd in range(args.rounds):
            for name, kind, agent_cmds, native_cmds, native_parse in table:
                sides = [("agent", agent_cmds, agent_rate(kind)), ("native", native_cmds, native_parse)]
                if rnd % 2 == 1:
                    sides.reverse()  # alternate who goes first: drift must not favour one side
                for side, cmds, parse in sides:
                    allocated_before = server_allocated_bytes() if side == "agent" else 0
                    outs, cpu, window, peak, machine_cpu = run_clients(cmds, args.seconds, servers.pid("agent"))
                    if name.startswith("HTTP"):
                        memory["under HTTP load"] = max(memory.get("under HTTP load", 0.0), peak)
                    rate = parse(outs)
                    units = rate * window if kind == "rr" else rate / 8 * window  # transactions, or GB
                    per = cpu / units * (1e6 if kind == "rr" else 1) if units > 0 else float("inf")
                    row = {"rate": rate, "cpu_per_unit": per, "cpu_seconds": cpu, "window_seconds": window,
                           "machine_cpu_seconds": machine_cpu}
                    if side == "agent":
                        result = json.loads(outs[0])["result"]
                        done = result["transactions"] if kind == "rr" else result["bytes"] / 1e9
                        row["client_bytes_per_unit"] = client_allocated_per_unit(outs[0], done)
                        row["server_bytes_per_unit"] = (server_allocated_bytes() - allocated_before) / done if done else float("nan")
                    results.setdefault(name, {"kind": kind, "agent": [], "native": []})[side].append(row)
                    unit = "tx/s" if kind == "rr" else "Gbit/s"
                    print(f"round {rnd + 1} {name:48} {side:6} {rate:14,.2f} {unit:6} cpu {per:10.2f} {'µs/tx' if kind == 'rr' else 's/GB'}", flush=True)
    finally:
        servers.stop()

    print()
    print(f"| case | native | agent | rate ratio | CPU per unit, agent / native |")
    print(f"|---|---:|---:|---:|---:|")
    summary = {}
    for name, r in results.items():
        unit, cpu_unit = ("tx/s", "µs/tx") if r["kind"] == "rr" else ("Gbit/s", "s/GB")
        a = statistics.median(x["rate"] for x in r["agent"])
        n = statistics.median(x["rate"] for x in r["native"])
        ac = statistics.median(x["cpu_per_unit"] for x in r["agent"])
        nc = statistics.median(x["cpu_per_unit"] for x in r["native"])
        summary[name] = {"agent": a, "native": n, "ratio": a / n if n else None, "unit": unit, "agent_cpu": ac, "native_cpu": nc,
                         "cpu_unit": cpu_unit, "cpu_ratio": ac / nc if nc else None, "rounds": args.rounds}
        fmt = (lambda v: f"{v / 1000:,.1f}k {unit}") if unit == "tx/s" else (lambda v: f"{v:,.2f} {unit}")
        print(f"| {name} | {fmt(n)} | {fmt(a)} | {a / n:.2f} | {ac / nc:.2f} ({ac:.2f} vs {nc:.2f} {cpu_unit}) |")
    print()
    print("| case | agent client allocates | agent server allocates |")
    print("|---|---:|---:|")
    for name, r in results.items():
        unit = "B/tx" if r["kind"] == "rr" else "B/GB"
        client = statistics.median(x["client_bytes_per_unit"] for x in r["agent"])
        server = statistics.median(x["server_bytes_per_unit"] for x in r["agent"])
        summary[name].update({"client_bytes_per_unit": client, "server_bytes_per_unit": server})
        print(f"| {name} | {client:,.2f} {unit} | {server:,.2f} {unit} |")
    print()
    print(f"agent memory (resident): idle {memory.get('idle', 0):.1f} MiB"
          + (f", at most {memory['under HTTP load']:.1f} MiB under the HTTP rows" if "under HTTP load" in memory else ""))
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "bench.json"), "w") as f:
        json.dump({"seconds": args.seconds, "rounds": args.rounds, "summary": summary, "memory_mib": memory, "raw": results}, f, indent=2)
    print(f"medians over {args.rounds} rounds of {args.seconds}s; CPU is the tools' and softirq threads' time on a CPU; raw figures in bench/out/bench.json")


if __name__ == "__main__":
    main()
