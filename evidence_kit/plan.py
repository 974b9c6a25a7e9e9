"""What a collect will do, told before anything runs: the order, interpreters, database, commands, reads."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evidence_kit.config import Config
from evidence_kit.errors import EvidenceError
from evidence_kit.model import Intent
from evidence_kit.order import cycle, order, stages

# NOTE: commands run with the service's interpreter's folder first on PATH, so `python` in them means it.
ON_PATH = frozenset({"command", "tests", "http"})
# NOTE: these start an interpreter of their own: their `python` option, else the config's.
OPTION = frozenset({"openapi", "environment"})
# NOTE: these read Python source with evidence-kit's own parser.
PARSE = frozenset({"alembic", "codefacts"})


def interpreter(
    config: Config, name: str, options: Mapping[str, Any], env: Mapping[str, str] | None = None
) -> str | None:
    """The Python a collector's work runs with (as `support.interpreter` resolves it), or None for a
    collector that runs no Python."""
    from evidence_kit.errors import CollectorError
    from evidence_kit.support import interpreter as python

    if name not in ON_PATH | OPTION | PARSE:
        return None
    try:
        chosen = python.resolve(config.root, options.get("python"), config.python, env)
    except CollectorError as exc:
        # NOTE: the plan shows what is configured, and that the collect will not find it.
        raise _Unusable(exc.message) from exc
    if name in PARSE:
        return sys.executable + (f", then {chosen.path} for newer syntax" if chosen else "")
    if chosen is not None:
        return chosen.path
    if name in ON_PATH:
        return "the first `python` on PATH (no `python:` in evidence.yaml)"
    return sys.executable


class _Unusable(Exception):
    """The configured interpreter of a collector cannot be used (the message says why)."""


@dataclass(frozen=True)
class Step:
    """One collector in the plan: its wave, what it waits for, its interpreter and its intent."""

    collector: str
    wave: int
    waits_for: tuple[str, ...]
    interpreter: str | None
    intent: Intent
    # NOTE: why the configured interpreter cannot be used (the collect will say so), else None.
    interpreter_problem: str | None = None


@dataclass(frozen=True)
class Plan:
    """What `evidence collect` would do with this config and environment."""

    config: Path
    service: str
    database: str | None
    database_source: str | None
    database_problem: str | None
    waves: tuple[tuple[str, ...], ...]
    steps: tuple[Step, ...]
    # NOTE: each `env_file` of the config and whether it is read (else why not).
    env_files: tuple[tuple[str, str], ...] = ()

    def as_json(self) -> dict[str, Any]:
        """The plan as plain data."""
        return {
            "config": str(self.config),
            "service": self.service,
            "database": {
                "url": self.database,
                "source": self.database_source,
                "problem": self.database_problem,
            },
            "env_files": [{"path": name, "status": status} for name, status in self.env_files],
            "order": [list(w) for w in self.waves],
            "collectors": [
                {
                    "name": s.collector,
                    "wave": s.wave + 1,
                    "waits_for": list(s.waits_for),
                    "interpreter": s.interpreter,
                    "interpreter_problem": s.interpreter_problem,
                    "reads": list(s.intent.reads),
                    "runs": [{"name": r.name, "line": r.line, "cwd": str(r.cwd)} for r in s.intent.runs],
                }
                for s in self.steps
            ],
        }

    def render(self) -> str:
        """The plan as text for a terminal."""
        lines = [f"plan of {self.service} from {self.config} (nothing was run)", ""]
        if self.database_problem:
            lines.append(f"database: cannot tell: {self.database_problem}")
        elif self.database:
            lines.append(f"database: {self.database} (from {self.database_source})")
        else:
            lines.append("database: none given")
        if self.env_files:
            shown = [f"{name} ({st if st == 'read' else st + ': skipped'})" for name, st in self.env_files]
            lines.append(f"env files: {', '.join(shown)}")
        lines += ["", "order (a collector starts once those it waits for have finished):"]
        for i, wave in enumerate(self.waves, 1):
            lines.append(f"  {i}. {', '.join(wave)}")
        for step in self.steps:
            waits = f", after {', '.join(step.waits_for)}" if step.waits_for else ", at once"
            lines += ["", f"{step.collector} (wave {step.wave + 1}{waits})"]
            if step.interpreter_problem:
                lines.append(f"  python: cannot be used: {step.interpreter_problem}")
            elif step.interpreter:
                lines.append(f"  python: {step.interpreter}")
            for run in step.intent.runs:
                lines += [f"  runs {run.name}: {run.line}", f"    in {run.cwd}"]
            lines += [f"  reads {what}" for what in step.intent.reads]
        return "\n".join(lines) + "\n"


def select(config: Config, only: Sequence[str], skip: Sequence[str]) -> list[str]:
    """The collectors to run, after --only and --skip; unknown names are a usage error."""
    from evidence_kit.collectors import COLLECTORS

    unknown = sorted({*only, *skip} - set(COLLECTORS))
    if unknown:
        raise EvidenceError(
            f"unknown collector{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}",
            hint=f"choose from: {', '.join(sorted(COLLECTORS))}",
        )
    not_configured = sorted(set(only) - set(config.collectors))
    if not_configured:
        raise EvidenceError(
            f"--only names collectors not configured in {config.path.name}: {', '.join(not_configured)}",
            hint="add them under `collectors:` (`name: true` runs one with its defaults)",
        )
    names = [n for n in config.collectors if (not only or n in only) and n not in skip]
    return names


def served_openapi(
    config: Config, names: Sequence[str], env: Mapping[str, str]
) -> tuple[str | None, str | None]:
    """The path the http collector reads the openapi collector's document from while the service it
    started is up (`collectors.openapi.served`), when both run and the openapi collector may wait for
    the http one, else None (the app is imported); and why, when both run and an app is imported."""
    from evidence_kit.collectors import openapi

    if "openapi" not in names or "http" not in names or not config.collectors["openapi"].get("app"):
        return None, None
    path, why = openapi.served(
        config.collectors["openapi"], config.collectors["http"], config.root, config.python, env
    )
    if path is not None and cycle(_reading(config.after)) is not None:
        return None, "the http collector waits for the openapi one (`after:`)"
    return path, why


def _reading(after: Mapping[str, Sequence[str]]) -> dict[str, Sequence[str]]:
    """`after` with the openapi collector also waiting for the http one."""
    return {**after, "openapi": (*after.get("openapi", ()), "http")}


def schedule(
    config: Config, names: Sequence[str], env: Mapping[str, str]
) -> tuple[dict[str, tuple[str, ...]], str | None, str | None]:
    """What each collector waits for (`evidence_kit.order`), and the served OpenAPI path with why it is
    read or not (see `served_openapi`); for a path, the openapi collector waits for the http one."""
    path, why = served_openapi(config, names, env)
    return order(names, _reading(config.after) if path else config.after), path, why


def _with_served(name: str, intent: Intent, config: Config, served: str | None, why: str) -> Intent:
    """The intent of the http or openapi collector, told whether the app's document is read from the
    service http starts or imported, and why."""
    app = config.collectors["openapi"]["app"]
    if served is None:
        if name == "openapi":
            read = f"the OpenAPI document of {app}, imported, not read from the service: {why}"
            return Intent((read,), intent.runs)
        return intent
    url = str(config.collectors["http"].get("base_url", "")).rstrip("/") + served
    if name == "http":
        read = f"GET {url}: the OpenAPI document, for the openapi collector"
        return Intent((*intent.reads, read), intent.runs)
    read = f"the OpenAPI document of {app} at {url}, read by the http collector ({why})"
    return Intent((read + "; imported if that fails",))


def plan(
    config: Config,
    *,
    only: Sequence[str] = (),
    skip: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> Plan:
    """What a collect with these options would do, in the order the engine uses; nothing is run."""
    from evidence_kit.collectors import COLLECTORS

    env = dict(os.environ if env is None else env)
    settings = config.with_env_files(env)
    names = select(config, only, skip)
    waits, served, why = schedule(config, names, env)
    waves = stages(waits)
    database = source = problem = None
    try:
        target = config.database(settings)
    except EvidenceError as exc:
        problem = exc.message
    else:
        if target is not None:
            database, source = target.shown, target.source
            for secret in target.secrets:
                database = database.replace(secret, "***")
        elif config.database_env:
            # NOTE: as collect says it: the variable to set, not only that no URL was given.
            problem = config.url_hint(settings)
    steps = []
    for i, wave in enumerate(waves):
        for name in wave:
            options = config.collectors[name]
            describe = getattr(COLLECTORS[name], "plan", None)
            intent = describe(config.root, options) if describe else Intent()
            if name in ("openapi", "http") and why:
                intent = _with_served(name, intent, config, served, why)
            try:
                python, unusable = interpreter(config, name, options, env), None
            except _Unusable as exc:
                python, unusable = None, str(exc)
            steps.append(Step(name, i, waits[name], python, intent, unusable))
    return Plan(
        config=config.path,
        service=config.service,
        database=database,
        database_source=source,
        database_problem=problem,
        waves=tuple(tuple(w) for w in waves),
        steps=tuple(steps),
        env_files=tuple((name, config.env_file_status(name)) for name in config.env_files),
    )
