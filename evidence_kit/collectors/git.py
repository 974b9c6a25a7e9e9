"""The state of a git checkout: HEAD, working-tree status, recent log, diffs and a PR range."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from evidence_kit.errors import CollectorError
from evidence_kit.evidence import git as layout
from evidence_kit.model import Context, Intent, Output
from evidence_kit.support import paths, proc

NAME = "git"
# NOTE: one length of short commit id on every page and artifact (git's own default varies with the
# repository's size).
SHORT = 12

DEFAULT_LOG = 10
DEFAULT_DIFF_MAX_BYTES = 10 * 1024 * 1024

OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "path": {
            "type": "string",
            "default": ".",
            "description": "The checkout to describe, relative to evidence.yaml (default `.`).",
        },
        "log": {
            "type": "integer",
            "minimum": 1,
            "default": DEFAULT_LOG,
            "description": f"How many commits of history to record (default {DEFAULT_LOG}).",
        },
        "base": {
            "type": "string",
            "minLength": 1,
            "pattern": "^[^-]",
            "description": "Base ref of the change under review, e.g. `origin/main`; adds the range outputs.",
        },
        "diff_max_bytes": {
            "type": "integer",
            "minimum": 1,
            "default": DEFAULT_DIFF_MAX_BYTES,
            "description": f"Cap on each patch, in bytes (default {DEFAULT_DIFF_MAX_BYTES}).",
        },
    },
}

_TIMEOUT = 120.0
_TEXT_CAP = 16 * 1024 * 1024
# NOTE: these variables would point git at some other repository or index than `path`
# (they are set, for instance, when evidence-kit runs from inside a git hook).
_REPO_VARS = (
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_COMMON_DIR",
    "GIT_NAMESPACE",
    "GIT_PREFIX",
)
# NOTE: user settings that would change the bytes of the log and the patches, or run programs.
# They go in through the environment so that the recorded argv stays the plain command.
_CONFIG = {
    "color.ui": "never",
    "log.showSignature": "false",
    "diff.noprefix": "false",
    "diff.mnemonicPrefix": "false",
}
_DIFF_FLAGS = ("--no-color", "--no-ext-diff", "--no-textconv")
# NOTE: fields of a commit, NUL-separated; with -z every record ends in NUL too.
_COMMIT_FORMAT = "--format=%H%x00%P%x00%an%x00%ae%x00%aI%x00%s"
_COMMIT_FIELDS = 6
_FETCH_HINT = (
    "fetch the base with enough history, e.g. `git fetch --depth=200 origin main`, or `git fetch --unshallow`"
)


class _Failed(Exception):
    """A git command failed; `message` says which and why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _git_env(base: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in base.items() if k not in _REPO_VARS}
    env.update(
        GIT_OPTIONAL_LOCKS="0",
        GIT_TERMINAL_PROMPT="0",
        GIT_PAGER="cat",
        PAGER="cat",
        LC_ALL="C",
        LANGUAGE="C",
    )
    env["GIT_CONFIG_COUNT"] = str(len(_CONFIG))
    for i, (key, value) in enumerate(_CONFIG.items()):
        env[f"GIT_CONFIG_KEY_{i}"] = key
        env[f"GIT_CONFIG_VALUE_{i}"] = value
    return env


def _tail(run: proc.Run, lines: int = 5) -> str:
    text = run.text("stderr").strip()
    return " | ".join(text.splitlines()[-lines:]) if text else "no error output"


class _Git:
    """Runs git commands in one checkout, each spooled to its own file in a private scratch folder."""

    def __init__(self, cwd: Path, scratch: Path, env: dict[str, str]) -> None:
        self.cwd = cwd
        self.scratch = scratch
        self.env = env
        self.count = 0

    def run(self, label: str, args: Sequence[str], cap: int = _TEXT_CAP) -> proc.Run:
        """Run `git <args>`; never raises on the exit code."""
        self.count += 1
        return proc.run(
            ["git", *args],
            scratch=self.scratch,
            label=f"{self.count:02d}-{label}",
            cwd=self.cwd,
            env=self.env,
            timeout=_TIMEOUT,
            cap=cap,
            tree=False,
        )

    def check(self, run: proc.Run) -> proc.Run:
        """Return `run` when it succeeded, else raise _Failed naming the command and git's complaint."""
        shown = " ".join(run.argv)
        if run.timed_out:
            raise _Failed(f"`{shown}` timed out after {_TIMEOUT:g} s")
        if run.exit_code != 0:
            raise _Failed(f"`{shown}` exited with {run.exit_code}: {_tail(run)}")
        return run

    def out(self, label: str, args: Sequence[str]) -> str:
        """The stdout of a successful command, as text."""
        return self.check(self.run(label, args)).text()


def _dump(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _timing(runs: Sequence[proc.Run]) -> dict[str, Any]:
    """Start, finish and summed duration of the commands behind one output."""
    return {
        "started": runs[0].started,
        "finished": runs[-1].finished,
        "duration_s": round(sum(r.duration_s for r in runs), 3),
    }


def _of_run(run: proc.Run) -> dict[str, Any]:
    return {"argv": run.argv, "exit_code": run.exit_code, **_timing([run])}


def _error(name: str, title: str, message: str) -> Output:
    return Output(f"{name}.error.txt", title, data=(message + "\n").encode(), status="error", message=message)


def _commits(raw: str) -> list[dict[str, Any]]:
    """Parse `git log -z` output made with _COMMIT_FORMAT, newest first."""
    fields = raw.split("\0")
    if fields and fields[-1] == "":
        fields.pop()
    commits = []
    for i in range(0, len(fields) - _COMMIT_FIELDS + 1, _COMMIT_FIELDS):
        sha, parents, name, email, date, subject = fields[i : i + _COMMIT_FIELDS]
        commits.append(
            {
                "sha": sha.strip("\n"),
                "parents": parents.split(),
                "author": {"name": name, "email": email},
                "authored": date,
                "subject": subject,
            }
        )
    return commits


def _status_entries(raw: bytes) -> list[dict[str, Any]]:
    """Parse `git status --porcelain=v1 -z`: `XY path`, renames followed by their old path."""
    parts = raw.split(b"\0")
    entries = []
    i = 0
    while i < len(parts):
        item = parts[i]
        i += 1
        if len(item) < 4:
            continue
        code = item[:2].decode("ascii", errors="replace")
        entry: dict[str, Any] = {"path": item[3:].decode(errors="replace"), "code": code}
        if "R" in code or "C" in code:
            entry["orig_path"] = parts[i].decode(errors="replace") if i < len(parts) else None
            i += 1
        entries.append(entry)
    return sorted(entries, key=lambda e: (e["path"], e["code"]))


def _name_status(raw: bytes) -> list[dict[str, Any]]:
    """Parse `git diff --name-status -z`: a status, then one path (two for renames and copies)."""
    parts = raw.split(b"\0")
    files = []
    i = 0
    while i < len(parts) and parts[i]:
        status = parts[i].decode("ascii", errors="replace")
        i += 1
        entry: dict[str, Any] = {"status": status[:1]}
        if status[:1] in ("R", "C"):
            entry["similarity"] = int(status[1:]) if status[1:].isdigit() else None
            entry["old_path"] = parts[i].decode(errors="replace")
            i += 1
        entry["path"] = parts[i].decode(errors="replace") if i < len(parts) else ""
        i += 1
        files.append(entry)
    return sorted(files, key=lambda e: (e["path"], e["status"]))


def _open(path: Path, scratch: Path, base_env: Mapping[str, str]) -> tuple[_Git, Path, bool]:
    """Find the top of the checkout at `path`; returns the runner, the top and whether it is shallow."""
    if not path.exists():
        raise CollectorError(f"{path} does not exist", hint="fix the `path` option of the git collector")
    if not path.is_dir():
        raise CollectorError(f"{path} is not a directory", hint="point `path` at the checkout's folder")
    env = _git_env(base_env)
    if shutil.which("git", path=env.get("PATH")) is None:
        raise CollectorError(
            "git is not installed", hint="install git (e.g. `apt-get install git`) or put it on PATH"
        )
    git = _Git(path, scratch, env)
    run = git.run(
        "toplevel", ["rev-parse", "--show-toplevel", "--is-shallow-repository", "--git-path", "index"]
    )
    if run.exit_code != 0 or run.timed_out:
        err = run.text("stderr")
        if "not a git repository" in err:
            raise CollectorError(
                f"{path} is not inside a git repository",
                hint="point the `path` option at a git checkout, or run `git init` there",
            )
        if "dubious ownership" in err:
            raise CollectorError(
                f"git refuses {path}: the repository belongs to another user",
                hint=f"if you trust it: git config --global --add safe.directory {path}",
            )
        if "must be run in a work tree" in err:
            raise CollectorError(
                f"{path} is a bare repository", hint="point `path` at a checkout with a work tree"
            )
        raise CollectorError(
            f"git cannot read {path}: {_tail(run)}", hint="run `git status` there to see why"
        )
    lines = run.text().splitlines()
    top = Path(lines[0])
    shallow = lines[1].strip() == "true"
    index = Path(lines[2])
    index = index if index.is_absolute() else path / index
    # NOTE: status and diff refresh the index and write it back even with optional locks off;
    # a private copy (same mtime, so racy-clean checks behave alike) keeps the checkout untouched.
    private = scratch / "index"
    if index.is_file():
        shutil.copy2(index, private)
    git.env["GIT_INDEX_FILE"] = str(private)
    git.cwd = top
    return git, top, shallow


def _head(git: _Git, shallow: bool, dirty: bool) -> tuple[Output, str | None]:
    runs = [git.run("head", ["rev-parse", "--verify", "--quiet", "HEAD^{commit}"])]
    sha = runs[0].text().strip() if runs[0].exit_code == 0 else None
    runs.append(git.run("branch", ["symbolic-ref", "--quiet", "--short", "HEAD"]))
    branch = runs[-1].text().strip() if runs[-1].exit_code == 0 else None
    short = describe = None
    tags: list[str] = []
    if sha is not None:
        runs.append(git.check(git.run("short", ["rev-parse", f"--short={SHORT}", sha])))
        short = runs[-1].text().strip()
        runs.append(git.check(git.run("tags", ["tag", "--points-at", sha])))
        tags = sorted(t for t in runs[-1].text().splitlines() if t)
        runs.append(git.run("describe", ["describe", "--tags", "--always", f"--abbrev={SHORT}", sha]))
        describe = runs[-1].text().strip() if runs[-1].exit_code == 0 else None
    data = {
        "sha": sha,
        "short_sha": short,
        "branch": branch,
        "detached": branch is None,
        "tags": tags,
        "shallow": shallow,
        "dirty": dirty,
        "describe": describe,
    }
    output = Output(
        layout.HEAD, "HEAD commit, branch and tags", "application/json", data=_dump(data), **_timing(runs)
    )
    return output, sha


def _status(git: _Git) -> tuple[list[Output], bool]:
    run_z = git.check(git.run("status-z", ["status", "--porcelain=v1", "-z"]))
    entries = _status_entries(run_z.stdout.read_bytes())
    run = git.check(git.run("status", ["status", "--porcelain=v1"]))
    txt = Output(
        layout.STATUS_TEXT,
        "Working-tree status (git status --porcelain=v1)",
        **_of_run(run),
        **({"source": run.stdout} if entries else {"data": b"<clean>\n"}),
    )
    data = {"clean": not entries, "entries": entries}
    js = Output(layout.STATUS, "Working-tree status", "application/json", data=_dump(data), **_of_run(run_z))
    return [txt, js], not entries


def _log(git: _Git, count: int) -> list[Output]:
    run = git.check(
        git.run(
            "log",
            ["log", "-n", str(count), "--oneline", f"--abbrev={SHORT}", "--decorate=short", "--no-color"],
        )
    )
    txt = Output(layout.LOG_TEXT, f"Last {count} commits", source=run.stdout, **_of_run(run))
    run_z = git.check(git.run("log-z", ["log", "-z", "-n", str(count), _COMMIT_FORMAT]))
    data = {"commits": _commits(run_z.text())}
    js = Output(layout.LOG, f"Last {count} commits", "application/json", data=_dump(data), **_of_run(run_z))
    return [txt, js]


def _diff(git: _Git, cap: int) -> Output:
    run = git.check(git.run("diff", ["diff", "HEAD", *_DIFF_FLAGS], cap=cap))
    return Output(
        layout.DIFF,
        "Uncommitted changes, staged and not (git diff HEAD)",
        "text/x-diff",
        source=run.stdout,
        truncated=run.stdout_truncated,
        limit=cap,
        **_of_run(run),
    )


def _range(git: _Git, base: str, shallow: bool, cap: int) -> list[Output]:
    runs = [git.run("base", ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{base}^{{commit}}"])]
    if runs[0].exit_code != 0:
        depth = " (this clone is shallow)" if shallow else ""
        raise _Failed(f"base ref {base!r} not found{depth}; {_FETCH_HINT}")
    base_sha = runs[0].text().strip()
    runs.append(git.run("merge-base", ["merge-base", base_sha, "HEAD"]))
    if runs[-1].exit_code != 0:
        raise _Failed(f"no merge base between {base!r} and HEAD (history too short?); {_FETCH_HINT}")
    merge_base = runs[-1].text().strip()
    runs.append(git.check(git.run("range-log-z", ["log", "-z", _COMMIT_FORMAT, f"{base_sha}..HEAD"])))
    commits = _commits(runs[-1].text())
    runs.append(
        git.check(
            git.run("range-files", ["diff", "--name-status", "-z", "--find-renames", merge_base, "HEAD"])
        )
    )
    files = _name_status(runs[-1].stdout.read_bytes())
    data = {
        "base": base,
        "base_sha": base_sha,
        "merge_base": merge_base,
        "commits": commits,
        "files": files,
    }
    outputs = [
        Output(
            layout.RANGE,
            f"Commits and files changed since {base}",
            "application/json",
            data=_dump(data),
            **_timing(runs),
        )
    ]
    patch = git.check(
        git.run("range-diff", ["diff", *_DIFF_FLAGS, "--find-renames", f"{base_sha}...HEAD"], cap=cap)
    )
    outputs.append(
        Output(
            layout.RANGE_PATCH,
            f"Changes since {base} (git diff {base}...HEAD)",
            "text/x-diff",
            source=patch.stdout,
            truncated=patch.stdout_truncated,
            limit=cap,
            **_of_run(patch),
        )
    )
    log = git.check(
        git.run(
            "range-log",
            ["log", "--oneline", f"--abbrev={SHORT}", "--decorate=short", "--no-color", f"{base_sha}..HEAD"],
        )
    )
    outputs.append(Output(layout.RANGE_LOG, f"Commits since {base}", source=log.stdout, **_of_run(log)))
    return outputs


def collect(ctx: Context, options: Mapping[str, Any]) -> list[Output]:
    """Describe the checkout at `path`: HEAD, status, log, uncommitted diff and, with `base`, the PR range."""
    path = paths.inside(ctx.root, str(options.get("path", ".")), "git: path")
    count = int(options.get("log", DEFAULT_LOG))
    cap = int(options.get("diff_max_bytes", DEFAULT_DIFF_MAX_BYTES))
    base = options.get("base")
    ctx.scratch.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="git-", dir=ctx.scratch))
    git, top, shallow = _open(path, scratch, ctx.env or os.environ)

    try:
        status_outputs, clean = _status(git)
        head, sha = _head(git, shallow, dirty=not clean)
    except _Failed as exc:
        raise CollectorError(
            f"git cannot read {top}: {exc.message}", hint="run `git status` there to see why"
        ) from exc
    outputs = [head, *status_outputs]
    no_commits = f"{top} has no commits yet"
    parts: list[tuple[str, str, Callable[[], list[Output]]]] = [
        ("log", "Recent commits", lambda: _log(git, count)),
        ("diff", "Uncommitted changes", lambda: [_diff(git, cap)]),
    ]
    if base is not None:
        parts.append(("range", f"Changes since {base}", lambda: _range(git, str(base), shallow, cap)))
    for name, title, part in parts:
        if sha is None:
            outputs.append(_error(name, title, no_commits))
            continue
        try:
            outputs += part()
        except _Failed as exc:
            outputs.append(_error(name, title, exc.message))
    return sorted(outputs, key=lambda o: o.name)


def head_sha(root: Path) -> str | None:
    """The full sha of HEAD of the checkout at `root`, or None (not a repository, no commits, no git)."""
    env = _git_env(os.environ)
    if shutil.which("git", path=env.get("PATH")) is None or not root.is_dir():
        return None
    with tempfile.TemporaryDirectory(prefix="evidence-head-") as tmp:
        try:
            run = proc.run(
                ["git", "rev-parse", "--verify", "--quiet", "HEAD^{commit}"],
                scratch=Path(tmp),
                label="head",
                cwd=root,
                env=env,
                timeout=10.0,
                cap=4096,
                tree=False,
            )
        except CollectorError:
            return None
        sha = run.text().strip()
    return sha if run.exit_code == 0 and sha else None


def plan(root: Path, options: Mapping[str, Any]) -> Intent:
    """What `collect --plan` shows: the checkout this collector describes."""
    count = options.get("log", DEFAULT_LOG)
    where = (
        f"the git checkout at {options.get('path', '.')}: HEAD, status, {count} commits, the uncommitted diff"
    )
    base = options.get("base")
    return Intent(reads=(where + (f", the range since {base}" if base else ""),))
