"""Alembic evidence: per configuration, heads, history, the revision graph, the database's version, files.

One configuration writes below `alembic/`; several write below `alembic/<label>/`, one folder each.
"""

from __future__ import annotations

import ast
import posixpath
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from evidence_kit.evidence.view import BundleView, items, mapping

FOLDER = "alembic"
HEADS = "heads.txt"
HISTORY_TEXT = "history.txt"
HISTORY = "history.json"
CURRENT_TEXT = "current.txt"
CURRENT = "current.json"
SUMMARY = "summary.json"
PROBLEMS = "problems.txt"
ERROR = "error.txt"
MIGRATIONS = "migrations/"
DEFAULT_VERSION_TABLE = "alembic_version"
# NOTE: `*` crosses `/` in these globs, so each also matches every configuration's own folder.
REQUIRED = (f"{FOLDER}/*{HEADS}", f"{FOLDER}/*{CURRENT_TEXT}")
_MARKERS = (SUMMARY, HISTORY, HEADS, ERROR)


def prefix(label: str | None) -> str:
    """The folder below `data/` of a configuration's artifacts (`alembic/` or `alembic/<label>/`)."""
    return f"{FOLDER}/{label}/" if label else f"{FOLDER}/"


@dataclass(frozen=True)
class Revision:
    """One migration of the graph."""

    revision: str
    down_revisions: tuple[str, ...]
    message: str
    path: str
    is_head: bool
    is_base: bool
    is_merge: bool
    is_branch_point: bool


@dataclass(frozen=True)
class AlembicConfig:
    """What the alembic collector recorded for one configuration."""

    label: str
    prefix: str
    graph: dict[str, Any] | None
    summary: dict[str, Any] | None
    current: dict[str, Any] | None
    heads_text: str | None
    history_text: str | None
    current_text: str | None
    error_text: str | None
    problems: tuple[str, ...]
    migrations: tuple[str, ...]

    def path(self, name: str) -> str:
        """An artifact of this configuration, by its path below `data/`."""
        return f"{self.prefix}{name}"

    def migration_file(self, path: str) -> str | None:
        """The artifact (path below `data/`) holding the revision file at `path` in the repository.

        The bundle keeps each file by its path below its version folder (below their common folder when
        there are several), which ends the repository path; None when no artifact does.
        """
        folder = self.path(MIGRATIONS)
        ends = [
            m
            for m in self.migrations
            if path == m.removeprefix(folder) or path.endswith("/" + m.removeprefix(folder))
        ]
        return max(ends, key=len, default=None)

    @property
    def name(self) -> str:
        """How pages name the configuration: its label, else its ini section, else `alembic`."""
        if self.label:
            return self.label
        section = (self.graph or {}).get("section")
        return str(section) if section else "alembic"

    @property
    def heads(self) -> list[str]:
        """The head revisions of the migration graph."""
        source = self.graph if self.graph is not None else self.summary or {}
        return [str(h) for h in items(source.get("heads"))]

    @property
    def revisions(self) -> list[Revision]:
        """Every revision, in `alembic history` order when known (newest first)."""
        graph = self.graph or {}
        by_rev = {str(r.get("revision")): mapping(r) for r in items(graph.get("revisions"))}
        order = [str(r) for r in items(graph.get("history"))] or sorted(by_rev)
        found = []
        for rev in order:
            entry = by_rev.get(rev, {})
            found.append(
                Revision(
                    revision=rev,
                    down_revisions=tuple(str(d) for d in items(entry.get("down_revisions"))),
                    message=str(entry.get("message") or ""),
                    path=str(entry.get("path") or ""),
                    is_head=bool(entry.get("is_head")),
                    is_base=bool(entry.get("is_base")),
                    is_merge=bool(entry.get("is_merge")),
                    is_branch_point=bool(entry.get("is_branch_point")),
                )
            )
        return found

    @property
    def schemas(self) -> dict[str, dict[str, Any]]:
        """Per schema holding a version table: versions, current, pending, unknown, up_to_date."""
        return {str(k): mapping(v) for k, v in mapping((self.current or {}).get("schemas")).items()}

    @property
    def not_counted(self) -> dict[str, dict[str, Any]]:
        """Version tables the collector found and did not count as this configuration's, with why."""
        return {str(k): mapping(v) for k, v in mapping((self.current or {}).get("not_counted")).items()}

    @property
    def owner_unknown(self) -> dict[str, dict[str, Any]]:
        """Empty version tables that may be this configuration's or another's, with why: proof of nothing."""
        return {str(k): mapping(v) for k, v in mapping((self.current or {}).get("owner_unknown")).items()}

    @property
    def version_table(self) -> str:
        """The table the database keeps this configuration's version in (`alembic_version` unless named)."""
        table = (self.current or {}).get("version_table") or (self.summary or {}).get("version_table")
        return str(table) if table else DEFAULT_VERSION_TABLE

    @property
    def not_applied(self) -> str | None:
        """Why this configuration is not judged against the database: it is declared not applied to it
        (`database: false`); None otherwise."""
        current = self.current or {}
        if current.get("status") != "not_applied":
            return None
        return str(current.get("reason") or "not applied to this database")

    @property
    def unread(self) -> str | None:
        """Why the database's version was not read (`skipped`, or an error before any table was read),
        None when it was read or the bundle does not say."""
        current = self.current or {}
        status = current.get("status") or (self.summary or {}).get("current_status")
        if status not in ("skipped", "error") or current.get("schemas") or current.get("errors"):
            return None
        why = current.get("reason") or current.get("error")
        if not why and self.current_text:
            why = self.current_text.strip().partition("\n")[0].removeprefix(f"{status}: ")
        return f"{self.path(CURRENT)} is {status}" + (f": {why}" if why else "")

    @property
    def table_unknown(self) -> str | None:
        """Why no version table read is surely this configuration's, so its revision is not known: an empty
        table several configurations may own, env.py naming its own table at run time, or tables of another
        name holding its revisions (`current.json`'s `version_table_unknown` says which); None otherwise."""
        current = self.current or {}
        if self.schemas:
            return None
        if self.owner_unknown and not current.get("errors"):
            owners = sorted(self.owner_unknown.items())
            tables = "; ".join(f"{schema}: {state.get('reason')}" for schema, state in owners)
            return f"no {self.version_table} table is surely its own ({tables})"
        picked = current.get("version_table_unknown")
        if picked:
            return f"no {self.version_table} table was found, and {picked}"
        return None

    @property
    def current_versions(self) -> list[str] | None:
        """Every version the database records for this configuration (None when not read)."""
        current = mapping((self.summary or {}).get("current"))
        if self.summary is None or not isinstance(self.summary.get("current"), dict):
            return None
        return sorted({str(v) for versions in current.values() for v in items(versions)})

    @property
    def up_to_date(self) -> bool | None:
        """True when the database is at the heads, None when the bundle does not say."""
        value = (self.summary or {}).get("up_to_date")
        return value if isinstance(value, bool) else None


@dataclass(frozen=True)
class AlembicEvidence:
    """Every Alembic configuration the bundle holds evidence of."""

    configs: tuple[AlembicConfig, ...]

    @property
    def present(self) -> bool:
        """True when the bundle holds Alembic evidence at all."""
        return bool(self.configs)


def labels(view: BundleView) -> list[str]:
    """The configurations in a bundle: "" for a lone one, else each folder's label."""
    found: set[str] = set()
    for rel in view.paths(f"{FOLDER}/"):
        rest = rel.removeprefix(f"{FOLDER}/")
        if rest in _MARKERS:
            found.add("")
            continue
        label, _, name = rest.partition("/")
        if name in _MARKERS and label != MIGRATIONS.rstrip("/"):
            found.add(label)
    return sorted(found)


def _config(view: BundleView, label: str) -> AlembicConfig:
    pre = prefix(label)

    def doc(name: str) -> dict[str, Any] | None:
        value = view.json(pre + name)
        return value if isinstance(value, dict) else None

    problems = view.text(pre + PROBLEMS)
    return AlembicConfig(
        label=label,
        prefix=pre,
        graph=doc(HISTORY),
        summary=doc(SUMMARY),
        current=doc(CURRENT),
        heads_text=view.text(pre + HEADS),
        history_text=view.text(pre + HISTORY_TEXT),
        current_text=view.text(pre + CURRENT_TEXT),
        error_text=view.text(pre + ERROR),
        problems=tuple(line for line in (problems or "").splitlines() if line.strip()),
        migrations=tuple(view.paths(pre + MIGRATIONS)),
    )


def read(view: BundleView) -> AlembicEvidence:
    """The Alembic evidence of a bundle, one entry per configuration."""
    return AlembicEvidence(tuple(_config(view, label) for label in labels(view)))


def does_nothing(func: ast.FunctionDef) -> bool:
    """True for a body of only `pass`, `...`, docstrings and `raise NotImplementedError`."""
    for stmt in func.body:
        if isinstance(stmt, ast.Pass):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue
        if isinstance(stmt, ast.Raise) and stmt.exc is not None:
            exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
            if isinstance(exc, ast.Name) and exc.id == "NotImplementedError":
                continue
        return False
    return True


def noop_downgrade(source: bytes | None) -> bool | None:
    """True when a migration file's downgrade() does nothing; None when that cannot be read."""
    if source is None:
        return None
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    func = next((n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "downgrade"), None)
    return True if func is None else does_nothing(func)


def invocation(ini: str, section: str, run_from: str | None = None) -> tuple[str, list[str]]:
    """How one configuration is run: from the folder Alembic must run in (`run_from`, Alembic takes a
    relative `script_location` from where it runs; the ini's folder when not known, `.` for the service's
    own), as `alembic` with a non-default ini file and section."""
    path = PurePosixPath(ini)
    folder = PurePosixPath(run_from) if run_from else path.parent
    words = ["alembic"]
    if path.parent != folder:
        words += ["-c", posixpath.relpath(path.as_posix(), folder.as_posix())]
    elif path.name != "alembic.ini":
        words += ["-c", path.name]
    if section != "alembic":
        words += ["-n", section]
    return folder.as_posix(), words
