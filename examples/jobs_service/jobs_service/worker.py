"""Queue worker: claims due jobs with SKIP LOCKED, runs them, and records retries, failures and cancels."""

from __future__ import annotations

import argparse
import enum
import hashlib
import logging
import os
import re
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Executable, Result, func, insert, or_, select, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from jobs_service import db
from jobs_service.models import Job, JobStatus, Run, RunEvent, RunStatus

LOG_FORMAT = "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
log = logging.getLogger("jobs_service.worker")

Clock = Callable[[], datetime]
Handler = Callable[[str, dict[str, Any], int], dict[str, Any]]


def utcnow() -> datetime:
    """Return the current time in UTC."""
    return datetime.now(UTC)


def default_worker_id() -> str:
    """Return this process's worker id, hostname:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class JobError(Exception):
    """A job handler could not finish; the worker retries or fails the job."""


def research_company(company_name: str, payload: dict[str, Any], attempt_count: int) -> dict[str, Any]:
    """Build a deterministic research summary; payload {"fail_times": N} fails the first N attempts."""
    fail_times = int(payload.get("fail_times", 0))
    if attempt_count < fail_times:
        raise JobError(
            f"simulated upstream timeout (attempt {attempt_count + 1}, failing {fail_times} times)"
        )
    slug = re.sub(r"[^a-z0-9]+", "-", company_name.lower()).strip("-") or "company"
    digest = hashlib.sha256(company_name.encode("utf-8")).hexdigest()
    return {
        "company": company_name,
        "slug": slug,
        "fingerprint": digest[:16],
        "score": int(digest[:4], 16) % 100,
        "sources": [f"https://registry.example.invalid/{slug}", f"https://news.example.invalid/{slug}"],
    }


HANDLERS: dict[str, Handler] = {"research_company": research_company}


@dataclass(frozen=True)
class WorkerConfig:
    """Settings of one worker process."""

    worker_id: str
    backoff_base: float = 5.0
    backoff_max: float = 3600.0
    log_sql: bool = False


@dataclass(frozen=True)
class ClaimedJob:
    """A job this worker now holds, or has just cancelled at claim time."""

    id: int
    run_id: uuid.UUID
    job_type: str
    payload: dict[str, Any]
    attempt_count: int
    max_attempts: int
    company_name: str
    cancelled: bool


@dataclass(frozen=True)
class Outcome:
    """What one pass of the worker did."""

    status: str
    job_id: int | None = None
    run_id: uuid.UUID | None = None
    attempt: int = 0
    max_attempts: int = 0
    next_retry_at: datetime | None = None

    def summary(self) -> str:
        """Return a one-line description for the --once output."""
        if self.job_id is None:
            return "worker: no due jobs"
        line = f"worker: job {self.job_id} (run {self.run_id}) {self.status}"
        line += f" after attempt {self.attempt}/{self.max_attempts}"
        if self.next_retry_at is not None:
            line += f", next retry at {self.next_retry_at.isoformat()}"
        return line


def backoff_seconds(failures: int, base: float, cap: float = 3600.0) -> float:
    """Return the delay before the next attempt: base * 2**(failures - 1), capped."""
    return float(min(cap, base * 2 ** max(failures - 1, 0)))


def _printable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _execute(
    session: Session, stmt: Executable, config: WorkerConfig, *, always: bool = False
) -> Result[Any]:
    if always or config.log_sql:
        compiled = stmt.compile(dialect=session.get_bind().dialect)
        params = {key: _printable(value) for key, value in compiled.params.items()}
        log.info("sql: %s | params=%s", " ".join(str(compiled).split()), params)
    return session.execute(stmt)


def _event(
    session: Session,
    config: WorkerConfig,
    job: ClaimedJob,
    event_type: str,
    message: str,
    payload: dict[str, Any] | None = None,
) -> None:
    stmt = insert(RunEvent).values(
        run_id=job.run_id,
        job_id=job.id,
        event_type=event_type,
        message=message,
        payload={"worker_id": config.worker_id, **(payload or {})},
    )
    _execute(session, stmt, config)
    log.info("event %s recorded for run %s (job %s)", event_type, job.run_id, job.id)


def claim_statement(dialect_name: str, now: datetime) -> Executable:
    """Build the claim query: the oldest due queued job, locked with SKIP LOCKED where supported."""
    stmt = (
        select(
            Job.id,
            Job.run_id,
            Job.job_type,
            Job.payload,
            Job.attempt_count,
            Job.max_attempts,
            Job.cancel_requested,
        )
        .where(
            Job.status == JobStatus.queued.value,
            or_(Job.next_retry_at.is_(None), Job.next_retry_at <= now, Job.cancel_requested.is_(True)),
        )
        .order_by(Job.created_at, Job.id)
        .limit(1)
    )
    if dialect_name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return stmt


def _cancel(session: Session, config: WorkerConfig, job: ClaimedJob, now: datetime, reason: str) -> None:
    _execute(
        session,
        update(Job)
        .where(Job.id == job.id)
        .values(status=JobStatus.cancelled.value, next_retry_at=None, updated_at=func.now()),
        config,
    )
    _execute(
        session,
        update(Run)
        .where(Run.id == job.run_id)
        .values(status=RunStatus.cancelled, finished_at=now, updated_at=func.now()),
        config,
    )
    _event(session, config, job, "worker_cancelled", f"job {job.id} cancelled {reason}", {"reason": reason})
    log.info("job %s cancelled %s", job.id, reason)


def claim_job(session: Session, config: WorkerConfig, now: datetime) -> ClaimedJob | None:
    """Claim one due job inside the caller's transaction; a job with a pending cancel is cancelled instead."""
    dialect = session.get_bind().dialect.name
    row = _execute(session, claim_statement(dialect, now), config, always=True).one_or_none()
    if row is None:
        return None
    company_name = session.execute(select(Run.company_name).where(Run.id == row.run_id)).scalar_one()
    job = ClaimedJob(
        id=row.id,
        run_id=row.run_id,
        job_type=row.job_type,
        payload=dict(row.payload or {}),
        attempt_count=row.attempt_count,
        max_attempts=row.max_attempts,
        company_name=company_name,
        cancelled=bool(row.cancel_requested),
    )
    if job.cancelled:
        _cancel(session, config, job, now, "before it started (cancel_requested)")
        return job
    _execute(
        session,
        update(Job)
        .where(Job.id == job.id)
        .values(
            status=JobStatus.running.value,
            locked_at=now,
            locked_by=config.worker_id,
            updated_at=func.now(),
        ),
        config,
        always=True,
    )
    _execute(
        session,
        update(Run).where(Run.id == job.run_id).values(status=RunStatus.running, updated_at=func.now()),
        config,
    )
    attempt = job.attempt_count + 1
    _event(
        session,
        config,
        job,
        "worker_claimed",
        f"job {job.id} claimed by {config.worker_id} (attempt {attempt}/{job.max_attempts})",
        {"attempt": attempt},
    )
    log.info(
        "claimed job %s (run %s, type %s, attempt %s/%s)",
        job.id,
        job.run_id,
        job.job_type,
        attempt,
        job.max_attempts,
    )
    return job


def _cancel_requested(session: Session, config: WorkerConfig, job_id: int) -> bool:
    stmt = select(Job.cancel_requested).where(Job.id == job_id)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return bool(_execute(session, stmt, config).scalar_one())


def finish_job(
    session: Session,
    config: WorkerConfig,
    job: ClaimedJob,
    now: datetime,
    result: dict[str, Any] | None,
    error: str | None,
) -> Outcome:
    """Record a handler's result inside the caller's transaction: completed, retry, failed or cancelled."""
    attempt = job.attempt_count + 1
    if _cancel_requested(session, config, job.id):
        _cancel(session, config, job, now, "while running (cancel_requested)")
        return Outcome("cancelled", job.id, job.run_id, attempt, job.max_attempts)
    if error is None:
        _execute(
            session,
            update(Job)
            .where(Job.id == job.id)
            .values(status=JobStatus.completed.value, updated_at=func.now()),
            config,
        )
        _execute(
            session,
            update(Run)
            .where(Run.id == job.run_id)
            .values(status=RunStatus.completed, result=result, finished_at=now, updated_at=func.now()),
            config,
        )
        _event(session, config, job, "worker_completed", f"job {job.id} completed", {"attempt": attempt})
        log.info("job %s completed on attempt %s/%s", job.id, attempt, job.max_attempts)
        return Outcome("completed", job.id, job.run_id, attempt, job.max_attempts)

    final = attempt >= job.max_attempts
    log.warning("job %s failed on attempt %s/%s: %s", job.id, attempt, job.max_attempts, error)
    _event(
        session,
        config,
        job,
        "worker_failed",
        f"job {job.id} failed on attempt {attempt}/{job.max_attempts}: {error}",
        {"attempt": attempt, "final": final, "error": error},
    )
    if final:
        _execute(
            session,
            update(Job)
            .where(Job.id == job.id)
            .values(
                status=JobStatus.failed.value,
                attempt_count=attempt,
                last_error=error,
                next_retry_at=None,
                updated_at=func.now(),
            ),
            config,
        )
        _execute(
            session,
            update(Run)
            .where(Run.id == job.run_id)
            .values(status=RunStatus.failed, finished_at=now, updated_at=func.now()),
            config,
        )
        log.error("job %s gave up after %s attempts", job.id, attempt)
        return Outcome("failed", job.id, job.run_id, attempt, job.max_attempts)

    delay = backoff_seconds(attempt, config.backoff_base, config.backoff_max)
    retry_at = now + timedelta(seconds=delay)
    _execute(
        session,
        update(Job)
        .where(Job.id == job.id)
        .values(
            status=JobStatus.queued.value,
            attempt_count=attempt,
            last_error=error,
            next_retry_at=retry_at,
            locked_at=None,
            locked_by=None,
            updated_at=func.now(),
        ),
        config,
    )
    _execute(
        session,
        update(Run).where(Run.id == job.run_id).values(status=RunStatus.queued, updated_at=func.now()),
        config,
    )
    _event(
        session,
        config,
        job,
        "worker_retry_scheduled",
        f"job {job.id} retry {attempt + 1}/{job.max_attempts} in {delay:g}s",
        {"attempt": attempt, "delay_seconds": delay, "next_retry_at": retry_at.isoformat()},
    )
    log.info("job %s retry scheduled at %s (in %gs)", job.id, retry_at.isoformat(), delay)
    return Outcome("retry_scheduled", job.id, job.run_id, attempt, job.max_attempts, retry_at)


def process_one(factory: sessionmaker[Session], config: WorkerConfig, clock: Clock = utcnow) -> Outcome:
    """Claim at most one due job, run its handler outside the claim transaction, and record the outcome."""
    with factory() as session, session.begin():
        job = claim_job(session, config, clock())
    if job is None:
        log.info("no due jobs")
        return Outcome("idle")
    if job.cancelled:
        return Outcome("cancelled", job.id, job.run_id, job.attempt_count, job.max_attempts)

    result: dict[str, Any] | None = None
    error: str | None = None
    started = time.monotonic()
    try:
        handler = HANDLERS.get(job.job_type)
        if handler is None:
            raise JobError(f"no handler for job type {job.job_type!r}")
        result = handler(job.company_name, job.payload, job.attempt_count)
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
    log.info("handler for job %s returned in %.3fs", job.id, time.monotonic() - started)

    with factory() as session, session.begin():
        return finish_job(session, config, job, clock(), result, error)


def run_loop(
    factory: sessionmaker[Session],
    config: WorkerConfig,
    poll_interval: float,
    stop: threading.Event,
    max_jobs: int | None = None,
) -> int:
    """Process jobs until stopped (or max_jobs were handled), sleeping poll_interval when idle."""
    handled = 0
    while not stop.is_set():
        outcome = process_one(factory, config)
        if outcome.job_id is None:
            stop.wait(poll_interval)
            continue
        handled += 1
        if max_jobs is not None and handled >= max_jobs:
            break
    log.info("worker %s stopping after %s job(s)", config.worker_id, handled)
    return handled


def build_parser() -> argparse.ArgumentParser:
    """Return the command-line parser."""
    parser = argparse.ArgumentParser(prog="python -m jobs_service.worker", description=__doc__)
    parser.add_argument("--once", action="store_true", help="process at most one job, print a summary, exit")
    parser.add_argument("--poll-interval", type=float, default=2.0, help="seconds to sleep when idle (loop)")
    parser.add_argument("--max-jobs", type=int, default=None, help="exit after this many jobs (loop)")
    parser.add_argument(
        "--backoff-base",
        type=float,
        default=float(os.environ.get("JOBS_BACKOFF_BASE_SECONDS", "5")),
        help="first retry delay in seconds; doubles on every failure (env JOBS_BACKOFF_BASE_SECONDS)",
    )
    parser.add_argument("--database-url", default=None, help="overrides DATABASE_URL")
    parser.add_argument("--worker-id", default=None, help="defaults to hostname:pid")
    parser.add_argument("--log-sql", action="store_true", help="log every statement, not only the claim")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the worker; exit 0 after processing or finding nothing, 1 on a database error."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format=LOG_FORMAT, stream=sys.stderr)
    if args.database_url:
        db.configure(args.database_url)
    config = WorkerConfig(
        worker_id=args.worker_id or default_worker_id(), backoff_base=args.backoff_base, log_sql=args.log_sql
    )
    safe_url = make_url(db.database_url()).render_as_string(hide_password=True)
    log.info(
        "worker %s starting (database %s, %s)", config.worker_id, safe_url, "once" if args.once else "loop"
    )
    stop = threading.Event()
    try:
        if args.once:
            print(process_one(db.get_sessionmaker(), config).summary())
            return 0
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: stop.set())
        run_loop(db.get_sessionmaker(), config, args.poll_interval, stop, args.max_jobs)
        return 0
    except SQLAlchemyError as exc:
        log.error("database error: %s", exc)
        print(f"worker: database error: {type(exc).__name__} (is the database migrated?)", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
