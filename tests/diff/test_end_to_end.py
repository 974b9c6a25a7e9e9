"""Two real collects of the example service on PostgreSQL, a migration and a route apart, then `diff`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from evidence_kit.commands.collect import collect
from evidence_kit.config import load
from evidence_kit.diff import diff
from evidence_kit.diff.render import as_json, markdown, text

NEW_REVISION = "d5e6f7a8b9c0"
MIGRATION = f'''"""add runs.priority and runs.label, drop the listing index

Revision ID: {NEW_REVISION}
Revises: c93d1a6e0f52
"""

import sqlalchemy as sa
from alembic import op

revision = "{NEW_REVISION}"
down_revision = "c93d1a6e0f52"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Every run gets a priority; a free-form label; runs are no longer listed by status."""
    op.add_column("runs", sa.Column("priority", sa.Integer(), nullable=False))
    op.add_column("runs", sa.Column("label", sa.Text(), nullable=True))
    op.drop_index("ix_runs_status_created_at", table_name="runs")


def downgrade() -> None:
    """Put the index back and drop the columns."""
    op.create_index("ix_runs_status_created_at", "runs", ["status", "created_at"])
    op.drop_column("runs", "label")
    op.drop_column("runs", "priority")
'''
ROUTE = '''

@app.get("/version")
def version() -> dict[str, str]:
    """The service's version."""
    return {"version": __version__}
'''
STATIC = ["git", "alembic", "schema", "openapi"]


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> None:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.slow
def test_a_migration_and_a_route_between_two_collects(
    example_copy: Path, pg_url: str, tmp_path: Path
) -> None:
    root = example_copy
    env = {**os.environ, "DATABASE_URL": pg_url, "PYTHONDONTWRITEBYTECODE": "1"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    alembic = str(Path(sys.executable).parent / "alembic")
    run([alembic, "upgrade", "head"], root, env)
    for argv in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "commit", "-qm", "phase 1"],
    ):
        run(argv, root, env)
    config = load(root / "evidence.yaml")
    before = collect(config, env=env, only=STATIC, out=tmp_path / "before")

    (root / "migrations/versions" / f"{NEW_REVISION}_add_runs_priority.py").write_text(MIGRATION)
    app = root / "jobs_service/app.py"
    app.write_text(app.read_text() + ROUTE)
    run([alembic, "upgrade", "head"], root, env)
    for argv in (["git", "add", "-A"], ["git", "commit", "-qm", "runs get a priority; GET /version"]):
        run(argv, root, env)
    after = collect(config, env=env, only=STATIC, out=tmp_path / "after", archive=True)
    assert all(r.status == "ok" for r in (*before.results, *after.results)), after.results
    assert after.archive is not None

    report = diff(before.bundle, after.archive)
    found = {s.kind: {c.what: c.classification for c in s.changes} for s in report.sections}
    assert found["migrations"][f"revision {NEW_REVISION} added"] == "info"
    assert found["migrations"]["heads changed"] == "info"
    assert "released migration c93d1a6e0f52 edited" not in found["migrations"]
    assert found["schema"] == {
        "column public.runs.priority added": "breaking",
        "column public.runs.label added": "safe",
        "index public.runs.ix_runs_status_created_at dropped": "risky",
    }
    assert found["routes"] == {"GET /version added": "safe"}
    assert found["git"]["HEAD moved"] == "info"
    git_section = next(s for s in report.sections if s.kind == "git")
    assert [c["subject"] for c in git_section.facts["commits"]] == ["runs get a priority; GET /version"]
    assert report.exit_code("breaking") == 1

    out = text(report)
    assert f"c93d1a6e0f52 → {NEW_REVISION}" in out
    assert "breaking  column public.runs.priority added: integer NOT NULL" in out
    md = markdown(report)
    assert md.startswith("## evidence diff: 1 breaking, 1 risky, 2 safe,")
    assert "GET /version added" in md
    data = as_json(report)
    assert data["new"]["label"] == after.archive.name and data["new"]["verified"]
