"""The jobs API."""

from fastapi import FastAPI

from jobs.db import engine
from jobs.store import list_jobs

app = FastAPI(title="Jobs", version="0.4.0")


@app.get("/jobs")
def jobs() -> dict[str, object]:
    with engine().connect() as conn:
        page = list_jobs(conn)
    return {"total": page.total, "items": [f"{job.kind}:{job.state}" for job in page.items]}


@app.get("/jobs/summary")
def summary() -> str:
    labels = {"queued": "waiting", "done": "finished"}
    return f"{", ".join(f"{k}={labels[k]}" for k in sorted(labels))}"
