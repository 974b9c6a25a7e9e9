"""TOML on every supported Python: the standard library's tomllib from 3.11, the tomli package before."""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

loads = tomllib.loads
TOMLDecodeError = tomllib.TOMLDecodeError


def project_name(pyproject: Path) -> str | None:
    """The project's name a pyproject.toml gives (`[project]`, else `[tool.poetry]`); None when it gives
    none or cannot be read."""
    if not pyproject.is_file():
        return None
    try:
        data = loads(pyproject.read_text("utf-8"))
    except (TOMLDecodeError, OSError, UnicodeDecodeError):
        return None
    for table in (data.get("project"), data.get("tool", {}).get("poetry")):
        if isinstance(table, dict) and isinstance(table.get("name"), str) and table["name"].strip():
            return str(table["name"]).strip()
    return None
