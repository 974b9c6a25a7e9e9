"""Benchmark: start-up time of `evidence --help` against `python -c pass` and `python -c "import typer"`.

Also lists the evidence_kit modules that `import evidence_kit.cli` (and a whole `evidence --help`) load, and
fails when any heavy dependency (sqlalchemy, alembic, psycopg, git, jsonschema, yaml) is among the modules
loaded at start-up: those belong to the commands that need them.

    python benchmarks/bench_startup.py [--quick] [--runs 20]

Every command runs in turns with the others, after one warm-up round, in two environments: as given (so
with PYTHONDONTWRITEBYTECODE set, evidence_kit's modules are compiled on every start) and with a private
bytecode cache (PYTHONPYCACHEPREFIX in a temp folder), as after a normal install. Targets, on the
median wall times of the environment with a bytecode cache (the other one compiles evidence_kit's modules
on every start, which an installed tool never does; it is shown for information): `evidence --help` at most
1.3x `python -c "import typer"` of the same run, at any load; and at most 150 ms, judged only on a quiet
machine (load average below 1 at start and end). The CPU time (user + system of the command) is shown beside
the wall time as a cross-check that leaves out time spent waiting for a CPU. Exits 1 when a target is missed
or a heavy module is imported.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MS = 150.0
TARGET_X_TYPER = 1.3
QUIET_LOAD = 1.0
JUDGED = "with a bytecode cache"
HEAVY = ("sqlalchemy", "alembic", "psycopg", "git", "jsonschema", "yaml")
SUBJECT = "evidence --help"
PASS = "python -c pass (baseline)"
TYPER = 'python -c "import typer" (baseline)'
PROBE = """
import json, sys
sys.argv = ["evidence", "--help"] if sys.argv[1] == "help" else sys.argv[:1]
import evidence_kit.cli
if sys.argv[1:]:
    try:
        evidence_kit.cli.main()
    except SystemExit:
        pass
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def evidence_script() -> str:
    """The `evidence` console script beside this interpreter, else the one on PATH."""
    beside = Path(sys.executable).with_name("evidence")
    return str(beside) if beside.exists() else shutil.which("evidence") or "evidence"


def children_cpu() -> float:
    """User + system CPU seconds of the waited-for children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_commands(
    commands: dict[str, list[str]], envs: dict[str, dict[str, str]], runs: int
) -> dict[tuple[str, str], tuple[list[float], list[float]]]:
    """Wall and CPU milliseconds of every command in every environment, in turns, after a warm-up round."""
    times: dict[tuple[str, str], tuple[list[float], list[float]]] = {
        (env, name): ([], []) for env in envs for name in commands
    }
    for round_ in range(runs + 1):
        for env, variables in envs.items():
            for name, argv in commands.items():
                c0, t0 = children_cpu(), time.perf_counter()
                subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, env=variables)
                if round_:
                    times[env, name][0].append((time.perf_counter() - t0) * 1000)
                    times[env, name][1].append((children_cpu() - c0) * 1000)
    return times


def loaded_modules(mode: str) -> list[str]:
    """Modules in sys.modules after `import evidence_kit.cli` (mode `import`) or after `--help` (`help`)."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode],
        capture_output=True,
        text=True,
        check=True,
        cwd=tempfile.gettempdir(),
    )
    modules: list[str] = json.loads(done.stderr.strip().splitlines()[-1])
    return modules


def main() -> int:
    """Time the commands, list the modules, print the tables; 1 when a check fails."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="5 runs instead of 20")
    parser.add_argument("--runs", type=int, help="runs per command (median), default 20")
    args = parser.parse_args()
    runs = args.runs or (5 if args.quick else 20)
    py = sys.executable
    commands = {
        PASS: [py, "-c", "pass"],
        TYPER: [py, "-c", "import typer"],
        'python -c "import evidence_kit.cli"': [py, "-c", "import evidence_kit.cli"],
        SUBJECT: [evidence_script(), "--help"],
    }
    given = dict(os.environ)
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-startup-") as cache:
        cached = {k: v for k, v in given.items() if k != "PYTHONDONTWRITEBYTECODE"}
        cached["PYTHONPYCACHEPREFIX"] = cache
        as_given = "as given"
        if "PYTHONDONTWRITEBYTECODE" in given:
            as_given += " (PYTHONDONTWRITEBYTECODE: no .pyc written)"
        envs = {as_given: given, JUDGED: cached}
        times = time_commands(commands, envs, runs)

    ok = True
    end_load = os.getloadavg()[0]
    quiet = max(load, end_load) < QUIET_LOAD
    print(
        f"evidence start-up: median of {runs} runs in ms; targets ({JUDGED}): {SUBJECT} <= "
        f"{TARGET_X_TYPER}x typer, and <= {TARGET_MS:.0f} ms wall when the load average is below "
        f"{QUIET_LOAD:.0f}; load average {load:.2f} at start, {end_load:.2f} at end"
    )
    width = max(map(len, commands))
    for env in envs:
        base = statistics.median(times[env, PASS][0])
        typer_ms = statistics.median(times[env, TYPER][0])
        print(f"\nenvironment {env}")
        print(
            f"  {'command':<{width}}  {'wall':>6}  {'min':>6}  {'cpu':>6}  {'x pass':>6}  {'x typer':>7}"
            "  target  met"
        )
        for name in commands:
            wall, cpu = times[env, name]
            med = statistics.median(wall)
            target, met = "", ""
            if name == SUBJECT and env == JUDGED:
                fast = med / typer_ms <= TARGET_X_TYPER
                target = f"<= {TARGET_X_TYPER}x typer"
                met = "yes" if fast else "NO"
                if quiet:
                    target += f", <= {TARGET_MS:.0f} ms"
                    met = "yes" if fast and med <= TARGET_MS else "NO"
                else:
                    met += f" (150 ms not judged at load {max(load, end_load):.2f})"
                ok = ok and met.startswith("yes")
            print(
                f"  {name:<{width}}  {med:6.1f}  {min(wall):6.1f}  {statistics.median(cpu):6.1f}  "
                f"{med / base:6.2f}  {med / typer_ms:7.2f}  {target:>6}  {met}"
            )

    for mode, title in (("import", "import evidence_kit.cli"), ("help", SUBJECT)):
        modules = loaded_modules(mode)
        ours = [m for m in modules if m == "evidence_kit" or m.startswith("evidence_kit.")]
        heavy = sorted({m.split(".")[0] for m in modules} & set(HEAVY))
        print(f"\nafter `{title}`: {len(modules)} modules, evidence_kit ones: {', '.join(ours)}")
        print(f"  heavy modules loaded ({', '.join(HEAVY)}): {', '.join(heavy) or 'none'}")
        ok = ok and not heavy
    print("\nall checks passed" if ok else "\nCHECK FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
