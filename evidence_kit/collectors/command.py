"""Named proof commands and worker runs: output, exit code, duration, timeout."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from evidence_kit.errors import CollectorError
from evidence_kit.model import Context, Intent, Output, PlannedRun, Status
from evidence_kit.support import interpreter, paths, proc

NAME = "command"
# NOTE: the option whose entries each name their own artifacts: two of one name would overwrite each other.
NAMED = "commands"
DEFAULT_TIMEOUT = 300.0
DEFAULT_GRACE = 10.0

_NAME = {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*$"}
# NOTE: shared with the tests and http collectors, which start processes the same way.
ARGV_OPTION: dict[str, Any] = {
    "description": "A shell string, or an argv list run without a shell.",
    "oneOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}, "minItems": 1}],
}
CWD_OPTION: dict[str, Any] = {"type": "string", "description": "Working folder, relative to evidence.yaml."}
ENV_OPTION: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {"type": ["string", "null"]},
    "description": "Extra environment; `${VAR}` takes a value from the environment; `null` unsets a variable "
    "(one the service's own CI runs its tests without).",
}
OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["commands"],
    "properties": {
        "python": interpreter.OPTION,
        "commands": {
            "type": "array",
            "description": "Commands to run, in order.",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "run"],
                "properties": {
                    "name": {**_NAME, "description": "Artifact name (letters, digits, . _ -)."},
                    "title": {"type": "string", "description": "What the command proves."},
                    "run": ARGV_OPTION,
                    "cwd": CWD_OPTION,
                    "env": ENV_OPTION,
                    "timeout": {
                        "type": "number",
                        "exclusiveMinimum": 0,
                        "description": "Seconds before the command's whole process tree is stopped "
                        "(default 300); the status is then `timeout`.",
                    },
                    "run_for": {
                        "type": "number",
                        "exclusiveMinimum": 0,
                        "description": "Run a worker this many seconds, then stop it: SIGINT, and SIGTERM "
                        "then SIGKILL when it still runs `grace` seconds later. `ok` when it stopped within "
                        "the grace (exit 0, 130 or killed by SIGINT); not combined with `timeout`.",
                    },
                    "grace": {
                        "type": "number",
                        "exclusiveMinimum": 0,
                        "description": f"Seconds a `run_for` worker gets after SIGINT "
                        f"(default {DEFAULT_GRACE:g}).",
                    },
                    "expect": {"type": "integer", "description": "Expected exit code (default 0)."},
                    "max_bytes": {"type": "integer", "minimum": 1, "description": "Cap per stream."},
                },
            },
        },
    },
}

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def expand(value: str, env: Mapping[str, str]) -> str:
    """Replace `${VAR}` with its value from `env` (empty when unset)."""
    return _VAR.sub(lambda m: env.get(m.group(1), ""), value)


def child_env(
    ctx: Context, extra: Mapping[str, str | None] | None, python: str | None = None
) -> dict[str, str]:
    """The environment of a child process: ours with the service's interpreter first on PATH
    (`python` is a collector's own option), DATABASE_URL when known, then `extra` expanded (a `None`
    value unsets its variable)."""
    env = dict(ctx.env or os.environ)
    interpreter.activate(env, interpreter.resolve(ctx.root, python, ctx.python, env))
    if ctx.database_url and "DATABASE_URL" not in env:
        env["DATABASE_URL"] = ctx.database_url
    for key, value in (extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = expand(value, env)
    return env


def validate(options: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """Problems the schema cannot express, as (key path, problem, fix)."""
    return [
        (
            f"commands.{i}",
            "`run_for` and `timeout` are both given",
            "remove `timeout`: a `run_for` command lasts at most run_for + grace + a few seconds",
        )
        for i, spec in enumerate(options.get("commands", []))
        if isinstance(spec, Mapping) and "run_for" in spec and "timeout" in spec
    ]


def _ended(ending: proc.Ending) -> str:
    return f"killed by {ending.signal}" if ending.signal else f"exit code {ending.exit_code}"


def verdict(spec: Mapping[str, Any], result: proc.Run) -> tuple[Status, str | None]:
    """The status of a finished command and the message that explains it."""
    ending = result.ending
    stops = ending.note()
    if result.timed_out:
        timeout = float(spec.get("timeout", DEFAULT_TIMEOUT))
        return "timeout", f"timed out after {timeout:g} s; its process tree was stopped: {stops}"
    if result.stopped:
        grace = float(spec.get("grace", DEFAULT_GRACE))
        forced = [name for name, _, _ in ending.sent if name in ("SIGTERM", "SIGKILL")]
        if forced:
            return "failed", f"still running {grace:g} s after SIGINT: {stops}; then {_ended(ending)}"
        if ending.exit_code in (0, 130) or ending.signal == "SIGINT":
            return "ok", f"ran {float(spec['run_for']):g} s, then stopped on SIGINT ({_ended(ending)})"
        return "failed", f"{_ended(ending)} after SIGINT; expected 0, 130 or killed by SIGINT"
    expect = int(spec.get("expect", 0))
    notes = []
    if "run_for" in spec:
        notes.append(f"ended by itself after {result.duration_s:g} s, before run_for ({spec['run_for']} s)")
    if ending.left_behind:
        notes.append(f"{ending.left_behind} process(es) it left running were stopped: {stops}")
    if ending.exit_code == expect:
        return "ok", "; ".join(notes) or None
    return "failed", "; ".join([f"{_ended(ending)}, expected {expect}", *notes])


def run_one(ctx: Context, spec: Mapping[str, Any], python: str | None = None) -> list[Output]:
    """Run one command spec and describe what it left: stdout and stderr artifacts."""
    name = spec["name"]
    cwd = paths.inside(ctx.root, spec.get("cwd", "."), f"command {name!r}: cwd")
    if not cwd.is_dir():
        raise CollectorError(f"command {name!r}: cwd {cwd} does not exist", hint="fix `cwd` in evidence.yaml")
    run_for = spec.get("run_for")
    result = proc.run(
        spec["run"],
        scratch=ctx.scratch,
        label=name,
        cwd=cwd,
        env=child_env(ctx, spec.get("env"), python),
        timeout=float(spec.get("timeout", DEFAULT_TIMEOUT)),
        cap=int(spec.get("max_bytes", proc.DEFAULT_CAP)),
        run_for=float(run_for) if run_for is not None else None,
        grace=float(spec.get("grace", DEFAULT_GRACE)),
    )
    status, message = verdict(spec, result)
    title = spec.get("title", name)
    common: dict[str, Any] = {
        "argv": result.argv,
        "exit_code": result.exit_code,
        "status": status,
        "started": result.started,
        "finished": result.finished,
        "duration_s": result.duration_s,
        "message": message,
        "process": result.ending.as_json(),
    }
    return [
        Output(
            f"{name}.stdout.txt",
            f"{title} (stdout)",
            source=result.stdout,
            truncated=result.stdout_truncated,
            **common,
        ),
        Output(
            f"{name}.stderr.txt",
            f"{title} (stderr)",
            source=result.stderr,
            truncated=result.stderr_truncated,
            **common,
        ),
    ]


def collect(ctx: Context, options: Mapping[str, Any]) -> list[Output]:
    """Run every configured command; a failing one is recorded, the others still run."""
    outputs: list[Output] = []
    for spec in options.get("commands", []):
        try:
            outputs += run_one(ctx, spec, options.get("python"))
        except CollectorError as exc:
            outputs.append(
                Output(
                    f"{spec['name']}.error.txt",
                    spec.get("title", spec["name"]),
                    data=str(exc).encode(),
                    status="error",
                    message=exc.message,
                )
            )
    return outputs


def line(run: str | list[str]) -> str:
    """A command as it will run: a shell string as written, an argv list quoted as a shell would."""
    return run if isinstance(run, str) else shlex.join(run)


def plan(root: Path, options: Mapping[str, Any]) -> Intent:
    """What `collect --plan` shows: each command, in order, with its folder and how it is stopped."""
    runs = []
    for spec in options.get("commands", []):
        if "run_for" in spec:
            how = f"runs {spec['run_for']:g} s, then SIGINT (grace {spec.get('grace', DEFAULT_GRACE):g} s)"
        else:
            how = f"timeout {spec.get('timeout', DEFAULT_TIMEOUT):g} s"
        runs.append(PlannedRun(f"{spec['name']} ({how})", line(spec["run"]), root / spec.get("cwd", ".")))
    return Intent(runs=tuple(runs))
