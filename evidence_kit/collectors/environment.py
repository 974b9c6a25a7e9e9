"""The runtime environment: Python, OS, installed packages, tool versions, database server, CI."""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import shutil
import sys
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from urllib.request import url2pathname

from evidence_kit.bundle.writer import dumps
from evidence_kit.errors import CollectorError
from evidence_kit.model import Context, Intent, Output
from evidence_kit.redact.redactor import SECRET_NAME
from evidence_kit.support import db, interpreter, paths, pgdump, proc

NAME = "environment"

DEFAULT_TOOLS: tuple[str, ...] = ("git", "pg_dump", "psql", "alembic")
DEFAULT_TIMEOUT = 30.0
NOT_FOUND = "not found"
SECRET = "<secret>"

_ENV_NAME = {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"}
OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "python": {
            **interpreter.OPTION,
            "description": "Interpreter whose version and packages are listed, e.g. `.venv/bin/python` "
            "(default: the top-level `python:`, else the one running evidence-kit).",
        },
        "tools": {
            "type": "array",
            "description": f"More tools to record the version of (always: {', '.join(DEFAULT_TOOLS)}).",
            "items": {
                "oneOf": [
                    {"type": "string", "minLength": 1, "description": "A name on PATH, or a path."},
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["name"],
                        "properties": {
                            "name": {"type": "string", "minLength": 1},
                            "args": {
                                "type": "array",
                                "items": {"type": "string"},
                                "description": "Arguments that print the version (default [--version]).",
                            },
                        },
                    },
                ]
            },
        },
        "env_values": {
            "type": "array",
            "items": _ENV_NAME,
            "uniqueItems": True,
            "description": "Environment variables whose values are recorded (only names otherwise); "
            "secret-looking names are always recorded as <secret>.",
        },
        "timeout": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": f"Seconds each tool or interpreter probe may take (default {DEFAULT_TIMEOUT:g}).",
        },
    },
}

# NOTE: one script describes any interpreter: run in-process for our own, with `python -c` for another,
# so both give the same shape. It must work on old Pythons without evidence-kit installed.
FACTS_SCRIPT = """\
import importlib.metadata, json, platform, sys
def facts():
    packages = []
    editable = []
    for dist in importlib.metadata.distributions():
        name = dist.metadata["Name"]
        if name:
            packages.append([str(name), str(dist.version)])
            try:
                direct = json.loads(dist.read_text("direct_url.json") or "null")
            except Exception:
                direct = None
            if isinstance(direct, dict) and (direct.get("dir_info") or {}).get("editable"):
                editable.append([str(name), str(direct.get("url", ""))])
    return {
        "editable": sorted(editable),
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "build": sys.version,
        "prefix": sys.prefix,
        "virtualenv": sys.prefix != getattr(sys, "base_prefix", sys.prefix),
        "packages": packages,
    }
"""
_CHILD = FACTS_SCRIPT + "import json\nprint(json.dumps(facts()))\n"
_SEPARATORS = re.compile(r"[-_.]+")


def package_lines(packages: Iterable[tuple[str, str]]) -> list[str]:
    """`name==version` lines sorted case-insensitively, one per distinct (normalized name, version)."""
    seen: dict[tuple[str, str], str] = {}
    for name, version in packages:
        key = (_SEPARATORS.sub("-", name).lower(), version)
        seen.setdefault(key, f"{name}=={version}")
    return [seen[k] for k in sorted(seen, key=lambda k: (k[0], k[1], seen[k]))]


def _own_facts() -> dict[str, Any]:
    namespace: dict[str, Any] = {}
    exec(FACTS_SCRIPT, namespace)
    result: dict[str, Any] = namespace["facts"]()
    return result


def _other_facts(ctx: Context, chosen: interpreter.Interpreter, timeout: float) -> dict[str, Any]:
    python = chosen.path
    env = {**(ctx.env or os.environ), "PYTHONDONTWRITEBYTECODE": "1"}
    interpreter.activate(env, chosen)
    try:
        run = proc.run(
            [python, "-c", _CHILD],
            scratch=ctx.scratch,
            label="python-facts",
            cwd=ctx.root,
            env=env,
            timeout=timeout,
        )
    except CollectorError as exc:
        raise CollectorError(
            f"cannot run the interpreter {python!r}: {exc.message}",
            hint="set the `python` option to an existing interpreter, e.g. `.venv/bin/python`",
        ) from exc
    if run.timed_out:
        raise CollectorError(f"{python} took longer than {timeout:g} s to list its packages")
    lines = [line for line in run.text("stderr").splitlines() if line.strip()]
    if run.exit_code != 0:
        raise CollectorError(
            f"{python} could not list its packages (exit code {run.exit_code})",
            hint="the `python` option must name a Python 3.8+ interpreter",
            details=lines[-10:],
        )
    try:
        facts: dict[str, Any] = json.loads(run.text())
    except ValueError as exc:
        raise CollectorError(f"{python} printed something other than its facts: {exc}") from exc
    return facts


def _interpreter(ctx: Context, options: Mapping[str, Any], timeout: float) -> dict[str, Any]:
    try:
        chosen = interpreter.of(ctx, options)
    except CollectorError as exc:
        raise CollectorError(f"cannot run the interpreter: {exc.message}", hint=exc.hint) from exc
    if chosen is None:
        facts = _own_facts()
        facts["source"] = interpreter.own().source
        return facts
    facts = _other_facts(ctx, chosen, timeout)
    facts["source"] = chosen.source
    return facts


def _tool_specs(options: Mapping[str, Any]) -> dict[str, list[str]]:
    specs: dict[str, list[str]] = {name: ["--version"] for name in DEFAULT_TOOLS}
    for item in options.get("tools", []):
        if isinstance(item, str):
            specs[item] = ["--version"]
        else:
            specs[str(item["name"])] = [str(a) for a in item.get("args", ["--version"])]
    return specs


def _which(name: str, ctx: Context, bindir: Path, first: bool) -> Path | None:
    if os.sep in name:
        path = ctx.root / name
        return path if path.is_file() and os.access(path, os.X_OK) else None
    search = (ctx.env or os.environ).get("PATH", "")
    # NOTE: tools installed beside the interpreter (a virtualenv's alembic) count even when that
    # folder is not on PATH; the service's own interpreter's come first, as in its activated venv.
    folders = (str(bindir), search) if first else (search, str(bindir))
    found = shutil.which(name, path=os.pathsep.join(filter(None, folders)))
    return Path(found) if found else None


def _first_line(text: str) -> str | None:
    return next((line.strip() for line in text.splitlines() if line.strip()), None)


def _tool(
    ctx: Context, name: str, args: list[str], bindir: Path, first: bool, timeout: float
) -> dict[str, Any]:
    path = _which(name, ctx, bindir, first)
    if path is None:
        return {"path": None, "status": NOT_FOUND, "version": NOT_FOUND}
    if name == "pg_dump" and args == ["--version"]:
        found = pgdump.probe(path, ctx.env or None)
        if found is not None:
            return {"path": str(path), "status": "ok", "version": found.version, "wrapper": found.wrapper}
    label = "tool-" + re.sub(r"[^A-Za-z0-9._-]+", "_", name)
    try:
        run = proc.run(
            [str(path), *args], scratch=ctx.scratch, label=label, env=ctx.env or None, timeout=timeout
        )
    except CollectorError as exc:
        return {"path": str(path), "status": "error", "version": None, "error": exc.message}
    if run.timed_out:
        return {
            "path": str(path),
            "status": "error",
            "version": None,
            "error": f"timed out after {timeout:g} s",
        }
    line = _first_line(run.text()) or _first_line(run.text("stderr"))
    if run.exit_code != 0:
        return {
            "path": str(path),
            "status": "error",
            "version": None,
            "error": f"exit code {run.exit_code}" + (f": {line}" if line else ""),
        }
    return {"path": str(path), "status": "ok", "version": line}


def _database(ctx: Context) -> tuple[dict[str, Any] | None, str | None]:
    url = ctx.database_url
    if not url and ctx.database_problem:
        problem = f"the database URL cannot be built: {ctx.database_problem}"
        return {"kind": None, "error": problem}, problem
    if not url:
        return None, None
    if db.is_sqlite(url):
        import sqlite3

        return {"kind": "sqlite", "library_version": sqlite3.sqlite_version}, None
    if not db.is_postgres(url):
        return {"kind": "other"}, None
    try:
        with db.connect_pg(url, source=ctx.database_source, timeout_s=5, statement_timeout_ms=10_000) as conn:
            row = conn.execute("SHOW server_version").fetchone()
    except CollectorError as exc:
        return {"kind": "postgresql", "server_version": None, "error": exc.message}, (
            f"PostgreSQL server version unknown: {exc.message}"
        )
    except Exception as exc:
        # NOTE: a server that drops the connection or refuses the query is still only a fact to record.
        note = f"{type(exc).__name__}: {str(exc).strip().splitlines()[0] if str(exc).strip() else ''}"
        return {"kind": "postgresql", "server_version": None, "error": note}, (
            f"PostgreSQL server version unknown: {note}"
        )
    return {"kind": "postgresql", "server_version": str(row[0]) if row else None}, None


def env_listing(env: Mapping[str, str], allowed: Iterable[str]) -> dict[str, Any]:
    """Every variable name, sorted, and the values of the allow-listed ones that do not look secret."""
    values: dict[str, str | None] = {}
    for name in sorted(set(allowed)):
        if SECRET_NAME.search(name):
            values[name] = SECRET if name in env else None
        else:
            values[name] = env.get(name)
    return {"names": sorted(env), "values": values}


def _own_is_the_service_s(root: Path, env: Mapping[str, str]) -> bool:
    """True when evidence-kit's own interpreter is the service's: its virtualenv lies in the service's
    repository, is the active one (`VIRTUAL_ENV`), or is the `python` (else `python3`) first on PATH."""
    if Path(sys.prefix).resolve().is_relative_to(paths.repository(root)):
        return True
    active = env.get("VIRTUAL_ENV")
    if active and Path(active).resolve() == Path(sys.prefix).resolve():
        return True
    # NOTE: by its folder: a virtualenv's python links to its base interpreter, which is another's.
    own = Path(sys.executable).parent.resolve()
    for name in ("python", "python3"):
        found = shutil.which(name, path=env.get("PATH"))
        if found is not None:
            return Path(found).parent.resolve() == own
    return False


def _own_names(root: Path) -> set[str]:
    """The service's project names (normalized): those of the pyproject.toml files of the collect's folder,
    the folders above it in its repository and the folders just below it (`backend/`)."""
    from evidence_kit.support.toml import project_name

    top = paths.repository(root)
    folder = root.resolve()
    folders = [folder, *(p for p in folder.parents if p.is_relative_to(top))]
    with contextlib.suppress(OSError):
        folders += [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]
    names = (project_name(f / "pyproject.toml") for f in folders)
    return {_SEPARATORS.sub("-", n).lower() for n in names if n}


def _imported_elsewhere(root: Path, editable: Iterable[Sequence[str]]) -> list[tuple[str, str]]:
    """The service's own projects its interpreter has installed editable from a folder outside the
    service's repository (another checkout): (name, folder)."""
    editable = [(name, url) for name, url in editable if url.startswith("file:")]
    if not editable:
        return []
    own = _own_names(root)
    top = paths.repository(root)
    out = []
    for name, url in editable:
        folder = Path(url2pathname(urlsplit(url).path))
        if _SEPARATORS.sub("-", name).lower() in own and not folder.resolve().is_relative_to(top):
            out.append((name, str(folder)))
    return out


def _elsewhere_message(elsewhere: Sequence[tuple[str, str]]) -> str:
    listed = ", ".join(f"{name} from {folder}" for name, folder in elsewhere)
    return (
        f"the service's interpreter imports its own code from another checkout ({listed}): its tests and "
        "app ran that code, not this checkout's; install this checkout into it (`pip install -e .` here) "
        "or set `python:` to this checkout's own virtualenv"
    )


def collect(ctx: Context, options: Mapping[str, Any]) -> list[Output]:
    """Describe the interpreter, the machine, the tools, the database server and the CI run."""
    from evidence_kit.support.host import ci_context, host_facts

    started = proc.utcnow()
    timeout = float(options.get("timeout", DEFAULT_TIMEOUT))
    env = ctx.env or os.environ
    facts = _interpreter(ctx, options, timeout)
    lines = package_lines((str(n), str(v)) for n, v in facts.pop("packages", []))
    chosen = interpreter.of(ctx, options) if facts["source"] != interpreter.own().source else None
    # NOTE: with no interpreter of the service configured, evidence-kit's own stands in only when it is the
    # service's: its virtualenv lies in the service's repository, or it is the `python` the service's
    # commands and tests run with (first on PATH). Otherwise its packages are none of the service's.
    foreign = chosen is None and not _own_is_the_service_s(ctx.root, env)
    packages_note = (
        "not the service's: no `python:` is set in evidence.yaml and evidence-kit's own interpreter "
        f"({sys.executable}) is not in the service's repository; set `python:` (or EVIDENCE_PYTHON) to "
        "the service's interpreter"
        if foreign
        else None
    )
    if foreign:
        facts["not_the_service"] = packages_note
        lines = []
    elsewhere = [] if foreign else _imported_elsewhere(ctx.root, facts.get("editable", []))
    bindir = chosen.bindir if chosen else Path(str(facts.get("executable") or sys.executable)).parent
    # NOTE: the probes mostly wait on interpreters starting up (alembic), so they overlap well.
    with ThreadPoolExecutor(max_workers=4, thread_name_prefix="environment") as pool:
        probes = {
            name: pool.submit(_tool, ctx, name, args, bindir, chosen is not None, timeout)
            for name, args in _tool_specs(options).items()
        }
        database, note = _database(ctx)
        tools = {name: future.result() for name, future in probes.items()}
    host = host_facts()
    release: dict[str, str] = {}
    with contextlib.suppress(OSError):
        release = platform.freedesktop_os_release()
    # NOTE: the host name stays in the manifest (host_facts); artifacts describe the machine, not who ran it.
    environment = {
        "python": facts,
        "os": {
            "system": platform.system(),
            "release": platform.release(),
            "machine": platform.machine(),
            "platform": host["platform"],
            "distribution": release.get("PRETTY_NAME"),
        },
        "packages": {"count": len(lines), "file": "packages.txt"}
        if not foreign
        else {"count": None, "file": "packages.txt", "skipped": packages_note},
        "tools": {name: info["version"] for name, info in sorted(tools.items())},
        "database": database,
        "ci": ci_context(env),
        "env": env_listing(env, options.get("env_values", [])),
    }
    common: dict[str, Any] = {"started": started, "finished": proc.utcnow()}
    return [
        Output(
            "environment.json",
            "Python, OS, database server, CI and environment variable names",
            media_type="application/json",
            data=dumps(environment),
            status="failed" if elsewhere else "ok",
            message=_elsewhere_message(elsewhere) if elsewhere else note,
            **common,
        ),
        Output(
            "packages.txt",
            f"Installed Python packages of {facts.get('executable')}",
            data="".join(f"{line}\n" for line in lines).encode(),
            status="skipped" if foreign else "ok",
            message=packages_note,
            **common,
        ),
        Output(
            "tools.json",
            "Versions of external tools",
            media_type="application/json",
            data=dumps(tools),
            **common,
        ),
    ]


def plan(root: Path, options: Mapping[str, Any]) -> Intent:
    """What `collect --plan` shows: the interpreter and tools asked their versions, the database server."""
    tools = ", ".join(_tool_specs(options))
    return Intent(
        reads=(
            "the interpreter: its version and installed packages",
            f"versions of {tools}",
            "the database server's version",
            "the names of the environment variables",
        )
    )
