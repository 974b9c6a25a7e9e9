"""Run one command as the root of a process tree that its descendants cannot leave; stop the tree on request.

Started by `evidence_kit.support.proc` with the tool's own interpreter as
`python -I -S reaper.py --parent PID --status FILE [--portable] -- PROGRAM ARG...`; it uses the
standard library only and imports nothing of evidence_kit, so it starts fast whatever the service.

On Linux it makes itself a child subreaper (prctl PR_SET_CHILD_SUBREAPER): a descendant that
double-forks, calls setsid or moves to another process group (coreutils `timeout`) is re-parented
to it instead of to init, so the tree is always every process whose parent chain ends here. Elsewhere
(macOS has no subreaper) it polls `ps`: the tree is its descendants, the processes of its process group
(a double fork that stays in the group), and every descendant seen at an earlier poll that still runs
with the same start time. A process that leaves the group (setsid, setpgid) and loses its parent between
two polls escapes.

Requests from the parent, by signal to this process:
  SIGINT, SIGTERM   sent on to every process of the tree
  SIGUSR1           SIGKILL to every process of the tree, repeated until none is left
  SIGHUP            (also the parent-death signal) when the parent is gone: SIGKILL the tree, then exit
When the command's own process ends without a request, the processes it left behind get SIGTERM, then
SIGKILL after LEFTOVER_GRACE_S. The reaper exits once the command has ended and the tree is empty,
after writing what happened as JSON to the status file.
"""

from __future__ import annotations

import os
import select
import sys
import time

# NOTE: `signal` and `json` import `enum` and `re`, which would double this script's start-up time.
try:
    import _signal as signal  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # pragma: no cover - an interpreter without the C module
    import signal

PR_SET_PDEATHSIG = 1
PR_SET_CHILD_SUBREAPER = 36
LEFTOVER_GRACE_S = 2.0
POLL_S = 0.5
HANDLED = (signal.SIGCHLD, signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGHUP)
# NOTE: Python ignores SIGPIPE and a parent may ignore others; the command gets them at their defaults.
DEFAULTS = (*HANDLED, signal.SIGPIPE, signal.SIGQUIT, signal.SIGXFSZ)


def prctl(option: int, value: int) -> bool:
    """Call Linux prctl(2); False when it is not there or refuses."""
    import ctypes

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(option, ctypes.c_ulong(value), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def table_proc() -> dict[int, tuple[int, int, str, str]]:
    """Every process as pid -> (parent pid, process group, state, start time), from /proc."""
    table: dict[int, tuple[int, int, str, str]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read().decode("ascii", "replace")
        except OSError:
            continue
        # NOTE: the command name may hold spaces and parentheses; the fields after the last `)` do not.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 19:
            table[int(entry.name)] = (int(fields[1]), int(fields[2]), fields[0], fields[19])
    return table


def table_ps() -> dict[int, tuple[int, int, str, str]]:
    """Every process as pid -> (parent pid, process group, state, start time), from `ps` (any POSIX)."""
    read, write = os.pipe()
    argv = ["ps", "-A", "-o", "pid=", "-o", "ppid=", "-o", "pgid=", "-o", "stat=", "-o", "lstart="]
    try:
        pid = os.posix_spawnp(
            "ps",
            argv,
            dict(os.environ, LC_ALL="C"),
            file_actions=[(os.POSIX_SPAWN_DUP2, write, 1), (os.POSIX_SPAWN_CLOSE, read)],
        )
    except OSError:
        os.close(read)
        os.close(write)
        return {}
    os.close(write)
    chunks = []
    with os.fdopen(read, "rb") as out:
        while chunk := out.read(65536):
            chunks.append(chunk)
    os.waitpid(pid, 0)
    table: dict[int, tuple[int, int, str, str]] = {}
    for line in b"".join(chunks).decode("ascii", "replace").splitlines():
        parts = line.split(None, 4)
        if len(parts) == 5 and all(p.isdigit() for p in parts[:3]) and int(parts[0]) != pid:
            table[int(parts[0])] = (int(parts[1]), int(parts[2]), parts[3], parts[4].strip())
    return table


def alive(state: str) -> bool:
    """Whether a process in this state still runs (zombies and dead entries do not)."""
    return not state.startswith(("Z", "X"))


def descendants(table: dict[int, tuple[int, int, str, str]], root: int) -> dict[int, str]:
    """The live descendants of `root` in `table`, as pid -> start time."""
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found: dict[int, str] = {}
    todo = list(children.get(root, []))
    while todo:
        pid = todo.pop()
        if pid in found or pid == root:
            continue
        _, _, state, start = table[pid]
        if alive(state):
            found[pid] = start
        todo.extend(children.get(pid, []))
    return found


class Reaper:
    """The command, the processes under this one, and the signals sent to them."""

    def __init__(self, portable: bool) -> None:
        self.me = os.getpid()
        self.portable = portable
        self.known: dict[int, str] = {}
        self.t0 = time.monotonic()
        self.sent: list[dict[str, object]] = []
        self.child = 0
        self.ended: tuple[int | None, int | None] | None = None
        self.ended_after_s: float | None = None

    def members(self) -> dict[int, str]:
        """Every live process of the tree (portable mode: also those seen before that still run)."""
        if not self.portable:
            return descendants(table_proc(), self.me)
        table = table_ps()
        now = descendants(table, self.me)
        # NOTE: an orphan that did not leave the process group (a double fork) is still ours.
        now.update(
            {pid: e[3] for pid, e in table.items() if e[1] == self.me and pid != self.me and alive(e[2])}
        )
        for pid, start in list(self.known.items()):
            entry = table.get(pid)
            if entry is not None and entry[3] == start and alive(entry[2]):
                now.setdefault(pid, start)
            else:
                del self.known[pid]
        self.known.update(now)
        return now

    def reap(self) -> None:
        """Collect every child that has ended (the command's own exit status is kept)."""
        while True:
            try:
                pid, code = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.child:
                self.ended = (
                    os.WEXITSTATUS(code) if os.WIFEXITED(code) else None,
                    os.WTERMSIG(code) if os.WIFSIGNALED(code) else None,
                )
                self.ended_after_s = round(time.monotonic() - self.t0, 3)

    def _record(self, sig: int, count: int) -> None:
        self.sent.append({"signal": sig, "after_s": round(time.monotonic() - self.t0, 3), "processes": count})

    def send(self, sig: int) -> int:
        """Send `sig` to every process of the tree; how many received it."""
        count = 0
        for pid in self.members():
            try:
                os.kill(pid, sig)
                count += 1
            except (ProcessLookupError, PermissionError):
                pass
        self._record(sig, count)
        return count

    def kill(self) -> None:
        """SIGKILL the tree until nothing is left (a process may fork between a scan and the kill)."""
        count = 0
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            members = self.members()
            if not members:
                break
            for pid in members:
                try:
                    os.kill(pid, signal.SIGKILL)
                    count += 1
                except (ProcessLookupError, PermissionError):
                    pass
            time.sleep(0.01)
            self.reap()
        self._record(signal.SIGKILL, count)

    def run(self, command: list[str], parent: int, wake: int) -> dict[str, object]:
        """Run the command until it and its tree have ended; what happened, for the status file."""
        self.child = os.posix_spawn(command[0], command, dict(os.environ), setsigdef=DEFAULTS, setsigmask=())
        status: dict[str, object] = {"mode": "portable" if self.portable else "subreaper"}
        requested = parent_gone = False
        leftover_deadline: float | None = None
        while True:
            self.reap()
            if self.ended is not None or parent_gone:
                left = self.members()
                if not left:
                    break
                if parent_gone:
                    self.kill()
                    continue
                if not requested and leftover_deadline is None:
                    status["left_behind"] = len(left)
                    self.send(signal.SIGTERM)
                    leftover_deadline = time.monotonic() + LEFTOVER_GRACE_S
                elif leftover_deadline is not None and time.monotonic() >= leftover_deadline:
                    self.kill()
                    leftover_deadline = None
                    requested = True
                    continue
            wait: float | None = None
            if leftover_deadline is not None:
                wait = max(0.0, min(0.05, leftover_deadline - time.monotonic()))
            elif self.ended is not None or requested:
                wait = 0.05
            elif self.portable:
                wait = POLL_S
            ready, _, _ = select.select([wake], [], [], wait)
            if self.portable and self.ended is None:
                self.members()
            # NOTE: without Linux's parent-death signal, a killed collect is seen by polling.
            if self.portable and not parent_gone and os.getppid() != parent:
                parent_gone = True
                status["parent_gone"] = True
            if not ready:
                continue
            try:
                received = os.read(wake, 4096)
            except BlockingIOError:
                continue
            for signum in received:
                if signum in (signal.SIGINT, signal.SIGTERM):
                    requested = True
                    self.send(signum)
                elif signum == signal.SIGUSR1:
                    requested = True
                    self.kill()
                elif signum == signal.SIGHUP and os.getppid() != parent:
                    parent_gone = True
                    status["parent_gone"] = True
        status["sent"] = self.sent
        status["ended_after_s"] = self.ended_after_s
        status["exit_code"], status["signal"] = self.ended or (None, None)
        return status


def to_json(value: object) -> str:
    """JSON text of the status: dicts, lists, strings, numbers, booleans and None."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{to_json(str(k))}: {to_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(to_json(v) for v in value) + "]"
    if isinstance(value, str):
        escaped = "".join(c if c.isprintable() and c not in '"\\' else f"\\u{ord(c):04x}" for c in value)
        return f'"{escaped}"'
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    return repr(value)


def write_status(path: str, status: dict[str, object]) -> None:
    """Write the status file whole (the parent reads it once this process has exited)."""
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(to_json(status))
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    """Run the command under this process; see the module docstring."""
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1 :]
    parent = int(options[options.index("--parent") + 1])
    status_path = options[options.index("--status") + 1]
    linux = sys.platform.startswith("linux")
    portable = "--portable" in options or not (linux and prctl(PR_SET_CHILD_SUBREAPER, 1))
    if linux and "--portable" not in options:
        prctl(PR_SET_PDEATHSIG, signal.SIGHUP)
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_r, False)
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    for sig in HANDLED:
        signal.signal(sig, lambda signum, frame: None)
    if os.getppid() != parent:
        return 1
    try:
        status = Reaper(portable).run(command, parent, wake_r)
    except OSError as exc:
        write_status(status_path, {"error": exc.strerror or str(exc), "errno": exc.errno})
        return 127
    write_status(status_path, status)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
