#!/usr/bin/env python3
"""CniBench benchmark harness: the agent side by side with the native tools, on loopback, in one run.

Each round runs every pair (agent, native) back to back and alternates which goes first, because
this machine drifts 10-30% within the hour. For every measurement the CPU time of the client and
server processes is read (from /proc and wait4), so a rate comes with its cost per transaction or
per byte: a fast rate bought by spinning a core shows up here.

    python3 bench/run.py [--rounds 3] [--seconds 5] [--skip-publish]

Needs iperf3, sockperf (or qperf) and wrk (apt-get install iperf3 sockperf qperf wrk).
Traffic goes only to 127.0.0.1; every loop is bounded by --rounds and --seconds.
"""
import argparse, json, os, re, shutil, signal, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")
AGENT = os.path.join(OUT, "agent", "cnibench-agent")
TICK = os.sysconf("SC_CLK_TCK")
PORTS = {"control": 17200, "tcp": 17201, "udp": 17202, "http": 17280, "iperf3": 15201, "sockperf": 11111, "qperf": 19765}


def publish():
    # The agent as it ships: self-contained, trimmed, one file.
    subprocess.run(["dotnet", "publish", os.path.join(ROOT, "src", "CniBench.Agent"), "-c", "Release", "-r", "linux-x64",
                    "--self-contained", "-p:PublishTrimmed=true", "-p:PublishSingleFile=true", "-o", os.path.join(OUT, "agent")],
                   check=True, stdout=subprocess.DEVNULL)


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def run_client(cmd, server_pid, seconds):
    """Runs a client to completion; returns (stdout, CPU seconds of client + server, window seconds).

    CPU is read inside a steady-state window (from 1 s after the start to 0.2 s before the nominal
    end), where every tool is past its warm-up and start-up: a per-unit cost then compares like with like.
    """
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(1.0)
    before, t0 = cpu_seconds(proc.pid) + cpu_seconds(server_pid), time.monotonic()
    time.sleep(max(0.5, seconds - 1.2))
    after, t1 = cpu_seconds(proc.pid) + cpu_seconds(server_pid), time.monotonic()
    out, err = proc.communicate(timeout=seconds + 60)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {proc.returncode}: {err.strip()[:400]}")
    return out, after - before, t1 - t0


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


def agent_run(workload, seconds, *extra):
    return [AGENT, "run", "-w", workload, "-d", f"{seconds}s", "--warmup", "1s", "--json", *extra]


def parse_agent(out, kind):
    r = json.loads(out)["result"]
    s = r["measuredSeconds"]
    return r["bytes"] * 8 / s / 1e9 if kind == "stream" else r["transactions"] / s


def benchmarks(seconds, have):
    """(name, kind, agent command, native command, native parser, server pid name for each side)."""
    tcp = f"127.0.0.1:{PORTS['tcp']}"
    items = []
    if have("iperf3"):
        def iperf(out):
            return json.loads(out)["end"]["sum_received"]["bits_per_second"] / 1e9
        for streams in (1, 8):
            items.append((f"tcp-stream x{streams} vs iperf3", "stream",
                          agent_run("tcp-stream", seconds, "--to", tcp, "-P", str(streams), "--message-size", "128KiB"),
                          ["iperf3", "-c", "127.0.0.1", "-p", str(PORTS["iperf3"]), "-t", str(seconds), "-O", "1", "-P", str(streams), "-l", "128K", "-J"],
                          iperf, "iperf3"))
    if have("sockperf"):
        def sockperf(out):
            m = re.search(r"RunTime=([\d.]+) sec; Warm up time=\d+ msec; SentMessages=(\d+); ReceivedMessages=(\d+)", out)
            return int(m.group(3)) / float(m.group(1))
        items.append(("tcp-rr 64B vs sockperf ping-pong", "rr",
                      agent_run("tcp-rr", seconds, "--to", tcp, "--request-size", "64", "--response-size", "64"),
                      ["sockperf", "ping-pong", "--tcp", "-i", "127.0.0.1", "-p", str(PORTS["sockperf"]), "-t", str(seconds), "-m", "64"],
                      sockperf, "sockperf"))
    elif have("qperf"):
        def qperf(out):
            m = re.search(r"msg_rate\s*=\s*([\d.]+) (K?)/sec", out)
            return float(m.group(1)) * (1000 if m.group(2) == "K" else 1)
        items.append(("tcp-rr 64B vs qperf tcp_lat", "rr",
                      agent_run("tcp-rr", seconds, "--to", tcp, "--request-size", "64", "--response-size", "64"),
                      ["qperf", "-lp", str(PORTS["qperf"]), "-t", str(seconds), "-m", "64", "-vu", "127.0.0.1", "tcp_lat", "-um"],
                      qperf, "qperf"))
    if have("wrk"):
        def wrk(out):
            return float(re.search(r"Requests/sec:\s*([\d.]+)", out).group(1))
        url = f"http://127.0.0.1:{PORTS['http']}/echo?size=64"
        items.append(("http 32 users vs wrk", "rr",
                      agent_run("http", seconds, "--to", f"127.0.0.1:{PORTS['http']}", "-P", "32", "--response-size", "64"),
                      ["wrk", "-t", "2", "-c", "32", "-d", f"{seconds}s", url],
                      wrk, "agent"))
    return items


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=3, help="rounds (1..20)")
    ap.add_argument("--seconds", type=int, default=5, help="measured seconds per measurement (1..60)")
    ap.add_argument("--skip-publish", action="store_true", help="reuse bench/out/agent")
    args = ap.parse_args()
    if not 1 <= args.rounds <= 20 or not 1 <= args.seconds <= 60:
        sys.exit("bench: --rounds must be 1..20 and --seconds 1..60")
    have = lambda tool: shutil.which(tool) is not None
    missing = [t for t in ("iperf3", "wrk") if not have(t)] + ([] if have("sockperf") or have("qperf") else ["sockperf or qperf"])
    if missing:
        print(f"bench: missing {', '.join(missing)} (apt-get install iperf3 sockperf qperf wrk); those comparisons are skipped", file=sys.stderr)
    if not args.skip_publish:
        publish()

    servers = Servers()
    results = {}
    try:
        servers.start("agent", [AGENT, "serve", "--token", "bench-0123456789abcdef"] + sum(([f"--{k}-port", str(PORTS[k])] for k in ("control", "tcp", "udp", "http")), []),
                      wait_for_port=PORTS["tcp"])
        if have("iperf3"):
            servers.start("iperf3", ["iperf3", "-s", "-p", str(PORTS["iperf3"])], wait_for_port=PORTS["iperf3"])
        if have("sockperf"):
            servers.start("sockperf", ["sockperf", "server", "--tcp", "-i", "127.0.0.1", "-p", str(PORTS["sockperf"])], wait_for_port=PORTS["sockperf"])
        elif have("qperf"):
            servers.start("qperf", ["qperf", "-lp", str(PORTS["qperf"])], wait_for_port=PORTS["qperf"])

        for rnd in range(args.rounds):
            for name, kind, agent_cmd, native_cmd, native_parse, native_server in benchmarks(args.seconds, have):
                sides = [("agent", agent_cmd, lambda o: parse_agent(o, kind), "agent"), ("native", native_cmd, native_parse, native_server)]
                if rnd % 2 == 1:
                    sides.reverse()  # alternate who goes first: drift must not favour one side
                for side, cmd, parse, server in sides:
                    out, cpu, window = run_client(cmd, servers.pid(server), args.seconds)
                    rate = parse(out)
                    # Core-time (client + server) per transaction in µs, or per gigabyte in s.
                    per = cpu / (rate * window) * 1e6 if kind == "rr" else cpu / (rate / 8 * window)
                    results.setdefault(name, {"kind": kind, "agent": [], "native": []})[side].append({"rate": rate, "cpu_per_unit": per, "cpu_seconds": cpu, "window_seconds": window})
                    print(f"round {rnd + 1} {name:36} {side:6} {rate:14,.2f} {'Gbit/s' if kind == 'stream' else 'tx/s':6} cpu {per:8.2f} {'µs/tx' if kind == 'rr' else 's/GB'}", flush=True)
    finally:
        servers.stop()

    print()
    print(f"{'benchmark':38} {'agent':>14} {'native':>14} {'ratio':>6}   {'agent CPU':>12} {'native CPU':>12}")
    summary = {}
    for name, r in results.items():
        unit, cpu_unit = ("Gbit/s", "s/GB") if r["kind"] == "stream" else ("tx/s", "µs/tx")
        a = statistics.median(x["rate"] for x in r["agent"])
        n = statistics.median(x["rate"] for x in r["native"])
        ac = statistics.median(x["cpu_per_unit"] for x in r["agent"])
        nc = statistics.median(x["cpu_per_unit"] for x in r["native"])
        summary[name] = {"agent": a, "native": n, "ratio": a / n, "unit": unit, "agent_cpu": ac, "native_cpu": nc, "cpu_unit": cpu_unit, "rounds": args.rounds}
        print(f"{name:38} {a:14,.2f} {n:14,.2f} {a / n:6.2f}   {ac:8.2f} {cpu_unit:5} {nc:6.2f} {cpu_unit}")
    os.makedirs(OUT, exist_ok=True)
    with open(os.path.join(OUT, "bench.json"), "w") as f:
        json.dump({"seconds": args.seconds, "rounds": args.rounds, "summary": summary, "raw": results}, f, indent=2)
    print(f"\nmedians over {args.rounds} rounds of {args.seconds}s; raw figures in bench/out/bench.json")


if __name__ == "__main__":
    main()
