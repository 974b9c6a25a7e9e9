"""SHA-256 of files and streams, at the speed of the underlying library."""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

BUFFER = 1024 * 1024
# NOTE: zeroing a fresh 1 MiB buffer per file cost more than hashing a typical small artifact.
_local = threading.local()


def read_buffer() -> memoryview:
    """This thread's reusable BUFFER-sized read buffer; valid until its next use on the same thread."""
    view: memoryview | None = getattr(_local, "view", None)
    if view is None:
        view = _local.view = memoryview(bytearray(BUFFER))
    return view


def file_sha256(path: Path) -> tuple[str, int]:
    """Hex digest and size of a file, read in large blocks into one reused buffer."""
    h = hashlib.sha256()
    size = 0
    view = read_buffer()
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(view):
            h.update(view[:n])
            size += n
    return h.hexdigest(), size


def bytes_sha256(data: bytes) -> str:
    """Hex digest of bytes."""
    return hashlib.sha256(data).hexdigest()
