"""Static facts about Python code, read with `ast`: create_all, Alembic runs, pytest hooks, row locks.

Only code counts: a comment or a docstring that mentions `create_all` or `FOR UPDATE` is not a fact.
`.git` and `__pycache__` folders are never read.
"""

from __future__ import annotations

import ast
import json
import os
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from evidence_kit.errors import CollectorError
from evidence_kit.model import Context, Intent, Output
from evidence_kit.support.paths import RULE, inside, shown, split_glob

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
    },
}

_TEXT = "text/plain"
_JSON = "application/json"
_SKIP_DIRS = frozenset({".git", "__pycache__"})
_SCHEMA_METHODS = frozenset({"create_all", "drop_all"})
ALEMBIC_COMMANDS = frozenset(
    {
        "branches",
        "check",
        "current",
        "downgrade",
        "edit",
        "ensure_version",
        "heads",
        "history",
        "init",
        "merge",
        "revision",
        "show",
        "stamp",
        "upgrade",
    }
)
_SUBPROCESS = frozenset(
    {
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.Popen",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "os.system",
        "os.popen",
        "asyncio.create_subprocess_exec",
        "asyncio.create_subprocess_shell",
    }
)
_FIXTURES = frozenset({"pytest.fixture", "pytest_asyncio.fixture"})
SESSION_HOOKS = (
    "pytest_configure",
    "pytest_sessionstart",
    "pytest_collection_modifyitems",
    "pytest_sessionfinish",
)
_LOCK = re.compile(r"\bFOR\s+(NO\s+KEY\s+)?UPDATE\b", re.IGNORECASE)
_SKIP_LOCKED = re.compile(r"\bSKIP\s+LOCKED\b", re.IGNORECASE)
_NOWAIT = re.compile(r"\bNOWAIT\b", re.IGNORECASE)
_SELECT = re.compile(r"\bSELECT\b", re.IGNORECASE)
# NOTE: after a lock clause (and its OF/NOWAIT/SKIP LOCKED), a lower-case word starts a sentence.
_PROSE = re.compile(r"(?:\s+(?i:OF)\s+[\w.]+(?:\s*,\s*[\w.]+)*)?(?:\s+(?i:NOWAIT|SKIP\s+LOCKED))?\s+[a-z]+\b")
# NOTE: a receiver that is SQLAlchemy metadata by its name (`Base.metadata`, `metadata`, `meta`).
_METADATA = re.compile(r"(?:^|[._])(?:[A-Za-z_]*metadata|meta)$", re.IGNORECASE)
_MESSAGE_CALLS = frozenset(
    {"pytest.skip", "pytest.xfail", "pytest.fail", "pytest.importorskip", "pytest.exit", "warnings.warn"}
)
_WORD_ALEMBIC = re.compile(r"(?:^|[\s/;&|(])alembic(?=$|[\s;&|)])")
_CODE_CAP = 200
_NEEDLES = (b"create_all", b"drop_all", b"alembic", b"command", b"fixture", b"pytest_", b"update")
# NOTE: (read, key_share) of `with_for_update` select the lock strength PostgreSQL is asked for.
_ORM_LOCKS = {
    (False, False): "FOR UPDATE",
    (False, True): "FOR NO KEY UPDATE",
    (True, False): "FOR SHARE",
    (True, True): "FOR KEY SHARE",
}


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


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _code(node: ast.AST) -> str:
    text = " ".join(ast.unparse(node).split())
    return text if len(text) <= _CODE_CAP else text[: _CODE_CAP - 3] + "..."


def _squash(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _CODE_CAP else text[: _CODE_CAP - 3] + "..."


def _const(node: ast.expr | None) -> Any:
    return node.value if isinstance(node, ast.Constant) else None


@dataclass
class FileFacts:
    """What one file contributes; `path` is relative to the service folder; `part` is where it counts:
    `app` (application code), `tests` or `migrations`."""

    path: str
    test: bool
    part: str = "app"
    schema_calls: list[dict[str, Any]] = field(default_factory=list)
    alembic_runs: list[dict[str, Any]] = field(default_factory=list)
    fixtures: list[dict[str, Any]] = field(default_factory=list)
    hooks: list[dict[str, Any]] = field(default_factory=list)
    sql_locks: list[dict[str, Any]] = field(default_factory=list)
    orm_locks: list[dict[str, Any]] = field(default_factory=list)
    defines: list[dict[str, Any]] = field(default_factory=list)


class _Scan:
    """One walk over one module's tree, gathering every fact."""

    def __init__(self, facts: FileFacts) -> None:
        self.facts = facts
        self.aliases: dict[str, str] = {}
        self.skip: set[int] = set()
        self.calls: list[tuple[ast.Call, str]] = []
        self.decorated: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        self.metadata: set[str] = set()

    def at(self, node: ast.AST, **extra: Any) -> dict[str, Any]:
        return {"path": self.facts.path, "line": getattr(node, "lineno", None), **extra}

    def resolve(self, dotted: str) -> str:
        head, _, rest = dotted.partition(".")
        full = self.aliases.get(head, head)
        return f"{full}.{rest}" if rest else full

    def run(self, tree: ast.Module) -> None:
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        self.aliases[alias.asname] = alias.name
                    else:
                        head = alias.name.split(".")[0]
                        self.aliases[head] = head
            elif isinstance(node, ast.ImportFrom):
                if node.module and not node.level:
                    for alias in node.names:
                        self.aliases[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                self.docstring(node)
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    self.function(node)
            elif isinstance(node, ast.Call):
                self.prose(node)
                self.call(node)
            elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                # NOTE: an exception's message is prose, even when it names `FOR UPDATE`.
                self.skip.update(id(a) for a in node.exc.args if isinstance(a, ast.Constant | ast.JoinedStr))
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
                made = _dotted(node.value.func)
                if made is not None and made.rsplit(".", 1)[-1] == "MetaData":
                    self.metadata.update(t.id for t in node.targets if isinstance(t, ast.Name))
            elif isinstance(node, ast.Attribute):
                if (
                    node.attr in _SCHEMA_METHODS
                    and isinstance(node.ctx, ast.Load)
                    and id(node) not in self.skip
                ):
                    self.schema(node, node, "reference")
            elif isinstance(node, ast.JoinedStr):
                if id(node) in self.skip:
                    self.skip.update(id(v) for v in node.values)
                    continue
                parts = []
                for value in node.values:
                    self.skip.add(id(value))
                    if isinstance(value, ast.Constant):
                        parts.append(str(value.value))
                    elif isinstance(value, ast.FormattedValue):
                        parts.append("{" + ast.unparse(value.value) + "}")
                self.sql(node, "".join(parts))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in self.skip:
                self.sql(node, node.value)
        # NOTE: a name bound to `MetaData()` anywhere in the module makes its schema calls metadata calls.
        for item in self.facts.schema_calls:
            if item["receiver"] in self.metadata:
                item["receiver_kind"] = "metadata"
        # NOTE: an import may follow the code using it (in a function, at the end), so names resolve last.
        for call, dotted in self.calls:
            self.alembic_call(call, dotted)
        for function in self.decorated:
            self.fixture(function)

    def docstring(self, node: ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        first = node.body[0] if node.body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            self.skip.add(id(first.value))

    def prose(self, node: ast.Call) -> None:
        """Strings a call takes as prose (pytest's skip/xfail/fail reasons, any `reason=`) are no SQL."""
        dotted = _dotted(node.func)
        if dotted is not None and self.resolve(dotted) in _MESSAGE_CALLS:
            self.skip.update(id(a) for a in node.args if isinstance(a, ast.Constant | ast.JoinedStr))
        for kw in node.keywords:
            if kw.arg in ("reason", "msg") and isinstance(kw.value, ast.Constant | ast.JoinedStr):
                self.skip.add(id(kw.value))

    def function(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        if node.name in _SCHEMA_METHODS:
            self.facts.defines.append(self.at(node, name=node.name))
        if node.name.startswith("pytest_"):
            self.facts.hooks.append(self.at(node, name=node.name))
        if node.decorator_list:
            self.decorated.append(node)

    def fixture(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        for deco in node.decorator_list:
            target = deco.func if isinstance(deco, ast.Call) else deco
            dotted = _dotted(target)
            if dotted is None or self.resolve(dotted) not in _FIXTURES or not isinstance(deco, ast.Call):
                continue
            keywords = {kw.arg: kw.value for kw in deco.keywords if kw.arg}
            if _const(keywords.get("scope")) == "session":
                autouse = _const(keywords.get("autouse")) is True
                self.facts.fixtures.append(
                    self.at(deco, name=node.name, autouse=autouse, decorator="@" + _code(deco))
                )

    def schema(self, attr: ast.Attribute, shown: ast.AST, form: str) -> None:
        self.skip.add(id(attr))
        receiver = _code(attr.value)
        made = _dotted(attr.value.func) if isinstance(attr.value, ast.Call) else None
        metadata = _METADATA.search(receiver) is not None or (made or "").endswith("MetaData")
        self.facts.schema_calls.append(
            self.at(
                attr,
                method=attr.attr,
                form=form,
                receiver=receiver,
                receiver_kind="metadata" if metadata else "other",
                code=_code(shown),
            )
        )

    def call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr in _SCHEMA_METHODS:
            self.schema(func, node, "call")
        for arg in [*node.args, *(kw.value for kw in node.keywords)]:
            if isinstance(arg, ast.Attribute) and arg.attr in _SCHEMA_METHODS:
                self.schema(arg, node, "argument")
        if isinstance(func, ast.Attribute) and func.attr == "with_for_update":
            keywords = {kw.arg: kw.value for kw in node.keywords if kw.arg}
            self.orm_lock(node, keywords)
        for kw in node.keywords:
            off = isinstance(kw.value, ast.Constant) and kw.value.value in (False, None)
            if kw.arg == "with_for_update" and not off:
                options = kw.value
                keywords = (
                    {_const(k): v for k, v in zip(options.keys, options.values, strict=True) if k}
                    if isinstance(options, ast.Dict)
                    else {}
                )
                self.orm_lock(node, keywords)
        dotted = _dotted(func)
        if dotted is not None:
            self.calls.append((node, dotted))
        argv = [*node.args, *(kw.value for kw in node.keywords if kw.arg == "args")]
        for arg in argv:
            if isinstance(arg, ast.List | ast.Tuple) and any(
                isinstance(v, str) and PurePosixPath(v).name == "alembic" for v in map(_const, arg.elts)
            ):
                self.facts.alembic_runs.append(self.at(node, via="argv", code=_code(node)))
                return

    def orm_lock(self, node: ast.Call, keywords: Mapping[Any, ast.expr]) -> None:
        flags = {
            key: _const(keywords.get(key)) is True for key in ("skip_locked", "nowait", "read", "key_share")
        }
        lock = _ORM_LOCKS[flags["read"], flags["key_share"]]
        self.facts.orm_locks.append(self.at(node, **flags, lock=lock, code=_code(node)))

    def alembic_call(self, node: ast.Call, dotted: str) -> None:
        full = self.resolve(dotted)
        head, _, name = full.rpartition(".")
        if head == "alembic.command" and name in ALEMBIC_COMMANDS:
            self.facts.alembic_runs.append(self.at(node, via=full, code=_code(node)))
        elif dotted.split(".")[0] not in self.aliases and head == "command" and name in ALEMBIC_COMMANDS:
            # NOTE: an unimported `command` (a fixture, a parameter) with an Alembic verb is still Alembic.
            self.facts.alembic_runs.append(self.at(node, via=f"command.{name}", code=_code(node)))
        elif full in _SUBPROCESS:
            for arg in node.args[:1]:
                if (
                    isinstance(arg, ast.Constant)
                    and isinstance(arg.value, str)
                    and _WORD_ALEMBIC.search(arg.value)
                ):
                    self.facts.alembic_runs.append(self.at(node, via=f"{full} (shell)", code=_code(node)))

    def sql(self, node: ast.expr, text: str) -> None:
        lock = _LOCK.search(text)
        statement = bool(_SELECT.search(text))
        # NOTE: lower-case "for update" counts only in a SELECT; in prose it is English, not SQL.
        if lock is None or not (statement or lock.group(0).isupper()):
            return
        if not statement and _PROSE.match(text, lock.end()):
            # NOTE: "FOR UPDATE SKIP LOCKED is not supported" is a sentence about SQL, not SQL.
            return
        self.facts.sql_locks.append(
            self.at(
                node,
                lock=" ".join(lock.group(0).upper().split()),
                skip_locked=bool(_SKIP_LOCKED.search(text)),
                nowait=bool(_NOWAIT.search(text)),
                statement=statement,
                sql=_squash(text),
            )
        )


def scan_source(path: str, source: bytes, test: bool) -> FileFacts:
    """Parse one file and gather its facts; a SyntaxError or ValueError is the caller's to record."""
    with warnings.catch_warnings():
        # NOTE: the target's invalid escape sequences are its own business, not noise for our user.
        warnings.simplefilter("ignore")
        tree = ast.parse(source, filename=path)
    facts = FileFacts(path, test)
    # NOTE: parsing is needed to report syntax errors, but a file naming none of the facts needs no walk.
    lowered = source.lower()
    if any(word in lowered for word in _NEEDLES):
        _Scan(facts).run(tree)
    return facts


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


def gather(
    root: Path, paths: list[str], exclude: list[str], tests: list[str], migrations: list[str] | None = None
) -> dict[str, Any]:
    """Scan the files under `root` and return the report that becomes `codefacts.json`."""
    test_patterns = _patterns(tests, "tests", root)
    facts: list[FileFacts] = []
    errors: list[dict[str, Any]] = []
    files = find_files(root, paths, exclude)
    if migrations is None:
        migrating = migration_files(root, files)
    else:
        globs = _patterns(migrations, "migrations")
        migrating = {rel for rel in files if _matches(rel, globs)}
    for rel in files:
        try:
            found = scan_source(rel, (root / rel).read_bytes(), _matches(rel, test_patterns))
        except (SyntaxError, ValueError, OSError, RecursionError, MemoryError) as exc:
            # NOTE: one unreadable file must not hide the facts of the others.
            errors.append(_parse_error(rel, exc))
            continue
        found.part = "migrations" if rel in migrating else "tests" if found.test else "app"
        facts.append(found)
    _own_schema_methods(facts)
    alembic = _split(facts, "alembic_runs")
    return {
        "options": {"paths": paths, "exclude": exclude, "tests": tests, "migrations": migrations},
        "files": {
            "scanned": len(files),
            "parsed": len(facts),
            "tests": sum(1 for rel in files if _matches(rel, test_patterns) and rel not in migrating),
            "migrations": len(migrating),
            "unparsable": len(errors),
        },
        "schema_methods_defined": _sorted(item for f in facts if f.part == "app" for item in f.defines),
        "schema_calls": _split(facts, "schema_calls"),
        "alembic_runs": alembic,
        "tests_run_alembic": bool(alembic["tests"]),
        "session_fixtures": _sorted(item for f in facts for item in f.fixtures),
        "pytest_hooks": _sorted(item for f in facts for item in f.hooks),
        "row_locks": {"sql": _split(facts, "sql_locks"), "orm": _split(facts, "orm_locks")},
        "parse_errors": _sorted(errors),
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
        f"{files.get('migrations', 0)} migration files), {files['unparsable']} could not be parsed",
        "",
    ]
    lines += _block(
        "create_all / drop_all (schema made without migrations)",
        report["schema_calls"],
        lambda i: f"{i['method']} ({i['form']})  {i['code']}{_own(i)}",
    )
    verdict = "yes" if report["tests_run_alembic"] else "no"
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


def collect(ctx: Context, options: Mapping[str, Any]) -> list[Output]:
    """Scan the service's Python files once each and write `codefacts.json` and `codefacts.txt`."""
    given = options.get("migrations")
    report = gather(
        ctx.root,
        list(options.get("paths") or DEFAULT_PATHS),
        list(options.get("exclude", DEFAULT_EXCLUDE)),
        list(options.get("tests", DEFAULT_TESTS)),
        list(given) if given is not None else None,
    )
    data = (json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()
    return [
        Output("codefacts.json", "Static code facts", _JSON, data=data),
        Output("codefacts.txt", "Static code facts (readable)", _TEXT, data=render(report).encode()),
    ]


def plan(root: Path, options: Mapping[str, Any]) -> Intent:
    """What `collect --plan` shows: the Python files parsed (never imported)."""
    wanted = ", ".join(options.get("paths") or DEFAULT_PATHS)
    skipped = ", ".join(options.get("exclude", DEFAULT_EXCLUDE)) or "nothing"
    return Intent(reads=(f"Python files matching {wanted}, parsed, not imported (excluding {skipped})",))
