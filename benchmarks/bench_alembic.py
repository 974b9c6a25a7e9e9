"""Time the alembic collector against alembic's own `heads` and `history` on a generated history."""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from evidence_kit.collectors import alembic as collector  # noqa: E402
from evidence_kit.model import Context  # noqa: E402
from tests.alembic_gen import generate  # noqa: E402

ALEMBIC = Path(sys.executable).with_name("alembic")
Answer = tuple[str, str]


def by_collector(root: Path, scratch: Path) -> Answer:
    """Heads and history text from one full run of the collector, without a database."""
    ctx = Context(root=root, scratch=scratch, database_url=None)
    outputs = {o.name: o for o in collector.collect(ctx, {})}
    heads, history = outputs["heads.txt"].data, outputs["history.txt"].data
    assert heads is not None and history is not None
    return heads.decode(), history.decode()


def by_cli(root: Path, cold: bool) -> Answer:
    """`alembic heads` and `alembic history` as subprocesses; `cold` compiles every file each time."""
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    if cold:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    texts = []
    for command in ("heads", "history"):
        done = subprocess.run(
            [str(ALEMBIC), "-c", str(root / "alembic.ini"), command],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        texts.append(done.stdout)
    return texts[0], texts[1]


def by_script_directory(root: Path, cold: bool) -> Answer:
    """The same two texts from alembic's ScriptDirectory in this process (imports already paid)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    saved = sys.dont_write_bytecode
    sys.dont_write_bytecode = cold
    try:
        script = ScriptDirectory.from_config(Config(str(root / "alembic.ini")))
        heads = "".join(
            rev.cmd_format(False, include_branches=True, tree_indicators=False) + "\n"
            for rev in script.get_revisions(script.get_heads())
        )
        history = "".join(
            sc.cmd_format(False, include_branches=True, include_doc=True, include_parents=True) + "\n"
            for sc in script.walk_revisions(base="base", head="heads")
        )
    finally:
        sys.dont_write_bytecode = saved
    return heads, history


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children, user plus system."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def drop_pycache(root: Path) -> None:
    """Remove compiled files so that a cold run compiles every revision file again."""
    for folder in root.rglob("__pycache__"):
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    """Generate the project, check every way gives the same answer, then print median times and ratios."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--revisions", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-alembic-") as tmp:
        base = Path(tmp)
        cold_root, warm_root = base / "cold", base / "warm"
        generate(cold_root, args.revisions)
        generate(warm_root, args.revisions)
        scratch = base / "scratch"
        ways: dict[str, Callable[[], Answer]] = {
            "collector (collect, no database)": lambda: by_collector(warm_root, scratch),
            "alembic heads + history, CLI, no .pyc": lambda: by_cli(cold_root, cold=True),
            "alembic heads + history, CLI, .pyc cached": lambda: by_cli(warm_root, cold=False),
            "alembic in-process, no .pyc": lambda: by_script_directory(cold_root, cold=True),
            "alembic in-process, .pyc cached": lambda: by_script_directory(warm_root, cold=False),
        }
        # NOTE: the first run of each checks the answers and, for the warm project, writes the .pyc files.
        answers = {name: way() for name, way in ways.items()}
        expected = answers["alembic heads + history, CLI, .pyc cached"]
        for name, answer in answers.items():
            if answer != expected:
                print(f"MISMATCH: {name} differs from `alembic heads` / `alembic history`")
                return 1
        wall: dict[str, list[float]] = {name: [] for name in ways}
        cpu: dict[str, list[float]] = {name: [] for name in ways}
        for _ in range(args.runs):
            for name, way in ways.items():
                drop_pycache(cold_root)
                c0, t0 = cpu_seconds(), time.perf_counter()
                way()
                wall[name].append(time.perf_counter() - t0)
                cpu[name].append(cpu_seconds() - c0)
    heads = expected[0].count("\n")
    lines = expected[1].count("\n")
    print(
        f"{args.revisions} revisions, {heads} heads, {lines} history lines; all answers identical; "
        f"median of {args.runs} interleaved runs; load average {os.getloadavg()[0]:.2f}"
    )
    mine = "collector (collect, no database)"
    ours_wall, ours_cpu = statistics.median(wall[mine]), statistics.median(cpu[mine])
    width = max(len(name) for name in ways)
    print(f"{'':{width}}  {'wall':>9}  {'ratio':>6}  {'cpu':>9}  {'ratio':>6}")
    for name in ways:
        w, c = statistics.median(wall[name]), statistics.median(cpu[name])
        ratios = f"{w * 1000:7.1f}ms  {w / ours_wall:5.1f}x  {c * 1000:7.1f}ms  {c / ours_cpu:5.1f}x"
        print(f"{name:{width}}  {ratios}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
