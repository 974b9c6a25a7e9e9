"""SHA-256 of files and streams, at the speed of the underlying library."""

from __future__ import annotations

import hashlib
import os
import queue
import threading
from pathlib import Path
from typing import Any

# NOTE: a block that stays in the CPU cache between read, hash and write; with blocks of 128 KiB and
# more, hashing or copying a file from the page cache ran 30-80% slower.
BUFFER = 64 * 1024
# NOTE: hashing and writing overlap (in two threads; both release the GIL) for files at least this large:
# the handoff costs a thread start and a queue round trip per CHUNK, which small files would not repay.
OVERLAP_MIN = 8 * 1024 * 1024
CHUNK = 1024 * 1024
DEPTH = 4
# NOTE: allocating a fresh buffer per file showed when hashing thousands of small artifacts.
_local = threading.local()


def read_buffer() -> memoryview:
    """This thread's reusable BUFFER-sized read buffer; valid until its next use on the same thread."""
    view: memoryview | None = getattr(_local, "view", None)
    if view is None:
        view = _local.view = memoryview(bytearray(BUFFER))
    return view


def file_sha256(path: Path | str) -> tuple[str, int]:
    """Hex digest and size of a file, read block by block into one reused buffer."""
    h = hashlib.sha256()
    size = 0
    view = read_buffer()
    # NOTE: a bare descriptor skips building a file object, which shows over thousands of small files.
    fd = os.open(path, os.O_RDONLY)
    try:
        while n := os.readv(fd, (view,)):
            h.update(view[:n])
            size += n
    finally:
        os.close(fd)
    return h.hexdigest(), size


def bytes_sha256(data: bytes) -> str:
    """Hex digest of bytes."""
    return hashlib.sha256(data).hexdigest()


def copy_sha256(src: int, dst: int, h: Any, limit: int | None = None) -> tuple[int, bool]:
    """Copy from file descriptor `src` to `dst`, at most `limit` bytes, hashing into `h` exactly the bytes
    written.

    Returns the bytes copied and whether `src` had more after `limit`. Blocks are read and hashed in
    this thread; for a source of OVERLAP_MIN bytes or more another thread writes each CHUNK while the
    next is read and hashed, so that on two cores a copy costs about what hashing alone does. An error
    of either side stops both and is raised here.
    """
    try:
        big = os.fstat(src).st_size >= OVERLAP_MIN
    except OSError:
        big = False
    if big and (limit is None or limit >= OVERLAP_MIN):
        size = _copy_overlapped(src, dst, h, limit)
    else:
        size = _copy_here(src, dst, h, limit)
    return size, limit is not None and size >= limit and bool(os.read(src, 1))


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        data = data[os.write(fd, data) :]


def _copy_here(src: int, dst: int, h: Any, limit: int | None) -> int:
    view = read_buffer()
    size = 0
    while limit is None or size < limit:
        n = os.readv(src, (view if limit is None or limit - size >= len(view) else view[: limit - size],))
        if not n:
            break
        h.update(view[:n])
        _write_all(dst, view[:n])
        size += n
    return size


def _copy_overlapped(src: int, dst: int, h: Any, limit: int | None) -> int:
    free: queue.SimpleQueue[memoryview] = queue.SimpleQueue()
    full: queue.SimpleQueue[tuple[memoryview, int] | None] = queue.SimpleQueue()
    for _ in range(DEPTH):
        free.put(memoryview(bytearray(CHUNK)))
    failed: list[BaseException] = []

    def write() -> None:
        while (item := full.get()) is not None:
            chunk, n = item
            if not failed:
                try:
                    _write_all(dst, chunk[:n])
                except BaseException as exc:  # NOTE: raised by the reading thread
                    failed.append(exc)
            free.put(chunk)

    writer = threading.Thread(target=write, name="evidence-copy", daemon=True)
    writer.start()
    size = 0
    try:
        while not failed and (limit is None or size < limit):
            chunk = free.get()
            want = CHUNK if limit is None else min(CHUNK, limit - size)
            filled = 0
            # NOTE: read and hash BUFFER-sized steps, so that each is hashed while still in the cache.
            while filled < want:
                part = chunk[filled : min(want, filled + BUFFER)]
                n = os.readv(src, (part,))
                if not n:
                    break
                h.update(part[:n])
                filled += n
            if filled:
                full.put((chunk, filled))
                size += filled
            if filled < want:
                break
    finally:
        full.put(None)
        writer.join()
    if failed:
        raise failed[0]
    return size
