#!/usr/bin/env python3
"""Two builds of the agent's server side by side: did a change cost the serving paths any rate or CPU?

The base build (a git commit, by default the one before HEAD's branch of work: --base REF) and the working tree are
each published as the agent ships (bench/run.py's publish), then serve in turn, alternating which goes first each
round (this machine drifts 10-30% within the hour). Both are driven by the same clients: wrk for HTTP (keep-alive
with small and 16 KiB answers, and 1 MiB bodies, the streamed path) and the working tree's agent client for TCP
request/response and connect rate. Reported per row: the base's and the change's median rate over the rounds, their
ratio, and core-µs per transaction of every thread of the tools and the kernel's softirq threads (bench/run.py's
accounting).

    python3 bench/agent_ab.py [--base REF] [--rounds 3] [--seconds 5] [--only NAME]

Traffic goes only to 127.0.0.1; every loop is bounded by --rounds and --seconds.
"""
import argparse
import re
import os
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402  (the harness: servers, clients, CPU accounting)


def publish(source, out):
    subprocess.run(["dotnet", "publish", os.path.join(source, "src", "CniBench.Agent"), "-c", "Release", "-r", "linux-x64",
                    "--self-contained", "-p:PublishTrimmed=true", "-p:PublishSingleFile=true", "-o", out],
                   check=True, stdout=subprocess.DEVNULL)
    return os.path.join(out, "cnibench-agent")


def base_build(ref):
    """The agent at REF, from a worktree of its own under bench/out."""
    tree = os.path.join(run.OUT, "ab-base-src")
    if os.path.isdir(tree):
        subprocess.run(["git", "-C", run.ROOT, "worktree", "remove", "--force", tree], check=False)
    subprocess.run(["git", "-C", run.ROOT, "worktree", "add", "--detach", tree, ref], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        return publish(tree, os.path.join(run.OUT, "ab-base"))
    finally:
        subprocess.run(["git", "-C", run.ROOT, "worktree", "remove", "--force", tree], check=False)


def rows(client, seconds):
    """(name, client commands, rate parser)."""
    http = f"127.0.0.1:{run.PORTS['http']}"
    tcp = f"127.0.0.1:{run.PORTS['tcp']}"

    def wrk(connections, size):
        return [["wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds}s", f"http://{http}/echo?size={size}"]]

    def wrk_rate(outs):
        return float(re.search(r"Requests/sec:\s*([\d.]+)", outs[0]).group(1))

    def agent(workload, flows):
        return [[client, "run", "-w", workload, "-d", f"{seconds}s", "--warmup", "1s", "--json", "--to", tcp,
                 "-P", str(flows), "--request-size", "1", "--response-size", "1"]]

    items = []
    if shutil.which("wrk"):
        items += [("HTTP keep-alive, 32 connections, 64 B", wrk(32, 64), wrk_rate),
                  ("HTTP keep-alive, 8 connections, 16 KiB", wrk(8, 16384), wrk_rate),
                  ("HTTP keep-alive, 4 connections, 1 MiB (streamed)", wrk(4, 1048576), wrk_rate)]
    items += [("TCP_RR 1 byte, 1 flow", agent("tcp-rr", 1), run.agent_rate("rr")),
              ("TCP_RR 1 byte, 2 flows", agent("tcp-rr", 2), run.agent_rate("rr")),
              ("TCP_CRR, 1 flow", agent("tcp-crr", 1), run.agent_rate("rr"))]
    return items


def measure(server_binary, items, seconds):
    """Each row once against this build's server: rate and core-µs per transaction."""
    servers = run.Servers()
    env_token = ["--token", run.TOKEN]
    servers.start("agent", [server_binary, "serve", "--bind", "127.0.0.1", *run.agent_port_flags(), *env_token],
                  wait_for_port=run.PORTS["control"])
    try:
        out = {}
        for name, cmds, parse in items:
            outs, on_cpu, window, _, _ = run.run_clients(cmds, seconds)
            rate = parse(outs)
            out[name] = (rate, on_cpu / window / rate * 1e6 if rate > 0 else float("nan"))
        return out
    finally:
        servers.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--base", default="HEAD~1", help="the git commit to compare with (default HEAD~1)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds (1..20)")
    ap.add_argument("--seconds", type=int, default=5, help="measured seconds per measurement (2..60)")
    ap.add_argument("--only", help="run the rows whose name contains this text")
    args = ap.parse_args()
    if not 1 <= args.rounds <= 20 or not 2 <= args.seconds <= 60:
        ap.error("--rounds 1..20, --seconds 2..60")
    base = base_build(args.base)
    head = publish(run.ROOT, os.path.join(run.OUT, "ab-head"))
    items = [r for r in rows(head, args.seconds) if not args.only or args.only in r[0]]
    results = {"base": [], "head": []}
    for i in range(args.rounds):
        order = [("base", base), ("head", head)] if i % 2 == 0 else [("head", head), ("base", base)]
        for label, binary in order:
            results[label].append(measure(binary, items, args.seconds))
            print(f"round {i + 1}/{args.rounds}: {label} done", file=sys.stderr, flush=True)
    print(f"| row ({args.base} vs working tree, medians of {args.rounds}) | base tx/s | change tx/s | ratio "
          f"| base core-µs/tx | change core-µs/tx |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, _, _ in items:
        b = [r[name] for r in results["base"]]
        h = [r[name] for r in results["head"]]
        br, hr = statistics.median(x[0] for x in b), statistics.median(x[0] for x in h)
        bc, hc = statistics.median(x[1] for x in b), statistics.median(x[1] for x in h)
        print(f"| {name} | {br:,.0f} | {hr:,.0f} | {hr / br:.2f} | {bc:.1f} | {hc:.1f} |")


if __name__ == "__main__":
    main()
