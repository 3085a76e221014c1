#!/usr/bin/env python3
"""The lab's own costs and the service-table effect, measured with the real CLI (needs root).

For each proxy mode and N dummy services: time `cnibench lab up` (topology + rule loading per node),
then tcp-crr and tcp-rr from a pod to the ClusterIP, then `lab down`. Prints one row per (mode, N), with
the lab's own work (generating the rules) as a share of the kernel's (loading them, mean per node).

    sudo python3 bench/lab_bench.py [--services 0,1000,5000] [--modes iptables,nftables,ebpf] [--seconds 2]
"""
import argparse, json, os, re, sqlite3, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, "src", "CniBench.Cli", "bin", "Release", "net10.0", "cnibench")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--services", default="0,1000,5000", help="comma-separated N (each 0..50000)")
    ap.add_argument("--modes", default="iptables,nftables,ebpf", help="comma-separated proxy modes")
    ap.add_argument("--seconds", type=int, default=2, help="measured seconds per case (1..30)")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("lab_bench: the lab needs root")
    counts = [int(n) for n in args.services.split(",")]
    subprocess.run(["dotnet", "build", os.path.join(ROOT, "src", "CniBench.Cli"), "-c", "Release"], check=True, stdout=subprocess.DEVNULL)
    work = tempfile.mkdtemp(prefix="cnibench-lab-bench-")
    scenario = os.path.join(work, "crr.yaml")
    with open(scenario, "w") as f:
        f.write(f"name: clusterip\nrepetitions: 2\nwarmup: 500ms\nduration: {args.seconds}s\nplacement: pod-to-cluster-ip\n"
                "cases:\n  - workload: tcp-crr\n  - workload: tcp-rr\n")
    db = os.path.join(work, "lab.db")
    print(f"{'mode':9} {'N':>6} {'up s':>6} {'rules per node ms':>20} {'render ms':>10} {'render %':>9} {'down s':>7} {'crr tx/s':>10} {'rr tx/s':>10}")
    for mode in args.modes.split(","):
        for n in counts:
            start = time.monotonic()
            up = subprocess.run([CLI, "lab", "up", "--proxy", mode, "--services", str(n)], check=True, capture_output=True, text=True).stdout
            up_s = time.monotonic() - start
            lab = re.search(r"lab (\w+) up", up).group(1)
            per_node = re.search(r"per node in (.*?) \(rules generated in ([0-9.]+) ms\)", up)
            rules = per_node.group(1) if per_node else "-"
            render = float(per_node.group(2)) if per_node else 0.0
            loads = [float(x) for x in re.findall(r"([0-9.]+) ms", rules)] if per_node else []
            share = 100 * render / (sum(loads) / len(loads)) if loads and sum(loads) > 0 else 0.0
            try:
                subprocess.run([CLI, "run", "--target", "lab", "--lab", lab, "-f", scenario, "--config", f"{mode}-{n}", "--db", db, "--no-report"],
                               check=True, stdout=subprocess.DEVNULL, cwd=work)
            finally:
                start = time.monotonic()
                subprocess.run([CLI, "lab", "down", "--id", lab], check=True, stdout=subprocess.DEVNULL)
                down_s = time.monotonic() - start
            con = sqlite3.connect(db)
            rates = {}
            for workload, doc in con.execute("SELECT workload, document FROM results WHERE config = ?", (f"{mode}-{n}",)):
                rates.setdefault(workload, []).append(json.loads(doc)["metrics"].get("transactions.per_sec", 0))
            mean = lambda xs: sum(xs) / len(xs) if xs else 0
            print(f"{mode:9} {n:>6} {up_s:6.2f} {rules:>20} {render:10.1f} {share:8.1f}% {down_s:7.2f} {mean(rates.get('tcp-crr', [])):10,.0f} {mean(rates.get('tcp-rr', [])):10,.0f}", flush=True)
    print(f"\nresults in {db}; compare with e.g. cnibench compare --db {db} -b iptables-0 -c iptables-{counts[-1]}")


if __name__ == "__main__":
    main()
