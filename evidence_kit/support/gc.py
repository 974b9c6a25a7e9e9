"""Pausing Python's cyclic garbage collector around work that builds many objects without cycles."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextmanager
def paused() -> Iterator[None]:
    """Run a block with the cyclic collector off; nested and concurrent blocks share one pause.

    Reference counting still frees everything without cycles at once. The point is the large
    parsed documents: each collection while they are alive walks all of their objects again.
    """
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
