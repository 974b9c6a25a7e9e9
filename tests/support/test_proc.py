"""Process trees: nothing a command starts outlives a timeout, a stop or an interrupted collect."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from evidence_kit.errors import CollectorError
from evidence_kit.support import proc

# Each shape ends in a process that writes its pid to `pids/` and then sleeps for long.
SLEEPER = "sh -c 'echo $$ > {pids}/$$; exec sleep 300'"
INNER = 'sh -c "echo \\$\\$ > {pids}/\\$\\$; exec sleep 300"'
SHAPES = {
    # coreutils timeout moves itself and the command into a process group of their own.
    "timeout": "timeout -s INT 90 " + SLEEPER + "; sleep 300",
    "setsid": "setsid " + SLEEPER + " & sleep 300",
    # the middle shell exits at once: the sleeper is an orphan in the command's group.
    "double-fork": "sh -c '" + INNER + " &' ; sleep 300",
    "setsid-double-fork": "setsid sh -c '" + INNER + " &' ; sleep 300",
}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except (OSError, IndexError):
            return False
    return True


def wait_for_pids(folder: Path, count: int = 1, timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [int(p.name) for p in folder.iterdir()]
        if len(found) >= count and all(p.read_text().strip() for p in folder.iterdir()):
            return found
        time.sleep(0.02)
    raise AssertionError(f"the command did not start its sleeper within {timeout} s")


def assert_gone(pids: list[int]) -> None:
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline and any(alive(p) for p in pids):
        time.sleep(0.02)
    left = [p for p in pids if alive(p)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"processes outlived the command: {left}"


@pytest.fixture()
def pids(tmp_path: Path) -> Path:
    folder = tmp_path / "pids"
    folder.mkdir()
    return folder


@pytest.fixture(params=[False, True], ids=["subreaper", "portable"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[bool]:
    """Both ways of tracking a tree: Linux's child subreaper, and polling `ps` (what macOS gets)."""
    if not request.param and not sys.platform.startswith("linux"):
        pytest.skip("the child subreaper is Linux only")
    monkeypatch.setattr(proc, "PORTABLE", request.param)
    yield request.param


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_timeout_stops_every_descendant(shape: str, mode: bool, tmp_path: Path, pids: Path) -> None:
    # NOTE: polling sees a new process within half a second; the timeout leaves it time to be seen.
    t0 = time.monotonic()
    run = proc.run(
        SHAPES[shape].format(pids=pids), scratch=tmp_path / "s", label="x", timeout=1.5 if mode else 0.8
    )
    assert run.timed_out and run.exit_code is None
    found = wait_for_pids(pids)
    if mode and shape == "setsid-double-fork":
        # NOTE: without a subreaper, a process that leaves the session and loses its parent at once
        # cannot be found; what it leaves behind (the output held open) is reported, never hidden.
        assert not run.ending.confirmed and "could not confirm" in run.ending.note()
        for pid in found:
            os.kill(pid, signal.SIGKILL)
        return
    assert time.monotonic() - t0 < 8
    assert_gone(found)
    sent = dict((name, n) for name, _, n in run.ending.sent)
    # sh, the sleeper, and `timeout` or `sleep 300` of the outer shell: all of them were signalled.
    assert sent["SIGTERM"] >= 2, run.ending
    assert run.ending.confirmed
    assert "SIGTERM to" in run.ending.note()


def test_processes_left_behind_are_stopped_and_counted(tmp_path: Path, pids: Path) -> None:
    run = proc.run(
        "setsid " + SLEEPER.format(pids=pids) + " & sleep 0.3; echo done",
        scratch=tmp_path / "s",
        label="x",
        timeout=30,
    )
    assert run.exit_code == 0 and not run.timed_out and run.text().strip() == "done"
    assert run.ending.left_behind == 1
    assert run.ending.sent[0][0] == "SIGTERM" and run.ending.sent[0][2] == 1
    assert_gone(wait_for_pids(pids))


def test_a_leftover_that_ignores_sigterm_gets_sigkill(tmp_path: Path, pids: Path) -> None:
    stubborn = "sh -c 'trap \"\" TERM; echo $$ > {pids}/$$; while :; do sleep 0.1; done'"
    run = proc.run(stubborn.format(pids=pids) + " & sleep 0.3", scratch=tmp_path / "s", label="x", timeout=30)
    assert run.exit_code == 0
    assert [name for name, _, _ in run.ending.sent] == ["SIGTERM", "SIGKILL"]
    assert_gone(wait_for_pids(pids))


def test_interrupting_a_collect_stops_every_tree(tmp_path: Path, pids: Path) -> None:
    runs: list[proc.Run] = []
    worker = threading.Thread(
        target=lambda: runs.append(
            proc.run(SHAPES["setsid-double-fork"].format(pids=pids), scratch=tmp_path / "s", label="x")
        )
    )
    worker.start()
    found = wait_for_pids(pids)
    t0 = time.monotonic()
    proc.kill_all()
    worker.join(timeout=15)
    try:
        assert not worker.is_alive() and time.monotonic() - t0 < 10
        assert runs and runs[0].ending.sent[-1][0] == "SIGKILL"
        assert_gone(found)
        with pytest.raises(CollectorError, match="interrupted"):
            proc.run("true", scratch=tmp_path / "s", label="y")
    finally:
        proc.STOPPING.clear()


def test_the_tree_dies_with_the_collecting_process(mode: bool, tmp_path: Path, pids: Path) -> None:
    # NOTE: the portable mode gets no parent-death signal, as on macOS: it must see the loss by polling.
    script = (
        "import sys; from pathlib import Path; from evidence_kit.support import proc\n"
        f"proc.PORTABLE = {mode!r}\n"
        f"proc.run({SHAPES['double-fork'].format(pids=pids)!r}, scratch=Path(sys.argv[1]), label='x')\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script, str(tmp_path / "s")])
    found = wait_for_pids(pids)
    parent.kill()
    parent.wait()
    assert_gone(found)


def test_run_for_then_sigint(tmp_path: Path) -> None:
    worker = (
        "import time\ntry:\n    while True: time.sleep(0.02)\n"
        "except KeyboardInterrupt:\n    print('stopped cleanly', flush=True)\n    raise SystemExit(130)\n"
    )
    t0 = time.monotonic()
    run = proc.run([sys.executable, "-c", worker], scratch=tmp_path / "s", label="w", run_for=0.8, grace=5)
    assert 0.8 <= time.monotonic() - t0 < 5
    assert run.stopped and not run.timed_out
    assert run.exit_code == 130 and run.ending.signal is None
    assert [name for name, _, _ in run.ending.sent] == ["SIGINT"]
    assert run.text() == "stopped cleanly\n"


def test_run_for_escalates_to_sigterm_and_sigkill(tmp_path: Path) -> None:
    run = proc.run(
        "trap '' INT TERM; while :; do sleep 0.05; done",
        scratch=tmp_path / "s",
        label="w",
        run_for=0.3,
        grace=0.5,
    )
    assert [name for name, _, _ in run.ending.sent] == ["SIGINT", "SIGTERM", "SIGKILL"]
    assert run.ending.signal == "SIGKILL" and run.exit_code == -signal.SIGKILL


def test_a_program_named_with_a_relative_path_resolves_in_cwd(tmp_path: Path) -> None:
    (tmp_path / "sub" / "bin").mkdir(parents=True)
    tool = tmp_path / "sub" / "bin" / "tool"
    tool.write_text("#!/bin/sh\necho from-tool\n")
    tool.chmod(0o755)
    run = proc.run(["./bin/tool"], scratch=tmp_path / "s", label="t", cwd=tmp_path / "sub")
    assert run.text() == "from-tool\n"
    with pytest.raises(CollectorError) as missing:
        proc.run(["./bin/nope"], scratch=tmp_path / "s", label="t", cwd=tmp_path / "sub")
    assert str(tmp_path / "sub" / "bin" / "nope") in missing.value.message
    tool.chmod(0o644)
    with pytest.raises(CollectorError, match="not an executable file"):
        proc.run(["bin/tool"], scratch=tmp_path / "s", label="t", cwd=tmp_path / "sub")
    # A relative PATH entry is searched from the command's folder, as a shell does.
    tool.chmod(0o755)
    run = proc.run(["tool"], scratch=tmp_path / "s", label="t", cwd=tmp_path / "sub", env={"PATH": "bin"})
    assert run.text() == "from-tool\n"
    with pytest.raises(CollectorError, match="not found on PATH"):
        proc.run(["nope-xyz"], scratch=tmp_path / "s", label="t", env={"PATH": str(tmp_path)})


def test_exit_by_signal_is_reported(tmp_path: Path) -> None:
    run = proc.run("kill -SEGV $$", scratch=tmp_path / "s", label="k")
    assert run.exit_code == -signal.SIGSEGV and run.ending.signal == "SIGSEGV" and run.ending.sent == ()
