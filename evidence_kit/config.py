"""Load and validate `evidence.yaml`; every problem reported at once with its path and fix."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from evidence_kit.errors import EvidenceError

DEFAULT_OUTPUT = ".evidence"


@dataclass(frozen=True)
class Config:
    """A validated configuration."""

    path: Path
    service: str
    phase: str
    output: Path
    database_env: str | None
    database_default: str | None
    collectors: Mapping[str, Mapping[str, Any]]
    redact_env: tuple[str, ...] = ()
    redact_patterns: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    raw: bytes = field(default=b"", repr=False)

    @property
    def root(self) -> Path:
        return self.path.parent

    def database_url(self, env: Mapping[str, str]) -> str | None:
        """The database URL from the environment, else the embedded default."""
        if self.database_env and env.get(self.database_env):
            return env[self.database_env]
        return self.database_default


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of evidence.yaml, with each collector's options schema plugged in."""
    from evidence_kit.collectors import COLLECTORS

    text = resources.files("evidence_kit").joinpath("config.schema.json").read_text("utf-8")
    base: dict[str, Any] = json.loads(text)
    base["properties"]["collectors"]["properties"] = {
        name: {"oneOf": [{"type": "boolean"}, dict(module.OPTIONS_SCHEMA)]}
        for name, module in COLLECTORS.items()
    }
    base["properties"]["collectors"]["additionalProperties"] = False
    return base


def _fix(err: Any) -> str:
    kind = err.validator
    if kind == "required":
        missing = re.findall(r"'([^']+)' is a required property", err.message)
        return f"add `{missing[0] if missing else '?'}:`"
    if kind == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        return f"remove it or use one of: {', '.join(allowed)}"
    if kind == "type":
        return f"use a value of type {err.validator_value}"
    if kind == "enum":
        return f"use one of: {', '.join(map(str, err.validator_value))}"
    if kind == "oneOf":
        return "use `true`, `false` or a mapping of this collector's options (see the README)"
    if kind == "pattern":
        if "default" in list(err.absolute_path):
            return "give a URL without a password; put the real URL in the environment variable `url_env`"
        return f"match the pattern {err.validator_value}"
    if kind in ("minimum", "maximum", "exclusiveMinimum", "minLength", "minItems"):
        return f"respect {kind} {err.validator_value}"
    return "see the config reference in the README"


def _best(err: Any) -> Any:
    # NOTE: for a collector given as a mapping, the mapping branch's errors say more than "not a boolean".
    if err.validator == "oneOf" and err.context and isinstance(err.instance, dict):
        deep = [e for e in err.context if e.validator != "type" or e.relative_path]
        if deep:
            return deep
    return [err]


def validate(data: Any, source: str) -> list[str]:
    """Every violation of the config schema, as `file: key.path: problem — fix: ...` lines."""
    return problems(schema(), data, source)


def problems(against: dict[str, Any], data: Any, source: str) -> list[str]:
    """Every violation of a JSON Schema, as `file: key.path: problem — fix: ...` lines."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(against, format_checker=jsonschema.FormatChecker())
    out = []
    for err in validator.iter_errors(data):
        for e in _best(err):
            where = ".".join(map(str, e.absolute_path)) or "(top level)"
            out.append(f"{source}: {where}: {e.message} — fix: {_fix(e)}")
    return sorted(set(out))


def load(path: Path) -> Config:
    """Read, parse and validate a config file."""
    import yaml

    if not path.is_file():
        raise EvidenceError(
            f"config file {path} not found",
            hint="run in the service's folder, pass --config PATH, or write evidence.yaml (see the README)",
        )
    raw = path.read_bytes()
    try:
        data = yaml.safe_load(raw) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        problem = getattr(exc, "problem", None) or str(exc)
        raise EvidenceError(
            f"{path}: not valid YAML at {where}: {problem}",
            hint="fix the YAML syntax (indentation, colons, quotes) at that line",
        ) from exc
    if not isinstance(data, dict):
        raise EvidenceError(
            f"{path}: the top level must be a mapping of keys", hint="start with `service: NAME`"
        )
    problems = validate(data, str(path))
    if problems:
        raise EvidenceError(
            f"{path} has {len(problems)} problem{'s' if len(problems) > 1 else ''}",
            hint="fix each key listed above; the config reference is in the README",
            details=problems,
        )
    collectors = {
        name: ({} if value is True else dict(value))
        for name, value in (data.get("collectors") or {}).items()
        if value is not False
    }
    db = data.get("database") or {}
    red = data.get("redact") or {}
    root = path.resolve().parent
    return Config(
        path=path.resolve(),
        service=data["service"],
        phase=str(data.get("phase", "")),
        output=root / data.get("output", DEFAULT_OUTPUT),
        database_env=db.get("url_env"),
        database_default=db.get("default"),
        collectors=collectors,
        redact_env=tuple(red.get("env", ())),
        redact_patterns=tuple(red.get("patterns", ())),
        rules=tuple(str(root / r) if r.endswith((".yaml", ".yml")) else r for r in data.get("rules", ())),
        raw=raw,
    )


def environment() -> dict[str, str]:
    """A copy of the process environment (one place to read it)."""
    return dict(os.environ)
