"""`evidence diff OLD NEW`: what changed between two bundles, by meaning, each change classified."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from evidence_kit.bundle.archive import opened
from evidence_kit.bundle.verify import Verdict, verify_dir
from evidence_kit.diff import artifacts, ci, git, migrations, results, routes, schema, tests
from evidence_kit.diff.model import (
    CLASSIFICATIONS,
    FAIL_ON,
    BundleInfo,
    Change,
    Classification,
    DiffReport,
    FailOn,
    Section,
)
from evidence_kit.diff.read import Side
from evidence_kit.errors import EvidenceError
from evidence_kit.evidence import tests as tests_evidence
from evidence_kit.evidence.view import Shared
from evidence_kit.support import gc
from evidence_kit.support.forked import Forked
from evidence_kit.support.forked import available as forked_available

__all__ = [
    "CLASSIFICATIONS",
    "FAIL_ON",
    "KINDS",
    "BundleInfo",
    "Change",
    "Classification",
    "DiffReport",
    "FailOn",
    "Section",
    "diff",
]

Differ = Callable[[Side, Side], Section | None]

KINDS: dict[str, Differ] = {
    "artifacts": artifacts.diff,
    "git": git.diff,
    "migrations": migrations.diff,
    "schema": schema.diff,
    "routes": routes.diff,
    "tests": tests.diff,
    "ci": ci.diff,
    "results": results.diff,
}

SHOWN_PROBLEMS = 20


def _info(path: Path, verdict: Verdict) -> BundleInfo:
    m = verdict.manifest
    git_sha = m.get("git", {}).get("sha") if isinstance(m.get("git"), dict) else None

    def text(key: str) -> str | None:
        value = m.get(key)
        return str(value) if value is not None else None

    return BundleInfo(
        label=path.name,
        bundle=text("bundle") or path.name,
        service=text("service"),
        phase=text("phase"),
        git_sha=str(git_sha) if git_sha else None,
        created=text("created"),
        digest=f"sha256:{verdict.digest}" if verdict.digest else None,
        verified=verdict.ok,
        problems=tuple(str(p) for p in verdict.problems),
    )


def _refuse(pairs: list[tuple[str, BundleInfo]]) -> EvidenceError:
    bad = [(role, info) for role, info in pairs if not info.verified]
    names = " and ".join(f"{role} bundle {info.label}" for role, info in bad)
    details: list[str] = []
    for role, info in bad:
        details += [f"{role}: {p}" for p in info.problems[:SHOWN_PROBLEMS]]
        if len(info.problems) > SHOWN_PROBLEMS:
            details.append(f"{role}: … and {len(info.problems) - SHOWN_PROBLEMS} more problems")
    return EvidenceError(
        f"cannot compare: the {names} {'does' if len(bad) == 1 else 'do'} not verify",
        hint="a changed or incomplete bundle proves nothing; fetch an untouched copy, or compare anyway "
        "without verification (--no-verify) and treat the result as unproven",
        details=details,
    )


def diff(old: Path, new: Path, verify: bool = True) -> DiffReport:
    """Compare bundle `old` with `new` (folders or archives), both verified first unless `verify` is False."""
    # NOTE: the parsed documents are freed when _diff returns, before collections resume; else
    # the first collection would walk every one of their objects.
    with gc.paused():
        return _diff(old, new, verify)


def _diff(old: Path, new: Path, verify: bool) -> DiffReport:
    with opened(old) as old_root, opened(new) as new_root:
        # NOTE: hashing lets go of the interpreter: the two bundles are verified side by side.
        with ThreadPoolExecutor(max_workers=1) as pool:
            later = pool.submit(verify_dir, new_root, label=new.name)
            verdicts = (verify_dir(old_root, label=old.name), later.result())
        infos = (_info(old, verdicts[0]), _info(new, verdicts[1]))
        if verify and not all(v.ok for v in verdicts):
            raise _refuse([("old", infos[0]), ("new", infos[1])])
        warnings = tuple(
            f"the {role} bundle {info.label} does not verify ({len(info.problems)} problems); "
            "it was compared as it is on disk"
            for role, info in zip(("old", "new"), infos, strict=True)
            if not info.verified
        )
        if infos[0].service and infos[1].service and infos[0].service != infos[1].service:
            warnings += (f"the bundles are of different services: {infos[0].service} and {infos[1].service}",)
        shared: Shared = {}
        sides = [
            Side(root, v.manifest, trusted=v.ok, shared=shared)
            for root, v in zip((old_root, new_root), verdicts, strict=True)
        ]
        found = _compare(sides[0], sides[1])
        sections = tuple(s for s in (found[kind] for kind in KINDS) if s is not None)
    return DiffReport(infos[0], infos[1], sections, warnings)


# NOTE: the differs a forked copy takes when the bundles are large (see `_compare`), and how large: their
# documents' bytes on both sides. Below that, forking costs more than it saves.
FORKED_KINDS = ("routes", "tests")
FORK_FROM = 512 * 1024


def _compare(old: Side, new: Side) -> dict[str, Section | None]:
    """Each kind's section. With large documents, a forked copy compares routes and tests while this
    process compares the rest (the schema, most of all): the same sections, on two cores."""
    ours = list(KINDS)
    forked: Forked[list[tuple[str, Section | None]]] | None = None
    if forked_available() and _bytes(old, new) >= FORK_FROM:
        forked = Forked(lambda: [(kind, KINDS[kind](old, new)) for kind in FORKED_KINDS])
        ours = [kind for kind in KINDS if kind not in FORKED_KINDS]
    try:
        found = {kind: KINDS[kind](old, new) for kind in ours}
        if forked is not None:
            sent, theirs = forked.result()
            # NOTE: a copy that failed (killed, out of memory, a differ raising) leaves the work here.
            found.update(
                theirs if sent and theirs is not None else [(k, KINDS[k](old, new)) for k in FORKED_KINDS]
            )
    finally:
        if forked is not None:
            forked.close()
    return found


def _bytes(old: Side, new: Side) -> int:
    """The bytes of the documents the forked differs read, on both sides, by the manifests."""
    total = 0
    for side in (old, new):
        for rel in (
            routes.ARTIFACT,
            *(f"{source}/{tests_evidence.RESULTS}" for source in tests.SOURCES),
        ):
            size = side.record(rel).get("size")
            total += size if isinstance(size, int) else 0
    return total
