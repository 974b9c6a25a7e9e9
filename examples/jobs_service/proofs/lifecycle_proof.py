"""Prove the run lifecycle end to end: create, idempotent start, worker success, cancel before work."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from fastapi.testclient import TestClient

from jobs_service.app import app

SERVICE = Path(__file__).resolve().parent.parent


def check(condition: bool, message: str) -> None:
    """Print a passed step, or fail the proof with exit code 1."""
    if not condition:
        print(f"FAILED: {message}")
        sys.exit(1)
    print(f" {message}")


def worker_once() -> str:
    """Run the real worker for one job and return its summary line."""
    done = subprocess.run(
        [sys.executable, "-m", "jobs_service.worker", "--once", "--worker-id", "proof-worker", "--log-sql"],
        cwd=SERVICE,
        capture_output=True,
        text=True,
        timeout=60,
        env=os.environ.copy(),
    )
    # NOTE: the worker's log (with the SQL it ran) goes to stderr, captured as evidence beside the proof.
    sys.stderr.write(done.stderr)
    check(done.returncode == 0, f"worker exited {done.returncode}")
    return done.stdout.strip()


def main() -> int:
    """Run both paths and print the run ids for the evidence pack."""
    print("=== RUN LIFECYCLE PROOF ===")
    with TestClient(app) as client:
        check(client.get("/health").json()["status"] == "ok", "service healthy")
        ok_run = client.post("/runs", json={"company_name": "Acme Robotics", "requested_by": "proof"}).json()
        cancel_run = client.post("/runs", json={"company_name": "Globex", "requested_by": "proof"}).json()
        first = client.post(f"/runs/{ok_run['id']}/start")
        second = client.post(f"/runs/{ok_run['id']}/start")
        check(first.status_code == 201 and second.status_code == 200, "start returns 201 then 200")
        check(first.json()["id"] == second.json()["id"], "start is idempotent (one active job)")
        print(f" worker: {worker_once()}")
        status = client.get(f"/runs/{ok_run['id']}").json()["status"]
        check(status == "completed", f"success run status: {status}")
        events = client.get(f"/runs/{ok_run['id']}/events").json()
        check(
            any(e["event_type"] == "worker_completed" for e in events), f"success run events: {len(events)}"
        )
        client.post(f"/runs/{cancel_run['id']}/start")
        client.post(f"/runs/{cancel_run['id']}/cancel")
        print(f" worker: {worker_once()}")
        status = client.get(f"/runs/{cancel_run['id']}").json()["status"]
        check(status == "cancelled", f"cancel run status: {status}")
        events = client.get(f"/runs/{cancel_run['id']}/events").json()
        check(any(e["event_type"] == "worker_cancelled" for e in events), f"cancel run events: {len(events)}")
    print("=== VALIDATION PASSED ===")
    print(f"RUN_SUCCESS_ID={ok_run['id']}")
    print(f"RUN_CANCEL_ID={cancel_run['id']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
