"""Find a `pg_dump` whose major version matches the PostgreSQL server's."""

from __future__ import annotations

import glob
import os
import re
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from evidence_kit.errors import CollectorError

# Folders with one pg_dump per installed major version: Debian/Ubuntu, RHEL/Fedora, Homebrew, Postgres.app.
SEARCH_GLOBS: tuple[str, ...] = (
    "/usr/lib/postgresql/*/bin",
    "/usr/pgsql-*/bin",
    "/opt/homebrew/opt/postgresql@*/bin",
    "/usr/local/opt/postgresql@*/bin",
    "/Applications/Postgres.app/Contents/Versions/*/bin",
)
PROBE_TIMEOUT_S = 15.0

_VERSION = re.compile(r"pg_dump \([^)]*\)\s+(\d+(?:\.\d+)*(?:[a-z]+\d*)?)")
_NUMBERS = re.compile(r"\d+")


@dataclass(frozen=True)
class PgDump:
    """A runnable pg_dump and the version it reports."""

    path: Path
    version: str
    major: str
    wrapper: bool = False


def major_of(version: str) -> str:
    """The major version of `15.4`, `9.6.24`, `17devel` or `16beta1`: `15`, `9.6`, `17`, `16`."""
    numbers = [int(n) for n in _NUMBERS.findall(version)]
    if not numbers:
        return version
    if numbers[0] >= 10 or len(numbers) == 1:
        return str(numbers[0])
    return f"{numbers[0]}.{numbers[1]}"


def parse_version(text: str) -> str | None:
    """The version in `pg_dump --version` output: `15.4` from `pg_dump (PostgreSQL) 15.4 (Debian ...)`."""
    match = _VERSION.search(text)
    return match.group(1) if match else None


def install_hint(major: str) -> str:
    """How to get a pg_dump of `major` on the common platforms."""
    compact = major.replace(".", "")
    return (
        f"install the PostgreSQL {major} client (Debian/Ubuntu: `apt-get install postgresql-client-{major}`, "
        f"RHEL/Fedora: `dnf install postgresql{compact}`, macOS: `brew install postgresql@{major}`) "
        "or set `schema.pg_dump` to the path of a matching pg_dump"
    )


def _version_key(text: str) -> tuple[int, ...]:
    return tuple(int(n) for n in _NUMBERS.findall(text))


def _is_wrapper(path: Path) -> bool:
    # NOTE: Debian's /usr/bin/pg_dump is a symlink to pg_wrapper, which picks a version per cluster
    # and host; the versioned binaries under /usr/lib/postgresql/N/bin say exactly what runs.
    return path.resolve().name == "pg_wrapper"


def probe(path: Path, env: Mapping[str, str] | None = None) -> PgDump | None:
    """Run `path --version`; None when it does not run or does not print a pg_dump version."""
    try:
        done = subprocess.run(
            [str(path), "--version"],
            capture_output=True,
            timeout=PROBE_TIMEOUT_S,
            env=dict(env) if env is not None else None,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    version = parse_version(done.stdout.decode("utf-8", errors="replace"))
    if done.returncode != 0 or version is None:
        return None
    return PgDump(path=path, version=version, major=major_of(version), wrapper=_is_wrapper(path))


def candidates(path_env: str | None = None, search: Sequence[str] | None = None) -> list[Path]:
    """Every executable `pg_dump` on PATH, then in the standard install locations, without duplicates."""
    path_value = path_env if path_env is not None else os.environ.get("PATH", "")
    dirs = [d for d in path_value.split(os.pathsep) if d]
    for pattern in SEARCH_GLOBS if search is None else search:
        dirs += sorted(glob.glob(pattern), key=_version_key, reverse=True)
    found: list[Path] = []
    seen: set[Path] = set()
    for folder in dirs:
        exe = Path(folder) / "pg_dump"
        if not (exe.is_file() and os.access(exe, os.X_OK)):
            continue
        real = exe.resolve()
        # NOTE: the wrapper is kept once per link name; a real binary once however it is reached.
        key = exe if real.name == "pg_wrapper" else real
        if key not in seen:
            seen.add(key)
            found.append(exe)
    return found


def _resolve_explicit(explicit: str, path_env: str | None) -> Path | None:
    if os.sep in explicit or (os.altsep and os.altsep in explicit):
        path = Path(explicit).expanduser()
        return path if path.is_file() else None
    found = shutil.which(explicit, path=path_env if path_env is not None else os.environ.get("PATH"))
    return Path(found) if found else None


def _mismatch(found: PgDump, server_version: str) -> str:
    return (
        f"pg_dump {found.version} cannot dump server {server_version}; install "
        f"postgresql-client-{major_of(server_version)} or set schema.pg_dump"
    )


def find_pg_dump(
    server_version: str,
    *,
    explicit: str | None = None,
    path_env: str | None = None,
    search: Sequence[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> PgDump:
    """The pg_dump to use against a server of `server_version`; CollectorError naming the fix when none fits.

    `explicit` (the `schema.pg_dump` option) is used alone when given. Otherwise PATH (`path_env`, default
    the process PATH) and the standard install locations (`search`, default SEARCH_GLOBS) are scanned; the
    newest binary of the server's major wins, and Debian's pg_wrapper is only a last resort.
    """
    major = major_of(server_version)
    if explicit:
        path = _resolve_explicit(explicit, path_env)
        if path is None:
            raise CollectorError(
                f"schema.pg_dump {explicit!r} was not found",
                hint=f"point `schema.pg_dump` at an existing pg_dump {major}, or remove it to search for one",
            )
        found = probe(path, env)
        if found is None:
            raise CollectorError(
                f"schema.pg_dump {str(path)!r} did not report a pg_dump version (`{path} --version`)",
                hint=f"point `schema.pg_dump` at a pg_dump {major} executable",
            )
        if found.major != major:
            raise CollectorError(
                _mismatch(found, server_version),
                hint=f"schema.pg_dump is {path} (pg_dump {found.version}); the server needs pg_dump {major}",
            )
        return found
    paths = candidates(path_env, search)
    probed: list[PgDump] = []
    # NOTE: real binaries first; the wrapper is only run when none of them matches.
    for path in sorted(paths, key=_is_wrapper):
        if probed and _is_wrapper(path) and any(p.major == major for p in probed):
            break
        found_one = probe(path, env)
        if found_one is not None:
            probed.append(found_one)
    matching = [p for p in probed if p.major == major]
    if matching:
        return max(matching, key=lambda p: (not p.wrapper, _version_key(p.version)))
    if not probed:
        raise CollectorError(
            f"no pg_dump found on PATH or in the standard install locations; install "
            f"postgresql-client-{major} or set schema.pg_dump",
            hint=install_hint(major),
        )
    closest = max(probed, key=lambda p: _version_key(p.version))
    listing = ", ".join(f"{p.path} ({p.version})" for p in probed)
    raise CollectorError(_mismatch(closest, server_version), hint=f"found {listing}; {install_hint(major)}")
