"""Copying while hashing: the bytes and digest of what was written, limits and truncation, and a failing
read or write that is raised."""

from __future__ import annotations

import errno
import hashlib
import os
import random
import threading
import time
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
    with path.open("rb") as src, dst.open("wb") as out:
        h, size, more = digest.copy_sha256(src.fileno(), out.fileno(), limit)
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
        digest.copy_sha256(src.fileno(), write)
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


# NOTE: an opaque type is copied as it is; any other is streamed through the redactor.
@pytest.mark.parametrize("media_type", ["application/gzip", "application/octet-stream"])
def test_the_writer_records_the_digest_of_what_it_wrote(tmp_path: Path, media_type: str) -> None:
    path = source(tmp_path, 3 * MiB + 12345)
    writer = BundleWriter(tmp_path / "out", Redactor.from_env({}))
    try:
        record = writer.add("files", Output("big.bin", "big", media_type, source=path))
        limited = writer.add("files", Output("cut.bin", "cut", media_type, source=path, limit=2 * MiB))
        written = (writer.staging / record["path"]).read_bytes()
        assert written == path.read_bytes()
        assert record["sha256"] == hashlib.sha256(written).hexdigest() and record["size"] == len(written)
        cut = (writer.staging / limited["path"]).read_bytes()
        assert cut == path.read_bytes()[: 2 * MiB] and limited["truncated"] is True
        assert limited["sha256"] == hashlib.sha256(cut).hexdigest()
    finally:
        writer.abort()
    assert not writer.staging.exists()


# The split copy: the kernel copies a large file in a second thread while this one hashes the copy.


def copy_rw(path: Path, dst: Path, limit: int | None = None) -> tuple[str, int, bool]:
    with path.open("rb") as src, dst.open("w+b") as out:
        h, size, more = digest.copy_sha256(src.fileno(), out.fileno(), limit)
    return h.hexdigest(), size, more


@pytest.fixture(autouse=True)
def kernel_copies_anywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test starts with no device pair known to refuse kernel copies."""
    monkeypatch.setattr(digest, "_refused", set())


@pytest.fixture
def small_split(monkeypatch: pytest.MonkeyPatch) -> int:
    """Split copies from 256 KiB on, in steps of 64 KiB and 3 bytes after a first of 32 KiB and 1 (steps
    that do not line up with blocks)."""
    monkeypatch.setattr(digest, "SPLIT_FROM", 256 * 1024)
    monkeypatch.setattr(digest, "_STEP", 64 * 1024 + 3)
    monkeypatch.setattr(digest, "_FIRST_STEP", 32 * 1024 + 1)
    return 256 * 1024


def split_used(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the kernel copies made (an empty list when the copy was not split)."""
    real = digest._copy_range
    calls: list[int] = []

    def counted(src: int, dst: int, count: int) -> int:
        n = int(real(src, dst, count))
        calls.append(n)
        return n

    monkeypatch.setattr(digest, "_copy_range", counted)
    return calls


needs_range = pytest.mark.skipif(digest._copy_range is None, reason="no copy_file_range on this system")


@needs_range
@pytest.mark.parametrize("limit", [None, 256 * 1024, 256 * 1024 + 1, 700_001, 2 * MiB])
def test_a_split_copy_and_its_digest_are_the_source_up_to_the_limit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_split: int, limit: int | None
) -> None:
    path = source(tmp_path, MiB + 12345)
    calls = split_used(monkeypatch)
    data = path.read_bytes()
    kept = data if limit is None else data[:limit]
    out = tmp_path / "copy.bin"
    assert copy_rw(path, out, limit) == (hashlib.sha256(kept).hexdigest(), len(kept), len(data) > len(kept))
    assert out.read_bytes() == kept
    assert sum(calls) == len(kept) and len(calls) > 2


@needs_range
def test_a_copy_of_the_real_split_size_is_split(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = source(tmp_path, digest.SPLIT_FROM + 1)
    calls = split_used(monkeypatch)
    out = tmp_path / "copy.bin"
    sha, size, more = copy_rw(path, out)
    assert (sha, size, more) == (hashlib.sha256(path.read_bytes()).hexdigest(), digest.SPLIT_FROM + 1, False)
    assert sum(calls) == size


@needs_range
def test_no_split_to_a_write_only_file_or_below_the_size(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_split: int
) -> None:
    calls = split_used(monkeypatch)
    big, small = source(tmp_path, MiB), source(tmp_path, small_split - 1)
    assert copy(big, tmp_path / "a")[0] == hashlib.sha256(big.read_bytes()).hexdigest()
    assert copy_rw(small, tmp_path / "b")[0] == hashlib.sha256(small.read_bytes()).hexdigest()
    assert copy_rw(big, tmp_path / "c", limit=small_split - 1)[1] == small_split - 1
    assert calls == []


@needs_range
@pytest.mark.parametrize("code", [errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP])
def test_a_kernel_that_cannot_copy_between_the_files_leaves_it_to_the_plain_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_split: int, code: int
) -> None:
    tries: list[int] = []

    def refuse(src: int, dst: int, count: int) -> int:
        tries.append(count)
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(digest, "_copy_range", refuse)
    path = source(tmp_path, MiB)
    data = path.read_bytes()
    expected = hashlib.sha256(data).hexdigest()
    hashed = counted_updates(monkeypatch)
    for name in ("copy.bin", "again.bin"):
        out = tmp_path / name
        assert copy_rw(path, out) == (expected, MiB, False)
        assert out.read_bytes() == data
    # NOTE: each byte hashed once; one try only where the refusal speaks of the kernel or the devices
    # (EINVAL may speak of these files alone).
    remembered = code in (errno.EXDEV, errno.ENOSYS, errno.EOPNOTSUPP)
    assert sum(hashed) == 2 * MiB and len(tries) == (1 if remembered else 2)
    assert ((-1, -1) in digest._refused) == (code == errno.ENOSYS)
    assert bool(digest._refused) == remembered


def counted_updates(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count the bytes the copies hash."""
    hashed: list[int] = []
    real = hashlib.sha256

    class Counted:
        def __init__(self, data: bytes = b"") -> None:
            self.h = real(data)

        def update(self, data: Any) -> None:
            hashed.append(len(data))
            self.h.update(data)

        def hexdigest(self) -> str:
            return self.h.hexdigest()

    monkeypatch.setattr(digest.hashlib, "sha256", Counted)
    return hashed


def _copy_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "evidence-copy"]


@needs_range
def test_a_failing_kernel_copy_after_a_first_step_is_raised_and_no_thread_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_split: int
) -> None:
    real = digest._copy_range
    steps = 0

    def full_disk(src: int, dst: int, count: int) -> int:
        nonlocal steps
        steps += 1
        if steps > 1:
            raise OSError(errno.ENOSPC, "No space left on device")
        return int(real(src, dst, count))

    monkeypatch.setattr(digest, "_copy_range", full_disk)
    path = source(tmp_path, MiB)
    with pytest.raises(OSError, match="No space left"):
        copy_rw(path, tmp_path / "copy.bin")
    assert steps == 2 and not _copy_threads()


@needs_range
def test_a_failing_read_of_the_copy_is_raised_and_the_copying_thread_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_split: int
) -> None:
    real = digest._copy_range
    steps = 0

    def slow(src: int, dst: int, count: int) -> int:
        nonlocal steps
        steps += 1
        time.sleep(0.002)
        return int(real(src, dst, count))

    def broken(fd: int, buffers: Any, offset: int) -> int:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(digest, "_copy_range", slow)
    monkeypatch.setattr(os, "preadv", broken)
    path = source(tmp_path, 4 * MiB)
    with pytest.raises(OSError, match="Input/output"):
        copy_rw(path, tmp_path / "copy.bin")
    # NOTE: 65 steps would copy it all; the thread stops at the next one.
    assert not _copy_threads() and steps < 10


@needs_range
def test_a_copy_into_a_file_that_holds_something_hashes_only_the_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_split: int
) -> None:
    path = source(tmp_path, MiB + 5)
    calls = split_used(monkeypatch)
    out = tmp_path / "copy.bin"
    with path.open("rb") as src, out.open("w+b") as dst:
        dst.write(b"already here\n")
        dst.flush()
        src.seek(5)
        h, size, more = digest.copy_sha256(src.fileno(), dst.fileno())
    assert (h.hexdigest(), size, more) == (hashlib.sha256(path.read_bytes()[5:]).hexdigest(), MiB, False)
    assert out.read_bytes() == b"already here\n" + path.read_bytes()[5:] and sum(calls) == MiB


@needs_range
@pytest.mark.parametrize("how", ["rewritten", "truncated"])
def test_a_source_changed_during_the_copy_gets_the_digest_of_what_was_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_split: int, how: str
) -> None:
    path = source(tmp_path, MiB)
    real = digest._copy_range
    steps = 0

    def meddling(src: int, dst: int, count: int) -> int:
        nonlocal steps
        steps += 1
        if steps == 3:
            with path.open("r+b") as other:
                if how == "rewritten":
                    other.seek(100_000)
                    other.write(b"\xff" * 500_000)
                else:
                    other.truncate(300_000)
            # NOTE: a distinct time, as a write a clock tick later would leave
            os.utime(path, ns=(1, 1))
        return int(real(src, dst, count))

    monkeypatch.setattr(digest, "_copy_range", meddling)
    out = tmp_path / "copy.bin"
    sha, size, _ = copy_rw(path, out)
    written = out.read_bytes()
    assert (sha, size) == (hashlib.sha256(written).hexdigest(), len(written))
    assert b"\xff" * 400_000 in written if how == "rewritten" else size < MiB


@needs_range
def test_the_writer_splits_a_large_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_split: int
) -> None:
    calls = split_used(monkeypatch)
    path = source(tmp_path, 3 * MiB + 12345)
    writer = BundleWriter(tmp_path / "out", Redactor.from_env({}))
    try:
        record = writer.add("files", Output("big.gz", "big", "application/gzip", source=path))
        written = (writer.staging / record["path"]).read_bytes()
        assert written == path.read_bytes() and sum(calls) == len(written)
        assert record["sha256"] == hashlib.sha256(written).hexdigest() and record["size"] == len(written)
    finally:
        writer.abort()


LEGIBLE = ["settings.env.gz", "settings.env.xz", "bundle.zip", "src.tar", "icon.svg", "key.xpm", "data.bin"]


@pytest.mark.parametrize("name", ["shot.png", "photo.jpg", *LEGIBLE])
def test_only_binary_images_are_copied_unredacted(tmp_path: Path, name: str) -> None:
    """A compressed file or an archive may hold its text as it is (a stored zip entry, a gzip of
    level 0, a small xz file), and some images are text: their bytes are scanned like any other."""
    from evidence_kit.collectors.files import media_type
    from evidence_kit.redact.rules import fill

    secret, _ = fill("password = {alnum:20}\n", "digest/opaque")
    data = random.Random(3).randbytes(5000) + secret.encode() + random.Random(4).randbytes(5000)
    path = tmp_path / name
    path.write_bytes(data)
    writer = BundleWriter(tmp_path / "out", Redactor.from_env({}))
    try:
        record = writer.add("files", Output(name, name, media_type(path), source=path))
        written = (writer.staging / record["path"]).read_bytes()
        if name in LEGIBLE:
            assert record["redactions"] == 1 and secret.encode() not in written
        else:
            assert record["redactions"] == 0 and written == data
    finally:
        writer.abort()


@needs_range
def test_a_source_that_shrank_below_its_offset_is_not_split(tmp_path: Path, small_split: int) -> None:
    path = source(tmp_path, MiB)
    with path.open("rb") as src, (tmp_path / "copy.bin").open("w+b") as dst:
        src.seek(2 * MiB)
        assert digest._split_copy(src.fileno(), dst.fileno(), None) is None
        assert digest.copy_sha256(src.fileno(), dst.fileno())[1:] == (0, False)


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@needs_range
@pytest.mark.parametrize("fails", ["second dup", "thread start"])
def test_a_failure_before_the_copying_thread_runs_leaves_no_descriptor(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, small_split: int, fails: str
) -> None:
    real_dup = os.dup
    dups = 0

    def dup(fd: int) -> int:
        nonlocal dups
        dups += 1
        if fails == "second dup" and dups == 2:
            raise OSError(errno.EMFILE, "Too many open files")
        return real_dup(fd)

    def start(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(os, "dup", dup)
    if fails == "thread start":
        monkeypatch.setattr(threading.Thread, "start", start)
    path = source(tmp_path, MiB)
    with path.open("rb") as src, (tmp_path / "copy.bin").open("w+b") as dst:
        before = _open_fds()
        with pytest.raises((OSError, RuntimeError)):
            digest.copy_sha256(src.fileno(), dst.fileno())
        assert _open_fds() == before and dups == 2
