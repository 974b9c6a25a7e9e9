"""Task runner files and shell scripts read without running them: the commands `task X`, `make X`,
`just X`, `poe X` and `bash scripts/x.sh` run.

A CI step often runs `task py:test`, `make test`, `uv run task db_migrate` or a script rather than pytest
or Alembic itself. This reads the `Taskfile.yml` (else the `[tool.taskipy.tasks]` of `pyproject.toml`,
whose command is `task` too), `Makefile`, `justfile` or `[tool.poe.tasks]` of a folder, or the script,
and gives the command lines a target runs: its own lines, those of the targets it depends on (`deps:`,
prerequisites) and those of the targets and scripts its lines call (`- task: other`, `task other`,
`$(MAKE) other`, `just other`, `bash scripts/test.sh`), to a fixed depth. Scripts are found relative to
the folder the step runs in, as the shell finds them. Variables are left as written, and a file that
cannot be read or parsed gives nothing. A `Reader` shared by the calls of one command reads and parses
each file once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

RUNNERS = ("task", "make", "just", "poe")
DEPTH = 4
# NOTE: command lines one expansion gives at most, and the largest file it reads.
LINES = 1000
MAX_BYTES = 1024 * 1024
# NOTE: targets expanded and lines gathered by one Reader at most, whatever the files and the calls: a
# workflow of many steps calling large task files costs this much, then gives nothing more.
BUDGET = LINES * 100
# NOTE: where a shell line holds another command: `a && b`, `a || b`, `a; b`.
SEGMENTS = re.compile(r"&&|\|\||;")
# NOTE: taskipy's command is `task` too: its tasks are read where the folder has no Taskfile.
_FILES = {
    "task": ("Taskfile.yml", "Taskfile.yaml", "taskfile.yml", "taskfile.yaml", "pyproject.toml"),
    "make": ("GNUmakefile", "makefile", "Makefile"),
    "just": ("justfile", "Justfile", ".justfile"),
    "poe": ("pyproject.toml",),
}
# NOTE: `task py:test`, `make -s test`, `just test`: the runner word, flags, then the first target. An
# option that names another folder or file (`make -C backend`, `task -d api`) is not followed.
_CALL = re.compile(
    r"^(?:(?:uv|poetry|pipenv|hatch|pdm|rye)\s+run\s+)?"
    r"(?:\S*/)?(?P<runner>task|make|just|poe|\$\(MAKE\)|\$\{MAKE\})(?P<flags>(?:\s+-{1,2}[\w-]+)*)"
    r"\s+(?P<target>[\w:.-][\w:./-]*)"
)
# NOTE: a `.sh` file as the command: `./x.sh`, `bash scripts/test.sh`, `sh -e x.sh`, also behind `uv run`,
# `poetry run` and the like; `cat x.sh` or `echo x.sh` runs no script.
_SCRIPT = re.compile(
    r"^(?:(?:uv|poetry|pipenv|hatch|pdm|rye)\s+run\s+)?(?:(?:ba|z)?sh(?:\s+-\w+)*\s+)?"
    r"(?P<script>(?:\./)?[\w.-][\w./-]*\.sh)(?=$|[\s;&|)])"
)
_ELSEWHERE = re.compile(r"^-(?:C|d|f|-dir|-directory|-file|-taskfile|-justfile|-working-directory)$")
_MAKE_RULE = re.compile(r"^(?P<targets>[^\s:=#][^:=#]*?)\s*::?(?!=)(?P<deps>[^=;#]*)(?:;(?P<inline>.*))?$")
_JUST_RECIPE = re.compile(r"^@?(?P<name>[\w-]+)(?P<params>[^:=]*):(?!=)(?P<deps>[^#]*)")


def call(line: str) -> tuple[str, str] | None:
    """(runner, target) when `line` runs a task runner's target, else None."""
    match = _CALL.match(line.strip())
    if match is None:
        script = _SCRIPT.match(line.strip())
        return None if script is None else ("script", script.group("script"))
    if any(_ELSEWHERE.match(flag) for flag in match.group("flags").split()):
        return None
    runner = match.group("runner")
    return ("make" if "MAKE" in runner else runner), match.group("target")


def commands(folder: Path, runner: str, target: str, reader: Reader | None = None) -> list[tuple[str, str]]:
    """(file, command line) for every line `runner target` runs in `folder`, in order, each once (at most
    LINES of them); `reader` shares the files read and the targets expanded with other calls."""
    return (reader or Reader()).commands(folder, runner, target)


_Targets = dict[str, tuple[list[str], list[str]]]


class Reader:
    """The task runner files and scripts of one command (an init, a collect): each file read and parsed
    once, each call's lines found once, the whole within BUDGET."""

    def __init__(self) -> None:
        self.files: dict[tuple[Path, str, str], tuple[str, _Targets] | None] = {}
        self.found: dict[tuple[Path, str, str], list[tuple[str, str]]] = {}
        self.budget = BUDGET

    def commands(self, folder: Path, runner: str, target: str) -> list[tuple[str, str]]:
        key = (folder, runner, target)
        if key not in self.found:
            self.found[key] = _Expansion(self, folder).lines(runner, target)
        return self.found[key]


class _Expansion:
    """One expansion: each target expanded once (a target many others depend on costs one expansion, not
    one per path to it)."""

    def __init__(self, reader: Reader, folder: Path) -> None:
        self.reader = reader
        self.folder = folder
        self.done: dict[tuple[str, str], list[tuple[str, str]]] = {}

    def lines(self, runner: str, target: str) -> list[tuple[str, str]]:
        seen: set[tuple[str, str]] = set()
        out: list[tuple[str, str]] = []
        for item in self._expand(runner, target, 0, set()):
            if item not in seen:
                seen.add(item)
                out.append(item)
                if len(out) >= LINES:
                    break
        return out

    def _expand(
        self, runner: str, target: str, depth: int, visiting: set[tuple[str, str]]
    ) -> list[tuple[str, str]]:
        key = (runner, target)
        if key in self.done:
            return self.done[key]
        if depth >= DEPTH or key in visiting or self.reader.budget <= 0:
            return []
        self.reader.budget -= 1
        found = self._targets(runner, target)
        if found is None or target not in found[1]:
            self.done[key] = []
            return []
        name, targets = found
        visiting = visiting | {key}
        deps, lines = targets[target]
        out: list[tuple[str, str]] = []
        for dep in deps:
            if len(out) >= LINES * 4:
                break
            out.extend(self._expand(runner, dep, depth + 1, visiting))
        for line in lines:
            if len(out) >= LINES * 4 or self.reader.budget <= 0:
                break
            self.reader.budget -= 1
            nested = call(line)
            if nested is not None:
                out.extend(self._expand(nested[0], nested[1], depth + 1, visiting))
            else:
                out.append((name, line))
        self.done[key] = out[: LINES * 4]
        return self.done[key]

    def _targets(self, runner: str, target: str) -> tuple[str, _Targets] | None:
        """The runner's file in the folder and its targets: name -> (dependencies, command lines); for a
        script, the script `target` as the one target of its own lines. None for a file that is missing,
        outside the folder (a link), too large or unreadable."""
        names = (target,) if runner == "script" else _FILES.get(runner, ())
        files = self.reader.files
        key = (self.folder, runner, target if runner == "script" else "")
        if key not in files:
            files[key] = None
            for name in names:
                path = self.folder / name
                if ".." in Path(name).parts or not path.is_file():
                    continue
                try:
                    if (
                        not path.resolve().is_relative_to(self.folder.resolve())
                        or path.stat().st_size > MAX_BYTES
                    ):
                        break
                    text = path.read_text("utf-8", errors="replace")
                except OSError:
                    break
                if runner == "script":
                    files[key] = (name, {name: ([], script_lines(text))})
                elif name == "pyproject.toml":
                    files[key] = (name, _pyproject_tasks(text, "taskipy" if runner == "task" else "poe"))
                else:
                    reader = {"task": _taskfile, "make": _makefile, "just": _justfile}[runner]
                    files[key] = (name, reader(text))
                break
        return files[key]


def _items(value: Any) -> list[Any]:
    """A YAML value that should be a list, as one: a lone item is a list of it, anything else none."""
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, str | Mapping) else []


def _taskfile(text: str) -> _Targets:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return {}
    tasks = data.get("tasks") if isinstance(data, Mapping) else None
    if not isinstance(tasks, Mapping):
        return {}
    out: _Targets = {}
    for key, spec in tasks.items():
        if isinstance(spec, str):
            out[str(key)] = ([], [spec])
            continue
        if isinstance(spec, list):
            spec = {"cmds": spec}
        if not isinstance(spec, Mapping):
            continue
        deps = [_task_name(d) for d in _items(spec.get("deps")) if _task_name(d)]
        lines: list[str] = []
        for cmd in _items(spec.get("cmds")):
            if isinstance(cmd, str):
                lines.extend(script_lines(cmd))
            elif isinstance(cmd, Mapping) and isinstance(cmd.get("cmd"), str):
                lines.extend(script_lines(cmd["cmd"]))
            elif isinstance(cmd, Mapping) and _task_name(cmd):
                lines.append(f"task {_task_name(cmd)}")
        out[str(key)] = (deps, lines)
    return out


def _pyproject_tasks(text: str, tool: str) -> _Targets:
    """The tasks of `[tool.taskipy.tasks]` (a command, or `{cmd = ...}`; `pre_X` and `post_X` run around
    X) or `[tool.poe.tasks]` (a command, `{cmd|shell = ...}`, or a sequence of other tasks) of a
    pyproject.toml."""
    from evidence_kit.support.toml import TOMLDecodeError, loads

    try:
        table = loads(text).get("tool", {}).get(tool, {}).get("tasks")
    except (TOMLDecodeError, AttributeError):
        return {}
    if not isinstance(table, Mapping):
        return {}
    runner = "task" if tool == "taskipy" else "poe"
    out: _Targets = {}
    for key, spec in table.items():
        lines: list[str] = []
        if isinstance(spec, str):
            lines = script_lines(spec)
        elif isinstance(spec, Mapping):
            command = spec.get("cmd") if isinstance(spec.get("cmd"), str) else spec.get("shell")
            if isinstance(command, str):
                lines = script_lines(command)
            elif tool == "poe" and isinstance(spec.get("sequence"), list):
                lines = [f"poe {item}" for item in spec["sequence"] if isinstance(item, str)]
        elif tool == "poe" and isinstance(spec, list):
            lines = [f"poe {item}" for item in spec if isinstance(item, str)]
        name = str(key)
        deps = [f"pre_{name}"] if tool == "taskipy" and f"pre_{name}" in table else []
        if tool == "taskipy" and f"post_{name}" in table:
            lines.append(f"{runner} post_{name}")
        out[name] = (deps, lines)
    return out


def _task_name(item: Any) -> str:
    if isinstance(item, str):
        return item
    if isinstance(item, Mapping) and isinstance(item.get("task"), str):
        return str(item["task"])
    return ""


def script_lines(script: str) -> list[str]:
    """The command lines of a shell script: continued lines joined, blanks runs squeezed, comments out."""
    joined = re.sub(r"\\[ \t]*\r?\n", " ", script)
    lines = (" ".join(line.split()) for line in joined.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _makefile(text: str) -> _Targets:
    out: _Targets = {}
    current: list[str] = []
    for raw in re.sub(r"\\\r?\n", " ", text).splitlines():
        if raw.startswith("\t"):
            line = raw.strip().lstrip("@-+").strip()
            if line and not line.startswith("#"):
                for target in current:
                    out[target][1].append(" ".join(line.split()))
            continue
        match = _MAKE_RULE.match(raw)
        if match is None:
            if raw.strip() and not raw.lstrip().startswith("#"):
                current = []
            continue
        current = [t for t in match.group("targets").split() if "%" not in t and not t.startswith(".")]
        deps = match.group("deps").split()
        inline = (match.group("inline") or "").strip()
        for target in current:
            entry = out.setdefault(target, ([], []))
            entry[0].extend(deps)
            if inline:
                entry[1].append(" ".join(inline.split()))
    return out


def _justfile(text: str) -> _Targets:
    out: _Targets = {}
    current: str | None = None
    for raw in text.splitlines():
        if raw[:1] in (" ", "\t"):
            line = raw.strip().lstrip("@-").strip()
            if current is not None and line and not line.startswith("#"):
                out[current][1].append(" ".join(line.split()))
            continue
        match = _JUST_RECIPE.match(raw)
        current = None
        if match is None or raw.lstrip().startswith(("#", "set ", "alias ", "export ", "import ", "mod ")):
            continue
        current = match.group("name")
        deps = [d.strip("()") for d in match.group("deps").split() if d.strip("()")]
        out[current] = (deps, [])
    return out
