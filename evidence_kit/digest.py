"""SHA-256 of files and streams, at the speed of the underlying library."""

from __future__ import annotations

import hashlib
from pathlib import Path

BUFFER = 1024 * 1024


def file_sha256(path: Path) -> tuple[str, int]:
    """Hex digest and size of a file, read in large blocks into one reused buffer."""
    h = hashlib.sha256()
    size = 0
    buf = bytearray(BUFFER)
    view = memoryview(buf)
    with path.open("rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
            size += n
    return h.hexdigest(), size


def bytes_sha256(data: bytes) -> str:
    """Hex digest of bytes."""
    return hashlib.sha256(data).hexdigest()
