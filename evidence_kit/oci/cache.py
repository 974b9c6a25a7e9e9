"""Bundles pulled for `verify`, `diff`, `report`, `docs` and `check`, kept by digest and reused.

The cache lives in `$EVIDENCE_CACHE_DIR`, else `$XDG_CACHE_HOME/evidence-kit/oci`, else
`~/.cache/evidence-kit/oci`. Each entry `sha256-<hex>/` holds what `pull` writes (the bundle folder,
its archive, its envelope and statements) and `entry.json`; entries appear whole (renamed into place
after they verified). After each new entry the least recently used ones are removed until the cache
fits `$EVIDENCE_CACHE_MAX_MB` (default 2048); the newest entry always stays.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from evidence_kit.bundle.writer import partial_name
from evidence_kit.errors import EvidenceError
from evidence_kit.oci.pull import Pulled

DEFAULT_MAX_MB = 2048
ENTRY = "entry.json"
STAGING_PREFIX = ".staging-"


@dataclass(frozen=True)
class Entry:
    """One cached bundle: its folder in the cache, its digest, size and when it was last used."""

    path: Path
    digest: str
    bundle: str
    size: int
    used: float

    @property
    def folder(self) -> Path:
        """The cached bundle folder."""
        return self.path / self.bundle


def root(env: Mapping[str, str] | None = None) -> Path:
    """Where the cache lives."""
    env = os.environ if env is None else env
    if env.get("EVIDENCE_CACHE_DIR"):
        return Path(env["EVIDENCE_CACHE_DIR"])
    base = Path(env["XDG_CACHE_HOME"]) if env.get("XDG_CACHE_HOME") else Path.home() / ".cache"
    return base / "evidence-kit" / "oci"


def max_bytes(env: Mapping[str, str] | None = None) -> int:
    """The size cap in bytes, from `$EVIDENCE_CACHE_MAX_MB`."""
    env = os.environ if env is None else env
    value = env.get("EVIDENCE_CACHE_MAX_MB", "").strip()
    if not value:
        return DEFAULT_MAX_MB * 1024 * 1024
    if not value.isdigit():
        raise EvidenceError(
            f"EVIDENCE_CACHE_MAX_MB={value!r} is not a whole number of megabytes",
            hint=f"set it to e.g. {DEFAULT_MAX_MB}, or unset it",
        )
    return int(value) * 1024 * 1024


def _key(digest: str) -> str:
    return digest.replace(":", "-", 1)


def _size(path: Path) -> int:
    total = 0
    for dirpath, _, files in os.walk(path):
        for name in files:
            try:
                total += (Path(dirpath) / name).lstat().st_size
            except OSError:
                continue
    return total


def _read(path: Path) -> Entry | None:
    try:
        info = json.loads((path / ENTRY).read_bytes())
        entry = Entry(
            path, str(info["digest"]), str(info["bundle"]), int(info["size"]), (path / ENTRY).stat().st_mtime
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return entry if entry.folder.is_dir() and "/" not in entry.bundle else None


def entries(env: Mapping[str, str] | None = None) -> list[Entry]:
    """Every complete entry, least recently used first."""
    base = root(env)
    if not base.is_dir():
        return []
    found = [e for p in base.iterdir() if p.name.startswith("sha256-") and (e := _read(p)) is not None]
    return sorted(found, key=lambda e: (e.used, e.path.name))


def lookup(digest: str, env: Mapping[str, str] | None = None) -> Entry | None:
    """The entry of a digest, marked as used; None when it is not cached."""
    entry = _read(root(env) / _key(digest))
    if entry is not None:
        os.utime(entry.path / ENTRY)
    return entry


def store(digest: str, fetch: Callable[[Path], Pulled], env: Mapping[str, str] | None = None) -> Entry:
    """Fetch a bundle into a staging folder of the cache, rename it into place whole, then trim the cache."""
    base = root(env)
    try:
        base.mkdir(parents=True, exist_ok=True)
        # NOTE: not swept: a cache on a shared volume may be filled by processes this host cannot see;
        # `evidence cache prune` removes what killed fetches left. The entry stays private (0700).
        staging = base / partial_name(STAGING_PREFIX)
        staging.mkdir(mode=0o700)
    except OSError as exc:
        raise EvidenceError(
            f"cannot write the bundle cache {base}: {exc.strerror or exc}",
            hint="point EVIDENCE_CACHE_DIR at a folder you may write to",
        ) from exc
    try:
        pulled = fetch(staging)
        size = _size(staging)
        (staging / ENTRY).write_text(
            json.dumps(
                {"digest": digest, "bundle": pulled.name, "size": size, "reference": str(pulled.reference)}
            )
        )
        target = base / _key(digest)
        try:
            os.rename(staging, target)
        except OSError:
            # NOTE: another process cached the same digest meanwhile; its copy is as good as ours.
            if _read(target) is None:
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    trim(max_bytes(env), keep=target, env=env)
    entry = _read(target)
    assert entry is not None
    return entry


def trim(cap: int, keep: Path | None = None, env: Mapping[str, str] | None = None) -> list[Entry]:
    """Remove least recently used entries until the cache fits `cap` bytes; the removed entries."""
    found = entries(env)
    total = sum(e.size for e in found)
    removed: list[Entry] = []
    for entry in found:
        if total <= cap:
            break
        if keep is not None and entry.path == keep:
            continue
        _remove(entry.path)
        total -= entry.size
        removed.append(entry)
    return removed


def _remove(path: Path) -> None:
    # NOTE: renamed first, so a reader never sees half an entry.
    doomed = path.with_name(f".doomed-{path.name}-{time.monotonic_ns()}")
    try:
        os.rename(path, doomed)
    except OSError:
        return
    shutil.rmtree(doomed, ignore_errors=True)


def prune(env: Mapping[str, str] | None = None) -> tuple[int, int]:
    """Empty the cache: the number of entries and bytes removed (leftover staging folders go too)."""
    base = root(env)
    if not base.is_dir():
        return 0, 0
    found = entries(env)
    for entry in found:
        _remove(entry.path)
    for leftover in base.iterdir():
        if leftover.name.startswith((".staging-", ".doomed-", "sha256-")):
            shutil.rmtree(leftover, ignore_errors=True)
    return len(found), sum(e.size for e in found)
