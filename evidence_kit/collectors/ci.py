"""GitHub Actions workflows read without running them: triggers, jobs, services, actions, artifacts, DB steps.

A missing workflow folder is not an error: the service may simply have no CI, and that is evidence too.
`workflows.json` then says `"found": false` and `summary.txt` says no workflow was found.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from evidence_kit.errors import CollectorError
from evidence_kit.evidence import ci as layout
from evidence_kit.model import Context, Intent, Output
from evidence_kit.support import paths, tasks, tree

NAME = "ci"

DEFAULT_PATH = ".github/workflows"
DEFAULT_GLOBS = ("*.yml", "*.yaml")

OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "path": {
            "type": "string",
            "minLength": 1,
            "default": DEFAULT_PATH,
            "description": "Workflow folder, relative to evidence.yaml (default `.github/workflows`); "
            "a missing folder is reported as `no workflows found`, not as an error.",
        },
        "globs": {
            "type": "array",
            "minItems": 1,
            "items": {"type": "string", "minLength": 1},
            "default": list(DEFAULT_GLOBS),
            "description": "Workflow file names inside `path`; `**` recurses (default `*.yml`, `*.yaml`).",
        },
    },
}

_TEXT = "text/plain"
_JSON = "application/json"
_SHA = re.compile(r"[0-9a-fA-F]{40}")
_DIGEST = re.compile(r"sha256:[0-9a-fA-F]{64}")
_PR_TRIGGERS = ("pull_request", "pull_request_target")
DB_TOOLS = ("alembic", "pg_dump", "pytest")
# NOTE: the tool must be a command word, not `alembic.ini`, `alembic/versions` or `pytest-cov`.
_TOOL = re.compile(r"(?:^|(?<=[\s/(;&|\"'=`]))(alembic|pg_dump|pytest)(?=$|[\s;&|)\"'`])")
# NOTE: a service's own migration command runs Alembic too: `flask db upgrade`, `python -m scripts.db
# upgrade`, `prefect server database upgrade -y` (the words `db`/`database` then `upgrade`/`downgrade`).
# NOTE: a message about a migration, or another tool's database (Airflow's, MLflow's), is not the service's.
_OTHER_TOOLS = re.compile(r"(?:\S*/)?(?:echo|printf|airflow|mlflow|superset)\b")
_MIGRATION_COMMAND = re.compile(r"(?:^|[\s./])(?:db|database)\s+(?:upgrade|downgrade)(?=$|[\s;&|)\"'`])")
# NOTE: `pip install pytest alembic` installs the tools; it does not run them.
_INSTALL = re.compile(
    r"\b(?:pip3?|uv|poetry|pipx|pipenv|pdm|conda|mamba|apt-get|apt|apk|brew)\b.*\b(?:install|add|sync)\b"
)
_UPLOAD = "actions/upload-artifact"
_DOWNLOAD = "actions/download-artifact"


def _dump(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode()


def jsonable(value: Any) -> Any:
    """The YAML value as JSON data: dates and other scalars become strings, keys become strings."""
    if isinstance(value, Mapping):
        return {_key(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def _key(key: Any) -> str:
    if key is True:
        # NOTE: YAML 1.1 reads a bare `on` key as the boolean true; GitHub reads it as the word `on`.
        return "on"
    if key is False:
        return "off"
    return str(key)


@dataclass
class Loaded:
    """A parsed YAML document and the 1-based line where each of its mappings starts."""

    data: Any
    lines: dict[int, int] = field(default_factory=dict)
    keys: dict[int, dict[str, int]] = field(default_factory=dict)

    def line(self, mapping: Any) -> int | None:
        """The line where `mapping` starts in the file, when known."""
        return self.lines.get(id(mapping))

    def key_line(self, mapping: Any, key: str) -> int | None:
        """The line of `key` in `mapping`, when known."""
        return self.keys.get(id(mapping), {}).get(key)


def load_yaml(text: str) -> Loaded:
    """Parse one YAML document safely, remembering the line of every mapping."""
    import yaml

    base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    lines: dict[int, int] = {}
    keys: dict[int, dict[str, int]] = {}

    class _Loader(base):  # type: ignore[misc]
        pass

    def construct_map(loader: Any, node: Any) -> Iterator[dict[Any, Any]]:
        data: dict[Any, Any] = {}
        lines[id(data)] = node.start_mark.line + 1
        keys[id(data)] = {str(k.value): k.start_mark.line + 1 for k, _ in node.value if k.start_mark}
        yield data
        data.update(loader.construct_mapping(node))

    _Loader.add_constructor("tag:yaml.org,2002:map", construct_map)
    loader = _Loader(text)
    try:
        return Loaded(loader.get_single_data(), lines, keys)
    finally:
        loader.dispose()


def parse_uses(value: str) -> dict[str, Any]:
    """Split a `uses:` value into kind (action, workflow, local, docker), action, ref and pinning."""
    if value.startswith("./") or value.startswith(".\\"):
        return {"kind": "local", "action": value, "ref": None, "pinned_by_sha": None}
    if value.startswith("docker://"):
        image = value[len("docker://") :]
        if "@" in image:
            name, ref = image.split("@", 1)
            return {
                "kind": "docker",
                "action": name,
                "ref": ref,
                "pinned_by_sha": bool(_DIGEST.fullmatch(ref)),
            }
        if ":" in image.rsplit("/", 1)[-1]:
            name, tag = image.rsplit(":", 1)
            return {"kind": "docker", "action": name, "ref": tag, "pinned_by_sha": False}
        return {"kind": "docker", "action": image, "ref": None, "pinned_by_sha": False}
    action, _, ref = value.partition("@")
    kind = "workflow" if re.search(r"/\.github/workflows/[^/]+\.ya?ml$", action) else "action"
    return {"kind": kind, "action": action, "ref": ref or None, "pinned_by_sha": bool(_SHA.fullmatch(ref))}


def _triggers(on: Any) -> list[str]:
    if isinstance(on, str):
        return [on]
    if isinstance(on, list):
        return sorted({str(item) for item in on})
    if isinstance(on, Mapping):
        return sorted(_key(k) for k in on)
    return []


def _step_label(step: Mapping[str, Any], index: int) -> str:
    for key in ("name", "id", "uses"):
        if isinstance(step.get(key), str) and step[key].strip():
            return str(step[key]).strip()
    run = step.get("run")
    if isinstance(run, str) and run.strip():
        return "run: " + run.strip().splitlines()[0]
    return f"step {index}"


def _text(value: Any) -> Any:
    return value.rstrip("\n") if isinstance(value, str) else jsonable(value)


def db_commands(
    run: str, folder: Path | None = None, shown: str = "", reader: tasks.Reader | None = None
) -> list[tuple[str, str, str | None]]:
    """The (tool, line, via) of each line of a `run:` script that runs alembic, pg_dump or pytest: itself
    (via None), or through a task runner target of `folder` (`task py:test`; via: the file, after
    `shown`, and the line of the target that runs the tool); `reader` shares the task files read with
    the other steps of a collect."""
    found: list[tuple[str, str, str | None]] = []
    # NOTE: a command continued with a trailing backslash is one line to the shell, so it is one here.
    for line in tasks.script_lines(run):
        tools: dict[str, str | None] = {}
        for segment in tasks.SEGMENTS.split(line):
            for tool in _tools(segment):
                tools[tool] = None
            called = tasks.call(segment) if folder is not None else None
            if called is not None and folder is not None:
                for file, command in tasks.commands(folder, *called, reader=reader):
                    for tool in (t for part in tasks.SEGMENTS.split(command) for t in _tools(part)):
                        tools.setdefault(tool, f"{shown}{file}: {command}")
        found += [(tool, line, tools[tool]) for tool in sorted(tools)]
    return found


def _tools(segment: str) -> set[str]:
    if _INSTALL.search(segment):
        return set()
    found = {m.group(1) for m in _TOOL.finditer(segment.strip())}
    if _MIGRATION_COMMAND.search(segment.strip()) and not _OTHER_TOOLS.match(segment.strip()):
        found.add("alembic")
    return found


def _services(job: Mapping[str, Any]) -> list[dict[str, Any]]:
    services = job.get("services")
    if not isinstance(services, Mapping):
        return []
    found = []
    for sid, spec in services.items():
        image = spec.get("image") if isinstance(spec, Mapping) else spec
        found.append({"id": str(sid), "image": _text(image)})
    return sorted(found, key=lambda s: s["id"])


def _container(job: Mapping[str, Any]) -> Any:
    container = job.get("container")
    if isinstance(container, Mapping):
        return _text(container.get("image"))
    return _text(container)


def _artifact(
    kind: str, where: dict[str, Any], info: Mapping[str, Any], step: Mapping[str, Any]
) -> dict[str, Any]:
    given: Mapping[str, Any] = step["with"] if isinstance(step.get("with"), Mapping) else {}
    entry = {
        **where,
        "kind": kind,
        "action": info["action"],
        "ref": info["ref"],
        "uses": step["uses"],
        "name": _text(given.get("name")),
        "path": _text(given.get("path")),
        "retention_days": _text(given.get("retention-days")),
    }
    if kind == "upload":
        entry["if_no_files_found"] = _text(given.get("if-no-files-found"))
    else:
        entry["pattern"] = _text(given.get("pattern"))
    return entry


def _step_folder(repository: Path | None, job: Mapping[str, Any], step: Mapping[str, Any]) -> Path | None:
    """Where a step's commands run: the repository's top, or the step's (else the job's) working folder."""
    if repository is None:
        return None
    defaults = job.get("defaults")
    run = defaults.get("run") if isinstance(defaults, Mapping) else None
    folder = step.get("working-directory") or (
        run.get("working-directory") if isinstance(run, Mapping) else None
    )
    if not isinstance(folder, str) or not folder.strip():
        return repository
    if "${{" in folder:
        return None
    try:
        return paths.inside(repository, folder, "ci: working-directory")
    except CollectorError:
        return None  # NOTE: a folder outside the repository: its files are not read


def inventory(
    doc: Loaded, repository: Path | None = None, reader: tasks.Reader | None = None
) -> dict[str, Any]:
    """Everything the collector reports about one parsed workflow document; `repository`: the folder its
    steps run in, where task runner files are read (None: not read)."""
    data = doc.data
    if not isinstance(data, Mapping):
        raise ValueError(f"not a workflow: the top level is {type(data).__name__}, not a mapping")
    on = data["on"] if "on" in data else data.get(True)
    triggers = _triggers(on)
    problems: list[str] = []
    jobs: list[dict[str, Any]] = []
    uses: list[dict[str, Any]] = []
    artifacts: list[dict[str, Any]] = []
    db_steps: list[dict[str, Any]] = []
    raw_jobs = data.get("jobs")
    if raw_jobs is not None and not isinstance(raw_jobs, Mapping):
        problems.append("`jobs` is not a mapping")
        raw_jobs = None
    for jid, job in (raw_jobs or {}).items():
        job_id = str(jid)
        if not isinstance(job, Mapping):
            problems.append(f"job {job_id} is not a mapping")
            continue
        steps = job.get("steps")
        if steps is not None and not isinstance(steps, list):
            problems.append(f"job {job_id}: `steps` is not a list")
            steps = None
        needs = job.get("needs")
        jobs.append(
            {
                "id": job_id,
                "line": doc.key_line(raw_jobs, job_id),
                "name": _text(job.get("name")),
                "runs_on": _text(job.get("runs-on")),
                "needs": [needs] if isinstance(needs, str) else jsonable(needs or []),
                "if": _text(job.get("if")),
                "permissions": jsonable(job.get("permissions")),
                "services": _services(job),
                "container": _container(job),
                "uses": _text(job.get("uses")),
                "steps": len(steps or []),
            }
        )
        if isinstance(job.get("uses"), str):
            where = {"job": job_id, "step": None, "step_index": None, "line": doc.key_line(raw_jobs, job_id)}
            uses.append({**where, "uses": job["uses"], **parse_uses(job["uses"])})
        for index, step in enumerate(steps or [], start=1):
            if not isinstance(step, Mapping):
                problems.append(f"job {job_id}: step {index} is not a mapping")
                continue
            where = {
                "job": job_id,
                "step": _step_label(step, index),
                "step_index": index,
                "line": doc.line(step),
            }
            if isinstance(step.get("uses"), str):
                info = parse_uses(step["uses"])
                uses.append({**where, "uses": step["uses"], **info})
                action = str(info["action"]).lower()
                if info["kind"] == "action" and action in (_UPLOAD, _DOWNLOAD):
                    kind = "upload" if action == _UPLOAD else "download"
                    artifacts.append(_artifact(kind, where, info, step))
            if isinstance(step.get("run"), str):
                folder = _step_folder(repository, job, step)
                shown = ""
                if folder is not None and repository is not None and folder != repository:
                    shown = folder.relative_to(repository).as_posix() + "/"
                for tool, line, via in db_commands(step["run"], folder, shown, reader):
                    db_steps.append({**where, "tool": tool, "command": line, "via": via})
    return {
        "name": _text(data.get("name")),
        "triggers": triggers,
        "on": jsonable(on),
        "pull_request": any(t in _PR_TRIGGERS for t in triggers),
        "permissions": jsonable(data.get("permissions")),
        "jobs": jobs,
        "uses": uses,
        "artifacts": artifacts,
        "db_steps": db_steps,
        "problems": problems,
        "error": None,
    }


def _glob_files(folder: Path, globs: list[str]) -> list[Path]:
    base = folder.resolve()
    found: set[Path] = set()
    for pattern in globs:
        if PurePosixPath(pattern).is_absolute() or ".." in PurePosixPath(pattern).parts:
            raise CollectorError(
                f"ci: glob {pattern!r} leaves the workflow folder", hint="use a relative glob"
            )
        for path in folder.glob(pattern):
            if path.is_file() and path.resolve().is_relative_to(base):
                found.add(path)
    return sorted(found, key=lambda p: p.relative_to(folder).as_posix())


def _folder(root: Path, value: str) -> Path:
    return paths.inside(root, value, "ci: path")


def _where(file: str, entry: Mapping[str, Any]) -> str:
    line = f":{entry['line']}" if entry.get("line") else ""
    shown = entry.get("step") and entry.get("step") != entry.get("uses")
    step = f" step {entry['step']!r}" if shown else ""
    return f"{file}{line} job {entry['job']}{step}"


def _section(title: str, items: list[str], empty: str = "none") -> list[str]:
    lines = [f"{title} ({len(items)}):"]
    lines += [f"  {item}" for item in items] if items else [f"  {empty}"]
    return [*lines, ""]


def _perm(value: Any) -> str:
    if value is None:
        return "not set"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {v}" for k, v in sorted(value.items())) or "{} (none)"
    return str(value)


def _each(
    workflows: list[dict[str, Any]], key: str, fmt: Callable[[str, dict[str, Any]], str | None]
) -> list[str]:
    out: list[str] = []
    for wf in workflows:
        for entry in wf.get(key) or []:
            text = fmt(wf["file"], entry)
            if text is not None:
                out.append(text)
    return out


def summary(folder: str, found: bool, workflows: list[dict[str, Any]]) -> str:
    """A readable audit of the inventory: PR triggers, services, artifacts, pinning, DB steps, errors."""
    if not found:
        return f"No workflows found: the folder {folder} does not exist.\n"
    ok = [wf for wf in workflows if wf["error"] is None]
    bad = [wf for wf in workflows if wf["error"] is not None]
    if not workflows:
        return f"No workflows found: no workflow file in {folder}.\n"
    lines = [
        f"CI workflows in {folder}: {len(workflows)} file(s), {len(ok)} read, {len(bad)} unreadable",
        "",
    ]
    lines += _section(
        "PR-triggered workflows",
        [f"{wf['file']} (on: {', '.join(wf['triggers'])})" for wf in ok if wf["pull_request"]],
    )
    lines += _section(
        "Not PR-triggered",
        [
            f"{wf['file']} (on: {', '.join(wf['triggers']) or 'no trigger'})"
            for wf in ok
            if not wf["pull_request"]
        ],
    )
    services = [
        f"{wf['file']}:{job['line']} job {job['id']}: service {svc['id']} image {svc['image']}"
        for wf in ok
        for job in wf["jobs"]
        for svc in job["services"]
    ]
    lines += _section("Service containers", services)

    def upload(file: str, a: dict[str, Any]) -> str | None:
        if a["kind"] != "upload":
            return None
        days = a["retention_days"] if a["retention_days"] is not None else "not set (repository default)"
        return (
            f"{_where(file, a)}: {a['uses']} name={a['name']} path={_paths(a['path'])} retention-days={days}"
        )

    def download(file: str, a: dict[str, Any]) -> str | None:
        if a["kind"] != "download":
            return None
        what = f"name={a['name']}" if a["name"] is not None else f"pattern={a['pattern']} (all when unset)"
        return f"{_where(file, a)}: {a['uses']} {what} path={_paths(a['path'])}"

    lines += _section("Artifact uploads", _each(ok, "artifacts", upload))
    lines += _section("Artifact downloads", _each(ok, "artifacts", download))
    uploads = [a for wf in ok for a in wf["artifacts"] if a["kind"] == "upload"]
    days = sorted({str(a["retention_days"]) for a in uploads if a["retention_days"] is not None}, key=_num)
    if any(a["retention_days"] is None for a in uploads):
        days.append("not set (repository default)")
    lines += [f"Retention days used: {', '.join(days) or 'none (no artifact uploads)'}", ""]

    def unpinned(file: str, u: dict[str, Any]) -> str | None:
        if u["kind"] == "local" or u["pinned_by_sha"]:
            return None
        return f"{_where(file, u)}: {u['uses']}"

    def pinned(file: str, u: dict[str, Any]) -> str | None:
        return f"{_where(file, u)}: {u['uses']}" if u["pinned_by_sha"] else None

    def local(file: str, u: dict[str, Any]) -> str | None:
        return f"{_where(file, u)}: {u['uses']}" if u["kind"] == "local" else None

    lines += _section("Actions not pinned by commit SHA (or image digest)", _each(ok, "uses", unpinned))
    lines += _section("Actions pinned by commit SHA (or image digest)", _each(ok, "uses", pinned))
    lines += _section("Local actions and workflows", _each(ok, "uses", local))
    for tool in DB_TOOLS:
        lines += _section(f"Steps running {tool}", _each(ok, "db_steps", _runs(tool)))
    perms = []
    for wf in ok:
        perms.append(f"{wf['file']}: top-level {_perm(wf['permissions'])}")
        perms += [
            f"  job {j['id']}: {_perm(j['permissions'])}" for j in wf["jobs"] if j["permissions"] is not None
        ]
    lines += _section("Permissions", perms)
    problems = [f"{wf['file']}: {p}" for wf in ok for p in wf["problems"]]
    if problems:
        lines += _section("Structure problems", problems)
    lines += _section("Unreadable workflow files", [f"{wf['file']}: {wf['error']}" for wf in bad])
    return "\n".join(lines).rstrip("\n") + "\n"


def _runs(tool: str) -> Callable[[str, dict[str, Any]], str | None]:
    def fmt(file: str, step: dict[str, Any]) -> str | None:
        if step["tool"] != tool:
            return None
        via = f" (runs {step['via']})" if step.get("via") else ""
        return f"{_where(file, step)}: {step['command']}{via}"

    return fmt


def _paths(value: Any) -> str:
    if isinstance(value, str):
        return ", ".join(line.strip() for line in value.splitlines() if line.strip()) or "''"
    return "not set" if value is None else json.dumps(value)


def _num(value: str) -> tuple[int, str]:
    return (int(value), "") if value.isdigit() else (1 << 30, value)


def _error_text(exc: Exception) -> str:
    import yaml

    if isinstance(exc, yaml.MarkedYAMLError):
        parts = []
        for text, mark in ((exc.context, exc.context_mark), (exc.problem, exc.problem_mark)):
            if text:
                parts.append(f"{text} (line {mark.line + 1}, column {mark.column + 1})" if mark else text)
        return f"{type(exc).__name__}: " + ": ".join(" ".join(p.split()) for p in parts)
    return " ".join(f"{type(exc).__name__}: {exc}".split())


def collect(ctx: Context, options: Mapping[str, Any]) -> list[Output]:
    """Inventory every workflow file; a malformed one is recorded as an error and the others still count."""
    rel_folder = str(options.get("path") or DEFAULT_PATH)
    globs = list(options.get("globs") or DEFAULT_GLOBS)
    folder = _folder(ctx.root, rel_folder)
    if folder.exists() and not folder.is_dir():
        raise CollectorError(f"ci: {rel_folder} is not a folder", hint="point `path` at the workflow folder")
    found = folder.is_dir()
    workflows: list[dict[str, Any]] = []
    outputs: list[Output] = []
    # NOTE: GitHub runs only committed workflows; None when the folder is not in a git work tree.
    listed = tree.git_files(folder, cached_only=True) if found else None
    tracked = None if listed is None else set(listed)
    # NOTE: steps run at the top of the repository the workflow folder belongs to.
    repository = folder.parent.parent if folder.parts[-2:] == (".github", "workflows") else ctx.root
    # NOTE: one reader for every step of every workflow: a task file many steps call is parsed once.
    reader = tasks.Reader()
    for path in _glob_files(folder, globs) if found else []:
        inside = path.relative_to(folder).as_posix()
        file = (PurePosixPath(rel_folder) / inside).as_posix()
        committed = None if tracked is None else inside in tracked
        try:
            entry = {
                "file": file,
                "tracked": committed,
                **inventory(load_yaml(path.read_text(encoding="utf-8")), repository, reader),
            }
        except Exception as exc:
            # NOTE: any YAML, decoding or shape error is this file's problem; the others still count.
            message = _error_text(exc)
            workflows.append({"file": file, "tracked": committed, "error": message})
            outputs.append(
                Output(
                    f"{inside}.error.txt",
                    f"Unreadable workflow {file}",
                    _TEXT,
                    data=f"{file}: {message}\n".encode(),
                    status="error",
                    message=f"{file}: {message}",
                )
            )
            continue
        workflows.append(entry)
    report = {"path": rel_folder, "globs": globs, "found": found, "workflows": workflows}
    outputs[:0] = [
        Output(layout.WORKFLOWS, "CI workflow inventory", _JSON, data=_dump(report)),
        Output(
            layout.SUMMARY, "CI workflow audit", _TEXT, data=summary(rel_folder, found, workflows).encode()
        ),
    ]
    return outputs


def plan(root: Path, options: Mapping[str, Any]) -> Intent:
    """What `collect --plan` shows: the workflow folder and globs."""
    globs = ", ".join(options.get("globs") or DEFAULT_GLOBS)
    return Intent(reads=(f"workflow files {globs} in {options.get('path') or DEFAULT_PATH}",))
