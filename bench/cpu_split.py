#!/usr/bin/env python3
"""Where the CPU of a request/response row goes, agent beside netperf: perf samples every CPU for 4 s of a 7-s run
of each, and splits the time per transaction into the kernel's work on the tools' threads, their user-space work,
and the .NET runtime's own threads (tiered JIT, GC, timers), in core-µs per transaction.

    sudo python3 bench/cpu_split.py tcp-crr 2      # also: tcp-rr 1|2, tcp-crr 1, udp-rr 1

Needs perf (apt-get install linux-perf) and netperf/netserver from ../shared/tools (or $CNIBENCH_NETPERF_DIR); uses
the agent bench/run.py published. Traffic stays on 127.0.0.1. perf itself costs a few percent of both rates.
"""
import collections, os, re, subprocess, sys, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the harness: paths, ports, token)

NETPERF_TEST = {"tcp-rr": "TCP_RR", "tcp-crr": "TCP_CRR", "udp-rr": "UDP_RR"}
SIZES = {"tcp-rr": "1,1", "tcp-crr": "1,1", "udp-rr": "64,64"}


def record(path):
    subprocess.run(["perf", "record", "-e", "cpu-clock", "-F", "4000", "-a", "-o", path, "--", "sleep", "4"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def split(path):
    out = subprocess.run(["perf", "report", "-i", path, "--no-children", "--sort", "comm,dso", "--stdio", "-g", "none"],
                         capture_output=True, text=True, check=True).stdout
    parts = collections.Counter()
    for line in out.splitlines():
        m = re.match(r"\s+([\d.]+)%\s+(.+?)\s{2,}(\S.*?)\s*$", line)
        if not m:
            continue
        share, comm, dso = float(m.group(1)), m.group(2).strip(), m.group(3)
        if comm.startswith(".NET"):
            parts["runtime threads (JIT, GC, timers)"] += share
        elif comm in ("swapper", "perf") or comm.startswith(("kworker", "kdamond", "rcu")):
            continue  # idle, the recorder, the kernel's housekeeping
        elif "kernel" in dso:
            parts["tool threads: kernel"] += share
        else:
            parts["tool threads: user space"] += share
    return parts


def main():
    workload, flows = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1
    tools = run.netperf_dir()
    if tools is None:
        sys.exit("netperf and netserver not found in ../shared/tools or $CNIBENCH_NETPERF_DIR")
    request, response = SIZES[workload].split(",")
    port = run.PORTS["udp" if workload.startswith("udp") else "tcp"]
    cpus = os.cpu_count()
    servers = run.Servers()
    try:
        servers.start("agent", [run.AGENT, "serve", "--token", run.TOKEN, *run.agent_port_flags()],
                      wait_for_port=run.PORTS["control"])
        client = subprocess.Popen([run.AGENT, "run", "-w", workload, "--to", f"127.0.0.1:{port}", "-P", str(flows),
                                   "--request-size", request, "--response-size", response, "-d", "7s", "--warmup", "1s",
                                   "--json"], stdout=subprocess.PIPE, text=True)
        time.sleep(2.5)
        record("/tmp/cnibench-cpu-split-agent.data")
        agent_rate = run.agent_rate("tx/s")([client.communicate()[0]])
        servers.stop()
        servers.start("netserver", [os.path.join(tools, "netserver"), "-D", "-L", "127.0.0.1", "-p",
                                    str(run.PORTS["netserver"])], wait_for_port=run.PORTS["netserver"])
        clients = [subprocess.Popen([os.path.join(tools, "netperf"), "-H", "127.0.0.1", "-p", str(run.PORTS["netserver"]),
                                     "-t", NETPERF_TEST[workload], "-l", "7", "-P", "0", "-v", "0", "--", "-r",
                                     SIZES[workload]], stdout=subprocess.PIPE, text=True) for _ in range(flows)]
        time.sleep(2.5)
        record("/tmp/cnibench-cpu-split-native.data")
        native_rate = run.netperf_rate("tx/s")([c.communicate()[0] for c in clients])
    finally:
        servers.stop()
    agent, native = split("/tmp/cnibench-cpu-split-agent.data"), split("/tmp/cnibench-cpu-split-native.data")
    per_tx = lambda share, rate: share / 100 * cpus * 1e6 / rate
    print(f"{workload}, {flows} flow(s), under perf: agent {agent_rate:,.0f} tx/s, netperf {native_rate:,.0f} tx/s")
    print("| where | agent µs/tx | netperf µs/tx |\n|---|---:|---:|")
    for part in sorted(set(agent) | set(native)):
        print(f"| {part} | {per_tx(agent[part], agent_rate):.2f} | {per_tx(native[part], native_rate):.2f} |")
    print(f"| total | {per_tx(sum(agent.values()), agent_rate):.2f} | {per_tx(sum(native.values()), native_rate):.2f} |")


if __name__ == "__main__":
    main()
