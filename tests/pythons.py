"""Other Pythons for the tests: pyenv's interpreters and throwaway virtualenvs made from them.

A test that needs Python 3.10 or 3.12 beside the tool's own asks `python_for("3.12")`; where that
version is not installed the test fails under CI (with the command that installs it) and is
skipped elsewhere, with the reason. Virtualenvs are made once per test session under one temporary
folder and shared: `venv(factory, "3.12", ["fastapi"])` is cheap the second time.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest


def _pyenv_root() -> Path | None:
    root = os.environ.get("PYENV_ROOT")
    if root:
        return Path(root)
    found = shutil.which("pyenv")
    if found:
        out = subprocess.run([found, "root"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            return Path(out.stdout.strip())
    home = Path.home() / ".pyenv"
    return home if home.is_dir() else None


def find(version: str) -> Path | None:
    """An interpreter of `version` (e.g. "3.12"): pyenv's, else `pythonX.Y` on PATH."""
    root = _pyenv_root()
    if root is not None:
        found = sorted(glob.glob(str(root / "versions" / f"{version}.*" / "bin" / "python")))
        if found:
            return Path(found[-1])
    on_path = shutil.which(f"python{version}")
    return Path(on_path) if on_path else None


def python_for(version: str) -> Path:
    """The interpreter of `version`; fails under CI and skips elsewhere when it is missing."""
    found = find(version)
    if found is not None:
        return found
    reason = f"Python {version} is not installed; install it with `pyenv install {version}`"
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def other_than_tool(*versions: str) -> str:
    """The first of `versions` that is not the tool's own Python version."""
    own = f"{sys.version_info.major}.{sys.version_info.minor}"
    return next(v for v in versions if v != own)


def venv(factory: pytest.TempPathFactory, version: str, packages: list[str], pip: bool = True) -> Path:
    """A virtualenv of Python `version` ("tool": the tool's own) with `packages`, made once per
    session; returns its python. A failed install fails under CI and skips elsewhere."""
    base = Path(sys.executable) if version == "tool" else python_for(version)
    key = hashlib.sha256("\0".join([str(base), *sorted(packages), str(pip)]).encode()).hexdigest()[:12]
    folder = factory.getbasetemp() / "venvs" / f"py{version}-{key}"
    python = folder / "bin" / "python"
    if python.is_file():
        return python
    folder.parent.mkdir(parents=True, exist_ok=True)
    args = [str(base), "-m", "venv", str(folder)]
    if not pip:
        args.append("--without-pip")
    subprocess.run(args, check=True, capture_output=True)
    if packages:
        done = subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", *packages],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            shutil.rmtree(folder, ignore_errors=True)
            reason = f"pip install {' '.join(packages)} failed:\n{done.stdout}\n{done.stderr}"
            if os.environ.get("CI"):
                pytest.fail(reason, pytrace=False)
            pytest.skip(reason)
    return python
