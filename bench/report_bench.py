#!/usr/bin/env python3
"""How fast `cnibench report` and `cnibench compare` are over 1,000 stored results.

Makes real result documents with a short quick-suite run, copies them into two runs of 500 results
each (baseline and candidate, figures jittered by a few percent), then times each command five
times as a user calls it (process start included) and prints the median. Targets: report < 2 s,
compare < 1 s.

    python3 bench/report_bench.py
"""
import json, os, random, shutil, sqlite3, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CLI = os.path.join(ROOT, "src", "CniBench.Cli", "bin", "Release", "net10.0", "cnibench")


def main():
    subprocess.run(["dotnet", "build", os.path.join(ROOT, "src", "CniBench.Cli"), "-c", "Release"], check=True, stdout=subprocess.DEVNULL)
    work = tempfile.mkdtemp(prefix="cnibench-report-bench-")
    try:
        run_bench(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run_bench(work):
    db = os.path.join(work, "bench.db")
    subprocess.run([CLI, "run", "--suite", "quick", "-r", "1", "-d", "300ms", "--warmup", "0s", "--db", db, "--no-report"],
                   check=True, stdout=subprocess.DEVNULL, cwd=work)
    con = sqlite3.connect(db)
    seed_run, = con.execute("SELECT id FROM runs").fetchone()
    run_row = con.execute("SELECT suite, target, started_at, finished_at, state, environment, scenario FROM runs WHERE id = ?", (seed_run,)).fetchone()
    docs = [json.loads(d) for (d,) in con.execute("SELECT document FROM results WHERE run_id = ?", (seed_run,))]
    rng = random.Random(1)
    total = 0
    for run_id, config, factor in (("bench-baseline", "baseline", 1.0), ("bench-candidate", "candidate", 0.9)):
        con.execute("INSERT INTO runs (id, suite, target, config, started_at, finished_at, state, environment, scenario) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (run_id, run_row[0], run_row[1], config, *run_row[2:]))
        for i in range(500):
            doc = json.loads(json.dumps(docs[i % len(docs)]))
            doc.update(runId=run_id, config=config, repetition=i // len(docs) + 1)
            doc["metrics"] = {k: v * factor * rng.uniform(0.95, 1.05) for k, v in doc["metrics"].items()}
            con.execute("INSERT INTO results (run_id, case_name, workload, config, repetition, target, started_at, finished_at, state, document) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (run_id, doc["case"], doc["workload"]["kind"], config, doc["repetition"], doc["target"], doc["startedAt"], doc["finishedAt"], doc["state"], json.dumps(doc)))
            total += 1
    con.commit()
    print(f"{total} results")

    def timed(args):
        times = []
        for _ in range(5):
            start = time.monotonic()
            subprocess.run([CLI, *args, "--db", db], check=True, stdout=subprocess.DEVNULL, cwd=work)
            times.append(time.monotonic() - start)
        return statistics.median(times), min(times), max(times)

    for name, args, target in (
        ("report (html, md, csv, json)", ["report", "--run", "bench-baseline", "--run", "bench-candidate", "--format", "html,md,csv,json", "--out", os.path.join(work, "report")], 2.0),
        ("compare", ["compare", "-b", "baseline", "--candidate", "candidate"], 1.0),
    ):
        median, low, high = timed(args)
        print(f"{name:30} median {median:.2f} s (min {low:.2f}, max {high:.2f}) target < {target:.0f} s: {'ok' if median < target else 'MISSED'}")


if __name__ == "__main__":
    sys.exit(main())
