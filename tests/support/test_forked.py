"""Work in a forked copy of the process: its result comes back, and any failure leaves the work here."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from pathlib import Path

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


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_the_copy_ends_when_its_process_is_killed(tmp_path: Path) -> None:
    import subprocess

    script = (
        "import os, sys, time\n"
        "from evidence_kit.support.forked import Forked\n"
        "job = Forked(lambda: time.sleep(60))\n"
        "print(job._pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    copy = int(proc.stdout.readline())
    proc.kill()
    proc.wait(timeout=10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and Path(f"/proc/{copy}").exists():
        if Path(f"/proc/{copy}/stat").read_text().split()[2] == "Z":
            break
        time.sleep(0.05)
    stat = Path(f"/proc/{copy}/stat")
    assert not stat.exists() or stat.read_text().split()[2] == "Z"
