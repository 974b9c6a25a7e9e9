"""Run a subprocess as a process tree it cannot leave, stream its output to disk with a cap, stop it whole.

Every command starts under `reaper.py` (a small supervisor run by the tool's own interpreter), which
keeps every descendant in its tree (on Linux as a child subreaper) and stops the whole tree when asked:
a timeout, a `run_for` period, Ctrl-C or SIGTERM of the collect, or the collect dying. What happened
(which signals went to how many processes, which signal ended the command) comes back in `Ending`.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

from evidence_kit.errors import CollectorError

DEFAULT_CAP = 50 * 1024 * 1024
# NOTE: how long the tree gets after SIGTERM before SIGKILL, on a timeout.
TERM_GRACE_S = 2.0
# NOTE: how long the reaper gets to report after it was told to SIGKILL the tree.
KILL_WAIT_S = 5.0
# NOTE: once the tree has ended only the pipe buffers are left to read.
PIPE_WAIT_S = 5.0
REAPER = Path(__file__).with_name("reaper.py")
# NOTE: without a child subreaper (macOS) the reaper tracks descendants by polling `ps`; tests force it.
PORTABLE = not sys.platform.startswith("linux")
_CHUNK = 1024 * 1024
_LIVE: set[Process] = set()
_LIVE_LOCK = threading.Lock()
# NOTE: set when a collect is interrupted, so that no collector starts another process after it.
STOPPING = threading.Event()


@dataclass(frozen=True)
class Ending:
    """How a command's process tree ended: its own exit, and what was done to the rest."""

    exit_code: int | None
    signal: str | None = None
    sent: tuple[tuple[str, float, int], ...] = ()
    left_behind: int = 0
    confirmed: bool = True
    error: str | None = None

    @property
    def stopped_by(self) -> str | None:
        """The strongest signal evidence-kit had to send to the tree, if any."""
        return self.sent[-1][0] if self.sent else None

    def note(self) -> str:
        """What was done to the tree, in words: `SIGTERM to 4 processes, then SIGKILL to 1`."""
        parts = [f"{name} to {n} process{'es' if n != 1 else ''}" for name, _, n in self.sent]
        text = ", then ".join(parts)
        if self.left_behind and not text:
            text = f"{self.left_behind} left running"
        if not self.confirmed:
            return (text + "; " if text else "") + "could not confirm that every process stopped"
        return text

    def as_json(self) -> dict[str, Any]:
        """The manifest's `process` record of an artifact."""
        return {
            "signal": self.signal,
            "sent": [{"signal": name, "after_s": at, "processes": n} for name, at, n in self.sent],
            "left_behind": self.left_behind,
            "confirmed": self.confirmed,
        }


def kill_all() -> None:
    """Stop every process tree still running and refuse to start new ones (a collect was interrupted)."""
    STOPPING.set()
    with _LIVE_LOCK:
        live = list(_LIVE)
    for p in live:
        p.request(signal.SIGUSR1)
    deadline = time.monotonic() + KILL_WAIT_S
    for p in live:
        if not p.wait(max(0.0, deadline - time.monotonic())):
            p.last_resort()


@dataclass(frozen=True)
class Run:
    """What a finished (or stopped) process left behind."""

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
    ending: Ending = field(default_factory=lambda: Ending(None))
    stopped: bool = False

    def text(self, stream: str = "stdout") -> str:
        """The captured stream as text (for small outputs that a collector parses)."""
        path = self.stdout if stream == "stdout" else self.stderr
        return path.read_bytes().decode("utf-8", errors="replace")


def utcnow() -> str:
    """The current UTC time in ISO 8601 with a `Z`, to the microsecond."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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


def resolve_program(name: str, cwd: Path | None, env: Mapping[str, str] | None) -> str:
    """The file a shell would run for `name` in `cwd`: a path with a `/` from `cwd`, else a PATH search."""
    base = Path(cwd).resolve() if cwd is not None else Path.cwd()
    if "/" in name:
        path = Path(os.path.normpath(base / name))
        if not path.exists():
            raise CollectorError(
                f"cannot run {name!r}: {path} does not exist",
                hint="a program named with a relative path is found from the command's working folder "
                "(`cwd`, else the folder of evidence.yaml); fix the path or `cwd`",
            )
        if path.is_dir() or not os.access(path, os.X_OK):
            raise CollectorError(
                f"cannot run {name!r}: {path} is not an executable file",
                hint=f"make it executable (chmod +x {path}) or run it through its interpreter",
            )
        return str(path)
    search = (os.environ if env is None else env).get("PATH", os.defpath)
    for folder in search.split(os.pathsep):
        where = Path(folder or ".")
        candidate = (where if where.is_absolute() else base / where) / name
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    raise CollectorError(
        f"cannot run {name!r}: not found on PATH",
        hint=f"install {name} or put it on PATH (searched: {search})",
    )


class Process:
    """A command started under the reaper, and the ways to stop its whole tree."""

    def __init__(self, popen: subprocess.Popen[bytes], argv: tuple[str, ...], status: Path | None) -> None:
        self.popen = popen
        self.argv = argv
        self.status = status
        self._forced = False
        # NOTE: Popen.wait(timeout) polls with sleeps of up to 50 ms; a pidfd wakes up when the process ends.
        self._pidfd: int | None = None
        with contextlib.suppress(AttributeError, OSError):
            self._pidfd = os.pidfd_open(popen.pid)

    def poll(self) -> bool:
        """Whether the command and every process of its tree have ended."""
        return self.popen.poll() is not None

    def wait(self, timeout: float | None) -> bool:
        """Wait up to `timeout` seconds for the tree to end; whether it did."""
        if self._pidfd is not None and self.popen.returncode is None:
            with contextlib.suppress(OSError, ValueError):
                ready, _, _ = select.select([self._pidfd], [], [], timeout)
                if not ready:
                    return False
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True

    def __del__(self) -> None:
        # NOTE: closed only when nothing refers to the process any more, so no thread still waits on it.
        if self._pidfd is not None:
            with contextlib.suppress(OSError):
                os.close(self._pidfd)
            self._pidfd = None

    def request(self, sig: int) -> None:
        """Ask the reaper to send `sig` to the tree (SIGUSR1: SIGKILL it until nothing is left).

        A process started without the reaper gets `sig` (SIGUSR1: SIGKILL) on its process group.
        """
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if self.status is None:
                os.killpg(self.popen.pid, signal.SIGKILL if sig == signal.SIGUSR1 else sig)
            elif self.popen.poll() is None:
                self.popen.send_signal(sig)

    def last_resort(self) -> None:
        """SIGKILL the reaper's own process group when it did not answer (the tree is then unconfirmed)."""
        self._forced = True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.popen.wait(timeout=KILL_WAIT_S)

    def stop(self, grace: float = TERM_GRACE_S) -> None:
        """SIGTERM to the tree, SIGKILL to what is left after `grace` seconds."""
        self.request(signal.SIGTERM)
        if self.wait(grace):
            return
        self.request(signal.SIGUSR1)
        if not self.wait(KILL_WAIT_S):
            self.last_resort()

    def interrupt(self, grace: float) -> None:
        """SIGINT to the tree (as Ctrl-C would), then `stop` what is left after `grace` seconds."""
        self.request(signal.SIGINT)
        if not self.wait(grace):
            self.stop()

    def ending(self) -> Ending:
        """How the tree ended, from the reaper's report (call once the tree has ended)."""
        if self.status is None:
            code = self.popen.returncode
            name = signal.Signals(-code).name if code is not None and code < 0 else None
            return Ending(code, signal=name)
        try:
            data: dict[str, Any] = json.loads(self.status.read_text("utf-8"))
        except (OSError, ValueError):
            code = self.popen.returncode
            return Ending(code, confirmed=False, error=None if self._forced else f"exit status {code}")
        if "error" in data:
            return Ending(None, error=str(data["error"]))
        sig = data.get("signal")
        name = signal.Signals(sig).name if isinstance(sig, int) else None
        code = data.get("exit_code")
        sent = tuple(
            (signal.Signals(int(s["signal"])).name, float(s["after_s"]), int(s["processes"]))
            for s in data["sent"]
        )
        return Ending(
            exit_code=-sig if isinstance(sig, int) else code,
            signal=name,
            sent=sent,
            left_behind=int(data.get("left_behind", 0)),
            confirmed=not self._forced,
        )


def start(
    argv: Sequence[str] | str,
    *,
    status: Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: Any = subprocess.DEVNULL,
    stdout: Any = subprocess.PIPE,
    stderr: Any = subprocess.PIPE,
    tree: bool = True,
) -> Process:
    """Start `argv` (a list, or a shell string) in a session of its own, under the reaper.

    `tree=False` skips the reaper (it costs a Python start-up, some 10 ms) for tools that never leave
    processes behind, such as git and pg_dump: they are stopped through their process group.
    """
    if STOPPING.is_set():
        raise CollectorError("not started: the collect was interrupted")
    shown: tuple[str, ...] = ("sh", "-c", argv) if isinstance(argv, str) else tuple(argv)
    program = "/bin/sh" if isinstance(argv, str) else resolve_program(shown[0], cwd, env)
    status.unlink(missing_ok=True)
    mode = ["--portable"] if PORTABLE else []
    reaper = [sys.executable, "-I", "-S", str(REAPER), "--parent", str(os.getpid()), "--status", str(status)]
    try:
        popen = subprocess.Popen(
            [*reaper, *mode, "--", program, *shown[1:]] if tree else [program, *shown[1:]],
            cwd=cwd,
            env=dict(env) if env is not None else None,
            stdin=stdin,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    except (NotADirectoryError, FileNotFoundError) as exc:
        raise CollectorError(f"cannot run {shown[0]!r} in {cwd}: {exc.strerror or exc}") from exc
    except OSError as exc:
        raise CollectorError(f"cannot run {shown[0]!r}: {exc}") from exc
    process = Process(popen, shown, status if tree else None)
    with _LIVE_LOCK:
        _LIVE.add(process)
    return process


def forget(process: Process) -> None:
    """Stop remembering a process tree that has ended."""
    with _LIVE_LOCK:
        _LIVE.discard(process)


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
    run_for: float | None = None,
    grace: float = 10.0,
    tree: bool = True,
    interrupt: bool = False,
) -> Run:
    """Run `argv` (a list, or a shell string) with a timeout; never raises on exit codes.

    With `run_for`, the command runs that long, then gets SIGINT, and SIGTERM and SIGKILL when it
    has not ended `grace` seconds later; `timeout` does not apply. With `interrupt`, a command still
    running at its timeout is stopped the same way (SIGINT first: a test runner then writes the report of
    what it ran); else with SIGTERM, then SIGKILL. Raises CollectorError only when the program cannot be
    started at all.
    """
    scratch.mkdir(parents=True, exist_ok=True)
    out_path, err_path = scratch / f"{label}.stdout", scratch / f"{label}.stderr"
    started, t0 = utcnow(), time.monotonic()
    process = start(
        argv,
        status=scratch / f"{label}.process.json",
        cwd=cwd,
        env=env,
        stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
        tree=tree,
    )
    popen = process.popen
    flags = [False, False]
    assert popen.stdout is not None and popen.stderr is not None
    pumps = [
        threading.Thread(target=_pump, args=(popen.stdout, out_path, cap, flags, 0), daemon=True),
        threading.Thread(target=_pump, args=(popen.stderr, err_path, cap, flags, 1), daemon=True),
    ]
    for t in pumps:
        t.start()
    if stdin is not None and popen.stdin is not None:
        with contextlib.suppress(BrokenPipeError):
            popen.stdin.write(stdin)
            popen.stdin.close()
    timed_out = stopped = False
    if run_for is not None:
        if not process.wait(run_for):
            stopped = True
            process.interrupt(grace)
    elif not process.wait(timeout):
        timed_out = True
        if interrupt:
            process.interrupt(grace)
        else:
            process.stop()
    if not tree:
        # NOTE: children left behind in the group still hold the pipes open.
        process.request(signal.SIGUSR1)
    deadline = time.monotonic() + PIPE_WAIT_S
    for t in pumps:
        t.join(timeout=max(0.0, deadline - time.monotonic()))
    forget(process)
    ending = process.ending()
    if any(t.is_alive() for t in pumps):
        # NOTE: only a process outside the tree (escaped, or given the pipe) can still hold it open.
        ending = replace(ending, confirmed=False)
    if ending.error is not None:
        raise CollectorError(f"cannot run {process.argv[0]!r}: {ending.error}")
    return Run(
        argv=process.argv,
        exit_code=None if timed_out else ending.exit_code,
        timed_out=timed_out,
        stdout=out_path,
        stderr=err_path,
        stdout_truncated=flags[0],
        stderr_truncated=flags[1],
        started=started,
        finished=utcnow(),
        duration_s=round(time.monotonic() - t0, 3),
        ending=ending,
        stopped=stopped,
    )
