"""Worker tests: success, cancellation, retries with backoff, and the command line, on PostgreSQL."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from jobs_service import worker
from jobs_service.models import Job, Run, RunEvent
from jobs_service.worker import WorkerConfig, backoff_seconds, process_one

SERVICE_ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2025, 12, 29, 12, 0, tzinfo=UTC)


def _queued_run(client: TestClient, payload: dict[str, Any] | None = None, max_attempts: int = 3) -> str:
    run = client.post("/runs", json={"company_name": "Contoso Analytics"}).json()
    body = {"payload": payload or {}, "max_attempts": max_attempts}
    assert client.post(f"/runs/{run['id']}/start", json=body).status_code == 201
    return run["id"]


def _events(session: Session, run_id: str) -> list[str]:
    stmt = select(RunEvent.event_type).where(RunEvent.run_id == uuid.UUID(run_id)).order_by(RunEvent.id)
    return list(session.scalars(stmt))


def test_nothing_to_do(sessions: sessionmaker[Session], worker_config: WorkerConfig) -> None:
    outcome = process_one(sessions, worker_config)
    assert outcome.status == "idle"
    assert outcome.summary() == "worker: no due jobs"


def test_success_path(
    client: TestClient, sessions: sessionmaker[Session], worker_config: WorkerConfig
) -> None:
    run_id = _queued_run(client)
    outcome = process_one(sessions, worker_config, clock=lambda: T0)
    assert outcome.status == "completed"
    assert outcome.summary().endswith("completed after attempt 1/3")
    with sessions() as session:
        job = session.scalars(select(Job).where(Job.run_id == uuid.UUID(run_id))).one()
        run = session.get(Run, uuid.UUID(run_id))
        assert job.status == "completed"
        assert job.locked_by == "test-host:4242"
        assert job.locked_at == T0
        assert job.attempt_count == 0
        assert run is not None and run.status == "completed"
        assert run.finished_at == T0
        assert run.result is not None and run.result["company"] == "Contoso Analytics"
        assert _events(session, run_id)[-2:] == ["worker_claimed", "worker_completed"]
    assert process_one(sessions, worker_config).status == "idle"


def test_cancel_requested_before_claim(
    client: TestClient, sessions: sessionmaker[Session], worker_config: WorkerConfig
) -> None:
    run_id = _queued_run(client)
    client.post(f"/runs/{run_id}/cancel")
    outcome = process_one(sessions, worker_config)
    assert outcome.status == "cancelled"
    with sessions() as session:
        assert session.scalars(select(Job.status)).one() == "cancelled"
        assert _events(session, run_id)[-2:] == ["cancel_requested", "worker_cancelled"]
    detail = client.get(f"/runs/{run_id}").json()
    assert detail["status"] == "cancelled"
    assert client.post(f"/runs/{run_id}/start").status_code == 409


def test_cancel_requested_while_running(
    client: TestClient,
    sessions: sessionmaker[Session],
    worker_config: WorkerConfig,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run_id = _queued_run(client)

    def slow_handler(company_name: str, payload: dict[str, Any], attempt_count: int) -> dict[str, Any]:
        response = client.post(f"/runs/{run_id}/cancel")
        assert response.json()["jobs"][0]["status"] == "running"
        return {"company": company_name}

    monkeypatch.setitem(worker.HANDLERS, "research_company", slow_handler)
    assert process_one(sessions, worker_config).status == "cancelled"
    assert client.get(f"/runs/{run_id}").json()["status"] == "cancelled"
    events = [e["event_type"] for e in client.get(f"/runs/{run_id}/events").json()]
    assert events[:3] == ["worker_cancelled", "cancel_requested", "worker_claimed"]


def test_retries_with_exponential_backoff_then_fails(
    client: TestClient, sessions: sessionmaker[Session], worker_config: WorkerConfig
) -> None:
    run_id = _queued_run(client, payload={"fail_times": 5}, max_attempts=3)

    first = process_one(sessions, worker_config, clock=lambda: T0)
    assert first.status == "retry_scheduled"
    assert first.next_retry_at == T0 + timedelta(seconds=10)
    assert client.get(f"/runs/{run_id}").json()["status"] == "queued"

    not_yet = T0 + timedelta(seconds=9)
    assert process_one(sessions, worker_config, clock=lambda: not_yet).status == "idle"

    t1 = T0 + timedelta(seconds=10)
    second = process_one(sessions, worker_config, clock=lambda: t1)
    assert second.status == "retry_scheduled"
    assert second.next_retry_at == t1 + timedelta(seconds=20)

    t2 = t1 + timedelta(seconds=20)
    third = process_one(sessions, worker_config, clock=lambda: t2)
    assert third.status == "failed"
    assert third.attempt == third.max_attempts == 3

    with sessions() as session:
        job = session.scalars(select(Job)).one()
        assert job.status == "failed"
        assert job.attempt_count == 3
        assert job.next_retry_at is None
        assert job.last_error is not None and "simulated upstream timeout" in job.last_error
        assert _events(session, run_id)[2:] == [
            "worker_claimed",
            "worker_failed",
            "worker_retry_scheduled",
            "worker_claimed",
            "worker_failed",
            "worker_retry_scheduled",
            "worker_claimed",
            "worker_failed",
        ]
    assert client.get(f"/runs/{run_id}").json()["status"] == "failed"
    assert process_one(sessions, worker_config, clock=lambda: t2 + timedelta(hours=1)).status == "idle"


def test_transient_failures_recover(
    client: TestClient, sessions: sessionmaker[Session], worker_config: WorkerConfig
) -> None:
    run_id = _queued_run(client, payload={"fail_times": 2}, max_attempts=3)
    now = T0
    statuses = []
    for _ in range(3):
        outcome = process_one(sessions, worker_config, clock=lambda now=now: now)
        statuses.append(outcome.status)
        now = outcome.next_retry_at or now
    assert statuses == ["retry_scheduled", "retry_scheduled", "completed"]
    assert client.get(f"/runs/{run_id}").json()["status"] == "completed"


def test_cancel_flag_wakes_a_job_waiting_for_its_retry(
    client: TestClient, sessions: sessionmaker[Session], worker_config: WorkerConfig
) -> None:
    run_id = _queued_run(client, payload={"fail_times": 1})
    assert process_one(sessions, worker_config, clock=lambda: T0).status == "retry_scheduled"
    client.post(f"/runs/{run_id}/cancel")
    assert process_one(sessions, worker_config, clock=lambda: T0).status == "cancelled"


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_seconds(n, 2.0) for n in (1, 2, 3, 4)] == [2.0, 4.0, 8.0, 16.0]
    assert backoff_seconds(30, 2.0, cap=60.0) == 60.0


def test_worker_once_command(client: TestClient, sessions: sessionmaker[Session], database: str) -> None:
    run_id = _queued_run(client)
    with sessions() as session, session.begin():
        session.execute(update(Job).values(payload={"fail_times": 1}))
    env = {**os.environ, "DATABASE_URL": database}
    cmd = [sys.executable, "-m", "jobs_service.worker", "--once", "--backoff-base", "0", "--log-sql"]
    first = subprocess.run(cmd, cwd=SERVICE_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert re.fullmatch(
        rf"worker: job \d+ \(run {run_id}\) retry_scheduled after attempt 1/3, .*\n", first.stdout
    )

    line = re.compile(
        r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} - jobs_service\.worker - (INFO|WARNING|ERROR) - "
    )
    log_lines = first.stderr.splitlines()
    assert log_lines and all(line.match(entry) for entry in log_lines), first.stderr
    assert "FOR UPDATE SKIP LOCKED" in first.stderr
    assert "UPDATE jobs SET status=" in first.stderr
    assert "event worker_retry_scheduled recorded" in first.stderr

    second = subprocess.run(cmd, cwd=SERVICE_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert second.returncode == 0, second.stderr
    assert second.stdout.endswith("completed after attempt 2/3\n")
    third = subprocess.run(cmd, cwd=SERVICE_ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert (third.returncode, third.stdout) == (0, "worker: no due jobs\n")
