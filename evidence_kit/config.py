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
from evidence_kit.support.db import Database, from_libpq, from_template, secrets_of

DEFAULT_OUTPUT = ".evidence"


class EnvWithFiles(dict[str, str]):
    """The environment with the variables of the `env_file`s it does not set; `sources` names the file each
    of those came from."""

    sources: dict[str, str]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.sources = {}


@dataclass(frozen=True)
class Config:
    """A validated configuration."""

    path: Path
    service: str
    phase: str
    output: Path
    database_envs: tuple[str, ...]
    database_default: str | None
    collectors: Mapping[str, Mapping[str, Any]]
    after: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    database_template: str | None = None
    redact_env: tuple[str, ...] = ()
    redact_patterns: tuple[str, ...] = ()
    redact_allow_names: tuple[str, ...] = ()
    redact_allow_values: tuple[str, ...] = ()
    redact_allow_patterns: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    python: str | None = None
    env_files: tuple[str, ...] = ()
    raw: bytes = field(default=b"", repr=False)

    @property
    def root(self) -> Path:
        return self.path.parent

    def with_env_files(self, env: Mapping[str, str]) -> dict[str, str]:
        """`env` with the variables of the `env_file`s (relative to evidence.yaml) it does not set, for the
        database URL: as the service's settings read them, the environment wins, then the last file that
        sets one. A file outside the repository is never read. Children never get them (the service reads
        its files itself)."""
        files: dict[str, str] = {}
        where: dict[str, str] = {}
        for name, read in self._env_files_read(env):
            files.update(read)
            where.update(dict.fromkeys(read, name))
        merged = EnvWithFiles({**files, **env})
        merged.sources = {key: file for key, file in where.items() if key not in env}
        return merged

    def env_file_values(self, env: Mapping[str, str]) -> list[dict[str, str]]:
        """The variables of each `env_file` read, those the environment or a later file overrides included:
        their secret values are masked too (a password in `.env` the environment overrides is still one)."""
        return [read for _, read in self._env_files_read(env)]

    def source_defaults(self) -> list[tuple[str, str]]:
        """(name, value) of the secret defaults the service's own source gives (redact/defaults.py): masked
        wherever they appear, as the values of the `env_file`s are."""
        from evidence_kit.redact.defaults import source_defaults

        return source_defaults(self.root)

    def _env_files_read(self, env: Mapping[str, str]) -> list[tuple[str, dict[str, str]]]:
        from evidence_kit.support import dotenv

        files: dict[str, str] = {}
        out: list[tuple[str, dict[str, str]]] = []
        for name in self.env_files:
            if self.env_file_status(name) == "read":
                read = dotenv.read(self.root / name, {**files, **env})
                files.update(read)
                out.append((name, read))
        return out

    def env_file_status(self, name: str) -> str:
        """Whether an `env_file` is read: "read", "missing", "not a regular file", "too large", or "outside
        the repository"."""
        from evidence_kit.support import dotenv
        from evidence_kit.support.paths import repository

        path = self.root / name
        if not path.resolve().is_relative_to(repository(self.root)):
            return "outside the repository"
        return dotenv.status(path)

    @property
    def database_env(self) -> str | None:
        """The first variable `url_env` names, or None."""
        return self.database_envs[0] if self.database_envs else None

    def database(self, env: Mapping[str, str]) -> Database | None:
        """The target database: the first set variable of those `url_env` names, else the `url` template
        filled from the environment, else the embedded `default`, else the libpq PG* variables; None when
        none is given.

        Raises EvidenceError naming a variable the template needs that is not set.
        """
        for name in self.database_envs:
            if env.get(name):
                file = env.sources.get(name) if isinstance(env, EnvWithFiles) else None
                source = f"{name} in {file} (env_file)" if file else f"environment variable {name}"
                return Database(env[name], source, secrets_of(env[name]))
        if self.database_template:
            return from_template(self.database_template, env)
        if self.database_default:
            return Database(self.database_default, "database.default in the config", ())
        return from_libpq(env)

    def url_hint(self, env: Mapping[str, str]) -> str:
        """Why `database` gives no URL: the variables `url_env` names are unset, else the template's
        problem, else evidence.yaml configures no database."""
        if self.database_envs and not any(env.get(name) for name in self.database_envs):
            if len(self.database_envs) == 1:
                named = f"the environment variable {self.database_envs[0]}"
                return f"{named} (evidence.yaml's `database.url_env`) is not set"
            names = ", ".join(self.database_envs)
            return f"none of the environment variables {names} (evidence.yaml's `database.url_env`) is set"
        try:
            self.database(env)
        except EvidenceError as exc:
            return exc.message
        return "evidence.yaml configures no database"

    def database_url(self, env: Mapping[str, str]) -> str | None:
        """The database URL (see `database`), or None."""
        target = self.database(env)
        return target.url if target else None


def after_option() -> dict[str, Any]:
    """The schema of the `after:` option every collector takes."""
    from evidence_kit.collectors import COLLECTORS

    return {
        "type": "array",
        "items": {"type": "string", "enum": sorted(COLLECTORS)},
        "uniqueItems": True,
        "description": "Collectors this one starts after, on top of the default order (see Order in the "
        "README); where the default order says the opposite, `after` wins.",
    }


def with_after(options: Mapping[str, Any]) -> dict[str, Any]:
    """A collector's options schema with the `after:` option added."""
    return {**options, "properties": {**options.get("properties", {}), "after": after_option()}}


@cache
def schema() -> dict[str, Any]:
    """The JSON Schema of evidence.yaml, with each collector's options schema plugged in."""
    from evidence_kit.collectors import COLLECTORS

    text = resources.files("evidence_kit").joinpath("config.schema.json").read_text("utf-8")
    base: dict[str, Any] = json.loads(text)
    base["properties"]["collectors"]["properties"] = {
        name: {"oneOf": [{"type": "boolean"}, with_after(module.OPTIONS_SCHEMA)]}
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
    if kind == "oneOf" and len(err.absolute_path) == 2 and err.absolute_path[0] == "collectors":
        return "use `true`, `false` or a mapping of this collector's options (see the README)"
    if kind == "oneOf":
        return f"use {' or '.join(_shape(branch) for branch in err.validator_value)}"
    if kind == "pattern":
        if "default" in list(err.absolute_path):
            return "give a URL without a password; put the real URL in the environment variable `url_env`"
        if list(err.absolute_path) == ["database", "url"]:
            return "write the password as a `${VAR}` reference, e.g. postgresql://${PGUSER}:${PGPASSWORD}@host/db"
        return f"match the pattern {err.validator_value}"
    if kind == "uniqueItems":
        return "list each value once"
    if kind in ("minimum", "maximum", "exclusiveMinimum", "minLength", "minItems"):
        return f"respect {kind} {err.validator_value}"
    return "see the config reference in the README"


def _message(err: Any) -> str:
    """The validator's message, in YAML's words where it speaks Python (`True`) or schema (`oneOf`)."""
    if err.validator != "oneOf":
        return str(err.message)
    value = err.instance
    shown = json.dumps(value) if value is None or isinstance(value, bool | int | float | str) else None
    kind = "mapping" if isinstance(value, dict) else "list" if isinstance(value, list) else "value"
    return f"{shown or 'this ' + kind} is none of the forms this key takes"


def _shape(schema: Mapping[str, Any]) -> str:
    """One branch of a `oneOf`, in words: `false`, a string matching ^/, a list, ..."""
    if "enum" in schema:
        return " or ".join(f"`{json.dumps(v)}`" for v in schema["enum"])
    named = str(schema.get("type", "value"))
    kind = {"object": "mapping", "array": "list"}.get(named, named)
    return f"a {kind} matching {schema['pattern']}" if "pattern" in schema else f"a {kind}"


def _best(err: Any) -> Any:
    # NOTE: for a collector given as a mapping, the mapping branch's errors say more than "not a boolean";
    # for a list, the list branch's say more than "not a string".
    if err.validator == "oneOf" and err.context and isinstance(err.instance, dict | list):
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
            out.append(f"{source}: {where}: {_message(e)} — fix: {_fix(e)}")
    return sorted(set(out))


def _collectors(data: Mapping[str, Any]) -> tuple[dict[str, dict[str, Any]], dict[str, tuple[str, ...]]]:
    """Each switched-on collector's options (without `after`), and each one's `after:` entries."""
    collectors: dict[str, dict[str, Any]] = {}
    after: dict[str, tuple[str, ...]] = {}
    for name, value in (data.get("collectors") or {}).items():
        if value is False:
            continue
        options = {} if value is True else dict(value)
        entries = options.pop("after", None)
        collectors[name] = options
        if entries:
            after[name] = tuple(entries)
    return collectors, after


def _same_names(source: str, collector: str, key: str | None, options: Mapping[str, Any]) -> list[str]:
    """Entries of a collector's named list (`commands`, `captures`, …) that reuse an earlier one's name:
    their artifacts would overwrite each other's."""
    entries = options.get(key) if key else None
    first: dict[str, int] = {}
    out = []
    for i, entry in enumerate(entries if isinstance(entries, list) else []):
        name = entry.get("name") if isinstance(entry, Mapping) else None
        if not isinstance(name, str):
            continue
        if name in first:
            out.append(
                f"{source}: collectors.{collector}.{key}.{i}.name: `{name}` is already the name of "
                f"{key}.{first[name]}, whose artifacts these would overwrite — fix: give each a name of its "
                "own"
            )
        else:
            first[name] = i
    return out


def semantic(data: Mapping[str, Any], source: str) -> list[str]:
    """Problems a schema cannot express: cycles among `after:` options, each collector's own `validate`,
    and two entries of one name in a collector's named list."""
    from evidence_kit.collectors import COLLECTORS
    from evidence_kit.order import cycle

    collectors, after = _collectors(data)
    out = []
    for name, options in collectors.items():
        check = getattr(COLLECTORS[name], "validate", None)
        for where, problem, fix in check(options) if check else ():
            out.append(f"{source}: collectors.{name}.{where}: {problem} — fix: {fix}")
        out += _same_names(source, name, getattr(COLLECTORS[name], "NAMED", None), options)
    loop = cycle(after)
    if loop:
        shown = " → ".join([*loop, loop[0]])
        out.append(
            f"{source}: collectors.{loop[0]}.after: the `after:` options make a cycle ({shown}) — "
            "fix: remove one of these `after:` entries"
        )
    return out


def load(path: Path) -> Config:
    """Read, parse and validate a config file."""

    if not path.is_file():
        raise EvidenceError(
            f"config file {path} not found",
            hint="run in the service's folder, pass --config PATH, or write evidence.yaml (see the README)",
        )
    return parse(path.read_bytes(), path)


def parse(raw: bytes, path: Path) -> Config:
    """Parse and validate the text of a config file that is (or will be) at `path`."""
    import yaml

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
    problems = validate(data, str(path)) or semantic(data, str(path))
    if problems:
        raise EvidenceError(
            f"{path} has {len(problems)} problem{'s' if len(problems) > 1 else ''}",
            hint="fix each key listed above; the config reference is in the README",
            details=problems,
        )
    collectors, after = _collectors(data)
    db = data.get("database") or {}
    url_env = db.get("url_env")
    red = data.get("redact") or {}
    allow = red.get("allow") or {}
    root = path.resolve().parent
    return Config(
        path=path.resolve(),
        service=data["service"],
        phase=str(data.get("phase", "")),
        output=root / data.get("output", DEFAULT_OUTPUT),
        database_envs=(url_env,) if isinstance(url_env, str) else tuple(url_env or ()),
        database_default=db.get("default"),
        database_template=db.get("url"),
        collectors=collectors,
        after=after,
        redact_env=tuple(red.get("env", ())),
        redact_patterns=tuple(red.get("patterns", ())),
        redact_allow_names=tuple(allow.get("names", ())),
        redact_allow_values=tuple(allow.get("values", ())),
        redact_allow_patterns=tuple(allow.get("patterns", ())),
        rules=tuple(str(root / r) if r.endswith((".yaml", ".yml")) else r for r in data.get("rules", ())),
        python=data.get("python"),
        env_files=(env_file,) if isinstance(env_file := data.get("env_file"), str) else tuple(env_file or ()),
        raw=raw,
    )


def environment() -> dict[str, str]:
    """A copy of the process environment (one place to read it)."""
    return dict(os.environ)
