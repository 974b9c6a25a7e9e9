"""Static facts about Python code, read with `ast`: create_all, Alembic runs, pytest hooks, row locks.

Only code counts: a comment or a docstring that mentions `create_all` or `FOR UPDATE` is not a fact.
`.git` and `__pycache__` folders are never read.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from evidence_kit.errors import CollectorError
from evidence_kit.model import Context, Intent, Output, Status
from evidence_kit.support import foreign, interpreter
from evidence_kit.support.paths import RULE, inside, shown, split_glob
from evidence_kit.support.pyscan import SESSION_HOOKS, FileFacts, scan_source

NAME = "codefacts"

DEFAULT_PATHS = ("**/*.py",)
DEFAULT_EXCLUDE = (".venv/**", "venv/**", "**/site-packages/**", "node_modules/**", ".evidence/**")
DEFAULT_TESTS = ("**/tests/**", "**/test_*.py", "**/*_test.py", "**/conftest.py")
PARTS = ("app", "tests", "migrations")

_GLOBS = {"type": "array", "items": {"type": "string", "minLength": 1}}
OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "paths": {
            **_GLOBS,
            "minItems": 1,
            "default": list(DEFAULT_PATHS),
            "description": "Globs of the Python files to read, relative to evidence.yaml; `**` recurses "
            "(default `**/*.py`).",
        },
        "exclude": {
            **_GLOBS,
            "default": list(DEFAULT_EXCLUDE),
            "description": "Globs of files not to read; a folder matched by `<folder>/**` is not entered "
            "(default: virtualenvs, site-packages, node_modules, .evidence).",
        },
        "tests": {
            **_GLOBS,
            "default": list(DEFAULT_TESTS),
            "description": "Globs that mark test files; facts are split into app code, tests and "
            "migrations (default `**/tests/**`, `**/test_*.py`, `**/*_test.py`, `**/conftest.py`).",
        },
        "migrations": {
            **_GLOBS,
            "description": "Globs that mark migration files, which are neither app code nor tests "
            "(default: every Alembic migration folder, i.e. a `versions` folder beside an `env.py` or "
            "`script.py.mako`, and that `env.py`).",
        },
        "python": {
            **interpreter.OPTION,
            "description": "Interpreter that parses the files evidence-kit's own Python cannot (newer "
            "syntax); default: the top-level `python:`.",
        },
    },
}

_TEXT = "text/plain"
_JSON = "application/json"
_SKIP_DIRS = frozenset({".git", "__pycache__"})
_SCHEMA = ("create_all", "drop_all")


def glob_regex(pattern: str) -> re.Pattern[str]:
    """A regex matching relative POSIX paths like the glob: `**` spans folders, `*` and `?` do not."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pattern.startswith("**", i):
            out.append(".*")
            i += 2
        elif pattern[i] == "*":
            out.append("[^/]*")
            i += 1
        elif pattern[i] == "?":
            out.append("[^/]")
            i += 1
        elif pattern[i] == "[" and "]" in pattern[i + 2 :]:
            end = pattern.index("]", i + 2)
            body = pattern[i + 1 : end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body).replace("\\", "\\\\") + "]")
            i = end + 1
        else:
            out.append(re.escape(pattern[i]))
            i += 1
    return re.compile("".join(out))


def _patterns(values: Iterable[str], option: str, root: Path | None = None) -> list[re.Pattern[str]]:
    """Each glob as a regex over paths relative to `root`; a glob may reach up inside the repository."""
    compiled = []
    for value in values:
        rel = PurePosixPath(value)
        if rel.is_absolute() or ".." in rel.parts[_ups(value) :] or (root is None and ".." in rel.parts):
            raise CollectorError(
                f"codefacts: {option} glob {value!r} must be relative to evidence.yaml's folder",
                hint=f"{RULE}; `..` may only lead a glob, e.g. `../shared/**/*.py`",
            )
        if root is not None and _ups(value):
            inside(root, split_glob(value)[0], f"codefacts: {option} glob")
        compiled.append(glob_regex(value.removeprefix("./")))
    return compiled


def _ups(value: str) -> int:
    """How many `..` lead a glob."""
    parts = PurePosixPath(value.removeprefix("./")).parts
    count = 0
    while count < len(parts) and parts[count] == "..":
        count += 1
    return count


def _matches(rel: str, patterns: list[re.Pattern[str]]) -> bool:
    return any(p.fullmatch(rel) for p in patterns)


def find_files(root: Path, paths: list[str], exclude: list[str]) -> list[str]:
    """Relative POSIX paths of the files matching `paths` and no `exclude`, sorted.

    Globs are relative to `root`; one led by `..` (`../shared/**/*.py`) reaches up inside the
    repository, and only such globs match files outside `root`.
    """
    wanted = _patterns(paths, "paths", root)
    unwanted = _patterns(exclude, "exclude", root)
    outside = [glob_regex(v) for v in paths if _ups(v)]
    # NOTE: pruning `.venv/**`-style folders keeps a scan of a service with a virtualenv in it fast.
    pruned = [glob_regex(p[:-3]) for p in exclude if p.endswith("/**")]
    bases = [root, *(Path(os.path.normpath(root / split_glob(v)[0])) for v in paths if _ups(v))]
    found: set[str] = set()
    for base in bases:
        for folder, dirs, files in os.walk(base):
            here = shown(root, Path(folder))
            prefix = "" if here == "." else here + "/"
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not _matches(prefix + d, pruned))
            for name in files:
                rel = prefix + name
                match = _matches(rel, outside if rel.startswith("../") else wanted)
                if match and not _matches(rel, unwanted) and os.path.isfile(os.path.join(folder, name)):
                    found.add(rel)
    return sorted(found)


def _sorted(items: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(items, key=lambda d: (d["path"], d["line"] or 0, json.dumps(d, sort_keys=True)))


def _split(facts: list[FileFacts], attr: str) -> dict[str, list[dict[str, Any]]]:
    return {
        part: _sorted(item for f in facts if f.part == part for item in getattr(f, attr)) for part in PARTS
    }


def _own_schema_methods(facts: list[FileFacts]) -> None:
    """Mark calls of a create_all/drop_all the service defines itself (on a receiver that is not visibly
    SQLAlchemy metadata): `self.exporter.drop_all()` of the service's own class is not schema-building."""
    own = {item["name"] for f in facts if f.part != "tests" for item in f.defines}
    for f in facts:
        for item in f.schema_calls:
            if item.get("receiver_kind") == "other" and item["method"] in own:
                item["receiver_kind"] = "service method"


def _one_hop(facts: list[FileFacts]) -> list[dict[str, Any]]:
    """Calls in the tests of a function of the service's own code that itself runs Alembic or builds or
    drops the schema (create_all, drop_all): one hop, no further."""
    runs: dict[tuple[str, str], dict[str, Any]] = {}
    for f in facts:
        if f.part != "app":
            continue
        building = [
            {**c, "via": c["method"]}
            for c in f.schema_calls
            if c.get("form") == "call" and c.get("receiver_kind") != "service method"
        ]
        for item in sorted((*f.alembic_runs, *building), key=lambda i: i["line"] or 0):
            runs.setdefault((f.path, item["scope"]), item)
    if not runs:
        return []
    # NOTE: a module by every dotted tail of its path (`src/pkg/db.py` is `pkg.db` and `src.pkg.db`).
    modules: dict[str, str] = {}
    for path in sorted({path for path, _ in runs}, key=lambda p: (p.count("/"), p)):
        parts = PurePosixPath(path).with_suffix("").parts
        parts = parts[:-1] if parts[-1] == "__init__" else parts
        for i in range(len(parts)):
            modules.setdefault(".".join(parts[i:]), path)
    found = []
    for f in facts:
        if f.part != "tests":
            continue
        for call in f.imported_calls:
            module, _, name = call["target"].rpartition(".")
            run = runs.get((modules.get(module, ""), name))
            if run is not None:
                found.append(
                    {
                        "path": run["path"],
                        "line": run["line"],
                        "function": name,
                        "via": run["via"],
                        "called_from": f"{f.path}:{call['line']}",
                    }
                )
    return _sorted(found)


def migration_files(root: Path, files: list[str]) -> set[str]:
    """The files of Alembic migration folders: below a `versions` folder beside an `env.py` or a
    `script.py.mako` (alembic's script_location layout), and that `env.py`."""
    found: set[str] = set()
    known: dict[str, bool] = {}

    def is_location(folder: str) -> bool:
        if folder not in known:
            base = root / folder
            known[folder] = (base / "env.py").is_file() or (base / "script.py.mako").is_file()
        return known[folder]

    for rel in files:
        parts = rel.split("/")
        for i, name in enumerate(parts[:-1]):
            if name == "versions" and is_location("/".join(parts[:i])):
                found.add(rel)
                break
        if (
            parts[-1] == "env.py"
            and is_location("/".join(parts[:-1]))
            and (root / rel).with_name("versions").is_dir()
        ):
            found.add(rel)
    return found


def _parse_error(path: str, exc: BaseException) -> dict[str, Any]:
    line = getattr(exc, "lineno", None)
    message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
    return {"path": path, "line": line, "error": " ".join(f"{type(exc).__name__}: {message}".split())}


def _reparse(
    root: Path, retry: list[str], tests: list[re.Pattern[str]], python: interpreter.Interpreter, scratch: Path
) -> tuple[list[FileFacts], dict[str, dict[str, Any]]]:
    """Facts of the files the tool's Python could not parse, read in the service's interpreter."""
    items: list[list[Any]] = [[rel, str(root / rel), _matches(rel, tests)] for rel in retry]
    results = foreign.read(python, "codefacts", items, scratch=scratch, cwd=root)
    facts: list[FileFacts] = []
    errors: dict[str, dict[str, Any]] = {}
    for rel, result in zip(retry, results, strict=True):
        if "facts" in result:
            facts.append(FileFacts(**result["facts"]))
        else:
            errors[rel] = {"path": rel, "line": result.get("line"), "error": str(result.get("error"))}
    return facts, errors


def gather(
    root: Path,
    paths: list[str],
    exclude: list[str],
    tests: list[str],
    migrations: list[str] | None = None,
    python: interpreter.Interpreter | None = None,
    scratch: Path | None = None,
) -> dict[str, Any]:
    """Scan the files under `root` and return the report that becomes `codefacts.json`.

    Files that evidence-kit's own Python cannot parse are parsed again in `python` (the service's
    interpreter) when one is given; those that still fail are listed in `parse_errors`.
    """
    test_patterns = _patterns(tests, "tests", root)
    facts: list[FileFacts] = []
    errors: dict[str, dict[str, Any]] = {}
    retry: list[str] = []
    files = find_files(root, paths, exclude)
    if migrations is None:
        migrating = migration_files(root, files)
    else:
        globs = _patterns(migrations, "migrations")
        migrating = {rel for rel in files if _matches(rel, globs)}
    for rel in files:
        try:
            facts.append(scan_source(rel, (root / rel).read_bytes(), _matches(rel, test_patterns)))
        except SyntaxError as exc:
            errors[rel] = _parse_error(rel, exc)
            retry.append(rel)
        except (ValueError, OSError, RecursionError, MemoryError) as exc:
            # NOTE: one unreadable file must not hide the facts of the others.
            errors[rel] = _parse_error(rel, exc)
    reparsed = 0
    problem: str | None = None
    if retry and python is not None:
        try:
            with tempfile.TemporaryDirectory(prefix="evidence-codefacts-") as spare:
                more, still = _reparse(root, retry, test_patterns, python, scratch or Path(spare))
        except CollectorError as exc:
            problem = exc.message
        else:
            reparsed = len(more)
            facts += more
            for rel in retry:
                errors.pop(rel, None)
            errors.update(still)
    facts.sort(key=lambda f: f.path)
    for found in facts:
        found.part = "migrations" if found.path in migrating else "tests" if found.test else "app"
    _own_schema_methods(facts)
    alembic = _split(facts, "alembic_runs")
    hops = _one_hop(facts)
    return {
        "options": {"paths": paths, "exclude": exclude, "tests": tests, "migrations": migrations},
        "files": {
            "scanned": len(files),
            "parsed": len(facts),
            "tests": sum(1 for rel in files if _matches(rel, test_patterns) and rel not in migrating),
            "migrations": len(migrating),
            "unparsable": len(errors),
            "parsed_by_service_python": reparsed,
        },
        "schema_methods_defined": _sorted(item for f in facts if f.part == "app" for item in f.defines),
        "schema_calls": _split(facts, "schema_calls"),
        "alembic_runs": alembic,
        "tests_run_alembic": bool(alembic["tests"]) or any(h["via"] not in _SCHEMA for h in hops),
        "tests_reach_through_service_code": hops,
        "session_fixtures": _sorted(item for f in facts for item in f.fixtures),
        "pytest_hooks": _sorted(item for f in facts for item in f.hooks),
        "row_locks": {"sql": _split(facts, "sql_locks"), "orm": _split(facts, "orm_locks")},
        "parse_errors": _sorted(errors.values()),
        **({"reparse_error": problem} if problem else {}),
    }


def _at(item: Mapping[str, Any]) -> str:
    return f"{item['path']}:{item['line']}" if item.get("line") else str(item["path"])


def _block(
    title: str, split: Mapping[str, list[dict[str, Any]]], fmt: Callable[[dict[str, Any]], str]
) -> list[str]:
    lines = [title]
    for part, label in (("app", "app code"), ("tests", "tests"), ("migrations", "migrations")):
        items = split.get(part, [])
        lines.append(f"  {label} ({len(items)}):" if items else f"  {label}: none")
        lines += [f"    {_at(item)}  {fmt(item)}" for item in items]
    return [*lines, ""]


def _own(item: Mapping[str, Any]) -> str:
    return (
        "  [the service's own method, not SQLAlchemy's]"
        if item.get("receiver_kind") == "service method"
        else ""
    )


def _lock_flags(item: Mapping[str, Any]) -> str:
    flags = [name.upper().replace("_", " ") for name in ("skip_locked", "nowait") if item.get(name)]
    return f"{item['lock']} " + (
        " ".join(flags) if flags else "(no SKIP LOCKED or NOWAIT: waits for locked rows)"
    )


def render(report: Mapping[str, Any]) -> str:
    """The readable form of the report: one section per fact, `path:line` first."""
    files = report["files"]
    lines = [
        f"Python files read: {files['scanned']} ({files['tests']} test files, "
        f"{files.get('migrations', 0)} in migration folders), {files['unparsable']} could not be parsed"
        + (
            f", {files['parsed_by_service_python']} parsed by the service's interpreter"
            if files.get("parsed_by_service_python")
            else ""
        ),
        "",
    ]
    lines += _block(
        "create_all / drop_all (schema made without migrations)",
        report["schema_calls"],
        lambda i: f"{i['method']} ({i['form']})  {i['code']}{_own(i)}",
    )
    # NOTE: calls from the tests are followed one hop into the service's own functions, no further; so
    # "no" says only that much.
    hops = report.get("tests_reach_through_service_code") or []
    direct = any(report["alembic_runs"]["tests"])
    alembic_hops = [h for h in hops if h["via"] not in _SCHEMA]
    schema_hops = [h for h in hops if h["via"] in _SCHEMA]
    if direct:
        verdict = "yes"
    elif alembic_hops:
        verdict = "via " + ", ".join(f"{_at(h)} (called from {h['called_from']})" for h in alembic_hops)
    else:
        verdict = "not directly, nor in a service function they call (deeper calls are not followed)"
    if schema_hops and not direct:
        verdict += "; they reach " + ", ".join(
            f"{h['via']} at {_at(h)} (called from {h['called_from']})" for h in schema_hops
        )
    lines += _block(
        f"Alembic run by code (tests run Alembic: {verdict})",
        report["alembic_runs"],
        lambda i: f"{i['via']}  {i['code']}",
    )
    fixtures = report["session_fixtures"]
    lines.append(
        f"pytest session-scoped fixtures ({len(fixtures)}):" if fixtures else "pytest session fixtures: none"
    )
    lines += [
        f"  {_at(f)}  {f['name']}{'  (autouse)' if f['autouse'] else ''}  {f['decorator']}" for f in fixtures
    ]
    lines.append("")
    hooks = report["pytest_hooks"]
    lines.append("pytest session hooks:")
    for name in SESSION_HOOKS:
        where = [_at(h) for h in hooks if h["name"] == name]
        lines.append(f"  {name}: {', '.join(where) if where else 'none'}")
    others = [h for h in hooks if h["name"] not in SESSION_HOOKS]
    if others:
        lines.append("  other pytest_* functions:")
        lines += [f"    {_at(h)}  {h['name']}" for h in others]
    lines.append("")
    locks = report["row_locks"]
    lines += _block(
        "Row locks in SQLAlchemy (with_for_update)", locks["orm"], lambda i: f"{_lock_flags(i)}  {i['code']}"
    )
    lines += _block(
        "Row locks in SQL strings (FOR UPDATE)",
        locks["sql"],
        lambda i: f"{_lock_flags(i)}{'' if i['statement'] else ' [fragment, no SELECT]'}  {i['sql']}",
    )
    errors = report["parse_errors"]
    lines.append(
        f"Files that could not be parsed ({len(errors)}):"
        if errors
        else "Files that could not be parsed: none"
    )
    lines += [f"  {_at(e)}  {e['error']}" for e in errors]
    return "\n".join(lines) + "\n"


def _verdict(report: Mapping[str, Any], python: interpreter.Interpreter | None) -> tuple[Status, str | None]:
    errors = report["parse_errors"]
    if not errors:
        return "ok", None
    first = errors[0]
    message = (
        f"{len(errors)} of {report['files']['scanned']} Python file(s) could not be parsed, "
        f"first {_at(first)}: {first['error']}"
    )
    if report.get("reparse_error"):
        message += f"; the service's interpreter could not read them either: {report['reparse_error']}"
    elif python is None:
        message += (
            "; set `python:` in evidence.yaml to the service's interpreter to parse syntax newer than "
            "evidence-kit's own Python, or exclude the files"
        )
    else:
        message += f" (not by {python.path} either); fix or exclude them"
    return "error", message


def gather_with(
    root: Path,
    options: Mapping[str, Any],
    python: interpreter.Interpreter | None = None,
    scratch: Path | None = None,
) -> dict[str, Any]:
    """`gather` with the collector's options as evidence.yaml gives them, defaults filled in."""
    given = options.get("migrations")
    return gather(
        root,
        list(options.get("paths") or DEFAULT_PATHS),
        list(options.get("exclude", DEFAULT_EXCLUDE)),
        list(options.get("tests", DEFAULT_TESTS)),
        list(given) if given is not None else None,
        python,
        scratch,
    )


def collect(ctx: Context, options: Mapping[str, Any]) -> list[Output]:
    """Scan the service's Python files once each and write `codefacts.json` and `codefacts.txt`."""
    python = interpreter.of(ctx, options)
    report = gather_with(ctx.root, options, python, ctx.scratch)
    status, message = _verdict(report, python)
    data = (json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    return [
        Output("codefacts.json", "Static code facts", _JSON, data=data, status=status, message=message),
        Output(
            "codefacts.txt",
            "Static code facts (readable)",
            _TEXT,
            data=render(report).encode(),
            status=status,
            message=message,
        ),
    ]


def plan(root: Path, options: Mapping[str, Any]) -> Intent:
    """What `collect --plan` shows: the Python files parsed (never imported)."""
    wanted = ", ".join(options.get("paths") or DEFAULT_PATHS)
    skipped = ", ".join(options.get("exclude", DEFAULT_EXCLUDE)) or "nothing"
    return Intent(reads=(f"Python files matching {wanted}, parsed, not imported (excluding {skipped})",))
