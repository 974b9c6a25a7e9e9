"""Render a bundle, or the diff of two, as one Markdown file and one self-contained HTML page."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import traceback
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import quote

import jinja2
from markupsafe import Markup

from evidence_kit import __version__
from evidence_kit.bundle import writer as b
from evidence_kit.bundle.archive import opened
from evidence_kit.bundle.atomic import write_pages
from evidence_kit.bundle.verify import Verdict, verify_dir
from evidence_kit.errors import EvidenceError
from evidence_kit.support.resources import shipped

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
        """Set the level to the worst of everything inside."""
        for part in self.parts:
            part.settle()
        self.level = worst(
            [
                self.level,
                *(s.level for s in self.shown),
                *(p.level for p in self.parts),
                *(n.level for n in self.notes),
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
    base = prefix + (re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-").lower() or "x")
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
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    return str(value)


class _Bundle:
    """The opened bundle: its records, the artifacts read so far, and what the page still has room for."""

    def __init__(self, root: Path, manifest: Mapping[str, Any], links: Path | None) -> None:
        self.root = root.resolve()
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
        return data.decode("utf-8", errors="replace")

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


# ---------------------------------------------------------------------------------------------------------
# Sections: one builder per kind of evidence; what a builder does not show is shown raw by the caller.

Builder = Callable[[_Bundle, list[str], Part], None]


def _git(bd: _Bundle, paths: list[str], part: Part) -> None:
    head = bd.json("data/git/head.json")
    if isinstance(head, dict):
        branch = head.get("branch") or "(detached HEAD)"
        part.facts += [
            Fact("Branch", str(branch)),
            Fact("Commit", _str(head.get("sha")), mono=True),
            Fact("Tags at HEAD", _str(head.get("tags") or [])),
        ]
        if head.get("describe"):
            part.facts.append(Fact("Describe", str(head["describe"])))
        if head.get("shallow"):
            part.facts.append(Fact("Clone", "shallow: older history is not in the checkout", "warn"))
    status = bd.json("data/git/status.json")
    if isinstance(status, dict):
        entries = [e for e in status.get("entries", []) if isinstance(e, dict)]
        if status.get("clean"):
            part.facts.append(Fact("Working tree", "clean", "ok"))
        else:
            part.facts.append(Fact("Working tree", f"dirty: {plural(len(entries), 'changed path')}", "warn"))
            rows = [Row((str(e.get("code", "")), str(e.get("path", "")))) for e in entries]
            part.tables.append(_table("Changed paths (git status)", ("code", "path"), rows))
    elif "data/git/status.txt" in bd.records:
        text = bd.text("data/git/status.txt") or ""
        part.facts.append(Fact("git status", text.rstrip("\n") or "<clean>", pre=True))
    log = bd.json("data/git/log.json")
    if isinstance(log, dict) and isinstance(log.get("commits"), list):
        rows = [
            Row(
                (
                    str(c.get("sha", ""))[:12],
                    str(c.get("authored", "")),
                    str((c.get("author") or {}).get("name", "")),
                    str(c.get("subject", "")),
                )
            )
            for c in log["commits"]
            if isinstance(c, dict)
        ]
        part.tables.append(_table("Recent commits (git log)", ("commit", "date", "author", "subject"), rows))
    elif "data/git/log.txt" in bd.records:
        part.facts.append(Fact("git log", (bd.text("data/git/log.txt") or "").rstrip("\n"), pre=True))
    rng = bd.json("data/git/range.json")
    if isinstance(rng, dict):
        files = [f for f in rng.get("files", []) if isinstance(f, dict)]
        part.facts += [
            Fact("Base", f"{rng.get('base')} ({str(rng.get('base_sha', ''))[:12]})"),
            Fact(
                "Since base",
                f"{plural(len(rng.get('commits') or []), 'commit')}, {plural(len(files), 'file')} changed",
            ),
        ]
        rows = [Row((str(f.get("status", "")), str(f.get("path", "")))) for f in files]
        part.tables.append(_table(f"Files changed since {rng.get('base')}", ("status", "path"), rows))


def _alembic(bd: _Bundle, paths: list[str], part: Part) -> None:
    prefixes = sorted(
        {
            p[len("data/alembic/") :].rsplit("/", 1)[0] + "/" if p.count("/") > 2 else ""
            for p in paths
            if p.endswith(("/summary.json", "/heads.txt", "/history.txt", "/error.txt"))
        }
    )
    prefixes = [p for p in prefixes if not p.startswith("migrations/")]
    for prefix in prefixes or [""]:
        label = prefix.strip("/")
        target = (
            part if len(prefixes) <= 1 else Part(bd.part_id("alembic-", label), f"alembic config {label}")
        )
        base = f"data/alembic/{prefix}"
        graph = bd.json(base + "history.json")
        summary = bd.json(base + "summary.json")
        if isinstance(graph, dict) and graph.get("ini"):
            target.facts.append(Fact("Config", f"{graph.get('ini')} [{graph.get('section')}]"))
        if isinstance(summary, dict):
            target.facts.append(Fact("Revisions", _str(summary.get("count"))))
            up = summary.get("up_to_date")
            state = "up to date" if up else "NOT at head" if up is False else "unknown"
            target.facts.append(Fact("Database", state, "ok" if up else "warn"))
            if summary.get("multiple_heads"):
                target.facts.append(
                    Fact("Heads", f"{len(summary.get('heads') or [])} heads: the graph has split", "warn")
                )
            if summary.get("problems"):
                target.facts.append(
                    Fact("Problems", f"{summary['problems']} migration files alembic would not load", "bad")
                )
        for name, label in (("current.txt", "alembic current"), ("heads.txt", "alembic heads")):
            text = bd.text(base + name)
            if text is not None:
                target.facts.append(Fact(label, text.rstrip("\n"), pre=True))
        for name in ("error.txt", "problems.txt"):
            if base + name in bd.records:
                target.shown.append(bd.show(base + name, unfold=True))
        history = base + "history.txt"
        if history in bd.records:
            target.shown.append(bd.show(history))
        migrations = [p for p in paths if p.startswith(base + "migrations/")]
        if migrations:
            group = Part(
                bd.part_id("files-", base + "migrations"),
                f"Migration files ({len(migrations)})",
                collapsed=True,
            )
            group.shown = [bd.show(p) for p in migrations]
            target.parts.append(group)
        if target is not part:
            part.parts.append(target)


def _schema(bd: _Bundle, paths: list[str], part: Part) -> None:
    model = bd.json("data/schema/schema.json")
    if isinstance(model, dict):
        tables: list[Any] = model["tables"] if isinstance(model.get("tables"), list) else []
        part.facts.append(Fact("Database", _str(model.get("dialect"))))
        part.facts.append(Fact("Tables", str(len(tables))))
        for key in ("enums", "sequences"):
            if isinstance(model.get(key), list) and model[key]:
                part.facts.append(Fact(key.capitalize(), str(len(model[key]))))
    text = bd.text("data/schema/tables.txt")
    if text is not None:
        part.facts.append(Fact("Tables in database", text.rstrip("\n"), pre=True))
    counts = bd.json("data/schema/row_counts.json")
    if isinstance(counts, dict):
        rows = [Row((str(k), _str(v))) for k, v in sorted(counts.items())]
        part.tables.append(_table("Row counts", ("table", "rows"), rows))
    structures = [p for p in paths if p.startswith("data/schema/tables/")]
    if structures:
        group = Part(bd.part_id("schema-", "tables"), f"Table structures ({len(structures)})")
        group.shown = [bd.show(p, unfold=True) for p in structures]
        part.parts.append(group)


def _routes(bd: _Bundle, paths: list[str], part: Part) -> None:
    found = bd.json("data/openapi/routes.json")
    if isinstance(found, list):
        ops = sum(len(r.get("methods") or []) for r in found if isinstance(r, dict))
        part.facts.append(Fact("Routes", f"{len(found)} paths, {ops} operations"))
    spec = bd.json("data/openapi/openapi.json")
    if isinstance(spec, dict) and isinstance(spec.get("info"), dict):
        info = spec["info"]
        part.facts.append(Fact("API", f"{info.get('title', '?')} {info.get('version', '')}".strip()))
    if "data/openapi/routes.txt" in bd.records:
        part.shown.append(bd.show("data/openapi/routes.txt", unfold=True))


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


def _commands(bd: _Bundle, paths: list[str], part: Part) -> None:
    groups = _groups(paths)
    failing = 0
    for stem, members in groups.items():
        rec = bd.records[members[0]]
        title = re.sub(r" \((stdout|stderr)\)$", "", str(rec.get("title") or stem.rsplit("/", 1)[-1]))
        sub = Part(bd.part_id("run-", stem), title)
        sub.facts = _run_facts(rec)
        failing += level(rec.get("status")) == "bad"
        sub.shown = [bd.show(p) for p in sorted(members, key=lambda p: (not p.endswith(".stdout.txt"), p))]
        part.parts.append(sub)
    part.facts.insert(0, Fact("Commands", f"{len(groups)} run, {failing} not ok", "bad" if failing else "ok"))


def _logs(bd: _Bundle, paths: list[str], part: Part) -> None:
    files = [p for p in paths if p.startswith("data/files/")]
    sets: dict[str, list[str]] = {}
    for path in files:
        rest = path[len("data/files/") :]
        sets.setdefault(rest.split("/", 1)[0] if "/" in rest else _stem(rest), []).append(path)
    for name, members in sets.items():
        rec = bd.records[members[0]]
        title = str(rec.get("title") or name).split(": ", 1)[0]
        sub = Part(bd.part_id("files-", name), f"{title} ({plural(len(members), 'file')})")
        sub.shown = [bd.show(p, logs=True) for p in members]
        part.parts.append(sub)
    stderr = [p for p in paths if p.startswith("data/command/") and p.endswith(".stderr.txt")]
    rows = []
    for path in stderr:
        rec = bd.records[path]
        text = bd.text(path)
        if not rec.get("size"):
            continue
        errors = sum(1 for line in (text or "").splitlines() if _ERROR_LINE.search(line))
        lines = f"{_lines(text)}" if text is not None else human_size(rec.get("size"))
        rows.append(
            Row(
                (path, str(rec.get("title", "")), lines, str(errors)),
                "bad" if errors else "",
                "#" + bd.anchors[path],
            )
        )
    if rows:
        part.tables.append(
            _table(
                "Command stderr (shown with each command under Proofs)",
                ("artifact", "title", "lines", "error lines"),
                rows,
            )
        )
    part.facts.insert(
        0,
        Fact(
            "Logs",
            f"{plural(len(files), 'file')} in {plural(len(sets), 'set')}, "
            f"{plural(len(rows), 'command')} wrote to stderr",
        ),
    )


def _http(bd: _Bundle, paths: list[str], part: Part) -> None:
    for stem, members in _groups(paths).items():
        meta = bd.json(stem + ".meta.json") if stem + ".meta.json" in members else None
        rec = bd.records[members[0]]
        title = re.sub(r" \(request and status\)$", "", str(rec.get("title") or stem))
        sub = Part(bd.part_id("http-", stem), title)
        if isinstance(meta, dict):
            sub.facts.append(
                Fact("Request", f"{meta.get('method', 'GET')} {meta.get('url') or meta.get('path')}")
            )
            sub.facts.append(
                Fact(
                    "Status",
                    f"{meta.get('status')} (expected {meta.get('expect')})",
                    level(rec.get("status")),
                )
            )
            if meta.get("error"):
                sub.facts.append(Fact("Error", str(meta["error"]), "bad"))
        else:
            sub.facts = _run_facts(rec)
        sub.shown = [bd.show(p) for p in sorted(members, key=lambda p: (p.endswith(".meta.json"), p))]
        part.parts.append(sub)


def _queue_facts(doc: Mapping[str, Any]) -> list[Fact]:
    queued = _dict(doc.get("queued"))
    oldest = queued.get("oldest_age_seconds")
    facts = [
        Fact("Jobs", _str(doc.get("total"))),
        Fact(
            "Queued",
            _str(queued.get("count")) + (f" (the oldest {oldest} s ago)" if oldest is not None else ""),
        ),
    ]
    for key, label in (
        ("stuck", "Stuck"),
        ("over_attempted", "Over-attempted"),
        ("due_retry", "Due for retry"),
    ):
        found = doc.get(key)
        if isinstance(found, dict):
            count = found.get("count")
            facts.append(Fact(label, f"{count} ({found.get('criterion')})", "warn" if count else "ok"))
        else:
            facts.append(Fact(label, f"skipped ({_dict(doc.get('skipped')).get(key)})", "skip"))
    return facts


def _results(bd: _Bundle, paths: list[str], part: Part) -> None:
    for stem, members in _groups(paths).items():
        rec = bd.records[members[0]]
        sub = Part(bd.part_id(part.id + "-", stem), str(rec.get("title") or stem))
        doc = bd.json(stem + ".json") if stem + ".json" in members else None
        if isinstance(doc, dict) and "row_count" in doc:
            cut = " (cut at max_rows)" if doc.get("truncated") else ""
            sub.facts.append(Fact("Rows", f"{doc.get('row_count')}{cut}", "warn" if cut else ""))
        if isinstance(doc, dict) and "by_status" in doc:
            sub.facts += _queue_facts(doc)
        if isinstance(rec.get("duration_s"), int | float):
            sub.facts.append(Fact("Duration", f"{rec['duration_s']:.3f} s"))
        if rec.get("message"):
            sub.facts.append(Fact("Message", str(rec["message"]), level(rec.get("status"))))
        order = sorted(members, key=lambda p: (p.endswith(".json"), p))
        sub.shown = [bd.show(p, unfold=p.endswith(".txt")) for p in order]
        part.parts.append(sub)


def _tests(bd: _Bundle, paths: list[str], part: Part) -> None:
    for path in paths:
        if path.endswith("/summary.txt"):
            part.shown.append(bd.show(path, unfold=True))
        if not path.endswith("/tests.json"):
            continue
        data = bd.json(path)
        if not isinstance(data, dict) or not isinstance(data.get("totals"), dict):
            continue
        totals = data["totals"]
        bad = int(totals.get("failed") or 0) + int(totals.get("errors") or 0)
        counts = ", ".join(
            f"{totals[k]} {k}"
            for k in ("passed", "failed", "errors", "skipped", "xfailed", "xpassed")
            if totals.get(k)
        )
        ran = int(totals.get("tests") or 0)
        part.facts.append(
            Fact(
                f"Totals ({path})",
                f"{ran} tests: {counts or 'none ran'}",
                "bad" if bad or not ran else "ok",
                href="#" + bd.anchors[path],
            )
        )
        if isinstance(totals.get("duration_s"), int | float):
            part.facts.append(Fact("Duration", f"{totals['duration_s']:.2f} s"))
        failing = [
            t
            for t in data.get("tests", [])
            if isinstance(t, dict) and t.get("outcome") in ("failed", "error")
        ]
        if failing:
            rows = [
                Row((str(t.get("id")), str(t.get("outcome")), _first_line(t.get("message"))), "bad")
                for t in failing
            ]
            part.tables.append(_table("Failing tests", ("test", "outcome", "message"), rows))


def _ci(bd: _Bundle, paths: list[str], part: Part) -> None:
    report = bd.json("data/ci/workflows.json")
    if isinstance(report, dict):
        flows = [w for w in report.get("workflows", []) if isinstance(w, dict)]
        found = bool(report.get("found"))
        part.facts.append(
            Fact(
                "Workflow folder",
                f"{report.get('path')}" + ("" if found else " (not found)"),
                "" if found else "warn",
            )
        )
        part.facts.append(Fact("Workflows", str(len(flows))))
        rows = [
            Row(
                (str(w.get("file")), str(len(w.get("jobs") or [])), _first_line(w.get("error")) or "ok"),
                "bad" if w.get("error") else "",
            )
            for w in flows
        ]
        part.tables.append(_table("Workflow files", ("file", "jobs", "read"), rows))
    if "data/ci/summary.txt" in bd.records:
        part.shown.append(bd.show("data/ci/summary.txt", unfold=True))


def _environment(bd: _Bundle, paths: list[str], part: Part) -> None:
    env = bd.json("data/environment/environment.json")
    if not isinstance(env, dict):
        return
    python = env.get("python") if isinstance(env.get("python"), dict) else {}
    system = env.get("os") if isinstance(env.get("os"), dict) else {}
    if python:
        part.facts.append(
            Fact(
                "Python",
                " ".join(_str(python[k]) for k in ("implementation", "version") if python.get(k))
                or _str(python.get("version")),
            )
        )
        if python.get("executable"):
            part.facts.append(Fact("Interpreter", str(python["executable"])))
    if system:
        part.facts.append(
            Fact("OS", str(system.get("distribution") or system.get("platform") or system.get("system")))
        )
    if isinstance(env.get("database"), dict):
        database = env["database"]
        part.facts.append(
            Fact("Database", " ".join(_str(v) for k, v in sorted(database.items()) if v is not None))
        )
    if isinstance(env.get("packages"), dict):
        part.facts.append(Fact("Packages", _str(env["packages"].get("count"))))
    if isinstance(env.get("ci"), dict) and any(env["ci"].values()):
        part.facts.append(Fact("CI", ", ".join(f"{k}={v}" for k, v in sorted(env["ci"].items()) if v)))
    if isinstance(env.get("tools"), dict):
        rows = [Row((str(k), _str(v))) for k, v in sorted(env["tools"].items())]
        part.tables.append(_table("Tools", ("tool", "version"), rows))


def _generic(bd: _Bundle, paths: list[str], part: Part) -> None:
    part.facts.append(Fact("Artifacts", str(len(paths))))


def _table(title: str, headers: tuple[str, ...], rows: list[Row]) -> Table:
    note = f"{len(rows) - ROW_LIMIT} more rows are in the raw output below" if len(rows) > ROW_LIMIT else ""
    return Table(title, headers, tuple(rows[:ROW_LIMIT]), note)


SECTIONS: tuple[tuple[str, str, tuple[str, ...], Builder], ...] = (
    ("git", "Git state", ("git",), _git),
    ("migrations", "Migrations", ("alembic",), _alembic),
    ("schema", "Schema", ("schema",), _schema),
    ("routes", "Routes", ("openapi",), _routes),
    ("proofs", "Proofs and commands", ("command",), _commands),
    ("logs", "Worker runs and logs", ("files",), _logs),
    ("http", "HTTP captures", ("http",), _http),
    ("sql", "SQL results", ("sql",), _results),
    ("queue", "Queue health", ("queue",), _results),
    ("tests", "Tests", ("tests", "pytest"), _tests),
    ("ci", "CI inventory", ("ci",), _ci),
    ("environment", "Environment", ("environment",), _environment),
)
GATES = ("gates", "Gate results")


def _collector_rows(manifest: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for c in manifest.get("collectors", []) if isinstance(manifest.get("collectors"), list) else []:
        if isinstance(c, dict) and isinstance(c.get("name"), str):
            rows.append(
                {
                    "name": c["name"],
                    "status": str(c.get("status", "?")),
                    "level": level(c.get("status")),
                    "duration": f"{c['duration_s']:.2f} s"
                    if isinstance(c.get("duration_s"), int | float)
                    else "",
                    "artifacts": c.get("artifacts", 0),
                    "error": str(c.get("error") or ""),
                    "hint": str(c.get("hint") or ""),
                }
            )
    return rows


def _section(
    bd: _Bundle,
    sid: str,
    title: str,
    names: tuple[str, ...],
    build: Builder,
    collectors: Mapping[str, Mapping[str, Any]],
) -> Part | None:
    paths = bd.of(names)
    extra = bd.of(["command"]) if sid == "logs" else []
    here = [collectors[n] for n in names if n in collectors]
    if (
        sid == "logs"
        and not paths
        and not any(bd.records[p].get("size") for p in extra if p.endswith(".stderr.txt"))
    ):
        return None
    if not paths and not here and sid != "logs":
        return None
    part = Part(sid, title)
    for c in here:
        if c["error"]:
            hint = f" Tip: {c['hint']}" if c["hint"] else ""
            part.notes.append(
                Fact(f"{c['name']} collector {c['status']}", f"{c['error']}{hint}".strip(), c["level"])
            )
    try:
        build(bd, paths + extra, part)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        # NOTE: an artifact of an unexpected shape must not cost the whole report; it is shown raw below.
        part.notes.append(
            Fact("Summary unavailable", f"the artifacts have an unexpected shape ({exc!r})", "warn")
        )
    part.shown += bd.raw(paths)
    part.level = worst(c["level"] for c in here)
    return part.settle()


def _gates(report: Mapping[str, Any], source: str) -> Part:
    part = Part(GATES[0], GATES[1])
    summary = report.get("summary") if isinstance(report.get("summary"), dict) else {}
    checks = [c for c in report.get("checks", []) if isinstance(c, dict)]
    failed = [c for c in checks if c.get("status") == "failed"]
    part.facts.append(Fact("Source", source))
    if summary:
        text = ", ".join(f"{v} {k}" for k, v in summary.items())
        part.facts.append(Fact("Summary", text, "bad" if failed else "ok"))
    if report.get("packs"):
        part.facts.append(Fact("Rule packs", _str(report["packs"])))
    part.tables.append(
        _table(
            "Checks",
            ("check", "name", "severity", "status", "findings"),
            [
                Row(
                    (
                        str(c.get("id")),
                        str(c.get("name")),
                        str(c.get("severity")),
                        str(c.get("status")),
                        _str(c.get("findings")),
                    ),
                    level(c.get("status")),
                )
                for c in checks
            ],
        )
    )
    findings = [f for f in report.get("findings", []) if isinstance(f, dict)]
    rows = []
    for f in findings:
        where = f"{f.get('path')}:{f['line']}" if f.get("line") else str(f.get("path") or "")
        sev = "waived" if f.get("waived") else str(f.get("severity"))
        rows.append(
            Row(
                (sev, str(f.get("check")), where, str(f.get("message"))),
                "" if f.get("waived") else "bad" if sev == "error" else "warn",
            )
        )
    if rows:
        part.tables.append(_table("Findings", ("severity", "check", "where", "message"), rows))
    part.level = "bad" if failed else "ok"
    return part


def _attention(
    verdict: Verdict,
    bd: _Bundle,
    collectors: list[dict[str, Any]],
    sections: list[Part],
    gates: Mapping[str, Any] | None,
) -> list[Attention]:
    items: list[Attention] = []
    if not verdict.ok:
        items.append(
            Attention(
                "bad",
                "bundle",
                f"does NOT verify: {len(verdict.problems)} problems",
                "it was changed or damaged after it was collected; collect it again",
                "#verification",
            )
        )
    where = {n: sid for sid, _, names, _ in SECTIONS for n in names}
    ids = {p.id for s in sections for p in [s, *s.parts]}
    failing = {str(r.get("collector")) for r in bd.records.values() if level(r.get("status")) == "bad"}
    for c in collectors:
        # NOTE: a collector that is not ok only because of its artifacts is listed through them below.
        if c["level"] == "bad" and (c["error"] or c["name"] not in failing):
            href = "#" + where.get(c["name"], "collectors")
            items.append(
                Attention(
                    "bad",
                    f"collector {c['name']}",
                    f"{c['status']}: {c['error'] or 'see its artifacts'}",
                    c["hint"],
                    href if href[1:] in ids else "#collectors",
                )
            )
    for stem, members in _groups(sorted(bd.records)).items():
        rec = bd.records[members[0]]
        if level(rec.get("status")) != "bad":
            continue
        collector = str(rec.get("collector", "?"))
        grouped = collector in ("command", "http", "sql")
        name = (stem if grouped else members[0]).split("/", 2)[-1]
        message = str(rec.get("message") or f"status {rec.get('status')}")
        if collector == "command" and rec.get("exit_code") is not None and "exit code" not in message:
            message = f"exit code {rec['exit_code']}: {message}"
        anchor = bd.parts.get(stem) or bd.anchors.get(members[0], "")
        items.append(Attention("bad", f"{collector} {name}", message, "", "#" + anchor))
    if gates is not None:
        for c in gates.get("checks", []):
            if isinstance(c, dict) and c.get("status") == "failed":
                items.append(
                    Attention(
                        "bad",
                        f"gate {c.get('id')} {c.get('name')}",
                        f"failed with {c.get('findings')} findings",
                        "",
                        "#gates",
                    )
                )
    head = bd.json("data/git/head.json")
    if isinstance(head, dict) and head.get("dirty"):
        items.append(Attention("warn", "git", "the working tree has uncommitted changes", "", "#git"))
    for path in bd.records:
        if path.endswith("/summary.json") and path.startswith("data/alembic/"):
            summary = bd.json(path)
            if isinstance(summary, dict) and summary.get("up_to_date") is False:
                items.append(
                    Attention(
                        "warn", "alembic", "the database is not at the head revision", "", "#migrations"
                    )
                )
            if isinstance(summary, dict) and summary.get("multiple_heads"):
                items.append(
                    Attention("warn", "alembic", "the revision graph has several heads", "", "#migrations")
                )
    for path, rec in sorted(bd.records.items()):
        if rec.get("truncated") and level(rec.get("status")) != "bad":
            items.append(
                Attention(
                    "warn",
                    path.removeprefix("data/"),
                    "cut by the collector at its size cap",
                    "",
                    "#" + bd.anchors[path],
                )
            )
    return items


# ---------------------------------------------------------------------------------------------------------
# Templates


def _codeblock(text: object, lang: str = "") -> str:
    body = str(text)
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{lang}\n{body}{'' if body.endswith(chr(10)) or not body else chr(10)}{fence}"


def _cell(text: object) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", "<br>").replace("<", "&lt;")


def _inline(text: object) -> str:
    body = str(text).replace("\n", " ")
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if body.startswith("`") or body.endswith("`") else ""
    return f"{fence}{pad}{body}{pad}{fence}"


def _html_text(text: object) -> str:
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _autoescape(name: str | None) -> bool:
    return bool(name) and str(name).endswith((".html", ".html.j2", ".htm"))


def _search_path(templates: Path | None) -> list[Path]:
    paths = []
    if templates is not None:
        if not templates.is_dir():
            raise EvidenceError(
                f"template folder {templates} does not exist",
                hint="pass a folder holding your overrides, e.g. a custom report.html.j2",
            )
        paths.append(templates)
    paths.append(Path(str(shipped("templates"))))
    return paths


def environment(templates: Path | None = None) -> jinja2.Environment:
    """The Jinja2 environment: overrides first, then the shipped templates; undefined names are errors."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(p) for p in _search_path(templates)]),
        autoescape=_autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        codeblock=_codeblock, cell=_cell, inline=_inline, size=human_size, mdtext=_html_text, plural=plural
    )
    return env


def _template_error(exc: BaseException, name: str, roots: list[Path]) -> EvidenceError | None:
    """A clear error naming the template file and line, or None when the template is not to blame."""
    where_file, where_line = None, None
    if isinstance(exc, jinja2.TemplateSyntaxError):
        where_file, where_line = exc.filename or exc.name, exc.lineno
    else:
        for frame in reversed(traceback.extract_tb(exc.__traceback__)):
            path = Path(frame.filename)
            if any(path.is_relative_to(r) for r in roots) or frame.filename.endswith(".j2"):
                where_file, where_line = frame.filename, frame.lineno
                break
    if where_file is None and not isinstance(exc, jinja2.TemplateError):
        return None
    if isinstance(exc, jinja2.TemplateNotFound):
        where = f"{where_file}, line {where_line}" if where_file else name
        return EvidenceError(
            f"template {exc.name} not found (needed by {where})",
            hint=f"put {exc.name} in your template folder or remove what includes it; searched: "
            + ", ".join(str(r) for r in roots),
        )
    shipped_root = roots[-1]
    own = where_file is not None and not Path(where_file).resolve().is_relative_to(shipped_root.resolve())
    kind = (
        "a syntax error"
        if isinstance(exc, jinja2.TemplateSyntaxError)
        else "an undefined name"
        if isinstance(exc, jinja2.UndefinedError)
        else f"an error ({type(exc).__name__})"
    )
    what = getattr(exc, "message", None) or str(exc)
    fix = (
        f"fix line {where_line} of {where_file}, or delete that file to use the shipped template"
        if own
        else "this is a bug in a shipped template: please report it with this message"
    )
    if isinstance(exc, jinja2.UndefinedError):
        doc = (
            "diff.md.j2"
            if name.startswith("diff")
            else "report.md.j2"
            if name.startswith("report")
            else ("overview.md.j2")
        )
        fix += f"; the variables a template may use are listed at the top of the shipped {doc}"
    return EvidenceError(f"template {where_file or name}, line {where_line or '?'}: {kind}: {what}", hint=fix)


def render_template(env: jinja2.Environment, name: str, context: Mapping[str, Any], roots: list[Path]) -> str:
    """Render one template; a template's own mistake becomes an error naming its file and line."""
    try:
        return str(env.get_template(name).render(**context))
    except Exception as exc:
        error = _template_error(exc, name, roots)
        if error is None:
            raise
        raise error from exc


def _css(env: jinja2.Environment) -> Markup:
    assert env.loader is not None
    try:
        source = env.loader.get_source(env, CSS)[0]
    except jinja2.TemplateNotFound:
        return Markup("")
    # NOTE: the stylesheet is inlined raw; `</` would let it close the <style> element.
    return Markup(str(source).replace("</", "<\\/"))


def _write(out: Path, pages: Mapping[str, str]) -> tuple[Path, ...]:
    return write_pages(out, pages, "the report")


# ---------------------------------------------------------------------------------------------------------
# Entry points


def _beside(bundle: Path, out: Path) -> Path | None:
    """Where links start from when the report sits beside the bundle (same parent or below it), else None."""
    if not bundle.is_dir():
        return None
    home, target = bundle.resolve().parent, out.resolve()
    return target if target.is_relative_to(home) else None


def context(
    root: Path, verdict: Verdict, links: Path | None, check_report: Mapping[str, Any] | None, source: str
) -> dict[str, Any]:
    """Everything the report templates see (documented at the top of the shipped report.md.j2)."""
    manifest = verdict.manifest
    bd = _Bundle(root, manifest, links)
    collectors = _collector_rows(manifest)
    by_name = {c["name"]: c for c in collectors}
    sections: list[Part] = []
    for sid, title, names, build in SECTIONS:
        part = _section(bd, sid, title, names, build, by_name)
        if part is not None:
            sections.append(part)
    known = {n for _, _, names, _ in SECTIONS for n in names} | {"check"}
    others = sorted({str(r.get("collector")) for r in bd.records.values()} | set(by_name))
    for name in others:
        if name not in known:
            part = _section(bd, f"other-{name}", f"Other evidence: {name}", (name,), _generic, by_name)
            if part is not None:
                sections.append(part)
    gates: Mapping[str, Any] | None = check_report
    gate_source = "evidence check report given to the renderer"
    if gates is None and CHECK_REPORT in bd.records:
        found = bd.json(CHECK_REPORT)
        gates = found if isinstance(found, dict) else None
        gate_source = CHECK_REPORT
    check_paths = bd.of(["check"])
    if gates is not None or check_paths:
        part = _gates(gates or {}, gate_source) if gates is not None else Part(*GATES)
        part.shown += bd.raw(check_paths)
        sections.append(part.settle())
    missing = [title for sid, title, _, _ in SECTIONS if sid not in {s.id for s in sections}]
    git, tool, head = (
        _dict(manifest.get("git")),
        _dict(manifest.get("tool")),
        _dict(bd.json("data/git/head.json")),
    )
    artifacts = [
        Listed(
            path=p,
            title=str(r.get("title") or ""),
            collector=str(r.get("collector") or ""),
            status=str(r.get("status") or ""),
            level=level(r.get("status")),
            size=_size(r),
            sha256=str(r.get("sha256") or ""),
            href=bd.href(p),
            anchor=bd.anchors[p],
        )
        for p, r in sorted(bd.records.items())
    ]
    not_ok = [c for c in collectors if c["level"] not in ("ok", "skip")]
    header = {
        "bundle": str(manifest.get("bundle") or root.name),
        "source": source,
        "service": str(manifest.get("service") or "?"),
        "phase": str(manifest.get("phase") or "?"),
        "sha": str(git.get("sha") or "none (not a git checkout)"),
        "short": str(git.get("short") or "")[:12],
        "branch": str(head.get("branch") or ""),
        "tags": [str(t) for t in head.get("tags") or []],
        "created": str(manifest.get("created") or "?"),
        "tool_version": str(tool.get("version") or "?"),
        "renderer_version": __version__,
        "digest": f"sha256:{verdict.digest}" if verdict.digest else "none",
        "verified": verdict.ok,
        "problems": [str(p) for p in verdict.problems],
        "artifacts": verdict.artifacts,
        "bytes": verdict.bytes,
        "redactions": manifest.get("redactions", 0),
        "host": manifest.get("host") if isinstance(manifest.get("host"), dict) else {},
        "ci": {k: v for k, v in manifest["ci"].items() if v} if isinstance(manifest.get("ci"), dict) else {},
        "collectors_total": len(collectors),
        "collectors_not_ok": len(not_ok),
    }
    return {
        "kind": "report",
        "header": header,
        "attention": _attention(verdict, bd, collectors, sections, gates),
        "collectors": collectors,
        "sections": sections,
        "missing": missing,
        "artifacts": artifacts,
        "limit": human_size(LIMIT),
    }


def render(
    bundle: Path, out: Path, templates: Path | None = None, check_report: dict[str, Any] | None = None
) -> tuple[Path, Path]:
    """Verify a bundle (folder or archive) and write `report.md` and `report.html` into `out`; atomic."""
    if bundle.is_dir() and out.resolve().is_relative_to(bundle.resolve()):
        raise EvidenceError(
            f"{out} is inside the bundle {bundle}: the report would make the bundle fail verification",
            hint="write the report beside the bundle, e.g. `--out reports/`",
        )
    env = environment(templates)
    roots = _search_path(templates)
    with opened(bundle) as root:
        if not (root / b.MANIFEST).is_file():
            raise EvidenceError(
                f"{bundle} is not a bundle (no manifest.json)",
                hint="pass a folder or archive written by `evidence collect`",
            )
        verdict = verify_dir(root, label=bundle.name)
        data = context(root, verdict, _beside(bundle, out), check_report, str(bundle))
        md = render_template(env, "report.md.j2", data, roots)
        html = render_template(env, "report.html.j2", {**data, "css": _css(env)}, roots)
    md_path, html_path = _write(out, {MD_NAME: md, HTML_NAME: html})
    return md_path, html_path


def _class(value: object) -> str:
    text = str(value or "").lower()
    if text in _BAD_CLASSES:
        return "bad"
    if text in _WARN_CLASSES:
        return "warn"
    return "ok" if text in _OK_CLASSES else "info"


def _value(value: object) -> str:
    if value is None:
        return "—"
    return (
        value if isinstance(value, str) else json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False)
    )


def _long(*texts: str) -> bool:
    return any("\n" in t.rstrip("\n") or len(t) > 120 for t in texts)


_SIDE_FACTS = (
    ("bundle", "Bundle", False),
    ("service", "Service", False),
    ("phase", "Phase", False),
    ("git_sha", "Commit", True),
    ("created", "Created", False),
    ("digest", "Digest", True),
)


def _diff_side(role: str, value: object) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """One bundle of a diff as the header shows it, and what about it needs attention."""
    info = _dict(value)
    if not info:
        return {"label": _str(value) if value is not None else "?", "facts": []}, []
    label = str(info.get("bundle") or info.get("label") or _str(info))
    facts = [Fact(name, _str(info[key]), mono=mono) for key, name, mono in _SIDE_FACTS if info.get(key)]
    attention: list[dict[str, Any]] = []
    if "verified" in info:
        ok = bool(info["verified"])
        problems = [str(p) for p in info.get("problems") or []]
        facts.append(
            Fact(
                "Verified",
                "yes" if ok else f"NO: {'; '.join(problems) or 'see evidence verify'}",
                "ok" if ok else "bad",
            )
        )
        if not ok:
            attention.append(_note("bad", "does not verify", f"{role} bundle {label}", "; ".join(problems)))
    return {"label": label, "facts": facts}, attention


def _note(level_: str, classification: str, what: str, detail: str, href: str = "#top") -> dict[str, Any]:
    return {
        "level": level_,
        "classification": classification,
        "section": "bundles",
        "what": what,
        "detail": detail,
        "href": href,
    }


def diff_context(diff: Mapping[str, Any]) -> dict[str, Any]:
    """Everything the diff templates see: both bundles, what needs attention, each section's changes."""
    old, old_attention = _diff_side("old", diff.get("old"))
    new, new_attention = _diff_side("new", diff.get("new"))
    attention = old_attention + new_attention
    attention += [_note("warn", "warning", "comparison", str(w)) for w in diff.get("warnings") or []]
    sections: list[dict[str, Any]] = []
    taken: set[str] = set()
    for i, raw in enumerate(s for s in diff.get("sections") or [] if isinstance(s, dict)):
        sid = _anchor("d-", str(raw.get("kind") or raw.get("title") or i), taken)
        title = str(raw.get("title") or raw.get("kind") or f"Section {i + 1}")
        changes = []
        for change in (c for c in raw.get("changes") or [] if isinstance(c, dict)):
            before, after, detail = (
                _value(change.get("before")),
                _value(change.get("after")),
                change.get("detail"),
            )
            item: dict[str, Any] = {
                "what": str(change.get("what") or "?"),
                "before": before,
                "after": after,
                "classification": str(change.get("classification") or "change"),
                "level": _class(change.get("classification")),
                "fingerprint": str(change.get("fingerprint") or ""),
                "detail": "" if detail is None else _value(detail),
            }
            item["long"] = _long(before, after, item["detail"])
            changes.append(item)
            if item["level"] in ("bad", "warn"):
                attention.append({**item, "section": title, "href": "#" + sid})
        counts = _dict(raw.get("counts"))
        sections.append(
            {
                "id": sid,
                "kind": str(raw.get("kind") or ""),
                "title": title,
                "summary": _str(raw["summary"]) if raw.get("summary") else "",
                "facts": [
                    Fact(str(k).replace("_", " "), _str(v)) for k, v in _dict(raw.get("facts")).items()
                ],
                "counts": ", ".join(f"{v} {k}" for k, v in counts.items()),
                "changes": changes,
                "level": worst(c["level"] for c in changes) or "ok",
            }
        )
    attention.sort(key=lambda a: -_RANK[a["level"]])
    counts = _dict(diff.get("counts"))
    summary = (
        _str(diff["summary"]) if diff.get("summary") else ", ".join(f"{v} {k}" for k, v in counts.items())
    )
    return {
        "kind": "diff",
        "old": old,
        "new": new,
        "summary": summary,
        "attention": attention,
        "sections": sections,
        "changes": sum(len(s["changes"]) for s in sections),
        "renderer_version": __version__,
    }


def render_diff(diff_json: dict[str, Any], out: Path, templates: Path | None = None) -> tuple[Path, Path]:
    """Write `diff.md` and `diff.html` into `out` from the JSON of `evidence diff`; atomic."""
    env = environment(templates)
    roots = _search_path(templates)
    data = diff_context(diff_json)
    md = render_template(env, "diff.md.j2", data, roots)
    html = render_template(env, "diff.html.j2", {**data, "css": _css(env)}, roots)
    md_path, html_path = _write(out, {DIFF_MD_NAME: md, DIFF_HTML_NAME: html})
    return md_path, html_path
