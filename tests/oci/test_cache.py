"""The cache of pulled bundles: where it lives, its cap, least recently used first, prune; plain paths."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from evidence_kit.errors import EvidenceError
from evidence_kit.oci import cache, resolve
from evidence_kit.oci.pull import Pulled
from evidence_kit.oci.reference import parse


def fake_fetch(name: str, size: int) -> Callable[[Path], Pulled]:
    """A stand-in for pull.fetch that writes a bundle folder of `size` bytes (the cache logic alone)."""

    def fetch(staging: Path) -> Pulled:
        (staging / name).mkdir()
        (staging / name / "blob").write_bytes(b"x" * size)
        ref = parse(f"oci://127.0.0.1:1/t/x@sha256:{name[-1] * 64}")
        return Pulled(ref, name, (staging / name,), False, 0)

    return fetch


def test_where_the_cache_lives() -> None:
    assert cache.root({"EVIDENCE_CACHE_DIR": "/c"}) == Path("/c")
    assert cache.root({"XDG_CACHE_HOME": "/x"}) == Path("/x/evidence-kit/oci")
    assert cache.root({}) == Path.home() / ".cache" / "evidence-kit" / "oci"
    assert cache.max_bytes({}) == 2048 * 1024 * 1024
    assert cache.max_bytes({"EVIDENCE_CACHE_MAX_MB": "5"}) == 5 * 1024 * 1024
    with pytest.raises(EvidenceError, match="EVIDENCE_CACHE_MAX_MB='lots'"):
        cache.max_bytes({"EVIDENCE_CACHE_MAX_MB": "lots"})


def test_least_recently_used_go_first(monkeypatch: pytest.MonkeyPatch) -> None:
    mb = 1024 * 1024
    digests = [f"sha256:{c * 64}" for c in "abc"]
    for n, digest in enumerate(digests):
        cache.store(digest, fake_fetch(f"bundle-{'abc'[n]}", mb // 2))
        time.sleep(0.01)
    assert [e.digest for e in cache.entries()] == digests
    assert cache.lookup(digests[0]) is not None, "a lookup marks the entry as used"
    monkeypatch.setenv("EVIDENCE_CACHE_MAX_MB", "1")
    cache.store("sha256:" + "d" * 64, fake_fetch("bundle-d", mb // 2))
    kept = [e.digest for e in cache.entries()]
    assert kept == [digests[0], "sha256:" + "d" * 64], "b and c were the least recently used"
    entry = cache.lookup(digests[0])
    assert entry is not None and entry.folder.name == "bundle-a" and entry.size >= mb // 2
    assert json.loads((entry.path / cache.ENTRY).read_text())["bundle"] == "bundle-a"


def test_a_failed_fetch_leaves_nothing() -> None:
    def broken(staging: Path) -> Pulled:
        (staging / "half").write_text("x")
        raise EvidenceError("the registry is gone", hint="try later")

    with pytest.raises(EvidenceError, match="the registry is gone"):
        cache.store("sha256:" + "e" * 64, broken)
    assert cache.entries() == [] and list(cache.root().iterdir()) == []


def test_prune_empties_the_cache() -> None:
    cache.store("sha256:" + "f" * 64, fake_fetch("bundle-f", 10))
    (cache.root() / ".staging-leftover").mkdir()
    removed, size = cache.prune()
    assert (removed, size) == (1, 10)
    assert list(cache.root().iterdir()) == []
    assert cache.prune() == (0, 0)


def test_plain_paths_pass_through_and_a_repository_is_no_bundle(tmp_path: Path) -> None:
    assert resolve.local_path(tmp_path / "b") == tmp_path / "b"
    assert resolve.local_path("relative/b.tar.gz") == Path("relative/b.tar.gz")
    with pytest.raises(EvidenceError, match="names a repository, not a bundle"):
        resolve.local_path("oci://127.0.0.1:1/t/x")
    with pytest.raises(EvidenceError, match="not a valid tag"):
        resolve.local_path("oci://127.0.0.1:1/t/x:-no")
    assert not os.path.exists(cache.root())


def dead_pid() -> int:
    """The id of a process that has ended (and was reaped)."""
    import subprocess

    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


def test_an_entry_is_private_and_a_killed_fetch_is_left_to_prune() -> None:
    base = cache.root()
    base.mkdir(parents=True)
    host = cache.partial_name("x").split("-", 2)[2]
    left = base / f"{cache.STAGING_PREFIX}{dead_pid()}-0a0b0c0d-{host}"
    (left / "bundle").mkdir(parents=True)
    old = os.umask(0o022)
    try:
        entry = cache.store("sha256:" + "1" * 64, fake_fetch("bundle-1", 10))
    finally:
        os.umask(old)
    assert entry.path.stat().st_mode & 0o777 == 0o700
    assert left.exists(), "another process's fetch may still be running on a shared cache"
    cache.prune()
    assert not left.exists()
