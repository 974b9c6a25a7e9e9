"""Benchmark: the forbidden-vocabulary scanner (evidence_kit.policy.vocab) against ripgrep and a naive scan.

Builds, once (later runs reuse it), a tree of at least 200 MB of Python source in benchmarks/.work/vocab-tree
by copying the .py files of the venv's site-packages and of the interpreter's standard library, in as many
copies as it takes, and makes it a git repository of its own (nothing committed): the scanner reads what git
would track, so its listing (`git ls-files`) is part of what is timed, as in a service's checkout. Folders
named like the ones the scanner skips as vendored get a trailing `_`
(`site-packages_`), so that both tools read the same files. Then, for a list of 100 forbidden words and for
seed 003's own list of 10, it times in turns, each in a fresh process:

- ripgrep: `rg --no-unicode -i -w -c -f words.txt -j N --no-ignore --hidden -g !.git TREE` (`--no-ignore`
  because the tree sits in a folder the repository's .gitignore ignores, `--hidden` to read what the scanner
  reads, `-g !.git` to leave the tree's own repository out as the scanner does);
- the scanner: `scan_tree(TREE, Matcher(words), jobs=N)`, interpreter start and imports included (with a
  bytecode cache, kept in .work); once more with the pure-Python prefilter (`engine="re"`);
- `evidence check` (100 words only): EK101 alone on the same words, its JSON report written; the scan and
  all the check does with the findings (fingerprints, inline allow comments, masking, rendering), reported
  against ripgrep, without a target;
- naive (100 words only): what seed 003's script does, a case-sensitive `word in line` for every word and
  line, in one process.

Then it checks the scanner's hits, every field of every one, byte for byte as JSON lines: with the
pure-Python prefilter (`engine="re"`) against RE2, with `--compare-with SRC` against the code in SRC (a
checkout of the scanner as it was: timed in the same turns too, as "before"), with `--hits-against
PREFIX` against lists saved earlier with `--hits-out PREFIX` (PREFIX-100.jsonl, PREFIX-10.jsonl). Last
it compares what the 100 words found: the (file, line, word) triples of `rg -o` against the scanner's
hits, every difference sorted into a class, with examples.

    python benchmarks/bench_vocab.py [--quick] [--jobs N] [--runs R] [--no-naive] [--compare-with SRC]
        [--hits-out PREFIX] [--hits-against PREFIX]

`--quick` times one run of each and skips the `re` and naive runs (and the `re` hit list). Two targets, on
wall time against ripgrep at the same number of jobs: the hit-heavy 100 words at most 2.5x, seed 003's
few-hit list at most 1.5x. Exits 1 when one is missed (or ripgrep is missing), or when hit lists differ.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from evidence_kit.policy import vocab

MB = 1_000_000
TARGET_MB = 200
TARGET_RATIO = 2.5  # the 100 words, hit-heavy
TARGET_RATIO_FEW = 1.5  # seed 003's words, few hits
HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
TREE = WORK / "vocab-tree"
MANIFEST = WORK / "vocab-tree.json"
# Vocabulary a phase-gated service bans before its streaming/distributed phase: transports, brokers,
# infrastructure, product areas; lowercase plain words, plurals listed where they are in use.
WORDS = [
    "websocket",
    "websockets",
    "streaming",
    "stream",
    "streams",
    "distributed",
    "sse",
    "realtime",
    "kafka",
    "rabbitmq",
    "redis",
    "celery",
    "grpc",
    "graphql",
    "kubernetes",
    "k8s",
    "microservice",
    "microservices",
    "gpu",
    "cuda",
    "sharding",
    "shard",
    "replica",
    "replication",
    "pubsub",
    "broker",
    "webhook",
    "webhooks",
    "broadcast",
    "multicast",
    "socketio",
    "mqtt",
    "amqp",
    "zeromq",
    "zmq",
    "nats",
    "pulsar",
    "kinesis",
    "dynamodb",
    "mongodb",
    "cassandra",
    "elasticsearch",
    "serverless",
    "autoscaling",
    "autoscale",
    "loadbalancer",
    "nginx",
    "docker",
    "kubectl",
    "helm",
    "terraform",
    "livestream",
    "livefeed",
    "push",
    "notification",
    "notifications",
    "subscriber",
    "publisher",
    "consumer",
    "producer",
    "eventbus",
    "saga",
    "orchestrator",
    "orchestration",
    "scheduler",
    "cron",
    "cluster",
    "sidecar",
    "mesh",
    "istio",
    "envoy",
    "tenant",
    "multitenant",
    "billing",
    "payment",
    "stripe",
    "analytics",
    "telemetry",
    "tracing",
    "opentelemetry",
    "prometheus",
    "grafana",
    "dashboard",
    "inference",
    "embedding",
    "llm",
    "openai",
    "chatbot",
    "blockchain",
    "ledger",
    "webrtc",
    "video",
    "transcode",
    "thumbnail",
    "cdn",
    "oauth",
    "sso",
    "saml",
    "ldap",
    "yolo",
]
SEED_WORDS = [
    "websocket",
    "streaming",
    "gpu_schedule",
    "distributed",
    "gpu_worker",
    "sse",
    "real_time",
    "websockets",
    "async_stream",
    "live_feed",
]
NAIVE_SCRIPT = r"""
import sys
from pathlib import Path
root, words_file = sys.argv[1], sys.argv[2]
words = Path(words_file).read_text().split()
pairs = 0
for path in sorted(Path(root).rglob("*")):
    if not path.is_file():
        continue
    text = path.read_text(errors="ignore")
    for line in text.splitlines():
        for word in words:
            if word in line:
                pairs += 1
print(pairs)
"""
SCANNER_SCRIPT = r"""
import sys
from evidence_kit.policy.vocab import Matcher, scan_tree
root, words_file, jobs = sys.argv[1], sys.argv[2], int(sys.argv[3])
matcher = Matcher(open(words_file).read().split(), engine=(sys.argv[4:] or [None])[0])
print(len(scan_tree(root, matcher, jobs=jobs)), matcher.engine)
"""
# NOTE: every field of every hit, paths relative to the tree, one JSON array a line (ASCII: escapes).
DUMP_SCRIPT = r"""
import json, os, sys
from evidence_kit.policy.vocab import Matcher, scan_tree
root, words_file, jobs, out, engine = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
hits = scan_tree(root, Matcher(open(words_file).read().split(), engine=engine), jobs=jobs)
with open(out, "w", encoding="ascii") as fh:
    for h in hits:
        row = [os.path.relpath(h.path, root), h.line, h.col, h.term, h.matched_text, h.kind, h.line_text]
        fh.write(json.dumps(row) + "\n")
"""
REPO = HERE.parent


@dataclass(frozen=True)
class Sample:
    """Wall and CPU seconds (the process and its children) of one run, and what it printed."""

    wall: float
    cpu: float
    out: str


def python_env(source: Path = REPO) -> dict[str, str]:
    """Environment for the Python runs of the code in `source` (run there too): bytecode cached (in .work),
    as an installed tool would have it."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(WORK / "pycache")
    env["PYTHONPATH"] = os.pathsep.join([str(source), *filter(None, [os.environ.get("PYTHONPATH")])])
    return env


def run(argv: list[str], env: dict[str, str] | None = None, cwd: Path | None = None) -> Sample:
    """Run a command to completion; wall and CPU seconds and its standard output."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env=env, cwd=cwd)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode not in (0, 1):  # NOTE: rg exits 1 when nothing matched
        raise SystemExit(f"{argv[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return Sample(wall, cpu, done.stdout)


def sources() -> list[Path]:
    """Folders whose .py files fill the tree: the venv's site-packages, then the standard library."""
    purelib = Path(sysconfig.get_paths()["purelib"])
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    return [p for p in dict.fromkeys([purelib, stdlib]) if p.is_dir()]


def renamed(rel: Path) -> Path:
    """`rel` with every folder named like a skipped vendored folder given a trailing underscore."""
    parts = [p + "_" if p in vocab.SKIP_DIRS else p for p in rel.parts[:-1]]
    return Path(*parts, rel.name)


def own_repository(tree: Path) -> None:
    """Make `tree` a git repository (no template files, nothing committed) unless it is one already."""
    if not (tree / ".git").is_dir():
        subprocess.run(["git", "init", "-q", "--template=", str(tree)], check=True)


def build_tree(target: int) -> tuple[int, int]:
    """Make (or reuse) the tree of at least `target` bytes as its own git repository; its size and files."""
    if MANIFEST.exists() and TREE.is_dir():
        info = json.loads(MANIFEST.read_text())
        if info.get("bytes", 0) >= target:
            own_repository(TREE)
            return int(info["bytes"]), int(info["files"])
    shutil.rmtree(TREE, ignore_errors=True)
    TREE.mkdir(parents=True)
    files = [(i, src, p) for i, src in enumerate(sources()) for p in sorted(src.rglob("*.py")) if p.is_file()]
    if not files:
        raise SystemExit("no .py files found to copy")
    total = count = copy = 0
    t0 = time.perf_counter()
    while total < target:
        for i, src, path in files:
            dest = TREE / f"copy{copy}" / f"src{i}" / renamed(path.relative_to(src))
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                shutil.copyfile(path, dest)
            except OSError:
                continue
            total += dest.stat().st_size
            count += 1
            if total >= target:
                break
        copy += 1
    own_repository(TREE)
    MANIFEST.write_text(json.dumps({"bytes": total, "files": count}))
    print(
        f"built the tree: {total / MB:.0f} MB in {count} files, {time.perf_counter() - t0:.0f} s",
        file=sys.stderr,
    )
    return total, count


def warm(root: Path) -> None:
    """Read every file once so that every method starts from a warm page cache."""
    for path in vocab.walk_names(root):
        with open(path, "rb") as fh:
            while fh.read(1 << 20):
                pass


def in_turns(methods: dict[str, Callable[[], Sample]], runs: int) -> dict[str, list[Sample]]:
    """Every method once per round, `runs` rounds, so that background load hits them alike."""
    samples: dict[str, list[Sample]] = {name: [] for name in methods}
    for _ in range(runs):
        for name, fn in methods.items():
            samples[name].append(fn())
    return samples


# ---------------------------------------------------------------- comparing hits


def rg_triples(rg: str, jobs: int) -> set[tuple[str, int, str]]:
    """(file, line, word) for every whole-word match ripgrep reports with -o."""
    argv = [rg, "--no-unicode", "-i", "-w", "-o", "-n", "--null", "--no-heading", "--with-filename"]
    argv += [
        "-f",
        str(WORK / f"vocab-words-{len(WORDS)}.txt"),
        "-j",
        str(jobs),
        "--no-ignore",
        "--hidden",
        "--glob",
        "!.git",
        ".",
    ]
    done = subprocess.run(argv, cwd=TREE, capture_output=True, check=False)
    found: set[tuple[str, int, str]] = set()
    for raw in done.stdout.split(b"\n"):
        if not raw:
            continue
        name, _, rest = raw.partition(b"\0")
        line, _, text = rest.partition(b":")
        found.add((os.path.normpath(name.decode()), int(line), text.decode("latin-1").lower()))
    return found


def our_hits(jobs: int) -> list[vocab.Hit]:
    """The scanner's hits for the word list, paths relative to the tree."""
    hits = vocab.scan_tree(TREE, vocab.Matcher(WORDS), jobs=jobs)
    return [
        vocab.Hit(os.path.relpath(h.path, TREE), h.line, h.col, h.term, h.matched_text, h.kind, h.line_text)
        for h in hits
    ]


_RG_WORD = re.compile(rb"[A-Za-z0-9_]")


def classify_ours(hit: vocab.Hit) -> str:
    """Why ripgrep -w does not report a match the scanner found."""
    line = hit.line_text
    start, end = hit.col - 1, hit.col - 1 + len(hit.matched_text)
    text = hit.matched_text
    before, after = line[start - 1 : start], line[end : end + 1]
    if any(c in text for c in "_-."):
        return "separated: the word split by `_`, `-` or `.` (web_socket, real-time)"
    if not text.islower() and not text.isupper() and not text.istitle():
        return "mixed case inside the word (webSocket)"
    if before == "_" or after == "_":
        return "snake_case neighbour: `_` is a word character for rg (handle_websocket)"
    if (before.isalpha() and before.isascii()) or (after.isalpha() and after.isascii()):
        return "camelCase compound (WebSocketRoute, getStream)"
    if before.isdigit() or after.isdigit():
        return "digits next to the word (sse2, v4kafka)"
    return "other"


def classify_rg(line_text: str, word: str) -> str:
    """Why the scanner does not report a match ripgrep -w found."""
    low = line_text.lower()
    for m in re.finditer(r"(?<![A-Za-z0-9_])" + re.escape(word) + r"(?![A-Za-z0-9_])", low):
        before, after = line_text[m.start() - 1 : m.start()], line_text[m.end() : m.end() + 1]
        if (before and not before.isascii()) or (after and not after.isascii()):
            return "non-ASCII letter next to the word (rg --no-unicode sees a non-word byte)"
    return "other"


def compare(rg: str, jobs: int) -> None:
    """Print hit counts of both tools on plain lowercase whole words and explain every difference."""
    theirs = rg_triples(rg, jobs)
    hits = our_hits(jobs)
    ours: dict[tuple[str, int, str], vocab.Hit] = {}
    for h in hits:
        ours.setdefault((h.path, h.line, h.term), h)
    both = theirs & ours.keys()
    only_ours = [ours[k] for k in sorted(ours.keys() - theirs)]
    only_rg = sorted(theirs - ours.keys())
    kinds = Counter(h.kind for h in hits)
    print()
    print("hits, as distinct (file, line, word) triples")
    print(f"  ripgrep -w -o        {len(theirs):>8}")
    by_kind = ", ".join(f"{k} {v}" for k, v in kinds.most_common())
    print(f"  evidence-kit         {len(ours):>8}   ({len(hits)} hits: {by_kind})")
    print(f"  found by both        {len(both):>8}")
    print(f"  only evidence-kit    {len(only_ours):>8}")
    print(f"  only ripgrep         {len(only_rg):>8}")
    groups: dict[str, list[vocab.Hit]] = defaultdict(list)
    for h in only_ours:
        groups[classify_ours(h)].append(h)
    if groups:
        print("\nonly evidence-kit, by class:")
    for name, members in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        print(f"  {len(members):>7}  {name}")
        for h in members[:: max(1, len(members) // 3)][:3]:
            print(f"           {h.path}:{h.line}:{h.col} {h.term!r} in {h.line_text.strip()[:90]!r}")
    if only_rg:
        lines: dict[tuple[str, int], str] = {}
        for name, line, _ in only_rg:
            if (name, line) not in lines:
                with open(TREE / name, "rb") as fh:
                    text = fh.read().split(b"\n")
                lines[(name, line)] = text[line - 1].decode("utf-8", "replace") if line <= len(text) else ""
        rgroups: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
        for t in only_rg:
            rgroups[classify_rg(lines[(t[0], t[1])], t[2])].append(t)
        print("\nonly ripgrep, by class:")
        for label, triples in sorted(rgroups.items(), key=lambda kv: -len(kv[1])):
            print(f"  {len(triples):>7}  {label}")
            for t in triples[:: max(1, len(triples) // 3)][:3]:
                print(f"           {t[0]}:{t[1]} {t[2]!r} in {lines[(t[0], t[1])].strip()[:90]!r}")


# ---------------------------------------------------------------- comparing hit lists


def dump_hits(words: list[str], out: Path, jobs: int, engine: str, source: Path = REPO) -> int:
    """Write every hit of `words` (the code in `source`) to `out` as JSON lines; how many."""
    words_file = WORK / f"vocab-words-{len(words)}.txt"
    argv = [sys.executable, "-c", DUMP_SCRIPT, str(TREE), str(words_file), str(jobs), str(out), engine]
    done = subprocess.run(
        argv, capture_output=True, text=True, check=False, env=python_env(source), cwd=source
    )
    if done.returncode != 0:
        raise SystemExit(f"the hit list of {source} failed: {done.stderr[-2000:]}")
    return out.read_bytes().count(b"\n")


def same_bytes(label: str, ours: Path, theirs: Path) -> bool:
    """Print whether two hit lists are identical byte for byte, else where they first differ."""
    a, b = ours.read_bytes().split(b"\n"), theirs.read_bytes().split(b"\n")
    if a == b:
        print(f"  {label}: identical, byte for byte ({len(a) - 1} hits)")
        return True
    at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    print(f"  {label}: DIFFERENT ({len(a) - 1} hits against {len(b) - 1}), first at hit {at + 1}:")
    for name, lines in (("ours", a), ("theirs", b)):
        print(f"    {name:6} {lines[at][:200].decode('ascii', 'replace') if at < len(lines) else '(none)'}")
    return False


def check_hit_lists(args: argparse.Namespace) -> bool:
    """Compare the scanner's full hit lists (both word lists) as the options ask; True when all agree."""
    print("\nhit lists, every field of every hit")
    ok = True
    for words in (WORDS, SEED_WORDS):
        n = len(words)
        ours = WORK / f"hits-{n}.jsonl"
        engine = vocab.Matcher(words).engine
        dump_hits(words, ours, args.jobs, engine)
        label = f"{n} words"
        if args.hits_out is not None:
            saved = Path(f"{args.hits_out}-{n}.jsonl")
            shutil.copyfile(ours, saved)
            print(f"  {label}: saved to {saved}")
        if args.hits_against is not None:
            saved = Path(f"{args.hits_against}-{n}.jsonl")
            ok &= same_bytes(f"{label} against {saved}", ours, saved)
        if args.compare_with is not None:
            before = WORK / f"hits-{n}-before.jsonl"
            dump_hits(words, before, args.jobs, engine, args.compare_with)
            ok &= same_bytes(f"{label} against the code in {args.compare_with}", ours, before)
        if not args.quick:
            pure = WORK / f"hits-{n}-re.jsonl"
            dump_hits(words, pure, args.jobs, "re")
            ok &= same_bytes(f"{label}, engine re against re2", pure, ours)
    return ok


# ---------------------------------------------------------------- main


def time_list(
    label: str, words: list[str], rg: str | None, args: argparse.Namespace, size: int
) -> dict[str, float]:
    """Time ripgrep and the scanner (and, once each, the `re` fallback and the naive scan) on one word
    list; print the table; each scanner's wall time (now, and before with --compare-with) as a multiple of
    ripgrep's."""
    words_file = WORK / f"vocab-words-{len(words)}.txt"
    words_file.write_text("\n".join(words) + "\n")
    runs = 1 if args.quick else args.runs
    methods: dict[str, Callable[[], Sample]] = {}
    if rg is not None:
        rg_argv = [rg, "--no-unicode", "-i", "-w", "-c", "-f", str(words_file), "-j", str(args.jobs)]
        methods["ripgrep"] = lambda: run([*rg_argv, "--no-ignore", "--hidden", "--glob", "!.git", str(TREE)])
    scanner = [sys.executable, "-c", SCANNER_SCRIPT, str(TREE), str(words_file), str(args.jobs)]
    env = python_env()
    run(scanner, env, REPO)  # NOTE: a warm-up run writes the bytecode cache
    methods["evidence-kit"] = lambda: run(scanner, env, REPO)
    if args.compare_with is not None:
        before_env = python_env(args.compare_with)
        run(scanner, before_env, args.compare_with)
        methods["evidence-kit before"] = lambda: run(scanner, before_env, args.compare_with)
    if len(words) == len(WORDS):
        check = check_argv(words, args.jobs)
        methods["evidence check"] = lambda: run(check, env, REPO)
    samples = in_turns(methods, runs)
    if not args.quick:
        samples["evidence-kit, re"] = [run([*scanner, "re"], env, REPO)]
        if args.naive and len(words) == len(WORDS):
            samples["naive (seed 003)"] = [
                run([sys.executable, "-c", NAIVE_SCRIPT, str(TREE), str(words_file)])
            ]
    print(
        f"\n{label}: wall seconds, median of {runs} run(s) (min in brackets); CPU seconds; MB/s of wall time"
    )
    base = statistics.median(s.wall for s in samples["ripgrep"]) if "ripgrep" in samples else None
    notes = {
        "ripgrep": "matching lines",
        "naive (seed 003)": "(line, word) pairs",
        "evidence check": "EK101 findings in its JSON report",
    }
    if args.compare_with is not None:
        notes["evidence-kit before"] = f"hits, prefilter engine, code in {args.compare_with}"
    for name, got in samples.items():
        wall = statistics.median(s.wall for s in got)
        cpu = statistics.median(s.cpu for s in got)
        ratio = f"{wall / base:5.2f}x rg" if base else ""
        out = got[-1].out.strip().splitlines()
        said = sum_counts(out) if name == "ripgrep" else " ".join(out)
        if name == "evidence check":
            said = str(json.loads(CHECK_REPORT.read_text())["summary"]["errors"])
        print(
            f"  {name:18} {wall:7.2f} ({min(s.wall for s in got):6.2f})  cpu {cpu:6.2f}  "
            f"{size / MB / wall:6.0f} MB/s  {ratio:10}  {notes.get(name, 'hits, prefilter engine')}: {said}"
        )
    if base is None:
        return {}
    scanners = [name for name in ("evidence-kit", "evidence-kit before") if name in samples]
    return {name: statistics.median(s.wall for s in samples[name]) / base for name in scanners}


CHECK_REPORT = WORK / "vocab-check.json"


def check_argv(words: list[str], jobs: int) -> list[str]:
    """`evidence check` of the tree with EK101 alone on these words, its JSON report written to .work: the
    scan and all that the check does with its findings (fingerprints, waivers, masking, rendering)."""
    rules = WORK / "vocab-rules.yaml"
    listed = ", ".join(json.dumps(w) for w in words)
    rules.write_text(
        f"checks:\n  EK101:\n    severity: error\n    options: {{jobs: {jobs}, forbidden: [{listed}]}}\n"
    )
    argv = [sys.executable, "-m", "evidence_kit", "check", str(TREE), "--rules", str(rules)]
    return [*argv, "--format", "json", "--output", str(CHECK_REPORT)]


def main() -> int:
    """Build the tree, time the methods on both word lists, compare the hits; 1 when the target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="one timed run each, no `re` or naive run")
    parser.add_argument("--jobs", type=int, default=2, help="threads for rg, processes for the scanner (2)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of rg and the scanner (median), 5")
    parser.add_argument("--no-naive", dest="naive", action="store_false", help="skip the naive scan (~80 s)")
    parser.add_argument(
        "--compare-with", type=Path, metavar="SRC", help="also time the code in SRC and compare its hits"
    )
    parser.add_argument("--hits-out", metavar="PREFIX", help="save the hit lists as PREFIX-{100,10}.jsonl")
    parser.add_argument("--hits-against", metavar="PREFIX", help="compare the hit lists with saved ones")
    args = parser.parse_args()
    size, files = build_tree(TARGET_MB * MB)
    assert len(WORDS) == 100 and len(set(WORDS)) == 100
    rg = shutil.which("rg")
    print(
        f"tree {TREE.relative_to(HERE.parent)}: {size / MB:.0f} MB, {files} files; {args.jobs} jobs; "
        f"{os.cpu_count()} CPUs; prefilter engine {vocab.Matcher(WORDS).engine}; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    if rg is None:
        print("ripgrep (rg) is not installed (`apt-get install -y ripgrep`): no comparison with it")
    warm(TREE)
    ratios = time_list("100 words", WORDS, rg, args, size)
    few = time_list("seed 003's 10 words (few hits)", SEED_WORDS, rg, args, size)
    print(f"\nload average at the end {os.getloadavg()[0]:.2f}")
    missed = False
    for label, got, target in (
        ("100 words", ratios, TARGET_RATIO),
        ("seed 003's words", few, TARGET_RATIO_FEW),
    ):
        now = got.get("evidence-kit")
        miss = now is None or now > target
        missed = missed or miss
        if now is not None:
            before = f" (before: {got['evidence-kit before']:.2f}x)" if "evidence-kit before" in got else ""
            verdict = "MISSED" if miss else "met"
            print(
                f"target ({label}): evidence-kit <= {target}x rg's wall time: {now:.2f}x{before}, {verdict}"
            )
    same = check_hit_lists(args)
    if rg is not None:
        compare(rg, args.jobs)
    return 1 if missed or not same else 0


def sum_counts(lines: list[str]) -> int:
    """Total of `rg -c` output (`path:count` lines)."""
    return sum(int(line.rsplit(":", 1)[1]) for line in lines if ":" in line)


if __name__ == "__main__":
    sys.exit(main())
