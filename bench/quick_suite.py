#!/usr/bin/env python3
"""The quick suite's wall time against its own header estimate, a few runs in a row.

Runs `cnibench run` (the built-in quick suite on the local target) N times, each with a fresh database in a
temporary directory, and prints per run: the header's estimate, the wall time from the header (the first case
starts right after it) to the end, their ratio, and the longest gap between two lines of output. The README's
figure comes from here; run it on a quiet machine.

    python3 bench/quick_suite.py [--runs 3] [--cli path/to/cnibench.dll]
"""
import argparse
import os
import re
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def one_run(cli: str) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as work:
        process = subprocess.Popen(
            ["dotnet", cli, "run", "--db", os.path.join(work, "r.db"), "--no-report"],
            cwd=work,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        estimate = start = None
        last = time.monotonic()
        longest_gap = 0.0
        for line in process.stdout:
            now = time.monotonic()
            match = re.search(r"about (\d+)s", line)
            if estimate is None and match:
                estimate, start = float(match.group(1)), now
            elif start is not None:
                longest_gap = max(longest_gap, now - last)
            last = now
        if process.wait() != 0:
            raise SystemExit(f"cnibench run exited {process.returncode}")
        return estimate, time.monotonic() - start, longest_gap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--cli", default=os.path.join(ROOT, "src/CniBench.Cli/bin/Debug/net10.0/cnibench.dll")
    )
    args = parser.parse_args()
    print(f"{'run':>3} {'estimate s':>10} {'wall s':>7} {'wall/estimate':>13} {'longest silence s':>17}")
    for i in range(1, args.runs + 1):
        estimate, wall, gap = one_run(args.cli)
        print(f"{i:>3} {estimate:>10.0f} {wall:>7.1f} {wall / estimate:>13.2f} {gap:>17.1f}")


if __name__ == "__main__":
    main()
