"""Merge the bundles of a CI matrix (one per Python version or shard) into one verified bundle.

Each part is verified first; one part that does not verify stops the merge before anything is
written. The merged bundle is written by the bundle writer like any other (atomic, redacted, BagIt):

- `data/part-<label>/<collector>/<file>`: every artifact of each part, under the part's label (its
  bundle name, with `-2`, `-3`... when two parts share one), with its original metadata;
- `data/merged/tests.json`: the test results of every part in the normalized shape of
  `evidence_kit.support.junit` (`totals`, `tests`), each entry with the `part` it came from and the totals
  counted over all parts (`duration_s` is their sum);
- `data/merged/environment.json`: each part's Python version, platform and environment facts side by side;
- `data/merged/parts.json`: each part's bundle name, manifest sha256, service, phase, git sha, creation
  time, CI run and collector statuses, and whether all parts are of the same commit;
- `data/merged/manifests/<label>.json`: each part's own manifest.json.

The manifest lists one collector per part (`part-<label>`, with the worst status of the part's
collectors and their errors) and `merged`. Parts must agree on service and phase unless they are
given; parts of different commits are merged, recorded, and leave the merged bundle's git sha empty.
"""

from __future__ import annotations

import dataclasses
import json
import os
import time
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence_kit.bundle import writer as b
from evidence_kit.bundle.archive import ARCHIVE_SUFFIXES, opened
from evidence_kit.bundle.verify import verify_dir
from evidence_kit.bundle.writer import BundleWriter, dumps, slug, worst
from evidence_kit.commands import Printer
from evidence_kit.errors import EXIT_FAIL, EXIT_OK, EvidenceError
from evidence_kit.evidence import tests as tests_evidence
from evidence_kit.model import STATUSES, CollectorResult, Output, Status
from evidence_kit.redact.redactor import Redactor
from evidence_kit.support import junit
from evidence_kit.support.host import ci_context, host_facts

COLLECTOR = "merged"
PART_PREFIX = "part-"
TEST_SOURCES = tests_evidence.SOURCES
ENVIRONMENT = "environment/environment.json"
SESSION = "pytest/session.json"


@dataclass(frozen=True)
class Part:
    """One verified part bundle, opened (archives unpacked in a temporary folder)."""

    source: Path
    root: Path
    manifest: dict[str, Any]
    digest: str
    paths: frozenset[str]
    label: str = ""

    @property
    def collector(self) -> str:
        return f"{PART_PREFIX}{self.label}"

    def json(self, name: str) -> Any:
        """The parsed artifact `data/<name>`, None when the part has none; EvidenceError when not JSON."""
        if f"{b.PAYLOAD}/{name}" not in self.paths:
            return None
        try:
            return json.loads((self.root / b.PAYLOAD / name).read_bytes())
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise EvidenceError(f"{self.source}: data/{name} is not valid JSON: {exc}") from exc


def merge(
    parts: Sequence[Path],
    out_dir: Path,
    *,
    service: str | None = None,
    phase: str | None = None,
    labels: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> Path:
    """Verify every part and write one bundle holding all of them plus combined views; returns its path."""
    if not parts:
        raise EvidenceError("nothing to merge", hint="pass the part bundles (folders or .tar.gz archives)")
    if labels is not None and len(labels) != len(parts):
        raise EvidenceError(f"{len(labels)} labels for {len(parts)} parts", hint="give one label per part")
    env = dict(os.environ if env is None else env)
    with ExitStack() as stack:
        opened_parts = _label(_open(parts, stack), labels)
        service, phase = _identity(opened_parts, service, phase)
        tests = _tests(opened_parts)
        environment = _environment(opened_parts)
        writer = BundleWriter(out_dir.resolve(), Redactor.from_env(env))
        try:
            results = [_copy(part, writer) for part in opened_parts]
            t0 = time.monotonic()
            shas = {part.manifest["git"].get("sha") for part in opened_parts}
            same_commit = None if None in shas else len(shas) == 1
            outputs = _outputs(opened_parts, tests, environment, service, phase, same_commit)
            for output in outputs:
                writer.add(COLLECTOR, output)
            results.append(CollectorResult(COLLECTOR, "ok", tuple(outputs), duration_s=time.monotonic() - t0))
            return writer.finish(
                service=service,
                phase=phase,
                git_sha=shas.pop() if same_commit else None,
                results=results,
                host=host_facts(),
                ci=ci_context(env),
            )
        except BaseException:
            writer.abort()
            raise


def _open(paths: Sequence[Path], stack: ExitStack) -> list[Part]:
    problems: list[str] = []
    parts: list[Part] = []
    seen: dict[str, Path] = {}
    for path in paths:
        try:
            root = stack.enter_context(opened(path))
        except EvidenceError as exc:
            problems += [f"{path}: {exc.message}", *(f"{path}: {d}" for d in exc.details)]
            continue
        verdict = verify_dir(root, label=path.name)
        if not verdict.ok or verdict.digest is None:
            problems += [f"{path}: {p}" for p in verdict.problems]
            continue
        if verdict.digest in seen:
            problems.append(f"{path}: the same bundle as {seen[verdict.digest]} (given twice)")
            continue
        seen[verdict.digest] = path
        listed = frozenset(str(r["path"]) for r in verdict.manifest["artifacts"])
        parts.append(Part(path, root, verdict.manifest, verdict.digest, listed))
    if problems:
        raise EvidenceError(
            f"{len(paths) - len(parts)} of {len(paths)} parts cannot be merged; nothing was written",
            hint="`evidence verify PART` shows a part's problems; download or collect that part again",
            details=problems,
            exit_code=EXIT_FAIL,
        )
    return parts


def _label(parts: list[Part], labels: Sequence[str] | None) -> list[Part]:
    if labels is not None:
        bad = [label for label in labels if slug(label) != label]
        if bad or len(set(labels)) != len(labels):
            raise EvidenceError(
                "part labels must be distinct and made of letters, digits, `.`, `_` and `-`",
                hint="e.g. `py3.11`, `py3.12`, `shard-1`",
                details=[f"{label!r} is not a valid label" for label in bad]
                + [f"{label!r} is given twice" for label in sorted(set(labels)) if labels.count(label) > 1],
            )
        named = [dataclasses.replace(p, label=label) for p, label in zip(parts, labels, strict=True)]
        return sorted(named, key=lambda p: p.label)
    taken: set[str] = set()
    named = []
    # NOTE: sorted first, so the labels (and the merged bytes) do not depend on the order parts are given in.
    for part in sorted(parts, key=lambda p: (str(p.manifest.get("bundle", "")), p.digest)):
        base = slug(str(part.manifest.get("bundle") or _stem(part.source)))
        label, n = base, 1
        while label in taken:
            n += 1
            label = f"{base}-{n}"
        taken.add(label)
        named.append(dataclasses.replace(part, label=label))
    return named


def _stem(path: Path) -> str:
    for suffix in ARCHIVE_SUFFIXES:
        if path.name.endswith(suffix):
            return path.name.removesuffix(suffix)
    return path.name


def _identity(parts: list[Part], service: str | None, phase: str | None) -> tuple[str, str]:
    services = sorted({str(p.manifest["service"]) for p in parts})
    phases = sorted({str(p.manifest["phase"]) for p in parts})
    disagree = [
        what
        for what, given, found in (("services", service, services), ("phases", phase, phases))
        if given is None and len(found) > 1
    ]
    if disagree:
        raise EvidenceError(
            f"the parts are of different {' and '.join(disagree)}",
            hint="merge parts of one service and phase, or name the merged bundle with --service and --phase",
            details=[
                f"{p.source}: service {p.manifest['service']!r}, phase {p.manifest['phase']!r}" for p in parts
            ],
        )
    return service if service is not None else services[0], phase if phase is not None else phases[0]


def _tests(parts: list[Part]) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]], list[str]]:
    """The combined report (None when no part has test results), each part's totals by source, and what
    says a part's run was stopped at its timeout."""
    entries: list[dict[str, Any]] = []
    by_part: dict[str, dict[str, Any]] = {}
    duration = 0.0
    problems: list[str] = []
    stopped: list[str] = []
    for part in parts:
        by_part[part.label] = {}
        for source in TEST_SOURCES:
            report = part.json(source)
            if report is None:
                continue
            tests = report.get("tests") if isinstance(report, dict) else None
            totals = report.get("totals") if isinstance(report, dict) else None
            if not isinstance(tests, list) or not isinstance(totals, dict):
                problems.append(f"{part.source}: data/{source} has no `totals` and `tests`")
                continue
            by_part[part.label][source] = totals
            record = next(
                (
                    a
                    for a in part.manifest.get("artifacts", [])
                    if isinstance(a, dict) and a.get("path") == f"data/{source}"
                ),
                {},
            )
            if record.get("status") == "timeout":
                # NOTE: a part stopped at its timeout holds part of its suite: the merged results say so.
                stopped.append(f"part {part.label}: {record.get('message') or 'stopped at its timeout'}")
            for n, test in enumerate(tests):
                if not (
                    isinstance(test, dict)
                    and isinstance(test.get("id"), str)
                    and test.get("outcome") in junit.OUTCOMES
                ):
                    problems.append(f"{part.source}: data/{source}: test {n} has no id or an unknown outcome")
                    continue
                inner = test.get("part") if source.startswith(f"{COLLECTOR}/") else None
                entries.append({**test, "part": f"{part.label}/{inner}" if inner else part.label})
            duration += float(totals.get("duration_s") or 0.0)
    if problems:
        raise EvidenceError(
            "test results of some parts cannot be read; nothing was written",
            hint="a part's tests.json must have the shape `evidence collect` and the pytest plugin write",
            details=problems,
        )
    found = any(by_part.values())
    return (junit.normalize(entries, duration) if found else None), by_part, stopped


def _environment(parts: list[Part]) -> dict[str, Any]:
    python: dict[str, str | None] = {}
    platform: dict[str, str | None] = {}
    details: dict[str, Any] = {}
    for part in parts:
        environment = part.json(ENVIRONMENT)
        session = part.json(SESSION)
        pytest_env = session.get("environment") if isinstance(session, dict) else None
        host = part.manifest.get("host") or {}
        facts = environment if isinstance(environment, dict) else {}
        python[part.label] = (
            (facts.get("python") or {}).get("version")
            or (pytest_env or {}).get("python")
            or host.get("python")
        )
        platform[part.label] = (
            (facts.get("os") or {}).get("platform")
            or (pytest_env or {}).get("platform")
            or host.get("platform")
        )
        # NOTE: the host name stays out of artifacts, as in every bundle.
        details[part.label] = {
            "environment": environment,
            "pytest": pytest_env,
            "host": {"platform": host.get("platform"), "python": host.get("python")},
        }
    return {"python": python, "platform": platform, "parts": details}


def _part_facts(part: Part, tests: Mapping[str, Any]) -> dict[str, Any]:
    manifest = part.manifest
    collectors = {str(c["name"]): str(c["status"]) for c in manifest.get("collectors", [])}
    return {
        "label": part.label,
        "collector": part.collector,
        "bundle": manifest.get("bundle"),
        "file": part.source.name,
        "manifest_sha256": part.digest,
        "service": manifest.get("service"),
        "phase": manifest.get("phase"),
        "git_sha": manifest["git"].get("sha"),
        "created": manifest.get("created"),
        "tool_version": (manifest.get("tool") or {}).get("version"),
        "ci": manifest.get("ci"),
        "collectors": collectors,
        "status": _worst(part),
        "artifacts": len(manifest.get("artifacts", [])),
        "redactions": manifest.get("redactions", 0),
        "tests": dict(tests),
    }


def _worst(part: Part) -> Status:
    statuses: list[Status] = [
        c["status"] for c in part.manifest.get("collectors", []) if c.get("status") in STATUSES
    ]
    return worst(statuses)


def _outputs(
    parts: list[Part],
    tests: tuple[dict[str, Any] | None, dict[str, dict[str, Any]], list[str]],
    environment: dict[str, Any],
    service: str,
    phase: str,
    same_commit: bool | None,
) -> list[Output]:
    report, by_part, stopped = tests
    facts = [_part_facts(part, by_part[part.label]) for part in parts]
    summary = {
        "service": service,
        "phase": phase,
        "same_commit": same_commit,
        "commits": sorted({str(f["git_sha"]) for f in facts if f["git_sha"]}),
        "parts": facts,
    }
    outputs = [
        Output(
            "parts.json",
            "The merged parts: bundles, digests, commits, statuses",
            "application/json",
            dumps(summary),
        ),
        Output(
            "environment.json",
            "Each part's Python, platform and environment, side by side",
            "application/json",
            dumps(environment),
        ),
    ]
    if report is not None:
        outputs.append(
            Output(
                "tests.json",
                "Test outcomes of every part, each with its part",
                "application/json",
                junit.to_json(report),
                status="timeout" if stopped else "ok",
                message="; ".join(stopped) or None,
            )
        )
    for part in parts:
        outputs.append(
            Output(
                f"manifests/{part.label}.json",
                f"The manifest of part {part.label}",
                "application/json",
                source=part.root / b.MANIFEST,
            )
        )
    return outputs


def _copy(part: Part, writer: BundleWriter) -> CollectorResult:
    t0 = time.monotonic()
    for rec in sorted(part.manifest.get("artifacts", []), key=lambda r: str(r["path"])):
        rel = str(rec["path"])
        argv = rec.get("argv")
        writer.add(
            part.collector,
            Output(
                rel.removeprefix(f"{b.PAYLOAD}/"),
                str(rec.get("title") or ""),
                str(rec.get("media_type") or "application/octet-stream"),
                source=part.root / rel,
                argv=tuple(str(a) for a in argv) if isinstance(argv, list) else None,
                exit_code=rec.get("exit_code"),
                status=rec["status"],
                started=rec.get("started"),
                finished=rec.get("finished"),
                duration_s=rec.get("duration_s"),
                truncated=bool(rec.get("truncated")),
                message=rec.get("message"),
                process=rec.get("process"),
            ),
        )
    bad = [c for c in part.manifest.get("collectors", []) if c.get("status") not in ("ok", "skipped")]
    errors = [f"{c['name']} {c['status']}" + (f": {c['error']}" if c.get("error") else "") for c in bad]
    hints = list(dict.fromkeys(str(c["hint"]) for c in bad if c.get("hint")))
    return CollectorResult(
        part.collector,
        _worst(part),
        error="; ".join(errors) or None,
        hint="; ".join(hints) or None,
        duration_s=time.monotonic() - t0,
    )


def run(
    printer: Printer,
    parts: Sequence[Path],
    *,
    out: Path,
    service: str | None = None,
    phase: str | None = None,
    labels: Sequence[str] | None = None,
) -> int:
    """`evidence merge`: merge the PART bundles into one bundle under `out` and print its path."""
    printer.out(str(merge(parts, out, service=service, phase=phase, labels=labels or None)))
    return EXIT_OK
