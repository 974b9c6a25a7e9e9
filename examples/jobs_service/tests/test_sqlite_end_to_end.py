"""The whole service on SQLite: real `alembic upgrade head`, the API, and `worker --once` as subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from jobs_service import db

SERVICE_ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def sqlite_url(tmp_path: Path) -> Iterator[str]:
    """A SQLite database file in tmp_path that the service points at during the test."""
    url = f"sqlite:///{tmp_path / 'jobs.db'}"
    yield url
    db.configure(None)


def _run(argv: list[str], url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(argv, cwd=SERVICE_ROOT, env=env, capture_output=True, text=True, timeout=60)


def test_migrate_queue_and_work_on_sqlite(sqlite_url: str) -> None:
    migrated = _run([sys.executable, "-m", "alembic", "upgrade", "head"], sqlite_url)
    assert migrated.returncode == 0, migrated.stderr
    assert "Running upgrade  -> 3f9a1c2b7d10" in migrated.stderr

    db.configure(sqlite_url)
    from jobs_service.app import app

    with TestClient(app) as client:
        assert client.get("/health").json()["database"] == "sqlite"
        run = client.post("/runs", json={"company_name": "Fabrikam Ltd"}).json()
        job = client.post(f"/runs/{run['id']}/start").json()
        assert client.post(f"/runs/{run['id']}/start").json()["id"] == job["id"]

        worked = _run([sys.executable, "-m", "jobs_service.worker", "--once"], sqlite_url)
        assert worked.returncode == 0, worked.stderr
        assert worked.stdout == f"worker: job {job['id']} (run {run['id']}) completed after attempt 1/3\n"
        assert " - jobs_service.worker - INFO - sql: SELECT jobs.id" in worked.stderr
        assert "FOR UPDATE" not in worked.stderr

        detail = client.get(f"/runs/{run['id']}").json()
        assert detail["status"] == "completed"
        assert detail["result"]["slug"] == "fabrikam-ltd"
        assert detail["jobs"][0]["locked_by"].endswith(tuple("0123456789"))
        events = [e["event_type"] for e in client.get(f"/runs/{run['id']}/events").json()]
        assert events == ["worker_completed", "worker_claimed", "job_enqueued", "run_created"]

    idle = _run([sys.executable, "-m", "jobs_service.worker", "--once"], sqlite_url)
    assert (idle.returncode, idle.stdout) == (0, "worker: no due jobs\n")


def test_default_url_is_sqlite_next_to_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    db.configure(None)
    assert db.database_url() == f"sqlite:///{SERVICE_ROOT / 'jobs_service.db'}"
    monkeypatch.setenv("DATABASE_URL", "postgresql://app@db.internal:5432/jobs")
    assert db.database_url() == "postgresql+psycopg://app@db.internal:5432/jobs"
    assert db.normalize_url("postgres://u@h/d") == "postgresql+psycopg://u@h/d"
    assert db.normalize_url("sqlite:///x.db") == "sqlite:///x.db"
