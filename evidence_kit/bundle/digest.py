"""SHA-256 of files and streams, at the speed of the underlying library."""

from __future__ import annotations

import errno
import hashlib
import os
import stat
import threading
from pathlib import Path
from typing import Any

# NOTE: a block that stays in the CPU cache between read, hash and write; with blocks of 128 KiB and
# more, hashing or copying a file from the page cache ran 30-80% slower.
BUFFER = 64 * 1024
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


def copy_sha256(src: int, dst: int, limit: int | None = None) -> tuple[Any, int, bool]:
    """Copy from file descriptor `src` to `dst`, at most `limit` bytes; returns the SHA-256 of exactly the
    bytes written (a hashlib object), how many were copied, and whether `src` had more after `limit`.

    A large regular file is copied by the kernel while this thread hashes it (see `_split_copy`); the
    rest, or all of it elsewhere, block by block: each block is hashed and written while in the cache.
    """
    split = _split_copy(src, dst, limit) if _splits(src, dst, limit) else None
    h, size = split if split is not None else (hashlib.sha256(), 0)
    view = read_buffer()
    while limit is None or size < limit:
        n = os.readv(src, (view if limit is None or limit - size >= len(view) else view[: limit - size],))
        if not n:
            break
        h.update(view[:n])
        block = view[:n]
        while block:
            block = block[os.write(dst, block) :]
        size += n
    return h, size, limit is not None and size >= limit and bool(os.read(src, 1))


# NOTE: from this size on, a copy is split between two threads; below, starting one costs more than it saves.
SPLIT_FROM = 16 * 1024 * 1024
_STEP = 16 * 1024 * 1024
_copy_range: Any = getattr(os, "copy_file_range", None)
# NOTE: what copy_file_range says where the kernel or the file systems cannot copy between these files.
_NO_RANGE = frozenset({errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP, errno.EBADF, errno.EPERM})


def _splits(src: int, dst: int, limit: int | None) -> bool:
    """True for a regular file with at least SPLIT_FROM bytes to copy, to a regular file open for reading
    too (to hash what was written, read back, should the source change meanwhile)."""
    if _copy_range is None or (limit is not None and limit < SPLIT_FROM):
        return False
    import fcntl

    try:
        source, target = os.fstat(src), os.fstat(dst)
        left = source.st_size - os.lseek(src, 0, os.SEEK_CUR)
        readable = fcntl.fcntl(dst, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDWR
    except OSError:
        return False
    regular = stat.S_ISREG(source.st_mode) and stat.S_ISREG(target.st_mode)
    return readable and regular and left >= SPLIT_FROM


def _split_copy(src: int, dst: int, limit: int | None) -> tuple[Any, int] | None:
    """Copy `src` to `dst` from their offsets, as many bytes as `src` holds now (at most `limit`), by the
    kernel (copy_file_range, page to page) in a second thread while this one hashes the same bytes of the
    source; the hash and the bytes copied, or None when the kernel cannot copy between the two (nothing
    was copied: the caller copies as usual).

    The two overlap on two cores, so copying a file costs about what hashing it does (1 GiB: 0.82-0.89 s
    against 0.80-0.87 s for `openssl dgst`; read, hash and write in one thread, 1.1-1.6 s). Hashing the
    copy as it is written instead was as fast only now and then: reading a file while the kernel writes
    it slowed the writing threefold. Should the source change while it is copied (its size or times
    differ after), the copy is hashed again, read back: the digest is always that of the bytes written.
    """
    src_at, dst_at = os.lseek(src, 0, os.SEEK_CUR), os.lseek(dst, 0, os.SEEK_CUR)
    before = os.fstat(src)
    length = before.st_size - src_at if limit is None else min(limit, before.st_size - src_at)
    copied = 0
    error: OSError | None = None
    stop = threading.Event()

    def copier() -> None:
        nonlocal copied, error
        try:
            while copied < length and not stop.is_set():
                n = _copy_range(src, dst, min(_STEP, length - copied))
                if not n:
                    break
                copied += n
        except OSError as exc:
            error = exc

    thread = threading.Thread(target=copier, name="evidence-copy", daemon=True)
    thread.start()
    try:
        h = _hash_range(src, src_at, length)
    except BaseException:
        stop.set()
        raise
    finally:
        thread.join()
    if error is not None:
        if copied == 0 and error.errno in _NO_RANGE:
            return None
        raise error
    after = os.fstat(src)
    if copied != length or _stamp(after) != _stamp(before):
        h = _hash_range(dst, dst_at, copied)
    return h, copied


def _stamp(st: os.stat_result) -> tuple[int, int, int]:
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _hash_range(fd: int, offset: int, length: int) -> Any:
    """SHA-256 of `length` bytes of `fd` from `offset` (fewer if it ends before); its offset stays."""
    h = hashlib.sha256()
    view = read_buffer()
    done = 0
    while done < length:
        n = os.preadv(fd, (view if length - done >= len(view) else view[: length - done],), offset + done)
        if not n:
            break
        h.update(view[:n])
        done += n
    return h
