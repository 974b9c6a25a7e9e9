"""API tests against a real PostgreSQL database."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from jobs_service.models import Job
from jobs_service.worker import WorkerConfig, process_one

SERVICE_ROOT = Path(__file__).resolve().parent.parent


def _create(client: TestClient, name: str = "Northwind Traders") -> dict:
    response = client.post("/runs", json={"company_name": name, "requested_by": "analyst@example.invalid"})
    assert response.status_code == 201, response.text
    return response.json()


def test_health_reports_database(client: TestClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["database"] == "postgresql"


def test_create_list_and_get_run(client: TestClient) -> None:
    run = _create(client)
    assert run["status"] == "pending"
    assert run["requested_by"] == "analyst@example.invalid"

    listed = client.get("/runs", params={"status": "pending"}).json()
    assert [r["id"] for r in listed] == [run["id"]]
    assert client.get("/runs", params={"status": "completed"}).json() == []

    detail = client.get(f"/runs/{run['id']}").json()
    assert detail["company_name"] == "Northwind Traders"
    assert detail["jobs"] == []


def test_unknown_run_and_bad_input(client: TestClient) -> None:
    assert client.get("/runs/00000000-0000-0000-0000-000000000000").status_code == 404
    assert client.post("/runs", json={"company_name": ""}).status_code == 422
    assert client.get("/runs/not-a-uuid").status_code == 422


def test_start_is_idempotent(client: TestClient) -> None:
    run = _create(client)
    first = client.post(f"/runs/{run['id']}/start")
    second = client.post(f"/runs/{run['id']}/start", json={"payload": {"ignored": True}})
    assert first.status_code == 201
    assert second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert first.json()["status"] == "queued"
    assert first.json()["attempt_count"] == 0
    assert first.json()["max_attempts"] == 3
    assert first.json()["cancel_requested"] is False

    detail = client.get(f"/runs/{run['id']}").json()
    assert detail["status"] == "queued"
    assert len(detail["jobs"]) == 1


def test_partial_unique_index_rejects_a_second_active_job(
    client: TestClient, sessions: sessionmaker[Session]
) -> None:
    run = _create(client)
    client.post(f"/runs/{run['id']}/start")
    with sessions() as session, pytest.raises(IntegrityError, match="uq_jobs_active"):
        session.execute(insert(Job).values(run_id=run["id"], job_type="research_company"))


def test_cancel_before_start_cancels_the_run(client: TestClient) -> None:
    run = _create(client)
    response = client.post(f"/runs/{run['id']}/cancel")
    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    assert client.post(f"/runs/{run['id']}/cancel").json()["status"] == "cancelled"
    assert client.post(f"/runs/{run['id']}/start").status_code == 409


def test_cancel_queued_job_sets_the_flag(client: TestClient) -> None:
    run = _create(client)
    job = client.post(f"/runs/{run['id']}/start").json()
    detail = client.post(f"/runs/{run['id']}/cancel").json()
    assert detail["status"] == "queued"
    assert detail["jobs"][0]["id"] == job["id"]
    assert detail["jobs"][0]["cancel_requested"] is True


def test_retry_requires_a_failed_run(
    client: TestClient, sessions: sessionmaker[Session], worker_config: WorkerConfig
) -> None:
    run = _create(client)
    assert client.post(f"/runs/{run['id']}/retry").status_code == 409

    first = client.post(f"/runs/{run['id']}/start", json={"payload": {"fail_times": 1}, "max_attempts": 1})
    assert process_one(sessions, worker_config).status == "failed"
    assert client.get(f"/runs/{run['id']}").json()["status"] == "failed"
    assert client.post(f"/runs/{run['id']}/start").status_code == 409

    retried = client.post(f"/runs/{run['id']}/retry", json={"payload": {}})
    assert retried.status_code == 201
    assert retried.json()["id"] != first.json()["id"]
    assert retried.json()["status"] == "queued"
    assert client.get(f"/runs/{run['id']}").json()["status"] == "queued"

    assert process_one(sessions, worker_config).status == "completed"
    final = client.get(f"/runs/{run['id']}").json()
    assert final["status"] == "completed"
    assert final["result"]["slug"] == "northwind-traders"
    assert [j["status"] for j in final["jobs"]] == ["completed", "failed"]


def test_events_are_newest_first(
    client: TestClient, sessions: sessionmaker[Session], worker_config: WorkerConfig
) -> None:
    run = _create(client)
    client.post(f"/runs/{run['id']}/start")
    process_one(sessions, worker_config)
    events = client.get(f"/runs/{run['id']}/events").json()
    assert [e["event_type"] for e in events] == [
        "worker_completed",
        "worker_claimed",
        "job_enqueued",
        "run_created",
    ]
    assert [e["id"] for e in events] == sorted((e["id"] for e in events), reverse=True)
    assert events[0]["payload"]["worker_id"] == "test-host:4242"
    assert client.get(f"/runs/{run['id']}/events", params={"limit": 1}).json()[0]["id"] == events[0]["id"]


def test_importing_the_app_does_not_connect() -> None:
    code = (
        "import jobs_service.app as a, jobs_service.db as d; "
        "assert d._engine is None; print(a.app.title, [r.path for r in a.app.routes][-1])"
    )
    env = {**os.environ, "DATABASE_URL": "postgresql://nobody@127.0.0.1:9/unreachable"}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=SERVICE_ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("jobs-service")
