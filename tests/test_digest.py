"""Copying while hashing: the bytes and digest of what was written, limits and truncation, and a failing
read or write that is raised."""

from __future__ import annotations

import hashlib
import os
import random
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.bundle import digest
from evidence_kit.bundle.writer import BundleWriter
from evidence_kit.model import Output
from evidence_kit.redact.redactor import Redactor

MiB = 1024 * 1024
BLOCK = digest.BUFFER


def source(tmp_path: Path, size: int) -> Path:
    path = tmp_path / f"src-{size}.bin"
    path.write_bytes(random.Random(size).randbytes(size))
    return path


def copy(path: Path, dst: Path, limit: int | None = None) -> tuple[str, int, bool]:
    h = hashlib.sha256()
    with path.open("rb") as src, dst.open("wb") as out:
        size, more = digest.copy_sha256(src.fileno(), out.fileno(), h, limit)
    return h.hexdigest(), size, more


@pytest.mark.parametrize("size", [0, 1, BLOCK - 1, BLOCK, BLOCK + 1, 3 * MiB + 7])
@pytest.mark.parametrize("limit", [None, 1, BLOCK, BLOCK + 5, 3 * MiB + 7, 10 * MiB])
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


def test_a_failing_write_is_raised(tmp_path: Path) -> None:
    path = source(tmp_path, 2 * MiB)
    read, write = os.pipe()
    os.close(read)  # NOTE: writing to a pipe nobody reads fails with EPIPE, like a full or gone disk
    with path.open("rb") as src, pytest.raises(BrokenPipeError):
        digest.copy_sha256(src.fileno(), write, hashlib.sha256())
    os.close(write)


def test_a_failing_read_is_raised(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = source(tmp_path, 2 * MiB)
    real = os.readv
    calls = 0

    def flaky(fd: int, buffers: Any) -> int:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise OSError(5, "Input/output error")
        return real(fd, buffers)

    monkeypatch.setattr(os, "readv", flaky)
    with pytest.raises(OSError, match="Input/output"):
        copy(path, tmp_path / "out")
    assert calls == 2


def test_the_writer_records_the_digest_of_what_it_wrote_for_an_opaque_file(tmp_path: Path) -> None:
    path = source(tmp_path, 3 * MiB + 12345)
    writer = BundleWriter(tmp_path / "out", Redactor.from_env({}))
    try:
        record = writer.add("files", Output("big.bin", "big", "application/octet-stream", source=path))
        limited = writer.add(
            "files", Output("cut.bin", "cut", "application/octet-stream", source=path, limit=2 * MiB)
        )
        written = (writer.staging / record["path"]).read_bytes()
        assert written == path.read_bytes()
        assert record["sha256"] == hashlib.sha256(written).hexdigest() and record["size"] == len(written)
        cut = (writer.staging / limited["path"]).read_bytes()
        assert cut == path.read_bytes()[: 2 * MiB] and limited["truncated"] is True
        assert limited["sha256"] == hashlib.sha256(cut).hexdigest()
    finally:
        writer.abort()
    assert not writer.staging.exists()
