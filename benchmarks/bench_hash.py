"""Benchmark: evidence-kit's SHA-256 paths against `openssl dgst -sha256` and `sha256sum`.

(a) One large text log (1 GiB): throughput of openssl and sha256sum (baselines), of digest.file_sha256 (the
    verify path) and of BundleWriter.add() for an opaque media type (redaction off) and a text one (redaction
    on), with today's redactor and with the one before the rules became data (baseline_redactor.py beside
    this script); today's also with its pure-Python prefilter, on the log's first 64 MiB. `cp` is timed too:
    the writer also has to write every byte, which openssl does not.
(b) 20,000 text files of 1-50 KiB: openssl and sha256sum over all of them (one process at a time, fed by
    `xargs -n 5000`), verify_dir on a bundle holding them, digest.file_sha256 over all of them in one process.
(c) Peak RSS of `evidence collect` copying the 1 GiB log with the files collector, against `python -c pass`.

    python benchmarks/bench_hash.py [--quick] [--runs N] [--slow-runs N] [--only abc] [--workdir DIR]

Each figure is the median of several runs taken in turns, so that background load hits every method alike;
the page cache is warmed before timing. Targets are judged on wall time; CPU time (user + system, of this
process or of the command and its children) is shown beside it as a cross-check that leaves out time spent
waiting for a CPU. Files are generated in a temporary folder, removed at the end. Exits 1 when a target is
missed.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence_kit.bundle import verify
from evidence_kit.bundle.digest import file_sha256
from evidence_kit.bundle.writer import BundleWriter
from evidence_kit.model import CollectorResult, Output
from evidence_kit.redact.prefilter import available
from evidence_kit.redact.redactor import Redactor
from evidence_kit.support.host import host_facts

MB = 1_000_000
MIB = 1 << 20
HASH_TARGET = 0.95  # throughput, as a fraction of openssl's, at least
REDACT_MB_S = 250.0  # the text writer (redaction on), MB/s on one core, at least
REDACT_SPEEDUP = 4.0  # the text writer, as a multiple of its throughput with the previous redactor, at least
FALLBACK_SLICE = 64 * MIB
SMALL_TARGET = 1.25  # time, as a multiple of openssl's, at most
RSS_TARGET_MB = 100.0
TEXT = "text/plain"
OPAQUE = "application/gzip"
WRAPPER = """
import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"rc": done.returncode, "maxrss_kib": peak, "stderr": done.stderr.decode()[-2000:]}))
"""


@dataclass
class Row:
    """One line of the results table."""

    case: str
    method: str
    seconds: float | None = None
    cpu: float | None = None
    mb_s: float | None = None
    ratio: str = ""
    cpu_ratio: str = ""
    target: str = ""
    met: bool | None = None
    note: str = ""


@dataclass(frozen=True)
class Sample:
    """Wall and CPU seconds of one run."""

    wall: float
    cpu: float


def cpu_seconds(who: int) -> float:
    """User + system CPU seconds so far of this process (RUSAGE_SELF) or its waited-for children."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def timed(fn: Callable[[], object], who: int = resource.RUSAGE_SELF) -> Sample:
    """Wall and CPU seconds one call takes."""
    c0, t0 = cpu_seconds(who), time.perf_counter()
    fn()
    return Sample(time.perf_counter() - t0, cpu_seconds(who) - c0)


def run(argv: list[str], **kwargs: object) -> Sample:
    """Wall and CPU seconds of a command (its output discarded); fails loudly."""
    return timed(
        lambda: subprocess.run(argv, stdout=subprocess.DEVNULL, check=True, **kwargs),  # type: ignore[call-overload]
        resource.RUSAGE_CHILDREN,
    )


def previous_redactor() -> Any:
    """The redactor before the rules became data, loaded from baseline_redactor.py beside this script."""
    spec = importlib.util.spec_from_file_location(
        "baseline_redactor", Path(__file__).with_name("baseline_redactor.py")
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.Redactor.from_env({})


def in_turns(methods: dict[str, Callable[[], Sample]], runs: int) -> dict[str, Sample]:
    """Run every method once per round, `runs` rounds; the medians of wall and of CPU seconds."""
    samples: dict[str, list[Sample]] = {name: [] for name in methods}
    for _ in range(runs):
        for name, fn in methods.items():
            samples[name].append(fn())
    return {
        name: Sample(statistics.median(s.wall for s in got), statistics.median(s.cpu for s in got))
        for name, got in samples.items()
    }


def warm(paths: list[Path]) -> None:
    """Read files once so every method starts from a warm page cache."""
    buf = bytearray(MIB)
    for path in paths:
        with path.open("rb", buffering=0) as f:
            while f.readinto(buf):
                pass


def log_pool(rng: random.Random, size: int, secrets: bool) -> bytes:
    """Varied service log lines, about `size` bytes; with `secrets`, one line in the middle leaks a token."""
    levels = ["INFO"] * 12 + ["WARNING", "ERROR", "DEBUG"]
    routes = ["/api/v1/jobs", "/api/v1/jobs/{id}", "/healthz", "/api/v1/users/{id}/settings", "/metrics"]
    lines: list[str] = []
    total = 0
    n = 0
    while total < size:
        n += 1
        stamp = (
            f"2026-05-{rng.randint(1, 28):02d}T{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:"
            f"{rng.randint(0, 59):02d}.{rng.randint(0, 999):03d}Z"
        )
        route = rng.choice(routes).format(id=rng.randint(1, 10**6))
        line = (
            f"{stamp} {rng.choice(levels):<7} worker-{rng.randint(1, 8)} GET {route} "
            f"status={rng.choice([200, 200, 200, 201, 204, 404, 500])} duration_ms={rng.randint(1, 5000)} "
            f"request_id={rng.getrandbits(64):016x}"
        )
        if n % 7 == 0:
            line += f" upstream=http://jobs-api-{rng.randint(1, 4)}.internal:8000{route}"
        if secrets and total < size // 2 <= total + len(line):
            line += f" headers={{Authorization: Bearer {rng.getrandbits(128):032x}}}"
        lines.append(line + "\n")
        total += len(lines[-1])
    return "".join(lines).encode()


def make_log(path: Path, size: int) -> None:
    """A text log of exactly `size` bytes: a ~24 MB pool of lines (one leaked token in each), repeated."""
    pool = log_pool(random.Random(1), min(size, 24 * MB), secrets=True)
    with path.open("wb") as f:
        written = 0
        while written < size:
            part = pool[: size - written]
            f.write(part)
            written += len(part)


def openssl_digest(path: Path) -> str:
    """openssl's hex digest of a file, to check the others agree."""
    out = subprocess.run(
        ["openssl", "dgst", "-sha256", str(path)], capture_output=True, check=True, text=True
    )
    return out.stdout.strip().rsplit(" ", 1)[-1]


@contextmanager
def scratch_dir(root: Path, name: str) -> Iterator[Path]:
    """A fresh folder removed afterwards."""
    path = root / name
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


def bench_large(work: Path, log: Path, runs: int, slow_runs: int) -> list[Row]:
    """(a): one large log through every hashing path."""
    size = log.stat().st_size
    warm([log])
    expected = openssl_digest(log)
    assert file_sha256(log) == (expected, size), "digest.file_sha256 disagrees with openssl"
    out = work / "large-out"
    redactor = Redactor.from_env({})
    previous = previous_redactor()
    fallback = Redactor.from_env({}, engine="re")
    records: dict[str, dict[str, object]] = {}

    def copy() -> Sample:
        dest = out / "copy.log"
        out.mkdir(exist_ok=True)
        os.sync()
        sample = run(["cp", str(log), str(dest)])
        dest.unlink()
        return sample

    def writer(
        media: str, red: object = redactor, key: str = "", limit: int | None = None
    ) -> Callable[[], Sample]:
        def go() -> Sample:
            w = BundleWriter(out, red)  # type: ignore[arg-type]
            os.sync()
            output = Output("service.log", "log", media_type=media, source=log, limit=limit)
            sample = timed(lambda: records.__setitem__(key or media, w.add("files", output)))
            w.abort()
            return sample

        return go

    def alone(red: Any) -> Callable[[], Sample]:
        def go() -> Sample:
            with log.open("rb") as src:
                return timed(lambda: red.stream(src, lambda chunk: None))

        return go

    med = in_turns(
        {
            "openssl": lambda: run(["openssl", "dgst", "-sha256", str(log)]),
            "digest": lambda: timed(lambda: file_sha256(log)),
            "cp": copy,
            "writer-opaque": writer(OPAQUE),
        },
        runs,
    )
    # NOTE: the slow methods that are only reported run fewer times, to keep the benchmark near 3 minutes.
    med.update(
        in_turns(
            {
                "sha256sum": lambda: run(["sha256sum", str(log)]),
                "writer-text": writer(TEXT),
                "writer-text-previous": writer(TEXT, previous, "previous"),
            },
            slow_runs,
        )
    )
    med.update(in_turns({"alone": alone(redactor), "alone-previous": alone(previous)}, slow_runs))
    sliced = min(size, FALLBACK_SLICE)
    med.update(in_turns({"writer-text-re": writer(TEXT, fallback, "re", sliced)}, slow_runs))
    shutil.rmtree(out, ignore_errors=True)
    assert records[OPAQUE]["sha256"] == expected and records[OPAQUE]["size"] == size
    # NOTE: the previous redactor counts nothing into the writer's tally; that it masked shows in the size.
    assert records[TEXT]["redactions"] and int(str(records["previous"]["size"])) < size
    if sliced == size:
        assert records["re"]["sha256"] == records[TEXT]["sha256"], "the two prefilters masked differently"
    base = med["openssl"]
    case = f"(a) {size / MIB:.0f} MiB log"

    def row(method: str, got: Sample, target: bool = False, note: str = "", against: Sample = base) -> Row:
        ratio = against.wall / got.wall
        label = "openssl" if against is base else "openssl+cp"
        return Row(
            case,
            method,
            got.wall,
            got.cpu,
            size / got.wall / MB,
            f"{ratio:.2f}x {label}",
            f"{against.cpu / got.cpu:.2f}x" if got.cpu > 0 else "",
            f">= {HASH_TARGET}x" if target else "",
            ratio >= HASH_TARGET if target else None,
            note,
        )

    floor = Sample(base.wall + med["cp"].wall, base.cpu + med["cp"].cpu)
    text, opaque = med["writer-text"], med["writer-opaque"]
    redaction = Sample(text.wall - opaque.wall, text.cpu - opaque.cpu)
    before = med["writer-text-previous"]
    speedup = before.wall / text.wall
    fast = Row(
        case,
        f"BundleWriter.add, text/plain ({available()} prefilter)",
        text.wall,
        text.cpu,
        size / text.wall / MB,
        f"{base.wall / text.wall:.2f}x openssl",
        f"{base.cpu / text.cpu:.2f}x" if text.cpu > 0 else "",
        f">= {REDACT_MB_S:.0f} MB/s",
        size / text.wall / MB >= REDACT_MB_S,
        f"redaction on; {records[TEXT]['redactions']} secrets masked; {slow_runs} runs",
    )
    versus = Row(
        case,
        "  same, against the previous redactor",
        text.wall,
        text.cpu,
        size / text.wall / MB,
        f"{speedup:.2f}x previous",
        f"{before.cpu / text.cpu:.2f}x" if text.cpu > 0 else "",
        f">= {REDACT_SPEEDUP:.0f}x",
        speedup >= REDACT_SPEEDUP,
        "the next row is the baseline",
    )
    return [
        row("openssl dgst -sha256 (baseline)", base),
        row("sha256sum", med["sha256sum"], note=f"{slow_runs} runs"),
        row("digest.file_sha256 (verify path)", med["digest"], True),
        row("cp (copy only, no hash)", med["cp"], note="the write openssl does not do"),
        row(
            "BundleWriter.add, application/gzip",
            med["writer-opaque"],
            True,
            "read + hash + write, no redaction",
        ),
        row("  same, against openssl + cp", med["writer-opaque"], note="sum of both medians", against=floor),
        fast,
        versus,
        row(
            "BundleWriter.add, text/plain, previous redactor",
            before,
            note=f"baseline: baseline_redactor.py; {slow_runs} runs",
        ),
        row("  of which the redaction scan", redaction, note="derived: text/plain - application/gzip"),
        Row(
            case,
            f"Redactor.stream alone ({available()} prefilter)",
            med["alone"].wall,
            med["alone"].cpu,
            size / med["alone"].wall / MB,
            f"{med['alone-previous'].wall / med['alone'].wall:.2f}x previous",
            f"{med['alone-previous'].cpu / med['alone'].cpu:.2f}x" if med["alone"].cpu > 0 else "",
            note=f"no hash, no write; {slow_runs} runs",
        ),
        row(
            "Redactor.stream alone, previous redactor",
            med["alone-previous"],
            note=f"baseline of the row above; {slow_runs} runs",
        ),
        Row(
            case,
            "BundleWriter.add, text/plain (re prefilter)",
            med["writer-text-re"].wall,
            med["writer-text-re"].cpu,
            sliced / med["writer-text-re"].wall / MB,
            note=f"pure-Python fallback, first {sliced / MIB:.0f} MiB; same masks; {slow_runs} runs",
        ),
    ]


def bench_small(work: Path, count: int, runs: int, slow_runs: int) -> list[Row]:
    """(b): many small files: openssl and sha256sum against verify_dir and digest.file_sha256."""
    rng = random.Random(7)
    pool = log_pool(rng, 4 * MB, secrets=False)
    src = work / "small-src"
    t0 = time.perf_counter()
    sources: list[Path] = []
    for i in range(count):
        size = rng.randint(1024, 50 * 1024)
        offset = rng.randrange(0, len(pool) - size)
        path = src / f"{i // 1000:03d}" / f"part-{i:05d}.log"
        if i % 1000 == 0:
            path.parent.mkdir(parents=True)
        path.write_bytes(pool[offset : offset + size])
        sources.append(path)
    writer = BundleWriter(work / "small-bundle", Redactor.from_env({}))
    # NOTE: the build is not timed; an opaque media type skips redaction (no secrets here) to keep it short.
    for path in sources:
        writer.add("files", Output(path.relative_to(src).as_posix(), "log", media_type=OPAQUE, source=path))
    bundle = writer.finish(
        service="bench",
        phase="bench",
        git_sha=None,
        results=[CollectorResult("files", "ok")],
        host=host_facts(),
        ci=None,
    )
    shutil.rmtree(src)
    total = sum(a["size"] for a in writer.manifest["artifacts"])
    took = time.perf_counter() - t0
    print(
        f"(b) generated {count} files ({total / MB:.0f} MB) and their bundle in {took:.1f} s", file=sys.stderr
    )
    assert writer.manifest["redactions"] == 0
    files = sorted((bundle / "data").rglob("*.log"))
    rels = "".join(f"{p.relative_to(bundle).as_posix()}\n" for p in files).encode()
    listing = work / "small-files.txt"
    listing.write_bytes(rels)
    warm(files)

    def xargs(tool: list[str]) -> Callable[[], Sample]:
        def go() -> Sample:
            with listing.open("rb") as names:
                return run(["xargs", "-n", "5000", *tool], stdin=names, cwd=bundle)

        return go

    def schema_only() -> Sample:
        def go() -> None:
            found: list[verify.Problem] = []
            verify.read_manifest(bundle, found)
            errors.extend(found)

        return timed(go)

    def jsonschema_only() -> Sample:
        import jsonschema

        def go() -> None:
            manifest = json.loads((bundle / "manifest.json").read_bytes())
            validator = jsonschema.Draft202012Validator(verify.manifest_schema())
            errors.extend(validator.iter_errors(manifest))

        return timed(go)

    verdicts: list[verify.Verdict] = []
    errors: list[object] = []
    med = in_turns(
        {
            "openssl": xargs(["openssl", "dgst", "-sha256"]),
            "digest": lambda: timed(lambda: [file_sha256(p) for p in files]),
            "verify": lambda: timed(lambda: verdicts.append(verify.verify_dir(bundle))),
        },
        runs,
    )
    # NOTE: sha256sum is only reported and the schema check is a breakdown: fewer runs keep the time down.
    slow = {"sha256sum": xargs(["sha256sum"]), "schema": schema_only, "jsonschema": jsonschema_only}
    med.update(in_turns(slow, slow_runs))
    med["rest"] = Sample(med["verify"].wall - med["schema"].wall, med["verify"].cpu - med["schema"].cpu)
    shutil.rmtree(bundle)
    assert all(v.ok for v in verdicts), verdicts[0].problems[:5]
    assert not errors
    base = med["openssl"]
    case = f"(b) {count} files"

    def row(method: str, got: Sample, target: bool = False, note: str = "") -> Row:
        ratio = got.wall / base.wall
        return Row(
            case,
            method,
            got.wall,
            got.cpu,
            total / got.wall / MB,
            f"{ratio:.2f}x openssl time",
            f"{got.cpu / base.cpu:.2f}x" if base.cpu > 0 else "",
            f"<= {SMALL_TARGET}x" if target else "",
            ratio <= SMALL_TARGET if target else None,
            note,
        )

    return [
        row("openssl dgst -sha256 via xargs (baseline)", base),
        row("sha256sum via xargs", med["sha256sum"], note=f"{slow_runs} runs"),
        row("verify.verify_dir on the bundle", med["verify"], True, "digests + manifest schema + file walk"),
        row(
            "  of which manifest JSON + schema check",
            med["schema"],
            note=f"verify.read_manifest (compiled schema); {slow_runs} runs",
        ),
        row("  the rest of verify_dir", med["rest"], note="derived: digests + file walk"),
        row(
            "  JSON + jsonschema, for comparison",
            med["jsonschema"],
            note=f"the pure-Python check that words the problems; {slow_runs} runs",
        ),
        row("digest.file_sha256 over all files", med["digest"], True, "one process"),
    ]


def rss(argv: list[str], cwd: Path) -> tuple[float, float]:
    """Peak RSS (MB) and wall time of a command, via getrusage(RUSAGE_CHILDREN) in a fresh parent."""
    t0 = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, *argv], capture_output=True, check=True, cwd=cwd, text=True
    )
    seconds = time.perf_counter() - t0
    result = json.loads(done.stdout)
    if result["rc"] != 0:
        raise RuntimeError(f"{' '.join(argv)} exited {result['rc']}:\n{result['stderr']}")
    return result["maxrss_kib"] * 1024 / MB, seconds


def bench_memory(work: Path, log: Path, runs: int) -> list[Row]:
    """(c): peak RSS of `evidence collect` copying the large log; the highest of the runs is reported."""
    evidence = Path(sys.executable).with_name("evidence")
    if not evidence.exists():
        evidence = Path(shutil.which("evidence") or "evidence")
    service = work / "service"
    service.mkdir()
    try:
        os.link(log, service / "service.log")
    except OSError:
        shutil.copyfile(log, service / "service.log")
    config = service / "evidence.yaml"
    config.write_text(
        "service: bench\n"
        "collectors:\n"
        "  files:\n"
        "    sets:\n"
        '      - {name: logs, glob: "*.log", max_bytes: 2000000000}\n'
    )
    size = log.stat().st_size
    base: list[float] = []
    peak: list[float] = []
    wall: list[float] = []
    for _ in range(runs):
        base.append(rss([sys.executable, "-c", "pass"], service)[0])
        with scratch_dir(work, "collect-out") as out:
            os.sync()
            mb, seconds = rss(
                [str(evidence), "collect", "-c", str(config), "--out", str(out), "--json"], service
            )
        peak.append(mb)
        wall.append(seconds)
    shutil.rmtree(service)
    case = f"(c) collect {size / MIB:.0f} MiB"
    baseline, measured = max(base), max(peak)
    seconds = statistics.median(wall)
    return [
        Row(case, "python -c pass, peak RSS (baseline)", note=f"{baseline:.1f} MB"),
        Row(
            case,
            "evidence collect (files), peak RSS",
            seconds,
            None,
            size / seconds / MB,
            f"{measured / baseline:.2f}x baseline",
            "",
            f"< {RSS_TARGET_MB:.0f} MB",
            measured < RSS_TARGET_MB,
            f"{measured:.1f} MB (highest of {runs}); +{measured - baseline:.1f} MB over baseline",
        ),
    ]


def fmt(value: float | None, spec: str) -> str:
    """A number for the table, blank when absent."""
    return "" if value is None else format(value, spec)


def print_table(rows: list[Row]) -> None:
    """The results as an aligned table."""
    head = ("case", "method", "wall s", "cpu s", "MB/s", "ratio (wall)", "cpu ratio", "target", "met", "note")
    cells = [
        (
            r.case,
            r.method,
            fmt(r.seconds, ".3f"),
            fmt(r.cpu, ".3f"),
            fmt(r.mb_s, ".0f"),
            r.ratio,
            r.cpu_ratio,
            r.target,
            "" if r.met is None else ("yes" if r.met else "NO"),
            r.note,
        )
        for r in rows
    ]
    widths = [max(len(str(c[i])) for c in [head, *cells]) for i in range(len(head))]
    right = {2, 3, 4}
    for line in [head, *cells]:
        print(
            "  ".join(
                str(c).rjust(w) if i in right else str(c).ljust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            ).rstrip()
        )


def main() -> int:
    """Parse arguments, run the selected parts, print the table; 1 when a target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="64 MiB log and 2,000 small files")
    parser.add_argument("--runs", type=int, default=3, help="runs per timed method (median), default 3")
    parser.add_argument(
        "--slow-runs",
        type=int,
        default=2,
        help="runs of the slow methods that are only reported (sha256sum, the text/plain writer, "
        "`evidence collect`), default 2",
    )
    parser.add_argument("--only", default="abc", help="parts to run, e.g. `a` or `bc` (default abc)")
    parser.add_argument("--workdir", type=Path, help="folder for generated files (default: a temp folder)")
    args = parser.parse_args()
    size = 64 * MIB if args.quick else 1024 * MIB
    count = 2_000 if args.quick else 20_000
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="bench-hash-", dir=args.workdir))
    rows: list[Row] = []
    started = time.perf_counter()
    load0 = os.getloadavg()[0]
    try:
        log = work / "service.log"
        if "a" in args.only or "c" in args.only:
            t0 = time.perf_counter()
            make_log(log, size)
            print(
                f"generated a {size / MIB:.0f} MiB log in {time.perf_counter() - t0:.1f} s", file=sys.stderr
            )
        if "a" in args.only:
            rows += bench_large(work, log, args.runs, args.slow_runs)
        if "b" in args.only:
            rows += bench_small(work, count, args.runs, args.slow_runs)
        if "c" in args.only:
            warm([log])
            rows += bench_memory(work, log, args.slow_runs)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(
        f"evidence-kit hashing benchmark: median of {args.runs} runs, MB = 10^6 bytes, "
        f"{os.cpu_count()} CPUs, {time.perf_counter() - started:.0f} s in all, "
        f"load average {load0:.2f} at start, {os.getloadavg()[0]:.2f} at end"
    )
    print_table(rows)
    missed = [f"{r.case}: {r.method.strip()}" for r in rows if r.met is False]
    for name in missed:
        print(f"target missed: {name}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
