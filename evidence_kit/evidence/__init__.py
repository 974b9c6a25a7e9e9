"""One reader per kind of evidence: each module owns its artifact layout and `read(view)`."""

from __future__ import annotations

from evidence_kit.evidence import (
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

KINDS = {
    "git": git,
    "alembic": alembic,
    "schema": schema,
    "openapi": openapi,
    "command": command,
    "tests": tests,
    "http": http,
    "sql": sql,
    "queue": queue,
    "ci": ci,
    "codefacts": codefacts,
    "environment": environment,
    "files": files,
}
