"""Shared by the EK2xx checks: the target's Alembic revision graphs, read statically.

Which Alembic configurations are read, first rule that gives any:

1. the rule's `configs` option (`path` or `path#section`, relative to the source root);
2. the configurations of the `evidence.yaml` files that apply (`evidence check --config`, else every
   `evidence.yaml` found below the source root): each one's `collectors.alembic.configs`, named
   sections, labels and `script_location`/`version_table` overrides included (`alembic.ini` beside
   it when the collector is on without `configs`), and its `python:` (files in syntax newer than
   evidence-kit's own Python are parsed there, as the collector does);
3. every `*.ini` file below the source root with a section holding `script_location`, each such
   section one configuration (as `evidence init` finds them; virtualenvs, `node_modules` and `.git`
   skipped, and inside a git repository only the files git would track).

Each configuration is read the way the alembic collector reads it (its reader, not a copy). A check
that finds no configuration, or no revision file in any of them, is skipped with the reason; it
never passes on nothing.
"""

from __future__ import annotations

import ast
import os
import re
import weakref
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidence_kit.errors import EvidenceError
from evidence_kit.evidence.alembic import does_nothing
from evidence_kit.model import Finding
from evidence_kit.policy.target import Skipped

if TYPE_CHECKING:
    from evidence_kit.collectors.alembic import Graph, Script
    from evidence_kit.config import Config
    from evidence_kit.policy.packs import Rule
    from evidence_kit.policy.target import Target
    from evidence_kit.support.interpreter import Interpreter

OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "configs": {
            "type": "array",
            "items": {"type": "string"},
            "description": "alembic.ini files, relative to the source root, as `path` or `path#section` "
            "(default: the Alembic configurations of evidence.yaml, else every alembic.ini found).",
        },
        "baseline": {
            "type": "array",
            "items": {"type": "string", "minLength": 1},
            "description": "Revisions already applied when these rules were adopted (e.g. the heads "
            "`evidence init` found): they and every revision before them are history and not checked; "
            "the revisions that come after them are. An id that no configuration holds is a finding.",
        },
    },
}


@dataclass(frozen=True)
class Source:
    """One Alembic configuration as the checks read it: its graph, or why it could not be read."""

    label: str
    ini: str
    graph: Graph | None = None
    error: str | None = None
    problem: str | None = None

    @property
    def empty(self) -> bool:
        """True when the configuration was read but holds no revision file."""
        return self.graph is not None and not self.graph.scripts


_CACHE: weakref.WeakKeyDictionary[Target, dict[tuple[str, ...], tuple[str, list[Source]]]] = (
    weakref.WeakKeyDictionary()
)


def _rel(path: Path, root: Path) -> str:
    return Path(os.path.relpath(path.absolute(), root.absolute())).as_posix()


def _label(ini: str, section: str) -> str:
    return ini if section == "alembic" else f"{ini} [{section}]"


_Spec = tuple[Path, dict[str, Any], Mapping[str, Any], str | None, str | None, str | None]


def _database_url(config: Config) -> str | None:
    """The database URL a collect with this config would use (some env.py files pick the version folder
    by its dialect), or None when it cannot be told."""
    try:
        return config.database_url(os.environ)
    except EvidenceError:
        return None


def _specs(target: Target, rule: Rule) -> tuple[str, list[_Spec]]:
    """(where the list came from, [(base folder, config entry, collector options, python, database URL)])."""
    assert target.root is not None
    given = rule.options.get("configs")
    if given:
        specs: list[_Spec] = []
        for spec in given:
            ini, _, section = str(spec).partition("#")
            specs.append((target.root, {"ini": ini, "name": section or "alembic"}, {}, None, None, None))
        return "the rule's `configs` option", specs
    from_yaml: list[_Spec] = []
    for config in target.configs:
        options = config.collectors.get("alembic")
        if options is None:
            continue
        url = _database_url(config)
        no_url = None if url else config.url_hint(os.environ)
        for entry in options.get("configs") or [{}]:
            python = options.get("python") or config.python
            from_yaml.append(
                (config.root, dict(entry), options, str(python) if python else None, url, no_url)
            )
    if from_yaml:
        return "evidence.yaml", from_yaml
    return "the repository", [(target.root, spec, {}, None, None, None) for spec in discover(target.root)]


def discover(root: Path) -> list[dict[str, Any]]:
    """Every Alembic configuration below `root`: ini files with a section holding `script_location`."""
    from evidence_kit.collectors.alembic import sections
    from evidence_kit.support.tree import find

    found = [
        {"ini": rel, "name": section}
        for rel in find(root, lambda rel: rel.endswith(".ini"))
        for section in sections(root / rel)
    ]
    # NOTE: the conventional file and section first, as alembic itself would pick them.
    found.sort(key=lambda s: (s["ini"] != "alembic.ini", s["ini"], s["name"] != "alembic", s["name"]))
    return found


def sources(target: Target, rule: Rule) -> list[Source]:
    """Every Alembic configuration the checks read, each with its graph or its error."""
    return _sources(target, rule)[1]


def _sources(target: Target, rule: Rule) -> tuple[str, list[Source]]:
    key = tuple(str(s) for s in rule.options.get("configs") or ())
    cached = _CACHE.setdefault(target, {})
    if key not in cached:
        cached[key] = _read(target, rule)
    return cached[key]


def _read(target: Target, rule: Rule) -> tuple[str, list[Source]]:
    from evidence_kit.collectors.alembic import DEFAULT_INI, DEFAULT_SECTION, resolve_setup

    assert target.root is not None
    origin, specs = _specs(target, rule)
    found = []
    for base, spec, options, python, url, no_url in specs:
        ini = _rel(base / str(spec.get("ini", DEFAULT_INI)), target.root)
        label = _label(ini, str(spec.get("name", DEFAULT_SECTION)))
        service_python = _interpreter(base, python)
        try:
            setup = resolve_setup(base, spec, options, database_url=url, no_url=no_url, python=service_python)
        except EvidenceError as exc:
            found.append(Source(label, ini, error=exc.message))
            continue
        if setup.dialect_folders:
            # NOTE: env.py picks one folder by the database's dialect; every dialect's migrations are the
            # service's, so each folder is read as a history of its own, whatever database is set now.
            for folder in setup.dialect_folders:
                one = replace(setup, version_locations=(folder,), locations_problem=None)
                found.append(
                    _source(f"{label}, {_rel(folder, target.root)}", ini, one, target.root, service_python)
                )
            continue
        found.append(_source(label, ini, setup, target.root, service_python))
    return origin, found


def _source(label: str, ini: str, setup: Any, root: Path, python: Any) -> Source:
    from evidence_kit.collectors.alembic import Graph, scan

    read = scan(setup, root, python)
    graph = Graph(read.scripts)
    graph.problems[:0] = read.problems
    return Source(label, ini, graph=graph, problem=setup.locations_problem)


def _interpreter(base: Path, python: str | None) -> Interpreter | None:
    """The service's interpreter (`EVIDENCE_PYTHON`, else the one evidence.yaml names), for files newer
    than evidence-kit's own Python."""
    from evidence_kit.support.interpreter import resolve

    try:
        return resolve(base, None, python)
    except EvidenceError:
        return None


def nothing_to_read(target: Target, rule: Rule, found: list[Source]) -> str:
    """Why no migration could be read (the reason of a skipped check)."""
    assert target.root is not None
    origin = _sources(target, rule)[0]
    if not found:
        yaml = (
            "evidence.yaml does not turn on the alembic collector"
            if target.configs
            else "no evidence.yaml lists one"
        )
        return f"no Alembic configuration: {yaml} and no alembic.ini was found below {target.root}"
    reasons = []
    for source in found:
        if source.error is not None:
            reasons.append(f"{source.label}: {source.error}")
        elif source.problem is not None:
            reasons.append(f"{source.label}: no revision file read: {source.problem}")
        else:
            reasons.append(f"{source.label}: no revision file in its version locations")
    return f"no migration was read (configurations from {origin}): " + "; ".join(reasons)


def graphs(target: Target, rule: Rule) -> Iterator[tuple[str, Graph]]:
    """(label, graph) of each configuration that holds revisions; Skipped when none does."""
    found = sources(target, rule)
    readable = [s for s in found if s.graph is not None and s.graph.scripts]
    if not readable:
        raise Skipped(nothing_to_read(target, rule, found))
    for source in readable:
        assert source.graph is not None
        yield source.label, source.graph


def scripts(target: Target, rule: Rule) -> Iterator[tuple[Script, Path]]:
    """Every revision script with its file, in the rule's include/exclude scope, after its `baseline`."""
    from evidence_kit.policy.target import _excluded

    assert target.root is not None
    baseline = [str(rev) for rev in rule.options.get("baseline") or ()]
    # NOTE: (label, read, before, excluded, the baseline ids it holds) of each history: a folder per
    # dialect is a history of its own, and a sum over them is a count no database ever holds.
    tallies: list[tuple[str, int, int, int, list[str]]] = []
    for label, graph in graphs(target, rule):
        history = _history(graph, baseline)
        read = before = excluded = 0
        for rev, script in graph.scripts.items():
            read += 1
            if rev in history:
                before += 1
            elif _excluded(script.path, rule.exclude):
                excluded += 1
            else:
                yield script, target.root / script.path
        tallies.append((label, read, before, excluded, [rev for rev in baseline if rev in graph.scripts]))
    # NOTE: an unknown baseline revision is a finding the check already gave: it fails, not skips.
    if all(before + excluded == read for _, read, before, excluded, _ in tallies) and not _unknown(
        target, rule
    ):
        # NOTE: a check that looked at no revision proves nothing: it must not pass.
        counted = []
        for label, read, before, excluded, held in tallies:
            why = [f"{before} at or before the baseline ({', '.join(held)})"] if before else []
            why += [f"{excluded} excluded by the rule's `exclude`"] if excluded else []
            counted.append(
                ("" if len(tallies) == 1 else f"{label}: ") + f"of the {read} read, {' and '.join(why)}"
            )
        after = (
            "; the check runs on the revisions added after the baseline"
            if any(before for _, _, before, _, _ in tallies)
            else ""
        )
        raise Skipped(f"no revision to check: {'; '.join(counted)}{after}")


def _history(graph: Graph, baseline: Iterable[str]) -> set[str]:
    """The baseline revisions this graph holds and all that come before them."""
    todo = [rev for rev in baseline if rev in graph.scripts]
    seen: set[str] = set()
    while todo:
        rev = todo.pop()
        if rev not in seen:
            seen.add(rev)
            todo.extend(graph.all_down.get(rev, ()))
    return seen


def unknown_baseline(target: Target, rule: Rule, check: str) -> Iterator[Finding]:
    """A finding for each `baseline` revision that no configuration read holds (a typo would otherwise
    leave the whole history checked, or nothing, without a word)."""
    # NOTE: a configuration read only in part (an error, a version folder env.py picks by dialect) may
    # hold the id: then that is what to fix, not the baseline.
    partial = [f"{s.label}: {s.error or s.problem}" for s in sources(target, rule) if s.error or s.problem]
    fix = (
        f"the configurations were not all read ({'; '.join(partial)})"
        if partial
        else "fix the rule's `baseline`"
    )
    for rev in _unknown(target, rule):
        yield Finding(
            check,
            f"baseline revision {rev} is in no Alembic configuration read; {fix}",
            snippet=f"baseline {rev}",
        )


def _unknown(target: Target, rule: Rule) -> list[str]:
    """The rule's `baseline` revisions that no configuration read holds."""
    held = {rev for _, graph in graphs(target, rule) for rev in graph.scripts}
    return [str(rev) for rev in rule.options.get("baseline") or () if str(rev) not in held]


def is_merge(script: Script) -> bool:
    """True for a merge revision (two or more down revisions): nothing of its own to undo or do."""
    return len(script.down_revision) > 1


@dataclass(frozen=True)
class Outline:
    """What the migration checks read of a file: its module-level functions and assignments."""

    functions: dict[str, tuple[int, bool]]
    assigned: dict[str, int]
    parsed: bool

    def line(self, name: str) -> int:
        """The line where a module-level name is assigned or defined, 1 when absent."""
        if name in self.functions:
            return self.functions[name][0]
        return self.assigned.get(name, 1)


def outline(source: bytes) -> Outline:
    """The file's outline from `ast`; for syntax newer than this Python, from its text.

    The text reading needs only what every Python since 3.0 writes the same way: `def name(` at
    the start of a line, its body indented below it, `name =` at the start of a line.
    """
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return _text_outline(source.decode("utf-8", errors="replace"))
    functions = {
        node.name: (node.lineno, does_nothing(node))
        for node in tree.body
        if isinstance(node, ast.FunctionDef)
    }
    assigned: dict[str, int] = {}
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        for t in targets:
            if isinstance(t, ast.Name):
                assigned.setdefault(t.id, node.lineno)
    return Outline(functions, assigned, True)


_DEF = re.compile(r"^(?:async\s+)?def\s+(\w+)\s*[\[(]")
_ASSIGN = re.compile(r"^(\w+)\s*(?::[^=]*)?=(?!=)")
_QUOTES = ('"""', "'''")


def _text_outline(text: str) -> Outline:
    lines = text.splitlines()
    functions: dict[str, tuple[int, bool]] = {}
    assigned: dict[str, int] = {}
    i = 0
    while i < len(lines):
        line = lines[i]
        found = _DEF.match(line)
        if found:
            body: list[str] = []
            j = i + 1
            while j < len(lines) and (
                not lines[j].strip() or lines[j][:1].isspace() or lines[j].startswith("#")
            ):
                body.append(lines[j])
                j += 1
            functions[found[1]] = (i + 1, _body_does_nothing(line, body))
            i = j
            continue
        assignment = _ASSIGN.match(line)
        if assignment:
            assigned.setdefault(assignment[1], i + 1)
        i += 1
    return Outline(functions, assigned, False)


def _body_does_nothing(header: str, body: list[str]) -> bool:
    """True when a function's text holds only docstrings, comments, `pass`, `...`, NotImplementedError."""
    inline = header.split(":", 1)[1].strip() if header.rstrip().endswith(("pass", "...")) else ""
    statements: list[str] = [inline] if inline else []
    quote: str | None = None
    for raw in body:
        text = raw.strip()
        if quote is not None:
            if quote in text:
                quote = None
            continue
        if not text or text.startswith("#"):
            continue
        opener = next((q for q in _QUOTES if text.startswith(q) or text[1:].startswith(q)), None)
        if opener is not None:
            rest = text[text.index(opener) + 3 :]
            if opener not in rest:
                quote = opener
            continue
        statements.append(text.split("#", 1)[0].strip())
    return all(
        s in ("pass", "...") or s.startswith(("raise NotImplementedError", '"', "'")) for s in statements
    )
