"""Copying while hashing: the same bytes and digest on both paths (in one thread, and with the write in a
second thread), limits and truncation, and a failing write that stops the copy and is raised."""

from __future__ import annotations

import hashlib
import os
import random
import threading
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.bundle import digest
from evidence_kit.bundle.writer import BundleWriter
from evidence_kit.model import Output
from evidence_kit.redact.redactor import Redactor

MiB = 1024 * 1024


@pytest.fixture
def small_overlap(monkeypatch: pytest.MonkeyPatch) -> None:
    """The overlapped path from 64 KiB on, with 100 KiB chunks (not a multiple of the read block)."""
    monkeypatch.setattr(digest, "OVERLAP_MIN", 64 * 1024)
    monkeypatch.setattr(digest, "CHUNK", 100 * 1024)


def source(tmp_path: Path, size: int) -> Path:
    path = tmp_path / f"src-{size}.bin"
    path.write_bytes(random.Random(size).randbytes(size))
    return path


def copy(path: Path, dst: Path, limit: int | None = None) -> tuple[str, int, bool]:
    h = hashlib.sha256()
    with path.open("rb") as src, dst.open("wb") as out:
        size, more = digest.copy_sha256(src.fileno(), out.fileno(), h, limit)
    return h.hexdigest(), size, more


@pytest.mark.usefixtures("small_overlap")
@pytest.mark.parametrize("size", [0, 1, 64 * 1024 - 1, 64 * 1024, 100 * 1024, 100 * 1024 + 1, 3 * MiB + 7])
@pytest.mark.parametrize("limit", [None, 1, 64 * 1024, 150 * 1024, 3 * MiB + 7, 10 * MiB])
def test_the_copy_and_its_digest_are_the_source_up_to_the_limit(
    tmp_path: Path, size: int, limit: int | None
) -> None:
    path = source(tmp_path, size)
    data = path.read_bytes()
    kept = data if limit is None else data[:limit]
    out = tmp_path / "copy.bin"
    sha, copied, more = copy(path, out, limit)
    assert out.read_bytes() == kept
    assert (sha, copied) == (hashlib.sha256(kept).hexdigest(), len(kept))
    assert more == (limit is not None and size > limit)


@pytest.mark.usefixtures("small_overlap")
def test_both_paths_are_taken(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    taken: list[str] = []
    for name in ("_copy_here", "_copy_overlapped"):
        real = getattr(digest, name)

        def spy(*args: Any, _real: Any = real, _name: str = name) -> Any:
            taken.append(_name)
            return _real(*args)

        monkeypatch.setattr(digest, name, spy)
    copy(source(tmp_path, 1000), tmp_path / "a")
    copy(source(tmp_path, 200 * 1024), tmp_path / "b")
    copy(source(tmp_path, 200 * 1024), tmp_path / "c", limit=1000)
    assert taken == ["_copy_here", "_copy_overlapped", "_copy_here"]


@pytest.mark.usefixtures("small_overlap")
@pytest.mark.parametrize("size", [10 * 1024, 2 * MiB])
def test_a_failing_write_stops_the_copy_and_is_raised(tmp_path: Path, size: int) -> None:
    before = threading.active_count()
    path = source(tmp_path, size)
    read, write = os.pipe()
    os.close(read)  # NOTE: writing to a pipe nobody reads fails with EPIPE, like a full or gone disk
    with path.open("rb") as src, pytest.raises(BrokenPipeError):
        digest.copy_sha256(src.fileno(), write, hashlib.sha256())
    os.close(write)
    assert threading.active_count() == before, "the writing thread outlived the copy"


@pytest.mark.usefixtures("small_overlap")
@pytest.mark.parametrize("size", [10 * 1024, 2 * MiB])
def test_a_failing_read_is_raised_and_the_writer_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: int
) -> None:
    path = source(tmp_path, size)
    real = os.readv
    calls = 0

    def flaky(fd: int, buffers: Any) -> int:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise OSError(5, "Input/output error")
        return real(fd, buffers)

    before = threading.active_count()
    monkeypatch.setattr(os, "readv", flaky)
    with pytest.raises(OSError, match="Input/output"):
        copy(path, tmp_path / "out")
    assert calls == 2
    assert threading.active_count() == before


def test_the_writer_records_the_digest_of_what_it_wrote_for_a_large_opaque_file(tmp_path: Path) -> None:
    path = source(tmp_path, digest.OVERLAP_MIN + 12345)
    writer = BundleWriter(tmp_path / "out", Redactor.from_env({}))
    try:
        record = writer.add("files", Output("big.bin", "big", "application/octet-stream", source=path))
        limited = writer.add(
            "files",
            Output("cut.bin", "cut", "application/octet-stream", source=path, limit=digest.OVERLAP_MIN),
        )
        written = (writer.staging / record["path"]).read_bytes()
        assert written == path.read_bytes()
        assert record["sha256"] == hashlib.sha256(written).hexdigest() and record["size"] == len(written)
        cut = (writer.staging / limited["path"]).read_bytes()
        assert cut == path.read_bytes()[: digest.OVERLAP_MIN] and limited["truncated"] is True
        assert limited["sha256"] == hashlib.sha256(cut).hexdigest()
    finally:
        writer.abort()
    assert not writer.staging.exists()
