"""Paths in evidence.yaml: relative to its folder, and anywhere inside the repository (the git top level).

So a config in `server/` may read `../.github/workflows`; a path that leaves the repository is an
error naming where it leads. Without git, the repository is the config's own folder.
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from evidence_kit.errors import CollectorError

RULE = (
    "paths in evidence.yaml are relative to its folder and may reach anywhere inside the repository "
    "(the git top level)"
)
_MAGIC = set("*?[")


def repository(root: Path) -> Path:
    """The git top level at or above `root` (the nearest folder holding `.git`), else `root` itself."""
    start = root.resolve()
    for folder in (start, *start.parents):
        if (folder / ".git").exists():
            return folder
    return start


def inside(root: Path, value: str, what: str) -> Path:
    """`value` resolved against `root`, normalized; a CollectorError when it leads out of the repository."""
    path = Path(os.path.normpath(root / value))
    top = repository(root)
    if not path.resolve().is_relative_to(top):
        raise CollectorError(
            f"{what} {value!r} leads to {path}, outside the repository {top}",
            hint=f"{RULE}; use a path inside it",
        )
    return path


def split_glob(pattern: str) -> tuple[str, str]:
    """The leading folders of a glob without wildcards (`../logs`), and the rest (`**/*.log`)."""
    parts = PurePosixPath(pattern.removeprefix("./")).parts
    fixed: list[str] = []
    for part in parts:
        if _MAGIC & set(part):
            break
        fixed.append(part)
    rest = parts[len(fixed) :]
    return "/".join(fixed) or ".", "/".join(rest)


def glob(root: Path, pattern: str, what: str) -> list[Path]:
    """The files matching a glob relative to `root` (`**` recurses), never outside the repository."""
    fixed, rest = split_glob(pattern)
    base = inside(root, fixed, what)
    top = repository(root)
    found = (base.glob(rest) if rest else [base]) if base.exists() else []
    return sorted(p for p in found if p.is_file() and p.resolve().is_relative_to(top))


def shown(root: Path, path: Path) -> str:
    """`path` relative to `root` in POSIX form, with `../` when it lies outside `root`."""
    return PurePosixPath(Path(os.path.relpath(path, root))).as_posix()


def stored(root: Path, path: Path) -> str:
    """The name of a file inside a bundle folder: relative to `root`, else to the repository top."""
    name = shown(root, path)
    return shown(repository(root), path) if name.startswith("../") else name
