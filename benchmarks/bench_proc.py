"""Benchmark: what the process-tree supervisor costs per command, against plain subprocess.run.

    python benchmarks/bench_proc.py [--runs 50]

Runs `/bin/true` in turns, after one warm-up round, three ways: `subprocess.run` in a new session
(the baseline), `proc.run(tree=False)` (evidence-kit's process-group path, used for git and pg_dump)
and `proc.run()` (under `support/reaper.py`, a second interpreter start-up per command). Prints the
median and 90th percentile wall time of each and its ratio to the baseline; there is no target, the
numbers say what a command's process tree costs.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from evidence_kit.support import proc

BASELINE = "subprocess.run (baseline)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-proc-") as tmp:
        scratch = Path(tmp)
        ways: dict[str, Callable[[], object]] = {
            BASELINE: lambda: subprocess.run(["/bin/true"], capture_output=True, start_new_session=True),
            "proc.run(tree=False)": lambda: proc.run(["/bin/true"], scratch=scratch, label="g", tree=False),
            "proc.run() under the reaper": lambda: proc.run(["/bin/true"], scratch=scratch, label="t"),
        }
        times: dict[str, list[float]] = {name: [] for name in ways}
        for round_ in range(args.runs + 1):
            for name, way in ways.items():
                t0 = time.perf_counter()
                way()
                if round_:
                    times[name].append((time.perf_counter() - t0) * 1000)
    base = statistics.median(times[BASELINE])
    print(f"{'way':<30} {'median ms':>10} {'p90 ms':>8} {'ratio':>7}")
    for name, samples in times.items():
        median = statistics.median(samples)
        p90 = statistics.quantiles(samples, n=10)[-1]
        print(f"{name:<30} {median:>10.2f} {p90:>8.2f} {median / base:>6.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
