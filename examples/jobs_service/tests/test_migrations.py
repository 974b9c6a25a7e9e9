"""Migration tests: the real Alembic scripts go up, down and up again on PostgreSQL and SQLite."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy import inspect as sa_inspect

from jobs_service.db import normalize_url
from jobs_service.models import Base

ConfigFactory = Callable[[str], Config]
TABLES = {"runs", "run_events", "jobs"}


def test_revision_scripts_are_linear_and_reversible(make_alembic_config: ConfigFactory) -> None:
    scripts = ScriptDirectory.from_config(make_alembic_config("sqlite://"))
    revisions = list(scripts.walk_revisions())
    assert len(revisions) >= 6
    assert len(scripts.get_heads()) == 1
    for rev in revisions:
        assert re.fullmatch(r"[0-9a-f]{12}", rev.revision)
        body = inspect.getsource(rev.module.downgrade)
        assert "op." in body, f"{rev.revision} has no real downgrade"


def test_postgres_upgrade_downgrade_upgrade(fresh_pg_url: str, make_alembic_config: ConfigFactory) -> None:
    cfg = make_alembic_config(fresh_pg_url)
    head = ScriptDirectory.from_config(cfg).get_current_head()
    engine = create_engine(normalize_url(fresh_pg_url))
    try:
        command.upgrade(cfg, "head")
        with engine.connect() as conn:
            insp = sa_inspect(conn)
            assert set(insp.get_table_names()) >= TABLES
            assert {i["name"] for i in insp.get_indexes("jobs")} == {
                "ix_jobs_status_next_retry_at",
                "uq_jobs_active",
            }
            assert "ix_runs_status_created_at" in {i["name"] for i in insp.get_indexes("runs")}
            assert {c["name"] for c in insp.get_check_constraints("jobs")} == {
                "ck_jobs_status",
                "ck_jobs_attempts",
            }
            indexdef = conn.scalar(text("SELECT indexdef FROM pg_indexes WHERE indexname = 'uq_jobs_active'"))
            assert indexdef.startswith("CREATE UNIQUE INDEX") and "WHERE" in indexdef
            labels = conn.scalars(
                text(
                    "SELECT e.enumlabel FROM pg_enum e JOIN pg_type t ON t.oid = e.enumtypid "
                    "WHERE t.typname = 'run_status' ORDER BY e.enumsortorder"
                )
            ).all()
            assert labels == ["pending", "queued", "running", "completed", "failed", "cancelled"]
            fks = {fk["name"]: fk["options"] for fk in insp.get_foreign_keys("jobs")}
            assert fks["fk_jobs_run_id_runs"].get("ondelete") == "CASCADE"
            assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []

        command.downgrade(cfg, "base")
        with engine.connect() as conn:
            assert set(sa_inspect(conn).get_table_names()) == {"alembic_version"}
            assert conn.scalar(text("SELECT count(*) FROM pg_type WHERE typname = 'run_status'")) == 0

        command.upgrade(cfg, "head")
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT version_num FROM alembic_version")) == head
    finally:
        engine.dispose()


def test_sqlite_upgrade_downgrade_upgrade(tmp_path: Path, make_alembic_config: ConfigFactory) -> None:
    url = f"sqlite:///{tmp_path / 'migrate.db'}"
    cfg = make_alembic_config(url)
    engine = create_engine(url)
    try:
        command.upgrade(cfg, "head")
        command.downgrade(cfg, "base")
        with engine.connect() as conn:
            assert set(sa_inspect(conn).get_table_names()) == {"alembic_version"}
        command.upgrade(cfg, "head")
        with engine.connect() as conn:
            assert set(sa_inspect(conn).get_table_names()) >= TABLES
            ddl = conn.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'uq_jobs_active'"))
            assert "WHERE status IN ('queued', 'running')" in ddl
            jobs_ddl = conn.scalar(text("SELECT sql FROM sqlite_master WHERE name = 'jobs'"))
            assert "ck_jobs_status" in jobs_ddl and "ck_jobs_attempts" in jobs_ddl
    finally:
        engine.dispose()
