"""The files of a source tree: what git would track inside a repository, a walk outside one.

Inside a git work tree the files are exactly those `git ls-files --cached --others
--exclude-standard` lists: tracked files, and untracked ones no ignore rule covers (every
`.gitignore`, `.git/info/exclude` and the global excludes file count, as in git). Outside a
repository, or without git, the tree is walked; see each caller for the rules it applies then.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

from evidence_kit.errors import EvidenceError

# NOTE: folders that never hold the service's own files, skipped by discovery whatever git says.
VENDORED = frozenset(
    {".git", "node_modules", ".venv", "venv", "site-packages", "__pycache__", ".evidence", ".tox", ".nox"}
)
TIMEOUT_S = 120


def git_files(root: Path, cached_only: bool = False) -> list[str] | None:
    """Posix paths relative to `root` of the files git would track (`cached_only`: tracks now);
    None outside a work tree."""
    git = shutil.which("git")
    if git is None:
        return None
    env = {**os.environ, "GIT_OPTIONAL_LOCKS": "0", "LC_ALL": "C"}
    try:
        run = subprocess.run(
            [git, "-C", str(root), "ls-files", "-z", "--cached"]
            + ([] if cached_only else ["--others", "--exclude-standard"]),
            capture_output=True,
            env=env,
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise EvidenceError(
            f"`git ls-files` in {root} took longer than {TIMEOUT_S} s",
            hint="run `git status` there to see why git is slow",
        ) from exc
    except OSError:
        return None
    if run.returncode != 0:
        err = run.stderr.decode(errors="replace").strip()
        # NOTE: "not a git repository" (and a bare repository's "must be run in a work tree") mean there
        # is no work tree to ask; any other refusal (ownership, a broken index) is the user's to fix.
        if "not a git repository" in err or "work tree" in err:
            return None
        raise EvidenceError(
            f"git cannot list the files of {root}: {err.splitlines()[-1] if err else run.returncode}",
            hint="run `git status` there to see why",
        )
    names = (n.decode("utf-8", errors="surrogateescape") for n in run.stdout.split(b"\0") if n)
    return sorted(dict.fromkeys(names))


def _walked(root: Path) -> Iterator[str]:
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if d not in VENDORED and not (here / d / "pyvenv.cfg").is_file())
        rel = here.relative_to(root).as_posix()
        for name in sorted(files):
            yield name if rel == "." else f"{rel}/{name}"


def find(root: Path, wanted: Callable[[str], bool]) -> list[str]:
    """Files below `root` whose relative path `wanted` accepts: git's files, else a walk; vendored skipped."""
    listed = git_files(root)
    names: Iterator[str] | list[str] = _walked(root) if listed is None else listed
    found = []
    for rel in names:
        parts = rel.split("/")
        if any(p in VENDORED for p in parts[:-1]) or not wanted(rel):
            continue
        if (root / rel).is_file():
            found.append(rel)
    return sorted(found)


def keep_new_folder_out_of_git(folder: Path, what: str) -> Path | None:
    """`keep_out_of_git` for a folder a command has just made (a report, documents), up to the top of the
    git work tree it lies in; None when it lies in none."""
    from evidence_kit.support.paths import repository

    top = repository(folder.absolute().parent)
    return keep_out_of_git(folder, top, what) if (top / ".git").exists() else None


def keep_out_of_git(folder: Path, root: Path, what: str) -> Path | None:
    """Make an output folder inside `root` (the service's folder or its repository) ignore itself, so
    that what evidence-kit writes there (`what`: bundles, reports) never dirties the work tree.

    Returns the `.gitignore` written (to remove if the command is interrupted), None if none was: the
    folder lies outside `root`, or already has a `.gitignore` of its own (the user's choice).
    """
    ignore = folder / ".gitignore"
    if not folder.resolve().is_relative_to(root.resolve()) or ignore.exists():
        return None
    try:
        folder.mkdir(parents=True, exist_ok=True)
        ignore.write_text(
            f"# Written by evidence-kit: {what} stay out of git (remove this file to commit them).\n*\n"
        )
    except OSError:
        # NOTE: an unwritable folder is the writer's to report, with its own message.
        return None
    return ignore
