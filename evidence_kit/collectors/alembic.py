"""Alembic migrations read without running them: revision graph, heads, history, the database's version."""

from __future__ import annotations

import configparser
import fnmatch
import json
import os
import re
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidence_kit.errors import CollectorError
from evidence_kit.evidence.alembic import DEFAULT_VERSION_TABLE
from evidence_kit.model import Context, Intent, Output, Status
from evidence_kit.support import db, foreign, interpreter, pyscan
from evidence_kit.support.proc import utcnow
from evidence_kit.support.pyscan import BadScript as BadScript

NAME = "alembic"

DEFAULT_INI = "alembic.ini"
DEFAULT_SECTION = "alembic"
_LABEL = "^[A-Za-z0-9][A-Za-z0-9._-]*$"

_CONFIG_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "ini": {
            "type": "string",
            "minLength": 1,
            "default": DEFAULT_INI,
            "description": "The alembic.ini file, relative to evidence.yaml (default `alembic.ini`).",
        },
        "name": {
            "type": "string",
            "minLength": 1,
            "default": DEFAULT_SECTION,
            "description": "Section of the ini file to read, like `alembic -n NAME` (default `alembic`).",
        },
        "label": {
            "type": "string",
            "pattern": _LABEL,
            "description": "Folder of this config's outputs when several configs are listed "
            "(default: the section name).",
        },
        "script_location": {
            "type": "string",
            "minLength": 1,
            "description": "Migration folder, relative to evidence.yaml; overrides the ini's "
            "`script_location`.",
        },
        "version_table": {
            "type": "string",
            "minLength": 1,
            "description": "Table holding the applied version (default: the ini's `version_table`, "
            "else a literal `version_table` env.py passes to `context.configure`, else `alembic_version`).",
        },
        "version_table_schema": {
            "type": "string",
            "minLength": 1,
            "description": "PostgreSQL schema of this config's version table, or a glob such as `tenant_*` "
            "for one table per tenant schema: only tables there are this config's (default: the ini's "
            "`version_table_schema`, else a literal `version_table_schema` env.py passes to "
            "`context.configure`, else every table holding this config's revisions).",
        },
        "version_locations": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "minLength": 1},
            "description": "Version folders relative to evidence.yaml, for an env.py that picks them at "
            "run time (default: as alembic reads them from the ini, or from env.py where it can be read).",
        },
        "migrate_command": {
            "type": "string",
            "minLength": 1,
            "description": "The service's own command that upgrades this configuration's database, run from "
            "the service's folder (`app database upgrade`); recorded for `evidence docs`, never run by the "
            "collector.",
        },
        "database": {
            "type": "boolean",
            "default": True,
            "description": "false: this configuration's migrations are not applied to the database the "
            "collect reads (a tree for other tenants' schemas, or another database): its history is read "
            "and checked, its database revision is not read, and EK302 does not judge it.",
        },
    },
}

OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "configs": {
            "type": "array",
            "minItems": 1,
            "items": _CONFIG_SCHEMA,
            "description": "The alembic configurations to read (default: `alembic.ini`, section `alembic`). "
            "Relative paths inside an ini resolve against the ini's folder, then evidence.yaml's.",
        },
        "script_location": {
            "type": "string",
            "minLength": 1,
            "description": "Migration folder for every config, relative to evidence.yaml; "
            "overrides the ini's `script_location`.",
        },
        "version_table": {
            "type": "string",
            "minLength": 1,
            "description": "Version table name for every config (default `alembic_version`).",
        },
        "python": {
            **interpreter.OPTION,
            "description": "The service's interpreter: parses migrations evidence-kit's own Python cannot, "
            "finds `package:path` script locations; default: the top-level `python:`.",
        },
    },
}

# NOTE: the file-name rule and the characters alembic refuses in revision ids, as alembic applies them.
_SOURCE_FILE = re.compile(r"(?!\.\#|__init__)(.*\.py)$")
_ILLEGAL_ID_CHARS = frozenset("@-+:")
_LEGACY_SPLIT = re.compile(r", *|(?: +)")
_SEPARATORS = {"space": " ", "newline": "\n", "os": os.pathsep, ":": ":", ";": ";"}
_JSON = "application/json"
_TEXT = "text/plain"
_NO_URL = "no database URL was given (set the environment variable named by `database.url_env`)"

_PG_TABLES = """
SELECT n.nspname,
       has_table_privilege(c.oid, 'SELECT'),
       EXISTS (SELECT 1 FROM pg_attribute a
               WHERE a.attrelid = c.oid AND a.attname = 'version_num' AND a.attnum > 0 AND NOT a.attisdropped)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relname = %s AND c.relkind IN ('r', 'p')
ORDER BY n.nspname
"""


# NOTE: the tables shaped like a version table: any name, in any schema, with a text `version_num` column
# (an application's own `version_num` is most often a number). Only a table's first rows are read.
_PG_SHAPED = """
SELECT n.nspname, c.relname
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')
  AND has_table_privilege(c.oid, 'SELECT')
  AND EXISTS (SELECT 1 FROM pg_attribute a
              WHERE a.attrelid = c.oid AND a.attname = 'version_num' AND a.attnum > 0 AND NOT a.attisdropped
                AND a.atttypid IN ('text'::regtype, 'varchar'::regtype, 'bpchar'::regtype))
ORDER BY 1, 2
"""
_SHAPED_ROWS = 100
_SQLITE_SHAPED = (
    "SELECT m.name FROM sqlite_master m, pragma_table_info(m.name) p"
    " WHERE m.type = 'table' AND p.name = 'version_num' ORDER BY 1"
)


class ResolutionError(ValueError):
    """A revision name that names no revision, or more than one."""


@dataclass(frozen=True)
class Script:
    """One revision file as `ast` reads it: its identifiers, docstring and path."""

    revision: str
    down_revision: tuple[str, ...]
    depends_on: tuple[str, ...]
    branch_labels: tuple[str, ...]
    doc: str
    path: str

    @property
    def message(self) -> str:
        """The docstring's first paragraph, which `alembic history` shows."""
        return self.doc.split("\n\n", 1)[0]


@dataclass(frozen=True)
class Setup:
    """One alembic configuration, resolved: its migration folders and its version table."""

    ini: Path
    section: str
    prefix: str
    script_location: Path
    version_locations: tuple[Path, ...]
    recursive: bool
    version_table: str
    locations_from: str = "alembic.ini"
    locations_problem: str | None = None
    python: interpreter.Interpreter | None = None
    # NOTE: the folder of each dialect, when env.py picks one by the database's dialect at run time.
    dialect_folders: tuple[Path, ...] = ()
    version_table_schema: str | None = None
    version_table_schema_from: str | None = None
    # NOTE: where a version table other than `alembic_version` is named; None for the default.
    version_table_from: str | None = None
    # NOTE: the folder Alembic runs in for the ini's relative `script_location` to exist (see run_from).
    run_from: Path | None = None
    # NOTE: where env.py names its version table at run time (a setting): which table is not known.
    version_table_picked: str | None = None
    # NOTE: the service's own upgrade command, as the collector's option gives it (for the docs).
    migrate_command: str | None = None
    # NOTE: False: not applied to the database read (`database: false`): its revision is not read.
    in_database: bool = True


@dataclass
class Scan:
    """What the version folders hold: the revisions, the raw files and the problems met."""

    scripts: list[Script] = field(default_factory=list)
    files: list[tuple[str, bytes]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    reparsed: int = 0


def _clean_doc(doc: str, python: tuple[int, int] | None = None) -> str:
    # NOTE: from 3.13 the compiler strips docstring indentation, so a module's __doc__ (what
    # alembic shows) differs from the literal that `ast` returns; redo the compiler's cleaning
    # when the interpreter alembic runs in (the service's, else ours) is 3.13 or newer.
    if tuple(python or sys.version_info[:2]) < (3, 13):
        return doc
    lines = doc.expandtabs().split("\n")
    indents = [len(line) - len(line.lstrip(" ")) for line in lines[1:] if line.strip(" ")]
    margin = min(indents, default=0)
    rest = [line[min(margin, len(line) - len(line.lstrip(" "))) :] for line in lines[1:]]
    return "\n".join([lines[0].lstrip(" "), *rest])


def script_from(path: str, read: Mapping[str, Any], python: tuple[int, int] | None = None) -> Script | None:
    """The revision that `pyscan.revision_fields` read from a file; None without one, BadScript if bad.

    `python` is the version of the interpreter alembic runs in, which decides how docstrings read.
    """
    if "error" in read:
        raise BadScript(str(read["error"]))
    fields: Mapping[str, list[str] | None] = read["fields"]
    if "revision" not in fields:
        return None
    revision = fields["revision"] or []
    if len(revision) != 1:
        raise BadScript("`revision` must be a single string")
    if "down_revision" not in fields:
        raise BadScript("no `down_revision` (alembic fails to load such a file)")
    doc = read.get("doc")
    return Script(
        revision=revision[0],
        down_revision=tuple(fields["down_revision"] or ()),
        depends_on=tuple(fields.get("depends_on") or ()),
        branch_labels=tuple(fields.get("branch_labels") or ()),
        doc=_clean_doc(doc, python).strip() if doc else "",
        path=path,
    )


def read_script(path: str, source: bytes, python: tuple[int, int] | None = None) -> Script | None:
    """The revision a migration file declares, None if it declares none; BadScript if unreadable."""
    return script_from(path, pyscan.revision_fields(path, source), python)


def _dedupe(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))


class Graph:
    """The revision graph of a set of scripts, with the same heads, order and markers as alembic."""

    def __init__(self, scripts: Sequence[Script]) -> None:
        self.problems: list[str] = []
        self.scripts: dict[str, Script] = {}
        for script in scripts:
            self._add(script)
        ids = list(self.scripts)
        self.pos = {rev: i for i, rev in enumerate(ids)}
        self.label_owner: dict[str, str] = {}
        for rev, script in self.scripts.items():
            for label in script.branch_labels:
                owner = label if label in self.scripts else self.label_owner.get(label)
                if owner is not None:
                    self.problems.append(f"branch label {label!r} of {rev} is already used by {owner}")
                else:
                    self.label_owner[label] = rev
        self.down: dict[str, tuple[str, ...]] = {}
        self.deps: dict[str, tuple[str, ...]] = {}
        for rev, script in self.scripts.items():
            down = (self._present(rev, d, "down_revision") for d in script.down_revision)
            self.down[rev] = tuple(d for d in down if d)
            deps = (self._present(rev, d, "depends_on") for d in script.depends_on)
            self.deps[rev] = _dedupe(d for d in deps if d)
        self.all_down = {rev: _dedupe(self.down[rev] + self.deps[rev]) for rev in ids}
        self.next: dict[str, set[str]] = {rev: set() for rev in ids}
        self.all_next: dict[str, set[str]] = {rev: set() for rev in ids}
        for rev in ids:
            for d in self.all_down[rev]:
                self.all_next[d].add(rev)
                if d in self.down[rev]:
                    self.next[d].add(rev)
        self.heads = [rev for rev in ids if not self.next[rev]]
        self.real_heads = [rev for rev in ids if not self.all_next[rev]]
        self.bases = [rev for rev in ids if not self.scripts[rev].down_revision]
        self.order, self.cycle = self._kahn(ids)
        if self.cycle:
            self.problems.append(f"cycle among revisions {', '.join(self.cycle)}")
        self.norm_down = self._normalize(ids)
        self.ancestors = self._ancestor_masks()
        self.labels = self._labels()

    def _add(self, script: Script) -> None:
        rev = script.revision
        bad = sorted(_ILLEGAL_ID_CHARS.intersection(rev))
        if bad:
            self.problems.append(f"revision id {rev!r} in {script.path} contains {', '.join(bad)}")
        if rev in script.down_revision or rev in script.depends_on:
            self.problems.append(f"revision {rev} in {script.path} refers to itself")
        if rev in self.scripts:
            self.problems.append(
                f"revision {rev} is defined twice, in {self.scripts[rev].path} and in {script.path}"
            )
        self.scripts[rev] = script

    def _present(self, rev: str, target: str, kind: str) -> str:
        if target == rev:
            return ""
        if target in self.scripts:
            return target
        if kind == "depends_on" and target in self.label_owner:
            return self.label_owner[target]
        where = self.scripts[rev].path
        self.problems.append(f"{kind} {target!r} of revision {rev} ({where}) is not present")
        return ""

    def _kahn(self, ids: list[str]) -> tuple[list[str], list[str]]:
        waiting = {rev: len(self.all_down[rev]) for rev in ids}
        ready = [rev for rev in ids if not waiting[rev]]
        order: list[str] = []
        while ready:
            rev = ready.pop()
            order.append(rev)
            for child in self.all_next[rev]:
                waiting[child] -= 1
                if not waiting[child]:
                    ready.append(child)
        placed = set(order)
        return order, sorted(rev for rev in ids if rev not in placed)

    def _versioned_ancestors(self, rev: str) -> set[str]:
        seen: set[str] = set()
        todo = [rev]
        while todo:
            cur = todo.pop()
            if cur not in seen:
                seen.add(cur)
                todo.extend(self.down[cur])
        return seen

    def _normalize(self, ids: list[str]) -> dict[str, tuple[str, ...]]:
        # NOTE: alembic drops a dependency already declared by a versioned ancestor; the remaining
        # ones follow the down revisions and steer the history order.
        result: dict[str, tuple[str, ...]] = {}
        for rev in ids:
            deps = self.deps[rev]
            if deps and not self.cycle:
                inherited: set[str] = set()
                for anc in self._versioned_ancestors(rev) - {rev}:
                    inherited.update(self.deps[anc])
                deps = tuple(d for d in deps if d not in inherited)
            result[rev] = _dedupe(self.down[rev] + deps)
        return result

    def _ancestor_masks(self) -> dict[str, int]:
        masks: dict[str, int] = {}
        for rev in self.order:
            mask = 1 << self.pos[rev]
            for d in self.norm_down[rev]:
                mask |= masks[d]
            masks[rev] = mask
        return masks

    def _labels(self) -> dict[str, set[str]]:
        labels = {rev: set(s.branch_labels) for rev, s in self.scripts.items()}
        if self.cycle:
            return labels
        for rev, script in self.scripts.items():
            if not script.branch_labels:
                continue
            names = set(labels[rev])
            # NOTE: alembic labels every descendant, then walks down from the last one it visited,
            # labelling until a branch point or merge point; so a labelled linear branch also labels
            # the revisions below it back to where it forked.
            seen: set[str] = set()
            todo, last = [rev], rev
            while todo:
                cur = todo.pop()
                if cur in seen:
                    continue
                seen.add(cur)
                labels[cur].update(names)
                todo.extend(sorted(self.next[cur]))
                last = cur
            node: str | None = last
            while node is not None and len(self.all_next[node]) < 2 and not self.is_merge(node):
                labels[node].update(names)
                down = self.scripts[node].down_revision
                node = down[0] if down and down[0] in self.scripts else None
        return labels

    def is_merge(self, rev: str) -> bool:
        """True when the revision has several down revisions."""
        return len(self.scripts[rev].down_revision) > 1

    def is_branch_point(self, rev: str) -> bool:
        """True when several revisions have this one as their down revision."""
        return len(self.next[rev]) > 1

    def history(self) -> list[str]:
        """Revision ids newest first, in the order `alembic history` prints them."""
        if self.cycle:
            raise ValueError(f"cycle among revisions {', '.join(self.cycle)}")
        pos, anc = self.pos, self.ancestors
        todo = set(self.scripts)
        current = sorted(self.real_heads, key=pos.__getitem__)
        output: list[str] = []
        idx = 0
        while current:
            candidate = current[idx]
            bit = 1 << pos[candidate]
            # NOTE: a revision waits until no other open head still has it as an ancestor.
            for j, head in enumerate(current):
                if j != idx and anc[head] & bit:
                    idx = j
                    break
            else:
                if candidate in todo:
                    output.append(candidate)
                    todo.discard(candidate)
                fresh = [r for r in self.norm_down[candidate] if r in todo and r not in current]
                if not fresh:
                    del current[idx]
                    idx = max(idx - 1, 0)
                else:
                    current[idx] = fresh[0]
                    current.extend(fresh[1:])
        return output

    def _down_text(self, rev: str) -> str:
        down = self.scripts[rev].down_revision
        return ", ".join(down) if down else "<base>"

    def _marks(self, rev: str, tree: bool, labels: bool = True) -> str:
        text = ""
        if labels and self.labels[rev]:
            text += f" ({', '.join(sorted(self.labels[rev]))})"
        if not self.all_next[rev]:
            text += " (head)"
        elif not self.next[rev]:
            text += " (effective head)"
        if tree:
            text += " (branchpoint)" if self.is_branch_point(rev) else ""
            text += " (mergepoint)" if self.is_merge(rev) else ""
        return text

    def heads_text(self) -> str:
        """What `alembic heads` prints."""
        return "".join(f"{rev}{self._marks(rev, tree=False)}\n" for rev in self.heads)

    def history_line(self, rev: str) -> str:
        """One line of `alembic history`: parents, revision, markers and message."""
        script = self.scripts[rev]
        deps = f" ({', '.join(script.depends_on)})" if script.depends_on else ""
        return f"{self._down_text(rev)}{deps} -> {rev}{self._marks(rev, tree=True)}, {script.message}"

    def history_text(self) -> str:
        """What `alembic history` prints."""
        return "".join(self.history_line(rev) + "\n" for rev in self.history())

    def current_line(self, rev: str) -> str:
        """One line of `alembic current` for a revision applied to the database."""
        return rev + self._marks(rev, tree=True, labels=False)

    def applied(self, versions: Iterable[str]) -> tuple[list[str], list[str]]:
        """For stored versions: the revisions `alembic current` lists, and the revisions not yet applied."""
        mask = 0
        for rev in versions:
            if rev in self.ancestors:
                mask |= self.ancestors[rev]
        done = {rev for rev in self.scripts if mask >> self.pos[rev] & 1}
        tips = sorted(rev for rev in done if not self.next[rev] & done)
        return tips, sorted(set(self.scripts) - done)

    def _shares_lineage(self, rev: str, other: str) -> bool:
        if other in self._versioned_ancestors(rev):
            return True
        todo, seen = [rev], set()
        while todo:
            cur = todo.pop()
            if cur == other:
                return True
            if cur not in seen:
                seen.add(cur)
                todo.extend(self.next[cur])
        return False

    def _lookup(self, name: str, branch: str | None = None) -> str:
        if name in self.scripts:
            found = name
        elif name in self.label_owner:
            found = self.label_owner[name]
        else:
            keys = [k for k in (*self.scripts, *self.label_owner) if len(k) > 3 and k.startswith(name)]
            matches = list(dict.fromkeys(self.label_owner.get(k, k) for k in keys))
            if branch is not None:
                owner = self._lookup(branch)
                matches = [m for m in matches if self._shares_lineage(m, owner)]
            if not matches:
                raise ResolutionError(f"no revision or branch {name!r}")
            if len(matches) > 1:
                shown = ", ".join(sorted(matches)[:3])
                raise ResolutionError(f"several revisions start with {name!r}: {shown}")
            found = matches[0]
        if branch is not None and not self._shares_lineage(found, self._lookup(branch)):
            raise ResolutionError(f"revision {found} is not on branch {branch!r}")
        return found

    def resolve(self, name: str) -> str | None:
        """The revision id `name` names: an id or unique prefix, a label, `head`, `label@head`, `base`."""
        branch: str | None = None
        if "@" in name:
            branch, name = name.split("@", 1)
        if name == "base":
            return None
        if name in ("head", "heads"):
            heads = self.heads
            if branch is not None:
                owner = self._lookup(branch)
                heads = [h for h in heads if self._shares_lineage(h, owner)]
            if len(heads) != 1:
                where = f"{branch}@head" if branch else "head"
                raise ResolutionError(f"{where} names {len(heads)} heads: {', '.join(heads) or 'none'}")
            return heads[0]
        return self._lookup(name, branch)


def _rel(path: Path, root: Path) -> str:
    real, base = path.resolve(), root.resolve()
    if real.is_relative_to(base):
        return real.relative_to(base).as_posix()
    return Path(os.path.relpath(real, base)).as_posix()


def _list_files(location: Path, recursive: bool) -> list[tuple[str, str]]:
    # NOTE: alembic's walk: files sorted per folder, sub-folders sorted, __pycache__ skipped.
    found: list[tuple[str, str]] = []
    for top, dirs, files in os.walk(location):
        if top.endswith("__pycache__"):
            continue
        below = os.path.relpath(top, location)
        found.extend((top, name if below == "." else f"{below}/{name}") for name in sorted(files))
        if not recursive:
            break
        dirs.sort()
    return found


def scan(
    setup: Setup,
    root: Path,
    python: interpreter.Interpreter | None = None,
    scratch: Path | None = None,
) -> Scan:
    """Read every revision file of the version locations, in the order alembic loads them.

    A file evidence-kit's own Python cannot parse is parsed again in `python` (the service's
    interpreter) when one is given; docstrings read as that interpreter's version shows them.
    """
    result = Scan()
    locations = [loc.resolve() for loc in setup.version_locations if loc.is_dir()]
    for loc in setup.version_locations:
        if not loc.is_dir():
            result.problems.append(f"version location {_rel(loc, root)} does not exist")
    # NOTE: with several locations, artifact names keep each location's path below their common folder.
    base = Path(os.path.commonpath(locations)) if len(locations) > 1 else None
    seen: set[tuple[int, int]] = set()
    reads: list[tuple[str, str, dict[str, Any]]] = []
    for loc in locations:
        above = loc.relative_to(base).as_posix() + "/" if base is not None and loc != base else ""
        shown = _rel(loc, root)
        for top, rel in _list_files(loc, setup.recursive):
            if not _SOURCE_FILE.match(os.path.basename(rel)):
                continue
            name = rel if shown == "." else f"{shown}/{rel}"
            path = os.path.join(top, os.path.basename(rel))
            try:
                with open(path, "rb") as handle:
                    stat = os.fstat(handle.fileno())
                    if (stat.st_dev, stat.st_ino) in seen:
                        continue
                    seen.add((stat.st_dev, stat.st_ino))
                    source = handle.read()
            except OSError as exc:
                reads.append((name, path, {"error": f"cannot be read: {exc.strerror or exc}"}))
                continue
            result.files.append((above + rel, source))
            reads.append((name, path, pyscan.revision_fields(name, source)))
    python = python or setup.python
    version = interpreter.version(python) if python is not None else None
    retry = [i for i, (_, _, read) in enumerate(reads) if read.get("syntax")]
    if retry and python is not None:
        try:
            with tempfile.TemporaryDirectory(prefix="evidence-alembic-") as spare:
                again = foreign.read(
                    python,
                    "revision",
                    [[reads[i][0], reads[i][1]] for i in retry],
                    scratch=scratch or Path(spare),
                    cwd=root,
                )
        except CollectorError as exc:
            result.problems.append(f"the service's interpreter could not parse the migrations: {exc.message}")
        else:
            for i, read in zip(retry, again, strict=True):
                reads[i] = (reads[i][0], reads[i][1], read)
                result.reparsed += 0 if read.get("syntax") else 1
    for name, _, read in reads:
        try:
            script = script_from(name, read, version)
        except BadScript as exc:
            result.problems.append(f"{name}: {exc.message}")
            continue
        if script is None:
            result.problems.append(f"{name}: no `revision` variable (alembic refuses such a file)")
        else:
            result.scripts.append(script)
    return result


def _under(base: Path, value: str) -> Path:
    path = Path(value)
    return path if path.is_absolute() else base / path


def locate(value: str, here: Path, root: Path, bases: Sequence[Path] = ()) -> Path:
    """A folder named in an ini (`script_location`, a version location) as alembic finds it, statically."""
    return _locate(value, here, root, bases)


def _locate(value: str, here: Path, root: Path, bases: Sequence[Path] = ()) -> Path:
    if not os.path.isabs(value) and ":" in value:
        # NOTE: alembic imports the package to find a `package:folder` location (`pkg:a:b` and
        # `pkg:a/b` alike); look for the package's folder instead, so that no code of the service runs.
        package, *rest = value.split(":")
        for base in (*bases, here, root, root / "src"):
            folder = base.joinpath(*package.split("."))
            if folder.is_dir():
                return folder.joinpath(*rest)
        raise CollectorError(
            f"cannot find the folder of package {package!r} (from `{value}`) without importing it",
            hint="set `python:` to the service's interpreter (where the package is installed), or the "
            "alembic collector's `script_location` option to the migrations folder",
        )
    return _under(run_from(value, here, root) or here, value)


def run_from(value: str, here: Path, root: Path) -> Path | None:
    """The folder Alembic must run in for the relative path `value` of an ini in the folder `here` to exist:
    Alembic takes it from where it runs, so the ini's own folder, else the nearest one above it (within
    `root`), else `root`; None when the path exists from none of them, is absolute or names a package."""
    if os.path.isabs(value) or ":" in value:
        return None
    folders = [here, *(p for p in here.parents if p.is_relative_to(root)), root]
    return next((base for base in folders if _under(base, value).exists()), None)


def _pyproject(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    from evidence_kit.support import toml as tomllib

    try:
        table = tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {}).get("alembic", {})
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
    here = {"here": path.parent.absolute().as_posix()}

    def subst(value: Any) -> Any:
        if isinstance(value, str):
            return value.replace("%(here)s", here["here"])
        if isinstance(value, list):
            return [subst(v) for v in value]
        return value

    return {k: subst(v) for k, v in table.items()} if isinstance(table, dict) else {}


def _split_locations(raw: str, separator: str | None) -> list[str]:
    parts = _LEGACY_SPLIT.split(raw) if separator is None else raw.split(_SEPARATORS[separator])
    return [p.strip() for p in parts if p.strip()]


def _dialect(url: str | None) -> str | None:
    if not url or ":" not in url:
        return None
    name = url.split(":", 1)[0].split("+", 1)[0].lower()
    return {"postgres": "postgresql", "mariadb": "mysql"}.get(name, name)


def _env_locations(env_py: Path) -> tuple[int, list[str] | None] | None:
    """Where env.py sets version locations at run time: (line, literal value or None), else None."""
    import ast

    try:
        tree = ast.parse(env_py.read_bytes(), filename=str(env_py))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        value: ast.expr | None = None
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Attribute) and t.attr == "version_locations" for t in targets):
                value = node.value
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("set_main_option", "set_section_option")
        ):
            args = node.args[-2:] if len(node.args) >= 2 else []
            if args and isinstance(args[0], ast.Constant) and args[0].value == "version_locations":
                value = args[1]
        if value is None:
            continue
        try:
            literal = ast.literal_eval(value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return getattr(node, "lineno", 0), None
        if isinstance(literal, str):
            return getattr(node, "lineno", 0), _split_locations(literal, None)
        if isinstance(literal, list | tuple) and all(isinstance(v, str) for v in literal):
            return getattr(node, "lineno", 0), list(literal)
        return getattr(node, "lineno", 0), None
    return None


def _env_keyword(
    env_py: Path,
    keyword: str,
    option: Callable[[str], str | None] = lambda key: None,
    bases: Sequence[Path] = (),
) -> tuple[int, str, bool] | None:
    """What env.py passes to `context.configure` as `keyword` (`version_table`, `version_table_schema`):
    (line, value, True) when every call passes the same string, as an expression of what can be read
    without running it (see `_Strings`); (line, the expression, False) when a call passes one picked at run
    time (a setting, a tenant's schema); None when none passes it, or calls pass different strings.
    `option` reads the ini's section (`config.get_main_option`); `bases` are where the service's modules
    are imported from."""
    import ast

    try:
        tree = ast.parse(env_py.read_bytes(), filename=str(env_py))
    except (OSError, SyntaxError, ValueError):
        return None
    strings = _Strings(tree, option, [env_py.parent, *bases])
    found: dict[str, int] = {}
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr != "configure":
            continue
        for kw in node.keywords:
            if kw.arg != keyword:
                continue
            named = strings.value(kw.value)
            if not named:
                # NOTE: a name picked at run time (a tenant's schema, a setting) cannot be told statically.
                return node.lineno, ast.unparse(kw.value), False
            found.setdefault(named, node.lineno)
    if len(found) != 1:
        return None
    named, line = next(iter(found.items()))
    return line, named, True


class _Strings:
    """The string an expression of env.py stands for, read without running it: a literal, a module constant
    assigned once (in env.py, or imported from a module of the service: `from app.models import PREFIX`),
    an option of the ini's section (`config.get_main_option("name")`), and f-strings and `+` of these."""

    def __init__(self, tree: Any, option: Callable[[str], str | None], bases: Sequence[Path]) -> None:
        import ast

        self.option = option
        self.bases = bases
        self.seen: set[str] = set()
        self.constants = _module_constants(tree)
        self.imported: dict[str, tuple[str, str]] = {
            alias.asname or alias.name: (node.module, alias.name)
            for node in tree.body
            if isinstance(node, ast.ImportFrom) and node.module and not node.level
            for alias in node.names
        }

    def value(self, node: Any) -> str | None:
        import ast

        if isinstance(node, ast.Constant):
            return node.value if isinstance(node.value, str) else None
        if isinstance(node, ast.Name):
            if node.id in self.constants and node.id not in self.seen:
                self.seen.add(node.id)  # NOTE: `A = B` and `B = A` stand for nothing
                try:
                    return self.value(self.constants[node.id])
                finally:
                    self.seen.discard(node.id)
            if node.id in self.imported:
                return self._imported(*self.imported[node.id])
            return None
        if isinstance(node, ast.JoinedStr):
            parts = [
                self.value(v.value if isinstance(v, ast.FormattedValue) else v)
                if not isinstance(v, ast.FormattedValue) or (v.conversion == -1 and v.format_spec is None)
                else None
                for v in node.values
            ]
            return "".join(p for p in parts if p is not None) if None not in parts else None
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = self.value(node.left), self.value(node.right)
            return left + right if left is not None and right is not None else None
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get_main_option"
            and ast.unparse(node.func.value) in ("config", "context.config")
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and not node.keywords
        ):
            got = self.option(node.args[0].value)
            default = self.value(node.args[1]) if len(node.args) > 1 else None
            return got if got is not None else default
        return None

    def _imported(self, module: str, name: str) -> str | None:
        """A constant assigned once to a string literal at the top of one of the service's modules."""
        import ast

        for base in self.bases:
            for path in (
                base.joinpath(*module.split(".")).with_suffix(".py"),
                base.joinpath(*module.split("."), "__init__.py"),
            ):
                if path.is_file():
                    try:
                        tree = ast.parse(path.read_bytes(), filename=str(path))
                    except (OSError, SyntaxError, ValueError):
                        return None
                    value = _module_constants(tree).get(name)
                    return (
                        value.value
                        if isinstance(value, ast.Constant) and isinstance(value.value, str)
                        else None
                    )
        return None


def _module_constants(tree: Any) -> dict[str, Any]:
    """The names a module assigns once, at its top, with the expression assigned."""
    import ast

    bound: dict[str, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound[node.id] = bound.get(node.id, 0) + 1
        elif isinstance(node, ast.arg):
            bound[node.arg] = bound.get(node.arg, 0) + 1
    return {
        node.targets[0].id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
        and bound.get(node.targets[0].id) == 1
    }


# NOTE: what Alembic's own `Config` offers env.py: its methods and attributes, across 1.x versions.
_CONFIG_ATTRIBUTES = frozenset(
    {
        "attributes",
        "cmd_opts",
        "config_args",
        "config_file_name",
        "config_ini_section",
        "file_config",
        "get_alembic_boolean_option",
        "get_alembic_list_option",
        "get_alembic_option",
        "get_hooks_list",
        "get_main_option",
        "get_prepend_sys_paths_list",
        "get_section",
        "get_section_option",
        "get_template_directory",
        "get_version_locations_list",
        "messaging_opts",
        "output_buffer",
        "print_stdout",
        "remove_main_option",
        "set_main_option",
        "set_section_option",
        "stdout",
        "toml_alembic_config",
        "toml_args",
        "toml_file_name",
    }
)


def plain_alembic_problem(env_py: Path) -> str | None:
    """Why the `alembic` command cannot run this env.py, read statically; None when nothing says so.

    An env.py written for a wrapper's own configuration (a subclass of `Config` handed to it by the
    service's CLI) reads attributes Alembic's `Config` lacks (`config.db_url`): run by plain `alembic`,
    it fails with an AttributeError before touching the database.
    """
    import ast

    try:
        tree = ast.parse(env_py.read_bytes(), filename=str(env_py))
    except (OSError, SyntaxError, ValueError):
        return None
    names = {"context.config"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if isinstance(value, ast.Attribute) and ast.unparse(value) == "context.config":
            names.update(t.id for t in targets if isinstance(t, ast.Name))
    read = sorted(
        (node.lineno, f"{ast.unparse(node.value)}.{node.attr}")
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and not node.attr.startswith("_")
        and node.attr not in _CONFIG_ATTRIBUTES
        and isinstance(node.value, ast.Name | ast.Attribute)
        and ast.unparse(node.value) in names
    )
    if not read:
        return _flask_app_problem(tree)
    line, what = read[0]
    return (
        f"env.py reads `{what}` (line {line}), which Alembic's own `Config` lacks: it runs only under the "
        "service's command that hands it its own configuration"
    )


def _flask_app_problem(tree: Any) -> str | None:
    """Why plain `alembic` cannot run an env.py that reads Flask's `current_app` (Flask-Migrate's): None
    when it reads none."""
    import ast

    for node in ast.walk(tree):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module == "flask"
            and any(a.name == "current_app" for a in node.names)
        ):
            return (
                f"env.py reads Flask's `current_app` (line {node.lineno}): it runs only inside the app, "
                "under `flask db` (Flask-Migrate)"
            )
    return None


_DIALECTS = frozenset({"postgresql", "postgres", "sqlite", "mysql", "mariadb", "mssql", "oracle"})


def _from_env(
    script_location: Path, here: Path, root: Path, database_url: str | None, no_url: str | None = None
) -> tuple[tuple[Path, ...], str, str | None, tuple[Path, ...]] | None:
    """The version folders env.py picks at run time, read statically where possible.

    Returns (folders, where they came from, problem, the folder of each dialect when env.py picks one
    by dialect) or None when env.py does not pick them. `no_url` says why there is no database URL,
    when there is none.
    """
    env_py = script_location / "env.py"
    found = _env_locations(env_py)
    if found is None:
        return None
    line, literal = found
    where = f"{_rel(env_py, root)}:{line}"
    if literal is not None:
        return tuple(_locate(n, here, root) for n in literal), f"env.py ({where})", None, ()
    versions = script_location / "versions"
    subfolders = (
        sorted(p for p in versions.iterdir() if p.is_dir() and p.name != "__pycache__")
        if (versions.is_dir())
        else []
    )
    dialect = _dialect(database_url)
    # NOTE: only folders all named for dialects are a folder per dialect; others (by year, say) are not.
    every = tuple(subfolders) if subfolders and all(p.name in _DIALECTS for p in subfolders) else ()
    chosen = [p for p in every if p.name == dialect]
    if chosen:
        return (chosen[0],), f"env.py ({where}) picks a folder per database dialect: {dialect}", None, every
    names = ", ".join(p.name for p in subfolders) or "none"
    if database_url is None and every:
        # NOTE: env.py picks a folder by dialect, and without a URL no dialect is known: give the URL.
        problem = (
            f"env.py picks the version folder by database dialect at run time ({where}; folders under "
            f"versions/: {names}) and no database URL tells the dialect "
            f"({no_url or 'evidence.yaml configures no database'}): give the URL, or set the alembic "
            "collector's `version_locations` option"
        )
    else:
        problem = (
            f"env.py sets the version locations at run time ({where}) and they cannot be read statically "
            f"(folders under versions/: {names}; database dialect: {dialect or 'unknown'}): set the alembic "
            "collector's `version_locations` option"
        )
    return (versions,), f"env.py ({where}), not readable statically", problem, every


def _separator(get: Any, section: str, ini: Path) -> str | None:
    # NOTE: alembic reads the separator only to split `version_locations`, newest key first; the value
    # is taken as the ini gives it (an inline comment is part of it, as in alembic's ConfigParser).
    for key in ("path_separator", "version_path_separator"):
        value = get(key)
        if value is None:
            continue
        if value not in _SEPARATORS:
            raise CollectorError(
                f"{key} {value!r} in [{section}] of {ini} is not valid (alembic refuses it too, "
                "because `version_locations` is set)",
                hint=f"use one of {', '.join(_SEPARATORS)}, with any comment on a line of its own",
            )
        return str(value)
    return None


def resolve_setup(
    root: Path,
    spec: Mapping[str, Any],
    options: Mapping[str, Any],
    prefix: str = "",
    *,
    database_url: str | None = None,
    no_url: str | None = None,
    python: interpreter.Interpreter | None = None,
) -> Setup:
    """Read one alembic configuration the way alembic reads it, without importing env.py.

    `python` is the service's interpreter: it finds `package:path` locations installed there and
    parses migrations in syntax newer than evidence-kit's own Python.
    """
    ini = _under(root, str(spec.get("ini", DEFAULT_INI)))
    section = str(spec.get("name", DEFAULT_SECTION))
    if not ini.is_file():
        raise CollectorError(
            f"alembic config file {ini} not found",
            hint="point the alembic collector's `configs[].ini` option at the service's alembic.ini",
        )
    parser = configparser.ConfigParser(defaults={"here": ini.absolute().parent.as_posix()})
    try:
        parser.read(ini, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise CollectorError(f"cannot read {ini}: {exc}", hint="fix the ini file's syntax") from exc
    if not parser.has_section(section):
        raise CollectorError(
            f"{ini} has no [{section}] section",
            hint=f"set `name` to one of: {', '.join(parser.sections()) or 'no section found'}",
        )
    toml = _pyproject(ini.parent / "pyproject.toml")

    def get(key: str) -> str | None:
        try:
            return parser.get(section, key) if parser.has_option(section, key) else None
        except configparser.Error as exc:
            raise CollectorError(f"cannot read `{key}` in [{section}] of {ini}: {exc}") from exc

    here = ini.parent
    prepend = get("prepend_sys_path") or toml.get("prepend_sys_path")
    bases: list[Path] = []
    if isinstance(prepend, str) and prepend:
        bases = [_under(here, p) for p in re.split(r", *| +|:", prepend) if p]
    elif isinstance(prepend, list):
        bases = [_under(here, str(p)) for p in prepend]
    override = spec.get("script_location", options.get("script_location"))
    raw = get("script_location") or toml.get("script_location")
    if override:
        script_location = _under(root, str(override))
    elif isinstance(raw, str) and raw:
        try:
            script_location = _locate(raw, here, root, bases)
        except CollectorError:
            if python is None:
                raise
            extra = [Path(p) for p in interpreter.sys_path(python)]
            script_location = _locate(raw, here, root, [*bases, *extra])
    elif own_folder(parser, section, here):
        script_location = here  # NOTE: as `flask db` sets it: the folder of the ini and its env.py
    else:
        raise CollectorError(
            f"no `script_location` in [{section}] of {ini}",
            hint="add `script_location` to the ini, or set the alembic collector's `script_location` option",
        )
    if not script_location.is_dir():
        raise CollectorError(
            f"script_location {script_location} (from {ini}) does not exist",
            hint="fix `script_location` in the ini or set the alembic collector's `script_location` option",
        )
    listed = get("version_locations")
    names: list[str]
    if listed:
        names = _split_locations(listed, _separator(get, section, ini))
    elif isinstance(toml.get("version_locations"), list):
        names = [str(v) for v in toml["version_locations"]]
    else:
        names = []
    locations = tuple(_locate(n, here, root) for n in names) or (script_location / "versions",)
    origin = (
        "alembic.ini" if listed else ("pyproject.toml" if names else "default (script_location/versions)")
    )
    problem: str | None = None
    dialects: tuple[Path, ...] = ()
    chosen = spec.get("version_locations")
    if chosen:
        locations = tuple(_under(root, str(n)) for n in chosen)
        origin = "the alembic collector's `version_locations` option"
    else:
        dynamic = _from_env(script_location, here, root, database_url, no_url)
        if dynamic is not None:
            locations, origin, problem, dialects = dynamic
    flag = get("recursive_version_locations")
    recursive = flag == "true" if flag is not None else toml.get("recursive_version_locations") is True
    env_py = script_location / "env.py"

    picked: dict[str, str] = {}

    def named(key: str, given: Any) -> tuple[Any, str | None]:
        """A setting as given to the collector, else in the ini's section, else passed to
        `context.configure` in env.py; with where it was named. One env.py picks at run time is noted
        in `picked`."""
        if given:
            return given, f"the alembic collector's `{key}` option"
        if get(key):
            return get(key), f"{_rel(ini, root)} [{section}]"
        stated = _env_keyword(env_py, key, get, [*bases, here, root, root / "src"])
        if stated is not None and stated[2]:
            return stated[1], f"env.py ({_rel(env_py, root)}:{stated[0]})"
        if stated is not None:
            picked[key] = f"env.py ({_rel(env_py, root)}:{stated[0]}) passes `{key}={stated[1]}`"
        return None, None

    table, table_from = named("version_table", spec.get("version_table") or options.get("version_table"))
    schema, schema_from = named("version_table_schema", spec.get("version_table_schema"))
    return Setup(
        ini,
        section,
        prefix,
        script_location,
        locations,
        recursive,
        str(table or DEFAULT_VERSION_TABLE),
        origin,
        problem,
        python,
        dialects,
        str(schema) if schema else None,
        schema_from if schema else None,
        table_from if table else None,
        (run_from(raw, here, root) if isinstance(raw, str) and raw else None) or here,
        picked.get("version_table"),
        spec.get("migrate_command"),
        spec.get("database", True) is not False,
    )


def read_graph(ini: Path, name: str = DEFAULT_SECTION, root: Path | None = None) -> Graph:
    """The revision graph of one alembic configuration, read statically."""
    base = root if root is not None else ini.parent
    setup = resolve_setup(base, {"ini": str(ini), "name": name}, {})
    found = scan(setup, base)
    graph = Graph(found.scripts)
    graph.problems[:0] = found.problems
    return graph


def _dump(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _dump_rows(value: Mapping[str, Any], rows: str) -> bytes:
    # NOTE: one line per top-level key and per row of `rows`: readable and diffable for thousands of
    # revisions, and written by json's C encoder (an indented dump is several times slower).
    def one(item: Any) -> str:
        return json.dumps(item, sort_keys=True, ensure_ascii=False)

    parts = []
    for key in sorted(value):
        if key == rows:
            body = ",\n".join(f"    {one(row)}" for row in value[key])
            parts.append(f"  {one(key)}: [\n{body}\n  ]" if body else f"  {one(key)}: []")
        else:
            parts.append(f"  {one(key)}: {one(value[key])}")
    return ("{\n" + ",\n".join(parts) + "\n}\n").encode()


def _pg_versions(url: str, table: str, source: str | None) -> tuple[dict[str, list[str]], dict[str, str]]:
    import psycopg
    from psycopg import sql

    conn = db.connect_pg(url, source=source)
    try:
        found: dict[str, list[str]] = {}
        errors: dict[str, str] = {}
        parts: list[sql.Composable] = []
        for schema, readable, has_column in conn.execute(_PG_TABLES, (table,)).fetchall():
            if not has_column:
                errors[schema] = f"{schema}.{table} has no version_num column"
            elif not readable:
                errors[schema] = f"no SELECT privilege on {schema}.{table}"
            else:
                found[schema] = []
                parts.append(
                    sql.SQL("SELECT {}::text, version_num::text FROM {}").format(
                        sql.Literal(schema), sql.Identifier(schema, table)
                    )
                )
        if parts:
            for schema, version in conn.execute(sql.SQL(" UNION ALL ").join(parts)).fetchall():
                if version is not None:
                    found[schema].append(version)
        return found, errors
    except psycopg.Error as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise CollectorError(
            f"cannot read the {table} tables of {db.safe(url)}: {first}",
            hint="check that the database user may read the catalog and the version tables",
        ) from exc
    finally:
        conn.close()


def _sqlite_versions(url: str, root: Path, table: str) -> tuple[dict[str, list[str]], dict[str, str]]:
    import sqlite3

    conn = db.connect_sqlite(url, root)
    try:
        row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
        if row.fetchone() is None:
            return {}, {}
        quoted = '"' + table.replace('"', '""') + '"'
        rows = conn.execute(f"SELECT version_num FROM {quoted}").fetchall()
        return {"main": [r[0] for r in rows if r[0] is not None]}, {}
    except sqlite3.Error as exc:
        raise CollectorError(
            f"cannot read {table} from {db.sqlite_path(url, root)}: {exc}",
            hint="check that the file is a SQLite database migrated by alembic",
        ) from exc
    finally:
        conn.close()


def _holding(shaped: Mapping[str, Mapping[str, list[str]]]) -> str:
    """What the tables shaped like a version table hold, and what to do about them."""
    said = "; ".join(
        f"{schema}.{name} holds {', '.join(sorted(versions))}"
        for name, schemas in sorted(shaped.items())
        for schema, versions in sorted(schemas.items())
    )
    return (
        f"tables of another name hold this configuration's revisions ({said}): set the alembic "
        "collector's `version_table` option to the one env.py names"
    )


def _shaped_holders(ctx: Context, url: str, setup: Setup, graph: Graph) -> dict[str, dict[str, list[str]]]:
    """The tables shaped like a version table (a text `version_num` column) but named otherwise that hold
    one of this configuration's revisions: name -> schema -> those revisions. Looked for only when no table
    of its own name was found, to say where they are; never taken for its own (a tenant's table, or another
    application's, may hold the same revisions)."""
    revisions = sorted(graph.scripts)
    holders: dict[str, dict[str, list[str]]] = {}
    if db.is_postgres(url):
        import psycopg
        from psycopg import sql

        conn = db.connect_pg(url, source=ctx.database_source)
        try:
            for schema, name in conn.execute(_PG_SHAPED).fetchall():
                if name == setup.version_table:
                    continue
                # NOTE: a version table holds a row or a few: the first rows of a table are read, never a
                # large table of the application's whole.
                query = sql.SQL(
                    "SELECT v::text FROM (SELECT version_num AS v FROM {} LIMIT {}) AS head"
                    " WHERE v::text = ANY(%s)"
                )
                rows = conn.execute(
                    query.format(sql.Identifier(schema, name), sql.Literal(_SHAPED_ROWS)), (revisions,)
                ).fetchall()
                if rows:
                    holders.setdefault(name, {})[schema] = sorted({row[0] for row in rows})
        except psycopg.Error:
            pass  # NOTE: a hint only: what cannot be read adds nothing, what was found stays
        finally:
            conn.close()
        return holders
    import json
    import sqlite3

    lite = db.connect_sqlite(url, ctx.root)
    try:
        for (name,) in lite.execute(_SQLITE_SHAPED).fetchall():
            if name == setup.version_table:
                continue
            quoted = '"' + name.replace('"', '""') + '"'
            rows = lite.execute(
                f"SELECT v FROM (SELECT version_num AS v FROM {quoted} LIMIT {_SHAPED_ROWS})"
                " WHERE v IN (SELECT value FROM json_each(?))",
                (json.dumps(revisions),),
            ).fetchall()
            if rows:
                holders[name] = {"main": sorted({str(row[0]) for row in rows})}
    except sqlite3.Error:
        pass  # NOTE: as above: what was found stays
    finally:
        lite.close()
    return holders


def _pair(
    setup: Setup, data: Any, text: str, status: Status, message: str | None, **timing: Any
) -> list[Output]:
    title = f"Applied alembic version ({setup.version_table})"
    return [
        Output(
            f"{setup.prefix}current.json",
            title,
            _JSON,
            data=_dump(data),
            status=status,
            message=message,
            **timing,
        ),
        Output(
            f"{setup.prefix}current.txt",
            title,
            _TEXT,
            data=text.encode(),
            status=status,
            message=message,
            **timing,
        ),
    ]


def _read_versions(ctx: Context, url: str, table: str) -> tuple[dict[str, list[str]], dict[str, str]]:
    if db.is_postgres(url):
        return _pg_versions(url, table, ctx.database_source)
    return _sqlite_versions(url, ctx.root, table)


@dataclass(frozen=True)
class Claim:
    """One alembic configuration of the collect or of its ini: what makes a version table its own."""

    name: str
    revisions: frozenset[str]
    version_table: str
    schema: str | None = None
    schema_from: str | None = None
    # NOTE: False for a configuration not applied to this database: it owns no empty table here.
    applied: bool = True


def _claim(setup: Setup, revisions: Iterable[str], root: Path) -> Claim:
    name = f"{_rel(setup.ini, root)} [{setup.section}]"
    return Claim(
        name,
        frozenset(revisions),
        setup.version_table,
        setup.version_table_schema,
        setup.version_table_schema_from,
        setup.in_database,
    )


def _rivals(mine: Claim, others: Sequence[Claim]) -> list[Claim]:
    """The configurations besides this one whose version table an empty one of this one's name may be: those
    naming the same table in no schema. None when this one names its schema (the schema decides)."""
    if mine.schema:
        return []
    return [o for o in others if o.version_table == mine.version_table and not o.schema and o.applied]


def _whose(schema: str, versions: list[str], mine: Claim, others: Sequence[Claim]) -> str | None:
    """Why the version table in `schema` is not this configuration's; None when it may be.

    PostgreSQL holds a version table of the same name in many schemas: one per configuration, one per
    tenant. A schema named by `version_table_schema` decides; else a table is this configuration's when
    it holds one of its revisions, or holds none at all (whether such a table is surely its own, or may
    as well be another's, see `_rivals`).
    """
    if mine.schema:
        if fnmatch.fnmatchcase(schema, mine.schema):
            return None
        return f"outside the schema {mine.schema} ({mine.schema_from})"
    for other in others:
        if (
            other.schema
            and other.version_table == mine.version_table
            and fnmatch.fnmatchcase(schema, other.schema)
        ):
            return f"in the schema of {other.name} (its `version_table_schema` {other.schema})"
    if not versions or mine.revisions.intersection(versions):
        return None
    owners = [other.name for other in others if other.revisions.intersection(versions)]
    if owners:
        return f"holds revisions of {', '.join(owners)}"
    return f"holds only revisions unknown to {', '.join(c.name for c in (mine, *others))}"


def _current_outputs(
    ctx: Context, graph: Graph, setup: Setup, mine: Claim, others: Sequence[Claim]
) -> tuple[list[Output], dict[str, Any]]:
    url = ctx.database_url
    if not setup.in_database:
        # NOTE: as configured, not a gap: the artifact is ok and says so (required evidence is there).
        reason = "not applied to this database (`database: false` in evidence.yaml)"
        unapplied = {"status": "not_applied", "reason": reason}
        return _pair(setup, unapplied, f"not read: {reason}\n", "ok", None), unapplied
    if url is None or not (db.is_postgres(url) or db.is_sqlite(url)):
        reason = (
            (f"the database URL cannot be built: {ctx.database_problem}" if ctx.database_problem else _NO_URL)
            if url is None
            else (f"only PostgreSQL and SQLite databases are read, not {url.split(':', 1)[0]!r}")
        )
        skipped = {"status": "skipped", "reason": reason}
        return _pair(setup, skipped, f"skipped: {reason}\n", "skipped", reason), skipped
    started, t0 = utcnow(), time.monotonic()
    shaped: dict[str, dict[str, list[str]]] = {}
    try:
        schemas, errors = _read_versions(ctx, url, setup.version_table)
        if not schemas and not errors and graph.scripts:
            shaped = _shaped_holders(ctx, url, setup, graph)
    except CollectorError as exc:
        failed = {"status": "error", "error": exc.message, "hint": exc.hint}
        text = exc.message + (f"\nTip: {exc.hint}" if exc.hint else "") + "\n"
        timing = {"started": started, "finished": utcnow(), "duration_s": round(time.monotonic() - t0, 3)}
        return _pair(setup, failed, text, "error", exc.message, **timing), failed
    timing = {"started": started, "finished": utcnow(), "duration_s": round(time.monotonic() - t0, 3)}
    postgres = db.is_postgres(url)
    # NOTE: SQLite has one version table, the one alembic reads: it is this configuration's.
    not_counted: dict[str, Any] = {}
    owner_unknown: dict[str, Any] = {}
    picked = (
        f"{setup.version_table_picked}, a table picked at run time; set the alembic collector's "
        "`version_table` option to the table it names"
    )
    for schema in sorted(schemas):
        versions = sorted(schemas[schema])
        why = _whose(schema, versions, mine, others) if postgres else None
        if why is None and postgres and not versions and _rivals(mine, others):
            names = ", ".join(sorted(c.name for c in (mine, *_rivals(mine, others))))
            owner_unknown[schema] = {
                "versions": versions,
                "reason": f"empty, and {names} all name {setup.version_table} with no schema: nothing tells "
                "whose it is (`version_table_schema` tells)",
            }
            del schemas[schema]
        elif why is not None:
            not_counted[schema] = {"versions": versions, "reason": why}
            del schemas[schema]
    for schema in [s for s in errors if postgres and _whose(s, [], mine, others) is not None]:
        del errors[schema]
    per_schema: dict[str, Any] = {}
    lines: list[str] = []
    if setup.version_table != DEFAULT_VERSION_TABLE:
        lines += [f"version table {setup.version_table} (named in {setup.version_table_from})", ""]
    for schema in sorted(schemas):
        versions = sorted(schemas[schema])
        unknown = [v for v in versions if v not in graph.scripts]
        shown, pending = graph.applied(versions)
        fresh = not pending and not unknown
        per_schema[schema] = {
            "versions": versions,
            "current": shown,
            "pending": pending,
            "unknown": unknown,
            "up_to_date": fresh,
        }
        state = "up to date" if fresh else f"{len(pending)} revision(s) not applied"
        if unknown:
            state += f", unknown version(s) {', '.join(unknown)}"
        lines.append(f"[{schema}] {state}")
        lines.extend(graph.current_line(rev) for rev in shown)
        lines.append("")
    for schema in sorted(errors):
        lines += [f"[{schema}] error: {errors[schema]}", ""]
    for schema, state in owner_unknown.items():
        lines += [f"[{schema}] unknown: {state['reason']}", ""]
    if not schemas and not errors and not owner_unknown:
        if setup.version_table_schema and postgres:
            lines.append(f"no {setup.version_table} table in the schema {setup.version_table_schema}")
        elif shaped:
            lines.append(f"no {setup.version_table} table found, but {_holding(shaped)}")
        elif setup.version_table_picked:
            lines.append(
                f"no {setup.version_table} table found, and it may not be this configuration's: {picked}"
            )
        elif not_counted:
            lines.append(f"no {setup.version_table} table holds a revision of this configuration")
        else:
            lines.append(f"no {setup.version_table} table found: no migration has been applied")
        lines.append("")
    for schema, state in not_counted.items():
        lines.append(f"[{schema}] not counted: {state['reason']}")
    up_to_date: bool | None = (
        all(s["up_to_date"] for s in per_schema.values()) if per_schema else not graph.scripts
    )
    if up_to_date and owner_unknown:
        # NOTE: an empty table that may be this configuration's is no proof either way: not known.
        up_to_date = None
    table_unknown = None
    if not per_schema and not errors and not owner_unknown and graph.scripts:
        # NOTE: env.py names its table at run time, or a table of another name holds this configuration's
        # revisions: the named one missing says nothing of the real one.
        if shaped:
            table_unknown = _holding(shaped) + (
                f" ({setup.version_table_picked})" if setup.version_table_picked else ""
            )
        elif setup.version_table_picked:
            table_unknown = picked
        up_to_date = None if table_unknown else up_to_date
    # NOTE: the revision was not read (the table holding it is another): no evidence that passes for it.
    status: Status = "error" if errors else "skipped" if table_unknown else "ok"
    current = {
        "status": status,
        "dialect": "postgresql" if postgres else "sqlite",
        "version_table": setup.version_table,
        "version_table_from": setup.version_table_from,
        "version_table_schema": setup.version_table_schema if postgres else None,
        "version_table_schema_from": setup.version_table_schema_from if postgres else None,
        "schemas": per_schema,
        "not_counted": not_counted,
        "owner_unknown": owner_unknown,
        "version_table_unknown": table_unknown,
        "errors": errors,
        "up_to_date": (up_to_date and not errors) if up_to_date is not None else None,
    }
    message = f"could not read {len(errors)} version table(s)" if errors else None
    if table_unknown and not errors:
        message = (
            f"the database's revision was not read: {table_unknown}; set the alembic configuration's "
            "`version_table` in evidence.yaml to the table env.py uses"
        )
    text = "\n".join(lines).rstrip("\n") + "\n"
    return _pair(setup, current, text, status, message, **timing), current


def _revision_entry(graph: Graph, rev: str) -> dict[str, Any]:
    script = graph.scripts[rev]
    return {
        "revision": rev,
        "down_revisions": list(script.down_revision),
        "depends_on": list(script.depends_on),
        "message": script.message,
        "branch_labels": sorted(graph.labels[rev]),
        "declared_branch_labels": list(script.branch_labels),
        "path": script.path,
        "is_head": not graph.next[rev],
        "is_base": not script.down_revision,
        "is_merge": graph.is_merge(rev),
        "is_branch_point": graph.is_branch_point(rev),
    }


def _config_outputs(
    ctx: Context, setup: Setup, found: Scan, mine: Claim, others: Sequence[Claim]
) -> list[Output]:
    p = setup.prefix
    graph = Graph(found.scripts)
    problems = found.problems + graph.problems
    if setup.locations_problem:
        problems.append(setup.locations_problem)
    outputs: list[Output] = []
    history: list[str] | None = None
    try:
        history = graph.history()
    except ValueError as exc:
        outputs.append(
            Output(
                f"{p}history.txt",
                "alembic history",
                _TEXT,
                data=f"{exc}\n".encode(),
                status="error",
                message=str(exc),
            )
        )
    else:
        text = "".join(graph.history_line(rev) + "\n" for rev in history)
        outputs.append(
            Output(
                f"{p}history.txt",
                "alembic history (as `alembic history` prints it)",
                _TEXT,
                data=text.encode(),
            )
        )
    outputs.append(
        Output(
            f"{p}heads.txt",
            "alembic heads (as `alembic heads` prints them)",
            _TEXT,
            data=graph.heads_text().encode(),
        )
    )
    graph_data = {
        "ini": _rel(setup.ini, ctx.root),
        "section": setup.section,
        "script_location": _rel(setup.script_location, ctx.root),
        "run_from": _rel(setup.run_from or setup.ini.parent, ctx.root),
        "plain_alembic_problem": plain_alembic_problem(setup.script_location / "env.py"),
        "migrate_command": setup.migrate_command,
        "version_locations": [_rel(loc, ctx.root) for loc in setup.version_locations],
        "version_locations_from": setup.locations_from,
        "parsed_by_service_python": found.reparsed,
        "count": len(graph.scripts),
        "heads": sorted(graph.heads),
        "bases": sorted(graph.bases),
        "branch_points": sorted(r for r in graph.scripts if graph.is_branch_point(r)),
        "merge_points": sorted(r for r in graph.scripts if graph.is_merge(r)),
        "branch_labels": {label: graph.label_owner[label] for label in sorted(graph.label_owner)},
        "history": history,
        "revisions": [_revision_entry(graph, rev) for rev in sorted(graph.scripts)],
        "problems": sorted(problems),
    }
    outputs.append(
        Output(f"{p}history.json", "alembic revision graph", _JSON, data=_dump_rows(graph_data, "revisions"))
    )
    current_outputs, current = _current_outputs(ctx, graph, setup, mine, others)
    outputs += current_outputs
    schemas = current.get("schemas")
    summary = {
        "count": len(graph.scripts),
        "heads": sorted(graph.heads),
        "bases": sorted(graph.bases),
        "multiple_heads": len(graph.heads) > 1,
        "current_status": current["status"],
        "version_table": setup.version_table,
        "current": {s: v["versions"] for s, v in schemas.items()} if isinstance(schemas, dict) else None,
        "up_to_date": current.get("up_to_date"),
        "problems": len(problems),
    }
    outputs.append(Output(f"{p}summary.json", "alembic summary", _JSON, data=_dump(summary)))
    if problems:
        outputs.append(
            Output(
                f"{p}problems.txt",
                "Migration files alembic would not load",
                _TEXT,
                data=("\n".join(sorted(problems)) + "\n").encode(),
                status="error",
                message=f"{len(problems)} problem(s) in the migrations, first: {sorted(problems)[0]}",
            )
        )
    for rel, source in found.files:
        outputs.append(Output(f"{p}migrations/{rel}", f"migration {rel}", "text/x-python", data=source))
    return outputs


def _prefixes(specs: list[Mapping[str, Any]]) -> list[str]:
    if len(specs) == 1:
        return [f"{specs[0]['label']}/" if specs[0].get("label") else ""]
    labels: list[str] = []
    for spec in specs:
        label = spec.get("label") or re.sub(r"[^A-Za-z0-9._-]", "_", str(spec.get("name", DEFAULT_SECTION)))
        labels.append(label)
    dupes = sorted({label for label in labels if labels.count(label) > 1})
    if dupes:
        raise CollectorError(
            f"several alembic configs would write to the same folder: {', '.join(dupes)}",
            hint="give each entry of `configs` its own `label`",
        )
    return [f"{label}/" for label in labels]


def sections(ini: Path) -> list[str]:
    """The sections of an ini file that set `script_location`: its alembic configurations."""
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    try:
        parser.read_string(ini.read_text("utf-8", errors="replace"), source=str(ini))
    except (configparser.Error, OSError):
        return []
    return config_sections(parser, ini.parent)


def own_folder(parser: configparser.ConfigParser, section: str, folder: Path) -> bool:
    """Whether an ini's section is the configuration of the migration folder the ini lies in, with no
    `script_location`: Flask-Migrate's `migrations/alembic.ini` beside its env.py, whose location the
    `flask db` commands set at run time."""
    return (
        section == DEFAULT_SECTION
        and not parser.has_option(section, "script_location")
        and (folder / "env.py").is_file()
    )


# NOTE: the sections of an alembic.ini for Python's logging and for post-write hooks, never Alembic's own.
_NOT_CONFIGS = re.compile(
    r"(?:loggers|handlers|formatters|post_write_hooks|(?:logger|handler|formatter)_.*)\Z"
)


def config_sections(parser: configparser.ConfigParser, folder: Path | None = None) -> list[str]:
    """The sections of a parsed ini that are Alembic configurations: those that set `script_location`,
    themselves or through `[DEFAULT]` (which every section inherits: then not the logging and hook
    sections beside them); with the ini's `folder`, else its `[alembic]` when it is that folder's own (see
    :func:`own_folder`)."""
    inherited = "script_location" in parser.defaults()
    found = [
        section
        for section in parser.sections()
        if parser.has_option(section, "script_location") and not (inherited and _NOT_CONFIGS.match(section))
    ]
    if not found and folder is not None and parser.has_section(DEFAULT_SECTION):
        found = [DEFAULT_SECTION] if own_folder(parser, DEFAULT_SECTION, folder) else []
    return found


def _claims(
    ctx: Context, read: Sequence[tuple[Setup, Scan]], python: interpreter.Interpreter | None
) -> list[Claim]:
    """What makes a version table each configuration's: those collected, then the other sections of their
    ini files (a section not listed in `configs` still owns its tables)."""
    claims = [_claim(setup, (s.revision for s in found.scripts), ctx.root) for setup, found in read]
    listed = {(setup.ini.resolve(), setup.section) for setup, _ in read}
    histories = {tuple(loc.resolve() for loc in setup.version_locations) for setup, _ in read}
    for ini in dict.fromkeys(setup.ini.resolve() for setup, _ in read):
        for section in sections(ini):
            if (ini, section) in listed:
                continue
            try:
                setup = resolve_setup(
                    ctx.root,
                    {"ini": str(ini), "name": section},
                    {},
                    database_url=ctx.database_url,
                    no_url=ctx.database_problem,
                    python=python,
                )
            except CollectorError:
                continue
            if tuple(loc.resolve() for loc in setup.version_locations) in histories:
                # NOTE: the same history for another database (a `[test]` section, say) owns nothing new.
                continue
            revisions = (s.revision for s in scan(setup, ctx.root, python, ctx.scratch).scripts)
            claims.append(_claim(setup, revisions, ctx.root))
    return claims


def collect(ctx: Context, options: Mapping[str, Any]) -> list[Output]:
    """Heads, history and graph of each alembic config, the database's version, and every migration file."""
    specs: list[Mapping[str, Any]] = list(options.get("configs") or [{}])
    python = interpreter.of(ctx, options)
    outputs: list[Output] = []
    failures: list[CollectorError] = []
    read: list[tuple[Setup, Scan]] = []
    for spec, prefix in zip(specs, _prefixes(specs), strict=True):
        try:
            setup = resolve_setup(
                ctx.root,
                spec,
                options,
                prefix,
                database_url=ctx.database_url,
                no_url=ctx.database_problem,
                python=python,
            )
        except CollectorError as exc:
            failures.append(exc)
            text = exc.message + (f"\nTip: {exc.hint}" if exc.hint else "") + "\n"
            outputs.append(
                Output(
                    f"{prefix}error.txt",
                    "alembic config error",
                    _TEXT,
                    data=text.encode(),
                    status="error",
                    message=exc.message,
                )
            )
            continue
        read.append((setup, scan(setup, ctx.root, python, ctx.scratch)))
    claims = _claims(ctx, read, python)
    for (setup, found), mine in zip(read, claims[: len(read)], strict=True):
        outputs += _config_outputs(ctx, setup, found, mine, [c for c in claims if c is not mine])
    if len(failures) == len(specs):
        if len(failures) == 1:
            raise failures[0]
        raise CollectorError(
            "no alembic config could be read",
            hint=failures[0].hint,
            details=[f.message for f in failures],
        )
    return outputs


def plan(root: Path, options: Mapping[str, Any]) -> Intent:
    """What `collect --plan` shows: the ini files and sections read, and the database's version table."""
    configs = options.get("configs") or [{}]
    reads = [
        f"{c.get('ini', DEFAULT_INI)} [{c.get('name', DEFAULT_SECTION)}] and its migration scripts (not run)"
        for c in configs
    ]
    return Intent(reads=(*reads, "the database: the applied version"))
