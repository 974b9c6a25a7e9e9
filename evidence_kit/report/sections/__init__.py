"""One section module per kind of evidence; SECTIONS is the order the page shows them in."""

from __future__ import annotations

from evidence_kit.report.page import Builder
from evidence_kit.report.sections.alembic import _alembic
from evidence_kit.report.sections.ci import _ci
from evidence_kit.report.sections.commands import _commands
from evidence_kit.report.sections.environment import _environment
from evidence_kit.report.sections.git import _git
from evidence_kit.report.sections.http import _http
from evidence_kit.report.sections.logs import _logs
from evidence_kit.report.sections.results import _results
from evidence_kit.report.sections.routes import _routes
from evidence_kit.report.sections.schema import _schema
from evidence_kit.report.sections.tests import _tests

SECTIONS: tuple[tuple[str, str, tuple[str, ...], Builder], ...] = (
    ("git", "Git state", ("git",), _git),
    ("migrations", "Migrations", ("alembic",), _alembic),
    ("schema", "Schema", ("schema",), _schema),
    ("routes", "Routes", ("openapi",), _routes),
    ("proofs", "Proofs and commands", ("command",), _commands),
    ("logs", "Worker runs and logs", ("files",), _logs),
    ("http", "HTTP captures", ("http",), _http),
    ("sql", "SQL results", ("sql",), _results),
    ("queue", "Queue health", ("queue",), _results),
    ("tests", "Tests", ("tests", "pytest"), _tests),
    ("ci", "CI inventory", ("ci",), _ci),
    ("environment", "Environment", ("environment",), _environment),
)
GATES = ("gates", "Gate results")
