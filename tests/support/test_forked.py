"""Work in a forked copy of the process: its result comes back, and any failure leaves the work here."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import pytest

from evidence_kit.support import forked

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="the OS does not fork")


def test_the_copys_result_comes_back() -> None:
    parent = os.getpid()
    job = forked.Forked(lambda: {"pid": os.getpid(), "rows": list(range(100_000))})
    try:
        sent, value = job.result()
    finally:
        job.close()
    assert sent and value is not None
    assert value["pid"] != parent and value["rows"] == list(range(100_000))


def test_a_copy_that_raises_sends_nothing() -> None:
    def work() -> int:
        raise ValueError("bad document")

    job = forked.Forked(work)
    try:
        assert job.result() == (False, None)
    finally:
        job.close()


def test_a_copy_that_is_killed_sends_nothing_and_leaves_no_process() -> None:
    job = forked.Forked(lambda: time.sleep(60))
    pid = job._pid
    os.kill(pid, signal.SIGKILL)
    try:
        assert job.result() == (False, None)
    finally:
        job.close()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def test_closing_before_the_result_stops_the_copy() -> None:
    job = forked.Forked(lambda: time.sleep(60))
    pid = job._pid
    started = time.monotonic()
    job.close()
    assert time.monotonic() - started < 5
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def test_not_available_with_another_thread_alive() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not forked.available()
    finally:
        stop.set()
        other.join()
    assert forked.available() == (sys.platform == "linux" and threading.active_count() == 1)
