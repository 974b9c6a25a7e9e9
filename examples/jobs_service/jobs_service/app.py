"""HTTP API for creating research runs, queueing their jobs and reading their event trail."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from jobs_service import __version__, db
from jobs_service.models import ACTIVE_JOB_STATUSES, Job, Run, RunEvent, RunStatus

DEFAULT_JOB_TYPE = "research_company"

app = FastAPI(title="jobs-service", version=__version__)


def get_session() -> Iterator[Session]:
    """Yield a database session for one request."""
    session = db.get_sessionmaker()()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


class RunCreate(BaseModel):
    """Body of POST /runs."""

    company_name: str = Field(min_length=1, max_length=200)
    requested_by: str | None = Field(default=None, max_length=120)


class JobOptions(BaseModel):
    """Optional body of POST /runs/{run_id}/start and /retry."""

    job_type: Literal["research_company"] = DEFAULT_JOB_TYPE
    payload: dict[str, Any] | None = None
    max_attempts: int | None = Field(default=None, ge=1, le=10)


class JobOut(BaseModel):
    """A job as returned by the API."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    run_id: uuid.UUID
    job_type: str
    status: str
    payload: dict[str, Any]
    attempt_count: int
    max_attempts: int
    next_retry_at: datetime | None
    locked_at: datetime | None
    locked_by: str | None
    cancel_requested: bool
    last_error: str | None
    created_at: datetime
    updated_at: datetime


class RunOut(BaseModel):
    """A run as returned by the API."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    company_name: str
    requested_by: str | None
    status: RunStatus
    result: dict[str, Any] | None
    finished_at: datetime | None
    created_at: datetime
    updated_at: datetime


class RunDetail(RunOut):
    """A run with its jobs, newest first."""

    jobs: list[JobOut]


class EventOut(BaseModel):
    """One entry of a run's event trail."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    run_id: uuid.UUID
    job_id: int | None
    event_type: str
    message: str | None
    payload: dict[str, Any] | None
    created_at: datetime


class Health(BaseModel):
    """Body of GET /health."""

    status: str
    database: str
    version: str


def record_event(
    session: Session,
    run_id: uuid.UUID,
    event_type: str,
    message: str,
    job_id: int | None = None,
    payload: dict[str, Any] | None = None,
) -> None:
    """Append an event to a run's trail."""
    session.add(
        RunEvent(run_id=run_id, job_id=job_id, event_type=event_type, message=message, payload=payload)
    )


def _load_run(session: Session, run_id: uuid.UUID, *, lock: bool = False) -> Run:
    stmt = select(Run).where(Run.id == run_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    run = session.scalars(stmt).one_or_none()
    if run is None:
        raise HTTPException(status_code=status.HTTP_404_NOT_FOUND, detail=f"run {run_id} not found")
    return run


def _active_job(session: Session, run_id: uuid.UUID, job_type: str | None = None) -> Job | None:
    stmt = select(Job).where(Job.run_id == run_id, Job.status.in_(ACTIVE_JOB_STATUSES))
    if job_type is not None:
        stmt = stmt.where(Job.job_type == job_type)
    return session.scalars(stmt.order_by(Job.id.desc()).limit(1)).one_or_none()


def _detail(session: Session, run: Run) -> RunDetail:
    jobs = session.scalars(select(Job).where(Job.run_id == run.id).order_by(Job.id.desc())).all()
    return RunDetail(**RunOut.model_validate(run).model_dump(), jobs=[JobOut.model_validate(j) for j in jobs])


def enqueue_job(session: Session, run: Run, options: JobOptions, payload: dict[str, Any]) -> tuple[Job, bool]:
    """Insert a queued job unless one is already active; return the active job and whether it is new."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    values: dict[str, Any] = {"run_id": run.id, "job_type": options.job_type, "payload": payload}
    if options.max_attempts is not None:
        values["max_attempts"] = options.max_attempts
    stmt = (
        insert(Job)
        .values(**values)
        .on_conflict_do_nothing(
            index_elements=[Job.run_id, Job.job_type],
            index_where=Job.status.in_(ACTIVE_JOB_STATUSES),
        )
        .returning(Job.id)
    )
    new_id = session.execute(stmt).scalar_one_or_none()
    job = _active_job(session, run.id, options.job_type)
    if job is None:
        raise HTTPException(status_code=status.HTTP_409_CONFLICT, detail="job finished while being queued")
    session.refresh(job)
    return job, new_id is not None


@app.get("/health", response_model=Health)
def health(session: SessionDep) -> Health:
    """Report liveness and whether the database answers."""
    try:
        session.execute(text("SELECT 1"))
    except Exception as exc:
        raise HTTPException(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE, detail=f"database unavailable: {exc}"
        ) from exc
    return Health(status="ok", database=session.get_bind().dialect.name, version=__version__)


@app.post("/runs", response_model=RunOut, status_code=status.HTTP_201_CREATED)
def create_run(body: RunCreate, session: SessionDep) -> Run:
    """Create a pending run."""
    run = Run(id=uuid.uuid4(), company_name=body.company_name.strip(), requested_by=body.requested_by)
    run.status = RunStatus.pending
    session.add(run)
    session.flush()
    record_event(session, run.id, "run_created", f"run created for {run.company_name}")
    session.commit()
    session.refresh(run)
    return run


@app.get("/runs", response_model=list[RunOut])
def list_runs(
    session: SessionDep,
    status_filter: Annotated[RunStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[Run]:
    """List runs, newest first, optionally filtered by status."""
    stmt = select(Run).order_by(Run.created_at.desc(), Run.id).limit(limit)
    if status_filter is not None:
        stmt = stmt.where(Run.status == status_filter)
    return list(session.scalars(stmt).all())


@app.get("/runs/{run_id}", response_model=RunDetail)
def get_run(run_id: uuid.UUID, session: SessionDep) -> RunDetail:
    """Return one run with its jobs."""
    return _detail(session, _load_run(session, run_id))


@app.post("/runs/{run_id}/start", response_model=JobOut, status_code=status.HTTP_201_CREATED)
def start_run(
    run_id: uuid.UUID, session: SessionDep, response: Response, body: JobOptions | None = None
) -> Job:
    """Queue the run's job; starting an already started run returns its active job."""
    options = body or JobOptions()
    run = _load_run(session, run_id, lock=True)
    if run.status not in (RunStatus.pending, RunStatus.queued, RunStatus.running):
        hint = " (use /retry)" if run.status == RunStatus.failed else ""
        raise HTTPException(status.HTTP_409_CONFLICT, detail=f"run is {run.status.value}{hint}")
    job, created = enqueue_job(session, run, options, options.payload or {})
    if created:
        run.status = RunStatus.queued
        record_event(session, run.id, "job_enqueued", f"{job.job_type} job {job.id} queued", job_id=job.id)
    else:
        response.status_code = status.HTTP_200_OK
    session.commit()
    return job


@app.post("/runs/{run_id}/cancel", response_model=RunDetail)
def cancel_run(run_id: uuid.UUID, session: SessionDep) -> RunDetail:
    """Ask the worker to cancel the active job, or cancel a run that has no active job at once."""
    run = _load_run(session, run_id, lock=True)
    if run.status == RunStatus.completed:
        raise HTTPException(status.HTTP_409_CONFLICT, detail="run is completed")
    if run.status != RunStatus.cancelled:
        active = _active_job(session, run.id)
        if active is not None:
            if not active.cancel_requested:
                session.execute(update(Job).where(Job.id == active.id).values(cancel_requested=True))
                record_event(
                    session,
                    run.id,
                    "cancel_requested",
                    f"cancel requested for job {active.id}",
                    job_id=active.id,
                )
        else:
            run.status = RunStatus.cancelled
            record_event(session, run.id, "run_cancelled", "run cancelled before any job was active")
        session.commit()
        session.refresh(run)
    return _detail(session, run)


@app.post("/runs/{run_id}/retry", response_model=JobOut, status_code=status.HTTP_201_CREATED)
def retry_run(run_id: uuid.UUID, session: SessionDep, body: JobOptions | None = None) -> Job:
    """Queue a fresh job for a failed run, reusing the last job's payload unless one is given."""
    options = body or JobOptions()
    run = _load_run(session, run_id, lock=True)
    if run.status != RunStatus.failed:
        raise HTTPException(
            status.HTTP_409_CONFLICT, detail=f"only failed runs can be retried; run is {run.status.value}"
        )
    last = session.scalars(
        select(Job)
        .where(Job.run_id == run.id, Job.job_type == options.job_type)
        .order_by(Job.id.desc())
        .limit(1)
    ).one_or_none()
    payload = options.payload if options.payload is not None else (last.payload if last else {})
    job, _ = enqueue_job(session, run, options, payload)
    run.status = RunStatus.queued
    run.finished_at = None
    record_event(
        session,
        run.id,
        "run_retried",
        f"{job.job_type} job {job.id} queued again",
        job_id=job.id,
        payload={"previous_job_id": last.id if last else None},
    )
    session.commit()
    return job


@app.get("/runs/{run_id}/events", response_model=list[EventOut])
def list_events(
    run_id: uuid.UUID, session: SessionDep, limit: Annotated[int, Query(ge=1, le=500)] = 100
) -> list[RunEvent]:
    """Return a run's events, newest first."""
    _load_run(session, run_id)
    stmt = (
        select(RunEvent)
        .where(RunEvent.run_id == run_id)
        .order_by(RunEvent.created_at.desc(), RunEvent.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt).all())
