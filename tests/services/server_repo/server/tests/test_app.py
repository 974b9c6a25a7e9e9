from fastapi.testclient import TestClient

from jobs.app import app
from jobs.store import Page


def test_jobs_are_listed() -> None:
    body = TestClient(app).get("/jobs").json()
    assert body["total"] >= 0


def test_summary() -> None:
    assert TestClient(app).get("/jobs/summary").json() == "done=finished, queued=waiting"


def test_pages_are_generic() -> None:
    assert Page[int]([], 0).first("none") == "none"
