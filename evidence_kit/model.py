"""Plain data shared by the collectors, the bundle writer and the readers."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

Status = Literal["ok", "failed", "error", "skipped", "timeout"]
STATUSES: tuple[Status, ...] = ("ok", "failed", "error", "skipped", "timeout")


@dataclass(frozen=True)
class Output:
    """One artifact a collector hands to the bundle writer.

    Exactly one of `data` (bytes in memory) or `source` (a file to stream from, e.g. a
    spooled command output in the scratch folder) is set. `name` is the path inside the
    collector's folder of the bundle, e.g. `history.json` or `migrations/0001_init.py`.
    `limit` caps how many bytes of `source` are kept; the writer records the truncation.
    `process` says how the process that made it ended (`proc.Ending.as_json()`): the signal that
    ended it and the signals sent to its process tree.
    """

    name: str
    title: str
    media_type: str = "text/plain"
    data: bytes | None = None
    source: Path | None = None
    argv: tuple[str, ...] | None = None
    exit_code: int | None = None
    status: Status = "ok"
    started: str | None = None
    finished: str | None = None
    duration_s: float | None = None
    truncated: bool = False
    limit: int | None = None
    message: str | None = None
    process: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class Handoff:
    """A document one collector reads for a later one while it can, kept out of the bundle.

    The http collector GETs `path` (after its `base_url`) while the service it started is up and
    leaves the body in `file` and what happened in `meta` (JSON: url, status, error, timings); the
    openapi collector then reads the document there instead of importing the app a second time.
    """

    path: str
    file: Path
    meta: Path
    timeout: float


@dataclass(frozen=True)
class Context:
    """What a collector may read: the service's folder, its database URL, a scratch folder.

    `earlier` maps `<collector>/<name>` of the artifacts already written (redacted) by the
    collectors this one runs after (see `evidence_kit.order`) to their files. `python` is the
    top-level `python:` of evidence.yaml, as written (see `evidence_kit.support.interpreter`).
    `handoffs` are the documents this collector fetches for a later one, or finds fetched for it.
    `database_problem` says why a configured database has no URL (a variable its template needs is unset);
    `database_source` where the URL came from, in words (`environment variable DATABASE_URL`).
    """

    root: Path
    scratch: Path
    database_url: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    earlier: Mapping[str, Path] = field(default_factory=dict)
    python: str | None = None
    handoffs: tuple[Handoff, ...] = ()
    database_problem: str | None = None
    database_source: str | None = None


@dataclass(frozen=True)
class PlannedRun:
    """A command a collector will start: a name, the command line, and the folder it runs in."""

    name: str
    line: str
    cwd: Path


@dataclass(frozen=True)
class Intent:
    """What a collector will read and which commands it will start, told before anything runs."""

    reads: tuple[str, ...] = ()
    runs: tuple[PlannedRun, ...] = ()


@dataclass(frozen=True)
class CollectorResult:
    """The outputs of one collector run, or the reason it could not run."""

    collector: str
    status: Status
    outputs: tuple[Output, ...] = ()
    error: str | None = None
    hint: str | None = None
    duration_s: float = 0.0


class Collector(Protocol):
    """A collector module: a name, the JSON Schema of its options and a `collect` function.

    When it runs is not its own business: `evidence_kit.order` holds the default order, and the
    config's `after:` options add to it. A module may also define `validate(options)`, returning
    (key path, problem, fix) for what its schema cannot express, and `plan(root, options)`, returning
    the `Intent` that `collect --plan` shows.
    """

    @property
    def NAME(self) -> str: ...

    @property
    def OPTIONS_SCHEMA(self) -> Mapping[str, Any]: ...

    def collect(self, ctx: Context, options: Mapping[str, Any]) -> list[Output]: ...


Severity = Literal["error", "warning", "note"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "note")


@dataclass(frozen=True)
class Finding:
    """One thing a check found: where, what, and (once the engine has seen it) how bad."""

    check: str
    message: str
    path: str = ""
    line: int | None = None
    col: int | None = None
    snippet: str = ""
    kind: str = ""
    severity: Severity = "error"
    fingerprint: str = ""
    waived: str | None = None
    snippet_col: int | None = None  # NOTE: where `col` falls in `snippet` (a stripped or cut line)


def fingerprint(finding: Finding) -> str:
    """Stable across line moves: check id, path and the normalized snippet (or message)."""
    basis = " ".join((finding.snippet or finding.message).split())
    return hashlib.sha256(f"{finding.check}\0{finding.path}\0{basis}".encode()).hexdigest()[:16]
