"""The collectors, by name. Each module has NAME, OPTIONS_SCHEMA and collect(ctx, options)."""

from __future__ import annotations

from evidence_kit.collectors import (
    alembic,
    ci,
    codefacts,
    command,
    environment,
    files,
    git,
    http,
    openapi,
    queue,
    schema,
    sql,
    tests,
)
from evidence_kit.model import Collector

COLLECTORS: dict[str, Collector] = {
    "git": git,
    "alembic": alembic,
    "schema": schema,
    "openapi": openapi,
    "command": command,
    "files": files,
    "tests": tests,
    "http": http,
    "sql": sql,
    "queue": queue,
    "ci": ci,
    "codefacts": codefacts,
    "environment": environment,
}
