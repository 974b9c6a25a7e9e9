"""Concurrent workers on PostgreSQL never claim the same job, thanks to FOR UPDATE SKIP LOCKED."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from jobs_service import worker
from jobs_service.models import Job, RunEvent
from jobs_service.worker import Outcome, WorkerConfig, claim_job, process_one


def _queue_runs(client: TestClient, count: int) -> list[str]:
    ids = []
    for i in range(count):
        run = client.post("/runs", json={"company_name": f"Company {i:02d}"}).json()
        assert client.post(f"/runs/{run['id']}/start").status_code == 201
        ids.append(run["id"])
    return ids


def test_open_claims_skip_each_others_rows(client: TestClient, sessions: sessionmaker[Session]) -> None:
    _queue_runs(client, 2)
    now = datetime.now(UTC)
    first, second, third = sessions(), sessions(), sessions()
    try:
        for session in (first, second, third):
            session.begin()
            session.execute(text("SET LOCAL statement_timeout = '5s'"))
        claim_a = claim_job(first, WorkerConfig(worker_id="host-a:1"), now)
        claim_b = claim_job(second, WorkerConfig(worker_id="host-b:2"), now)
        claim_c = claim_job(third, WorkerConfig(worker_id="host-c:3"), now)
        assert claim_a is not None and claim_b is not None
        assert claim_a.id != claim_b.id
        assert claim_c is None
        first.commit()
        second.commit()
        third.rollback()
    finally:
        for session in (first, second, third):
            session.close()
    with sessions() as session:
        holders = {job_id: holder for job_id, holder in session.execute(select(Job.id, Job.locked_by))}
    assert holders == {claim_a.id: "host-a:1", claim_b.id: "host-b:2"}


def test_parallel_workers_process_each_job_once(
    client: TestClient, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_ids = _queue_runs(client, 12)
    original = worker.HANDLERS["research_company"]

    def slow(company_name: str, payload: dict[str, Any], attempt_count: int) -> dict[str, Any]:
        time.sleep(0.02)
        return original(company_name, payload, attempt_count)

    monkeypatch.setitem(worker.HANDLERS, "research_company", slow)
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    errors: list[BaseException] = []

    def drain(name: str) -> None:
        config = WorkerConfig(worker_id=f"{name}:{threading.get_ident()}")
        try:
            barrier.wait()
            while (outcome := process_one(sessions, config)).status != "idle":
                with lock:
                    outcomes.append(outcome)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=drain, args=(f"host-{n}",)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []

    assert sorted(str(o.run_id) for o in outcomes) == sorted(run_ids)
    assert {o.status for o in outcomes} == {"completed"}
    with sessions() as session:
        claims = Counter(
            session.scalars(select(RunEvent.job_id).where(RunEvent.event_type == "worker_claimed")).all()
        )
        assert set(claims.values()) == {1}
        assert len(claims) == 12
        assert session.scalar(select(func.count()).where(Job.status != "completed")) == 0
        workers = set(session.scalars(select(Job.locked_by)).all())
    assert len(workers) >= 2, "expected the jobs to be shared between workers"


def test_concurrent_starts_share_one_job(client: TestClient) -> None:
    run = client.post("/runs", json={"company_name": "Tailspin Toys"}).json()
    barrier = threading.Barrier(4)
    results: list[tuple[int, int]] = []

    def start() -> None:
        barrier.wait()
        response = client.post(f"/runs/{run['id']}/start")
        results.append((response.status_code, response.json()["id"]))

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len({job_id for _, job_id in results}) == 1
    assert sorted(code for code, _ in results) == [200, 200, 200, 201]
