"""Run a subprocess in its own process group, stream its output to disk with a cap."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

from evidence_kit.errors import CollectorError

DEFAULT_CAP = 50 * 1024 * 1024
_CHUNK = 1024 * 1024
_LIVE: set[subprocess.Popen[bytes]] = set()
_LIVE_LOCK = threading.Lock()
# NOTE: set when a collect is interrupted, so that no collector starts another process after it.
STOPPING = threading.Event()


def kill_all() -> None:
    """Stop every process group still running and refuse to start new ones (a collect was interrupted)."""
    STOPPING.set()
    with _LIVE_LOCK:
        live = list(_LIVE)
    for p in live:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(p.pid, signal.SIGKILL)


@dataclass(frozen=True)
class Run:
    """What a finished (or killed) process left behind."""

    argv: tuple[str, ...]
    exit_code: int | None
    timed_out: bool
    stdout: Path
    stderr: Path
    stdout_truncated: bool
    stderr_truncated: bool
    started: str
    finished: str
    duration_s: float

    def text(self, stream: str = "stdout") -> str:
        """The captured stream as text (for small outputs that a collector parses)."""
        path = self.stdout if stream == "stdout" else self.stderr
        return path.read_bytes().decode("utf-8", errors="replace")


def utcnow() -> str:
    """The current UTC time in ISO 8601 with a `Z`, to the microsecond."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _pump(src: IO[bytes], dest: Path, cap: int, flags: list[bool], index: int) -> None:
    written = 0
    with dest.open("wb") as out:
        while chunk := src.read1(_CHUNK) if hasattr(src, "read1") else src.read(_CHUNK):
            room = cap - written
            if room > 0:
                out.write(chunk[:room])
                written += min(room, len(chunk))
            if len(chunk) > room:
                flags[index] = True
    src.close()


def group_alive(leader: subprocess.Popen[bytes]) -> bool:
    """Whether any process of the leader's group still runs (zombies left to init do not count)."""
    leader.poll()
    try:
        os.killpg(leader.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    procfs = Path("/proc")
    if not (procfs / "self" / "stat").exists():
        return True
    for entry in procfs.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # NOTE: the command name may hold spaces and parentheses; the fields after the last `)` do not.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[2] == str(leader.pid) and fields[0] not in ("Z", "X"):
            return True
    return False


def kill_group(proc: subprocess.Popen[bytes], grace: float = 2.0) -> None:
    """Stop the whole process group: SIGTERM, then SIGKILL to what is left after `grace` seconds.

    The grace is timed on the whole group, not the leader: a shell leader dies at once on
    SIGTERM while the server under it is still shutting down.
    """
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            break
        deadline = time.monotonic() + wait
        while group_alive(proc) and time.monotonic() < deadline:
            time.sleep(0.05)
        if not group_alive(proc):
            break
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=5.0)
    forget(proc)


def track(proc: subprocess.Popen[bytes]) -> None:
    """Remember a started process group so that an interrupted collect stops it."""
    with _LIVE_LOCK:
        _LIVE.add(proc)


def forget(proc: subprocess.Popen[bytes]) -> None:
    """Stop remembering a process group that has ended."""
    with _LIVE_LOCK:
        _LIVE.discard(proc)


def run(
    argv: Sequence[str] | str,
    *,
    scratch: Path,
    label: str,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float = 300.0,
    cap: int = DEFAULT_CAP,
    stdin: bytes | None = None,
) -> Run:
    """Run `argv` (a list, or a shell string) with a timeout; never raises on exit codes.

    Raises CollectorError only when the program cannot be started at all.
    """
    if STOPPING.is_set():
        raise CollectorError("not started: the collect was interrupted")
    shell = isinstance(argv, str)
    shown: tuple[str, ...] = ("sh", "-c", argv) if isinstance(argv, str) else tuple(argv)
    scratch.mkdir(parents=True, exist_ok=True)
    out_path, err_path = scratch / f"{label}.stdout", scratch / f"{label}.stderr"
    started, t0 = utcnow(), time.monotonic()
    try:
        proc = subprocess.Popen(
            argv if shell else list(argv),
            shell=shell,
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError as exc:
        raise CollectorError(
            f"cannot run {shown[0]!r}: not found",
            hint=f"install {shown[0]} or put it on PATH",
        ) from exc
    except (PermissionError, NotADirectoryError, OSError) as exc:
        raise CollectorError(f"cannot run {shown[0]!r}: {exc}") from exc
    track(proc)
    flags = [False, False]
    assert proc.stdout is not None and proc.stderr is not None
    pumps = [
        threading.Thread(target=_pump, args=(proc.stdout, out_path, cap, flags, 0), daemon=True),
        threading.Thread(target=_pump, args=(proc.stderr, err_path, cap, flags, 1), daemon=True),
    ]
    for t in pumps:
        t.start()
    if stdin is not None and proc.stdin is not None:
        try:
            proc.stdin.write(stdin)
            proc.stdin.close()
        except BrokenPipeError:
            pass
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
    if timed_out:
        kill_group(proc)
    else:
        # NOTE: children left behind in the group still hold the pipes open.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    for t in pumps:
        t.join(timeout=10)
    forget(proc)
    return Run(
        argv=shown,
        exit_code=None if timed_out else proc.returncode,
        timed_out=timed_out,
        stdout=out_path,
        stderr=err_path,
        stdout_truncated=flags[0],
        stderr_truncated=flags[1],
        started=started,
        finished=utcnow(),
        duration_s=round(time.monotonic() - t0, 3),
    )
