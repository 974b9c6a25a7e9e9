"""The page model of a report: facts, tables, artifacts shown, and the bundle as the page reads it."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

from evidence_kit.bundle import writer as b
from evidence_kit.evidence.view import BundleView
from evidence_kit.redact.scrub import scrub
from evidence_kit.support.terminal import strip_ansi

LIMIT = 200 * 1024
PAGE_LIMIT = 16 * 1024 * 1024
ROW_LIMIT = 500
MD_NAME, HTML_NAME = "report.md", "report.html"
DIFF_MD_NAME, DIFF_HTML_NAME = "diff.md", "diff.html"
CSS = "report.css"
CHECK_REPORT = "data/check/report.json"

_LEVELS = {"ok": "ok", "passed": "ok", "skipped": "skip", "failed": "bad", "error": "bad", "timeout": "bad"}
_RANK = {"": 0, "ok": 1, "skip": 2, "info": 2, "warn": 3, "bad": 4}
_TEXT_MEDIA = (
    "application/json",
    "application/sql",
    "application/xml",
    "application/yaml",
    "application/x-yaml",
    "application/toml",
    "application/javascript",
    "application/x-ndjson",
)
_LANGS = {
    ".json": "json",
    ".sql": "sql",
    ".py": "python",
    ".patch": "diff",
    ".diff": "diff",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".ini": "ini",
    ".toml": "toml",
    ".md": "markdown",
    ".html": "html",
    ".xml": "xml",
    ".sh": "sh",
    ".cfg": "ini",
}
_RAW_ORDER = {".txt": 0, ".log": 0, ".patch": 1, ".diff": 1, ".sql": 2, ".py": 3, ".json": 5}
_STEMS = (".stdout.txt", ".stderr.txt", ".meta.json", ".error.txt", ".json", ".txt")
_ERROR_LINE = re.compile(r"\b(ERROR|CRITICAL|FATAL)\b|Traceback \(most recent call last\)")
_WARN_LINE = re.compile(r"\bWARN(ING)?\b")
_BAD_CLASSES = {"breaking", "dangerous", "destructive", "error", "regression", "failed", "critical", "high"}
_WARN_CLASSES = {"risky", "warning", "warn", "review", "medium", "suspicious", "changed"}
_OK_CLASSES = {"safe", "improvement", "fixed", "low", "ok", "passed"}


def level(status: object) -> str:
    """The colour class of a status: ok, skip, warn, bad (or empty when unknown)."""
    return _LEVELS.get(str(status), "")


def worst(levels: Iterable[str]) -> str:
    """The most severe of several levels."""
    return max(levels, key=lambda x: _RANK.get(x, 0), default="")


def human_size(size: object) -> str:
    """Bytes as people read them: 980 B, 12.4 KB, 3.1 MB."""
    if not isinstance(size, int):
        return "?"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


@dataclass(frozen=True)
class Fact:
    """One labelled value of a summary; `pre` is a block of monospaced lines, `mono` inline code."""

    label: str
    value: str
    level: str = ""
    pre: bool = False
    href: str = ""
    mono: bool = False


@dataclass(frozen=True)
class Row:
    """One row of a table; the first cell links to `href` when set."""

    cells: tuple[str, ...]
    level: str = ""
    href: str = ""


@dataclass(frozen=True)
class Table:
    """A small table of a summary, with a note when rows were left out."""

    title: str
    headers: tuple[str, ...]
    rows: tuple[Row, ...]
    note: str = ""


@dataclass(frozen=True)
class Shown:
    """One artifact as the page shows it; `text` is None when it is only listed (binary, budget)."""

    path: str
    anchor: str
    title: str
    status: str
    level: str
    size: int
    sha256: str
    href: str
    text: str | None
    lang: str
    summary: str
    note: str
    open: bool


@dataclass
class Part:
    """A section of the page or a part of one: summary facts and tables, then artifacts, then sub-parts."""

    id: str
    title: str
    level: str = ""
    facts: list[Fact] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    notes: list[Fact] = field(default_factory=list)
    shown: list[Shown] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    collapsed: bool = False

    def settle(self) -> Part:
        """Set the level to the worst of everything inside, its facts included."""
        for part in self.parts:
            part.settle()
        self.level = worst(
            [
                self.level,
                *(s.level for s in self.shown),
                *(p.level for p in self.parts),
                *(n.level for n in self.notes),
                # NOTE: a fact to look at (a dirty working tree) is the section's too: never "OK" beside it.
                *(f.level for f in self.facts),
            ]
        )
        return self


@dataclass(frozen=True)
class Attention:
    """One thing the reader must look at first."""

    level: str
    what: str
    message: str
    hint: str
    href: str


@dataclass(frozen=True)
class Listed:
    """One row of the `All artifacts` table."""

    path: str
    title: str
    collector: str
    status: str
    level: str
    size: int
    sha256: str
    href: str
    anchor: str


def _anchor(prefix: str, text: str, taken: set[str]) -> str:
    # NOTE: masked first: once lowercased and slugged, a secret in a path no longer looks like one.
    base = prefix + (re.sub(r"[^A-Za-z0-9_-]+", "-", scrub(text)).strip("-").lower() or "x")
    anchor, n = base, 1
    while anchor in taken:
        n += 1
        anchor = f"{base}-{n}"
    taken.add(anchor)
    return anchor


def _stem(path: str) -> str:
    name = path.rsplit("/", 1)[-1]
    for suffix in _STEMS:
        if name.endswith(suffix) and len(name) > len(suffix):
            return path[: -len(suffix)]
    return path


def _is_text(media: str, head: bytes) -> bool:
    if b"\x00" in head:
        return False
    if media.startswith("text/") or media in _TEXT_MEDIA or media.endswith(("+json", "+xml", "+yaml")):
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start > len(head) - 4
    return True


def _lines(text: str) -> int:
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def plural(count: int, word: str) -> str:
    """`1 line`, `2 lines`."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _first_line(value: object, cap: int = 300) -> str:
    text = str(value or "").strip()
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= cap else line[: cap - 1] + "…"


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _size(rec: Mapping[str, Any]) -> int:
    size = rec.get("size")
    return size if isinstance(size, int) else 0


def _str(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_str(v) for v in value) or "none"
    if isinstance(value, dict):
        # NOTE: words, never a JSON or Python repr, on a page: `public: c9; tenant: t4`.
        parts = [
            f"{k}: {_str(v)}" if k else _str(v) for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
        ]
        return "; ".join(parts) or "none"
    return str(value)


class _Bundle:
    """The opened bundle: its records, the artifacts read so far, and what the page still has room for."""

    def __init__(self, root: Path, manifest: Mapping[str, Any], links: Path | None) -> None:
        self.root = root.resolve()
        self.view = BundleView(self.root, manifest)
        raw = manifest.get("artifacts")
        self.records: dict[str, dict[str, Any]] = {}
        for rec in raw if isinstance(raw, list) else []:
            if isinstance(rec, dict) and isinstance(rec.get("path"), str):
                self.records[rec["path"]] = rec
        self.taken: set[str] = set()
        self.anchors = {p: _anchor("a-", p.removeprefix("data/"), self.taken) for p in sorted(self.records)}
        self.parts: dict[str, str] = {}
        self.links = links
        self.budget = PAGE_LIMIT
        self.used: set[str] = set()

    def part_id(self, prefix: str, key: str) -> str:
        """A unique anchor for the part showing `key` (a group of artifacts), remembered for links."""
        short = key.split("/", 2)[-1] if key.startswith(f"{b.PAYLOAD}/") else key
        self.parts[key] = _anchor(prefix, short, self.taken)
        return self.parts[key]

    def file(self, path: str) -> Path | None:
        """The artifact's file, when it is a regular file inside the bundle."""
        rel = PurePosixPath(path)
        if rel.is_absolute() or ".." in rel.parts or not path.startswith(f"{b.PAYLOAD}/"):
            return None
        target = self.root / path
        if target.is_symlink() or not target.is_file():
            return None
        return target

    def href(self, path: str) -> str:
        """A link from the report to the artifact's file; empty when the report is not beside the bundle."""
        if self.links is None or self.file(path) is None:
            return ""
        return quote(os.path.relpath(self.root / path, self.links).replace(os.sep, "/"))

    def of(self, collectors: Iterable[str]) -> list[str]:
        """Paths of the artifacts of these collectors, sorted."""
        wanted = set(collectors)
        return sorted(p for p, r in self.records.items() if r.get("collector") in wanted)

    def read(self, path: str, cap: int = 32 * 1024 * 1024) -> bytes | None:
        """The bytes of a listed artifact, when present and not larger than `cap`."""
        target = self.file(path) if path in self.records else None
        if target is None or target.stat().st_size > cap:
            return None
        return target.read_bytes()

    def text(self, path: str) -> str | None:
        """The artifact as text, when present, small enough and text."""
        data = self.read(path, LIMIT)
        if data is None or not _is_text(str(self.records.get(path, {}).get("media_type", "")), data[:8192]):
            return None
        return strip_ansi(data.decode("utf-8", errors="replace"))

    def json(self, path: str) -> Any:
        """The artifact parsed as JSON, or None."""
        data = self.read(path)
        if data is None:
            return None
        try:
            return json.loads(data)
        except ValueError:
            return None

    def show(self, path: str, unfold: bool = False, logs: bool = False) -> Shown:
        """The artifact as the page shows it; failing ones open, large ones cut with a note."""
        self.used.add(path)
        rec = self.records.get(path, {})
        status = str(rec.get("status", ""))
        size = _size(rec)
        media = str(rec.get("media_type", ""))
        notes: list[str] = []
        if rec.get("truncated"):
            notes.append("the collector cut this artifact at its size cap")
        text: str | None = None
        summary = human_size(size)
        target = self.file(path)
        if target is None:
            notes.append("the file is missing from the bundle")
        elif self.budget <= 0:
            notes.append(
                f"not shown: the page already holds {human_size(PAGE_LIMIT)} of artifacts; open the file"
            )
        else:
            with target.open("rb") as f:
                data = f.read(min(LIMIT, self.budget) + 1)
            if not _is_text(media, data[:8192]):
                notes.append(f"binary ({media or 'unknown type'}), not shown; open the file")
            else:
                whole = len(data) <= min(LIMIT, self.budget)
                if not whole:
                    data = data[:-1]
                    cut = data.rfind(b"\n")
                    data = data[: cut + 1] if cut > len(data) // 2 else data
                    notes.append(
                        f"showing the first {human_size(len(data))} of {human_size(target.stat().st_size)}; "
                        f"the whole file is {path} in the bundle"
                    )
                text = data.decode("utf-8", errors="replace")
                plain = strip_ansi(text)
                if plain != text:
                    text = plain
                    notes.append("terminal colour codes are left out on this page; the bundle keeps them")
                if whole and (media.endswith("json") or path.endswith(".json")):
                    with contextlib.suppress(ValueError):
                        text = json.dumps(json.loads(text), indent=2, ensure_ascii=False) + "\n"
                self.budget -= len(data)
                summary = (
                    f"{plural(_lines(text), 'line')}, {human_size(size)}"
                    if whole
                    else f"{human_size(size)}, cut"
                )
                if text == "":
                    summary = "empty"
                if logs and text:
                    errors = sum(1 for line in text.splitlines() if _ERROR_LINE.search(line))
                    warnings = sum(1 for line in text.splitlines() if _WARN_LINE.search(line))
                    summary += f", {plural(errors, 'error line')}" if errors else ""
                    summary += f", {plural(warnings, 'warning line')}" if warnings else ""
        lvl = level(status)
        return Shown(
            path=path,
            anchor=self.anchors.get(path, ""),
            title=str(rec.get("title") or path.rsplit("/", 1)[-1]),
            status=status,
            level=lvl,
            size=size,
            sha256=str(rec.get("sha256", "")),
            href=self.href(path),
            text=text,
            lang=_LANGS.get(PurePosixPath(path).suffix.lower(), "text"),
            summary=summary,
            note="; ".join(notes),
            open=unfold or lvl == "bad",
        )

    def raw(self, paths: Iterable[str]) -> list[Shown]:
        """Artifacts not shown yet, in reading order: text first, JSON last."""
        left = [p for p in paths if p not in self.used]
        return [
            self.show(p) for p in sorted(left, key=lambda p: (_RAW_ORDER.get(PurePosixPath(p).suffix, 4), p))
        ]


def _table(title: str, headers: tuple[str, ...], rows: list[Row]) -> Table:
    note = f"{len(rows) - ROW_LIMIT} more rows are in the raw output below" if len(rows) > ROW_LIMIT else ""
    return Table(title, headers, tuple(rows[:ROW_LIMIT]), note)


def _groups(paths: Iterable[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {}
    for path in paths:
        groups.setdefault(_stem(path), []).append(path)
    return groups


def _run_facts(rec: Mapping[str, Any]) -> list[Fact]:
    facts: list[Fact] = []
    if isinstance(rec.get("argv"), list):
        facts.append(Fact("Command", shlex.join(str(a) for a in rec["argv"]), mono=True))
    if rec.get("exit_code") is not None:
        facts.append(Fact("Exit code", str(rec["exit_code"]), level(rec.get("status"))))
    facts.append(Fact("Status", str(rec.get("status", "?")), level(rec.get("status"))))
    if isinstance(rec.get("duration_s"), int | float):
        facts.append(Fact("Duration", f"{rec['duration_s']:.2f} s"))
    if rec.get("started"):
        facts.append(Fact("Started", str(rec["started"])))
    if rec.get("message"):
        facts.append(Fact("Message", str(rec["message"]), level(rec.get("status"))))
    return facts


Builder = Callable[[_Bundle, list[str], Part], None]
