"""Static readers of Python source, shipped as they are to other interpreters.

evidence-kit parses a service's code with its own `ast` first. A file that its Python cannot parse
(syntax newer than its own, e.g. PEP 695 generics read by 3.11) is parsed again in the service's
interpreter: this module's source is sent to `python -I -c` on stdin (see `foreign`), so it must
stay stdlib-only and run on every Python from 3.8 on (no `X | Y` at run time, no `zip(strict=)`,
no `ast.unparse` without a fallback). It never imports the service's code.

Three readers: `scan_source` gathers the code facts of one file (the codefacts collector),
`revision_fields` reads the identifiers and docstring of an Alembic revision file, and `older_source`
rewrites a file's newer syntax away for `evidence init`, which reads the result with its own `ast`.
"""

from __future__ import annotations

import ast
import json
import re
import sys
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath
from typing import Any

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
_NEEDLES = (
    b"create_all",
    b"drop_all",
    b"alembic",
    b"command",
    b"fixture",
    b"pytest_",
    b"update",
    b"flask_migrate",
)
# NOTE: (read, key_share) of `with_for_update` select the lock strength PostgreSQL is asked for.
_ORM_LOCKS = {
    (False, False): "FOR UPDATE",
    (False, True): "FOR NO KEY UPDATE",
    (True, False): "FOR SHARE",
    (True, True): "FOR KEY SHARE",
}
_LOCKING_GETTERS = frozenset({"get", "get_one", "refresh"})
_SOURCE = [""]


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def _unparse(node: ast.AST) -> str:
    unparse = getattr(ast, "unparse", None)
    if unparse is not None:
        return str(unparse(node))
    # NOTE: Python 3.8 has no ast.unparse; the node's own source text is the next best thing.
    return ast.get_source_segment(_SOURCE[0], node) or type(node).__name__


def _code(node: ast.AST) -> str:
    text = " ".join(_unparse(node).split())
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
    # NOTE: in test files, calls of imported functions ({"line", "target": dotted name}), first per target:
    # the collector follows those into the service's own modules one hop.
    imported_calls: list[dict[str, Any]] = field(default_factory=list)


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
            elif isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                self.docstring(node)
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    self.function(node)
            elif isinstance(node, ast.Call):
                self.prose(node)
                self.call(node)
            elif isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                # NOTE: an exception's message is prose, even when it names `FOR UPDATE`.
                self.skip.update(id(a) for a in node.exc.args if isinstance(a, (ast.Constant, ast.JoinedStr)))
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
                        parts.append("{" + _unparse(value.value) + "}")
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
        if self.facts.test:
            targets: set[str] = set()
            for call, dotted in self.calls:
                target = self.resolve(dotted)
                if dotted.split(".")[0] in self.aliases and "." in target and target not in targets:
                    targets.add(target)
                    self.facts.imported_calls.append({"line": call.lineno, "target": target})
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
            self.skip.update(id(a) for a in node.args if isinstance(a, (ast.Constant, ast.JoinedStr)))
        for kw in node.keywords:
            if kw.arg in ("reason", "msg") and isinstance(kw.value, (ast.Constant, ast.JoinedStr)):
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
        # NOTE: only SQLAlchemy's Session.get/get_one/refresh take `with_for_update=` as a row lock; the
        # same keyword elsewhere is the project's own (Prefect's session_context picks BEGIN IMMEDIATE).
        locking = isinstance(func, ast.Attribute) and func.attr in _LOCKING_GETTERS
        for kw in node.keywords:
            off = isinstance(kw.value, ast.Constant) and kw.value.value in (False, None)
            if kw.arg == "with_for_update" and locking and not off:
                options = kw.value
                keywords = (
                    {_const(k): v for k, v in zip(options.keys, options.values) if k}
                    if isinstance(options, ast.Dict)
                    else {}
                )
                self.orm_lock(node, keywords)
        dotted = _dotted(func)
        if dotted is not None:
            self.calls.append((node, dotted))
        argv = [*node.args, *(kw.value for kw in node.keywords if kw.arg == "args")]
        for arg in argv:
            if isinstance(arg, (ast.List, ast.Tuple)) and _runs_alembic([_const(v) for v in arg.elts]):
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
        if head in ("alembic.command", "flask_migrate") and name in ALEMBIC_COMMANDS:
            # NOTE: Flask-Migrate's functions run Alembic's commands of the same names, in the app.
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
    _SOURCE[0] = source.decode("utf-8", errors="replace")
    # NOTE: parsing is needed to report syntax errors, but a file naming none of the facts needs no walk.
    lowered = source.lower()
    # NOTE: a test file is walked for the service functions it imports and calls, whatever it names.
    if any(word in lowered for word in _NEEDLES) or (test and b"import" in lowered):
        _Scan(facts).run(tree)
    if facts.schema_calls or facts.alembic_runs:
        scopes = sorted(_scopes(tree.body, ""), key=lambda s: (s[0], -s[1]))
        for item in (*facts.schema_calls, *facts.alembic_runs):
            item["scope"] = _scope_of(scopes, item["line"])
    return facts


def _scopes(body: list[ast.stmt], prefix: str) -> Iterator[tuple[int, int, str]]:
    """(first line, last line, qualified name) of every function and class in `body`, nested ones too."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            name = f"{prefix}{node.name}"
            yield node.lineno, node.end_lineno or node.lineno, name
            yield from _scopes(node.body, name + ".")
        elif isinstance(node, (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try)):
            # NOTE: a function defined under `if TYPE_CHECKING:` or in a `try:` is still the module's.
            for part in ("body", "orelse", "finalbody"):
                yield from _scopes(getattr(node, part, []), prefix)
            for handler in getattr(node, "handlers", []):
                yield from _scopes(handler.body, prefix)


def _scope_of(scopes: list[tuple[int, int, str]], line: int | None) -> str:
    """The innermost function or class holding `line` (the last one starting at or before it that
    still holds it), or `<module>`."""
    inner = "<module>"
    for start, end, name in scopes:
        if line is not None and start <= line <= end:
            inner = name
    return inner


class BadScript(Exception):
    """A migration file that cannot be read statically; `message` says why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


_IDENTIFIERS = ("revision", "down_revision", "branch_labels", "depends_on")


def _strings(node: ast.expr, name: str) -> list[str] | None:
    # NOTE: plain constants and tuples of them are read directly; literal_eval costs more per call.
    if isinstance(node, ast.Constant) and (node.value is None or isinstance(node.value, str)):
        return None if node.value is None else [node.value]
    if isinstance(node, (ast.Tuple, ast.List)):
        items = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
        if len(items) == len(node.elts):
            return items
    try:
        value = ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError) as exc:
        raise BadScript(f"`{name}` is not a literal, so it cannot be read without running the file") from exc
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, (tuple, list)) and all(isinstance(v, str) for v in value):
        return list(value)
    raise BadScript(f"`{name}` must be a string, a tuple of strings or None, not {type(value).__name__}")


def _bind(target: ast.expr, value: ast.expr, found: dict[str, ast.expr]) -> None:
    if isinstance(target, ast.Name):
        if target.id in _IDENTIFIERS:
            found[target.id] = value
    elif isinstance(target, (ast.Tuple, ast.List)):
        values = value.elts if isinstance(value, (ast.Tuple, ast.List)) else None
        for i, elt in enumerate(target.elts):
            if isinstance(elt, ast.Name) and elt.id in _IDENTIFIERS:
                if values is None or len(values) != len(target.elts):
                    raise BadScript(f"`{elt.id}` is unpacked from a value that cannot be read statically")
                found[elt.id] = values[i]


def revision_fields(path: str, source: bytes) -> dict[str, Any]:
    """The identifiers of an Alembic revision file and its raw docstring, or `error` saying why not.

    `fields` maps each identifier present to its strings (None for `None`); a file without
    `revision` has no `fields["revision"]`.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(source, filename=path)
    except SyntaxError as exc:
        return {"error": f"syntax error at line {exc.lineno}: {exc.msg}", "syntax": True}
    except (ValueError, RecursionError, MemoryError) as exc:
        return {"error": f"cannot be parsed: {exc or type(exc).__name__}", "syntax": True}
    found: dict[str, ast.expr] = {}
    try:
        for stmt in tree.body:
            if isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    _bind(target, stmt.value, found)
            elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
                _bind(stmt.target, stmt.value, found)
        fields = {name: _strings(node, name) for name, node in found.items()}
    except BadScript as exc:
        return {"error": exc.message, "syntax": False}
    return {"fields": fields, "doc": ast.get_docstring(tree, clean=False)}


_STAND_IN = re.compile(r"__evidence_fstring_\d+__")


class _Older(ast.NodeTransformer):
    """Syntax newer than an older Python's rewritten to a form it parses, for readers of names and calls:
    type parameters dropped (`def f[T](x: T)`), `type X = ...` made an assignment, and each f-string
    written again in the older form (3.12 prints `f'{d['a']}'`, which 3.11 rejects): a quote its
    expressions do not use, each expression in parentheses. An f-string an older Python cannot hold at all
    (a backslash or a `#` in an expression), and a t-string, is made a tuple of its text and its values."""

    def __init__(self) -> None:
        # NOTE: the f-strings' text by the name standing in for each until the tree is printed.
        self.fstrings: dict[str, str] = {}

    def generic_visit(self, node: ast.AST) -> ast.AST:
        node = super().generic_visit(node)
        if getattr(node, "type_params", None):
            node.type_params = []  # type: ignore[attr-defined]
        return node

    def visit_TypeAlias(self, node: ast.AST) -> ast.AST:
        self.generic_visit(node)
        assign = ast.Assign(targets=[node.name], value=node.value)  # type: ignore[attr-defined]
        return ast.copy_location(assign, node)

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        self.generic_visit(node)
        text = self._fstring(node)
        if text is None:
            return self._parts(node)
        name = f"__evidence_fstring_{len(self.fstrings)}__"
        self.fstrings[name] = text
        return ast.copy_location(ast.Name(id=name, ctx=ast.Load()), node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        # NOTE: a format spec stays a part of its f-string (`{w:>{width}}`); only its values are visited.
        node.value = self.visit(node.value)
        if isinstance(node.format_spec, ast.JoinedStr):
            for value in node.format_spec.values:
                if isinstance(value, ast.FormattedValue):
                    self.visit_FormattedValue(value)
        return node

    def visit_TemplateStr(self, node: ast.AST) -> ast.AST:
        self.generic_visit(node)
        return self._parts(node)

    @staticmethod
    def _parts(node: ast.AST) -> ast.AST:
        values = getattr(node, "values", [])
        parts = [v if isinstance(v, ast.Constant) else getattr(v, "value", v) for v in values]
        return ast.copy_location(ast.Tuple(elts=parts, ctx=ast.Load()), node)

    def expanded(self, text: str) -> str:
        """`text` with each f-string's stand-in name replaced by the f-string."""
        if "__evidence_fstring_" not in text:
            return text
        return _STAND_IN.sub(lambda m: self.fstrings.get(m.group(0), m.group(0)), text)

    def _fstring(self, node: ast.JoinedStr) -> str | None:
        """`node` as an f-string literal of the older form, or None when that form cannot hold it."""
        pieces: list[tuple[str, str]] = []  # NOTE: (kind, text): "text" is escaped later for the quote.
        if not self._pieces(node, pieces):
            return None
        code = [text for kind, text in pieces if kind == "code"]
        # NOTE: before 3.12 an expression may not hold the f-string's own quote (a triple quote may hold the
        # single one); text escapes it, and the body ends in a brace or an escaped quote.
        for quote in ("'", '"', '"""', "'''"):
            if all(quote not in text for text in code):
                body = "".join(text if kind == "code" else _escaped(text, quote[0]) for kind, text in pieces)
                return f"f{quote}{body}{quote}"
        return None

    def _pieces(self, node: ast.JoinedStr, pieces: list[tuple[str, str]]) -> bool:
        for value in node.values:
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                pieces.append(("text", value.value.replace("{", "{{").replace("}", "}}")))
                continue
            if not isinstance(value, ast.FormattedValue):
                return False
            expr = self.expanded(str(ast.unparse(value.value)))  # type: ignore[attr-defined,unused-ignore]
            if "\\" in expr or "#" in expr:
                return False
            pieces.append(("code", "{(" + expr + ")"))
            if value.conversion != -1:
                pieces.append(("code", "!" + chr(value.conversion)))
            if isinstance(value.format_spec, ast.JoinedStr):
                pieces.append(("code", ":"))
                if not self._pieces(value.format_spec, pieces):
                    return False
            pieces.append(("code", "}"))
        return True


def _escaped(text: str, quote: str) -> str:
    """`text` as it is written inside a string literal closed by `quote`."""
    out = []
    for char in text:
        if char == "\\" or char == quote:
            out.append("\\" + char)
        elif char.isprintable():
            out.append(char)
        else:
            out.append(repr(char)[1:-1])
    return "".join(out)


def older_source(path: str, source: bytes) -> str:
    """The source of `path` rewritten by `_Older` for an older Python; SyntaxError when this one cannot
    parse it either."""
    with warnings.catch_warnings():
        # NOTE: invalid escape sequences warn on every parse; the reader has no use for them.
        warnings.simplefilter("ignore")
        tree = ast.parse(source, filename=path)
    unparse = getattr(ast, "unparse", None)
    if unparse is None:
        raise ValueError("this Python has no ast.unparse (3.9 or newer is needed)")
    older = _Older()
    return older.expanded(str(unparse(ast.fix_missing_locations(older.visit(tree)))))


def _older(item: list[Any]) -> dict[str, Any]:
    path, file = item
    with open(file, "rb") as handle:
        source = handle.read()
    try:
        return {"source": older_source(path, source)}
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        line = getattr(exc, "lineno", None)
        message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        return {"error": " ".join(f"{type(exc).__name__}: {message}".split()), "line": line}


def _codefacts(item: list[Any]) -> dict[str, Any]:
    path, file, test = item
    with open(file, "rb") as handle:
        source = handle.read()
    try:
        facts = scan_source(path, source, bool(test))
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        line = getattr(exc, "lineno", None)
        message = exc.msg if isinstance(exc, SyntaxError) else str(exc)
        return {"error": " ".join(f"{type(exc).__name__}: {message}".split()), "line": line}
    return {"facts": asdict(facts)}


def _revision(item: list[Any]) -> dict[str, Any]:
    path, file = item
    with open(file, "rb") as handle:
        return revision_fields(path, handle.read())


def main(request: dict[str, Any]) -> dict[str, Any]:
    """Read every file of `request` ({"kind": "codefacts" | "revision" | "older", "files": [...]}) here."""
    reader = {"codefacts": _codefacts, "older": _older}.get(request["kind"], _revision)
    results = []
    for item in request["files"]:
        try:
            results.append(reader(item))
        except OSError as exc:
            results.append({"error": f"cannot be read: {exc.strerror or exc}", "syntax": False})
    return {"python": list(sys.version_info[:3]), "results": results}


if __name__ == "__main__":
    json.dump(main(json.load(sys.stdin)), sys.stdout)


def _runs_alembic(argv: Sequence[Any]) -> bool:
    """True when a list is a command line that runs Alembic: `alembic` (or a path to it) first, or after
    `-m` (`[sys.executable, "-m", "alembic", ...]`); not a list that merely names it (`("alembic", "httpx")`
    of package names)."""
    return any(
        isinstance(v, str) and PurePosixPath(v).name == "alembic" and (k == 0 or argv[k - 1] == "-m")
        for k, v in enumerate(argv)
    )
