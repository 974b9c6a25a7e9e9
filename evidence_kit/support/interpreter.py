"""The service's Python interpreter: which one a collector uses, and the environment it runs in.

One rule, used by every collector that starts Python and by `collect --plan` (`resolve`): a collector's own
`python` option wins, else `EVIDENCE_PYTHON` in the environment (this machine's interpreter, where it is not
the one evidence.yaml names for everyone, e.g. a virtualenv outside the repository), else the top-level
`python:` of evidence.yaml, else none is configured. A
configured value is a path relative to evidence.yaml (`.venv/bin/python`, `../.venv`), an absolute
path, or a bare name looked up on PATH (`python3.12`); a virtualenv folder stands for its
interpreter. With an interpreter, child processes get its bin folder first on PATH (and
`VIRTUAL_ENV` when it is a virtualenv's), as an activated virtualenv would. The folder of the
interpreter running evidence-kit itself is never put on a child's PATH.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidence_kit.errors import CollectorError

if TYPE_CHECKING:
    from evidence_kit.model import Context

OPTION: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "description": "The service's Python interpreter for this collector (a path relative to evidence.yaml, "
    "a virtualenv folder, or a name on PATH); overrides the top-level `python:`.",
}
# NOTE: this machine's interpreter of the service, over the top-level `python:`.
ENV_NAME = "EVIDENCE_PYTHON"
_HINT = (
    "set `python:` in evidence.yaml (or the collector's `python` option) to the service's interpreter, "
    "e.g. `.venv/bin/python`, or create the service's virtualenv first (on a machine whose virtualenv lies "
    "elsewhere, set EVIDENCE_PYTHON to its interpreter)"
)


@dataclass(frozen=True)
class Interpreter:
    """An interpreter and where its choice came from; `configured` is False for the tool's own."""

    path: str
    source: str
    configured: bool = True

    @property
    def bindir(self) -> Path:
        """The folder holding the interpreter (a virtualenv's `bin`), without resolving symlinks."""
        return Path(self.path).parent

    @property
    def virtualenv(self) -> Path | None:
        """The virtualenv the interpreter belongs to, if it is one's."""
        home = self.bindir.parent
        return home if (home / "pyvenv.cfg").is_file() else None


def _candidate(value: str, root: Path) -> Path:
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else root / path


def _in_folder(folder: Path) -> Path | None:
    for rel in ("bin/python", "bin/python3", "Scripts/python.exe"):
        if (folder / rel).is_file():
            return folder / rel
    return None


def locate(value: str, root: Path, env: Mapping[str, str] | None = None, source: str = "") -> Interpreter:
    """The interpreter a configured `python` value names; CollectorError naming what was tried."""
    where = source or "`python`"
    pathlike = os.sep in value or value.startswith((".", "~")) or bool(os.altsep and os.altsep in value)
    if pathlike or (root / value).exists():
        path = _candidate(value, root)
        if path.is_dir():
            inside = _in_folder(path)
            if inside is None:
                raise CollectorError(
                    f"{where}: {path} is a folder without bin/python (not a virtualenv)",
                    hint="name the interpreter itself, e.g. `.venv/bin/python`",
                )
            path = inside
        if not path.is_file():
            raise CollectorError(f"{where}: the interpreter {path} does not exist", hint=_HINT)
        if not os.access(path, os.X_OK):
            raise CollectorError(f"{where}: {path} is not executable", hint=_HINT)
        return Interpreter(os.path.abspath(path), source or "python")
    search = (env if env is not None else os.environ).get("PATH", os.defpath)
    found = shutil.which(value, path=search)
    if found is None:
        raise CollectorError(f"{where}: no {value!r} on PATH", hint=_HINT)
    return Interpreter(os.path.abspath(found), source or "python")


def resolve(
    root: Path,
    option: str | None,
    top_level: str | None,
    env: Mapping[str, str] | None = None,
) -> Interpreter | None:
    """The configured interpreter of one collector: its own option, else `EVIDENCE_PYTHON`, else the
    top-level `python:`."""
    if option:
        return locate(option, root, env, "the collector's `python` option")
    machine = (env if env is not None else os.environ).get(ENV_NAME)
    if machine:
        return locate(machine, root, env, ENV_NAME)
    if top_level:
        return locate(top_level, root, env, "`python:` in evidence.yaml")
    return None


def of(ctx: Context, options: Mapping[str, Any]) -> Interpreter | None:
    """The interpreter a collector runs the service's Python with (None: none is configured)."""
    return resolve(ctx.root, options.get("python"), ctx.python, ctx.env or None)


def own() -> Interpreter:
    """The interpreter running evidence-kit (a fallback only where no service interpreter is set)."""
    return Interpreter(sys.executable, "evidence-kit's own interpreter (no `python:` configured)", False)


def activate(env: MutableMapping[str, str], interpreter: Interpreter | None) -> None:
    """Put the interpreter's bin folder first on PATH (and set VIRTUAL_ENV), as activation would."""
    if interpreter is None or not interpreter.configured:
        return
    bindir = str(interpreter.bindir)
    rest = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != bindir]
    env["PATH"] = os.pathsep.join([bindir, *rest])
    venv = interpreter.virtualenv
    if venv is not None:
        env["VIRTUAL_ENV"] = str(venv)
    # NOTE: a PYTHONHOME meant for another interpreter would break this one's start-up.
    env.pop("PYTHONHOME", None)


@lru_cache(maxsize=32)
def _version(path: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [path, "-I", "-c", "import sys, json; print(json.dumps(list(sys.version_info[:2])))"],
            capture_output=True,
            timeout=30,
            check=False,
        )
        major, minor = json.loads(out.stdout)
        return int(major), int(minor)
    except (OSError, ValueError, TypeError, subprocess.TimeoutExpired):
        return None


@lru_cache(maxsize=32)
def _sys_path(path: str) -> tuple[str, ...]:
    try:
        out = subprocess.run(
            [path, "-I", "-c", "import sys, json; print(json.dumps(sys.path))"],
            capture_output=True,
            timeout=30,
            check=False,
        )
        return tuple(str(p) for p in json.loads(out.stdout) if p)
    except (OSError, ValueError, TypeError, subprocess.TimeoutExpired):
        return ()


def sys_path(interpreter: Interpreter) -> tuple[str, ...]:
    """The import path of the interpreter in isolated mode (its site-packages, never the cwd)."""
    return _sys_path(interpreter.path)


def version(interpreter: Interpreter) -> tuple[int, int] | None:
    """The interpreter's (major, minor) version, None when it cannot be run; cached per path."""
    if not interpreter.configured:
        return sys.version_info[:2]
    return _version(interpreter.path)


@dataclass(frozen=True)
class Found:
    """An interpreter `evidence init` found for a service, and how."""

    path: Path
    how: str


_LOCAL_VENVS = (".venv", "venv", "env", ".env")
_TOOLS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("poetry", ("env", "info", "--path"), "Poetry"),
    ("pipenv", ("--venv",), "pipenv"),
    ("hatch", ("env", "find"), "Hatch"),
)


def _venv_python(folder: Path) -> Path | None:
    if not (folder / "pyvenv.cfg").is_file():
        return None
    return _in_folder(folder)


def _ask(tool: str, args: tuple[str, ...], cwd: Path, env: Mapping[str, str]) -> Path | None:
    program = shutil.which(tool, path=env.get("PATH", os.defpath))
    if program is None:
        return None
    try:
        out = subprocess.run(
            [program, *args], cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = [line.strip() for line in out.stdout.splitlines() if line.strip()]
    if out.returncode != 0 or not lines:
        return None
    folder = Path(lines[-1])
    return _venv_python(folder) if folder.is_dir() else None


def discover(root: Path, top: Path | None = None, env: Mapping[str, str] | None = None) -> Found | None:
    """The service's interpreter, looked for as a developer would: the activated virtualenv, a
    virtualenv in the service's folder (`.venv`, `venv`, a sub-folder's `.venv` such as
    `backend/.venv`), one in a folder above it up to `top` (the repository), then the
    environments of Poetry, pipenv and Hatch (uv keeps `.venv`). evidence-kit's own is never taken."""
    env = os.environ if env is None else env
    own = Path(sys.prefix).resolve()
    active = env.get("VIRTUAL_ENV")
    candidates: list[tuple[Path, str]] = []
    if active:
        candidates.append((Path(active), "$VIRTUAL_ENV"))
    candidates += [(root / name, name) for name in _LOCAL_VENVS]
    for sub in (
        sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
        if root.is_dir()
        else []
    ):
        candidates += [(sub / name, f"{sub.name}/{name}") for name in _LOCAL_VENVS[:2]]
    folder = root
    while top is not None and folder != top and top in folder.parents:
        folder = folder.parent
        rel = os.path.relpath(folder, root)
        candidates += [(folder / name, f"{rel}/{name}") for name in _LOCAL_VENVS[:2]]
    for folder, how in candidates:
        python = _venv_python(folder)
        if python is not None and folder.resolve() != own:
            return Found(python, how)
    for tool, args, name in _TOOLS:
        python = _ask(tool, args, root, env)
        if python is not None and python.parent.parent.resolve() != own:
            return Found(python, f"the {name} environment")
    return None
