"""Pure-Python work done in a forked copy of this process, its result sent back pickled.

Threads share one interpreter, so parsing and comparing large documents uses one core however many
threads do it. A forked copy has an interpreter of its own and already holds everything this process
has read: it does its share, pickles the result into a pipe and ends without freeing anything.

Used only where it is safe and worth it: on Linux (elsewhere forking a process that may have loaded
system frameworks is not), with no other thread alive (a lock another thread holds would stay held in
the copy). When the copy fails in any way, `result` says so and the caller does the work itself.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from evidence_kit.support.reaper import PR_SET_PDEATHSIG, prctl

T = TypeVar("T")
_STOPS = {signal.SIGINT, signal.SIGTERM}


def available() -> bool:
    """True when this process may fork a copy to work beside it."""
    return sys.platform == "linux" and hasattr(os, "fork") and threading.active_count() == 1


class Forked(Generic[T]):
    """`work()` run in a forked copy of this process; `result()` waits for it, `close()` ends it."""

    def __init__(self, work: Callable[[], T]) -> None:
        self._read, write = os.pipe()
        parent = os.getpid()
        # NOTE: no Ctrl-C between the fork and the copy's own handling: it would unwind this process's
        # stack in the copy (closing what the caller opened, removing its temporary folders).
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPS)
        try:
            self._pid = os.fork()
        except OSError:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
            os.close(self._read)
            os.close(write)
            self._pid = -1
            return
        if self._pid == 0:  # pragma: no cover - runs in the copy, which never returns
            _child(work, self._read, write, parent, blocked)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        os.close(write)

    def result(self) -> tuple[bool, T | None]:
        """(True, the value) once the copy sent it; (False, None) when it could not."""
        if self._pid <= 0:
            return False, None
        with os.fdopen(self._read, "rb") as fh:
            self._read = -1
            data = fh.read()
        _, status = os.waitpid(self._pid, 0)
        self._pid = 0
        if status != 0 or not data:
            return False, None
        try:
            value: T = pickle.loads(data)
        except Exception:
            return False, None
        return True, value

    def close(self) -> None:
        """Stop the copy if its result was not taken (after an error here), and wait for it."""
        if self._read >= 0:
            os.close(self._read)
            self._read = -1
        if self._pid > 0:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            self._pid = 0


def _child(  # pragma: no cover - in the copy
    work: Callable[[], T], read: int, write: int, parent: int, blocked: set[int | signal.Signals]
) -> None:
    code = 1
    try:
        # NOTE: the copy ends at once on Ctrl-C or SIGTERM, and when this process dies before it.
        for number in _STOPS:
            signal.signal(number, signal.SIG_DFL)
        prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        if os.getppid() != parent:
            os._exit(1)
        os.close(read)
        data = pickle.dumps(work(), protocol=pickle.HIGHEST_PROTOCOL)
        with os.fdopen(write, "wb") as fh:
            fh.write(data)
        code = 0
    except BaseException:
        # NOTE: whatever happens, the copy ends here and the caller does the work.
        code = 1
    finally:
        os._exit(code)
