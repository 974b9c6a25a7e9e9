"""ORM models for runs, their jobs and their event trail; they mirror the Alembic migrations."""

from __future__ import annotations

import enum
import uuid
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class RunStatus(enum.StrEnum):
    """Lifecycle of a research run."""

    pending = "pending"
    queued = "queued"
    running = "running"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


class JobStatus(enum.StrEnum):
    """Lifecycle of a queued job."""

    queued = "queued"
    running = "running"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


ACTIVE_JOB_STATUSES = (JobStatus.queued.value, JobStatus.running.value)
ACTIVE_JOB_PREDICATE = "status IN ('queued', 'running')"


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timezone-aware timestamp that always comes back in UTC, also on SQLite."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Store aware values as UTC; SQLite keeps them without an offset."""
        if value is None:
            return None
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        """Return aware UTC values."""
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Declarative base for the service's tables."""


class Run(Base):
    """One request to research a company."""

    __tablename__ = "runs"
    __table_args__ = (sa.Index("ix_runs_status_created_at", "status", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(sa.Uuid(), primary_key=True, default=uuid.uuid4)
    company_name: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[RunStatus] = mapped_column(
        sa.Enum(RunStatus, name="run_status", values_callable=lambda e: [m.value for m in e]),
        server_default=RunStatus.pending.value,
    )
    requested_by: Mapped[str | None] = mapped_column(sa.String(120))
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=sa.func.now())
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), server_default=sa.func.now(), onupdate=sa.func.now()
    )


class RunEvent(Base):
    """An append-only record of something that happened to a run."""

    __tablename__ = "run_events"
    __table_args__ = (
        sa.Index("ix_run_events_run_id_created_at", "run_id", "created_at"),
        sa.Index("ix_run_events_job_id", "job_id"),
    )

    id: Mapped[int] = mapped_column(sa.Integer(), primary_key=True)
    run_id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid(), sa.ForeignKey("runs.id", ondelete="CASCADE", name="fk_run_events_run_id_runs")
    )
    job_id: Mapped[int | None] = mapped_column(
        sa.Integer(), sa.ForeignKey("jobs.id", ondelete="SET NULL", name="fk_run_events_job_id_jobs")
    )
    event_type: Mapped[str] = mapped_column(sa.String(64))
    message: Mapped[str | None] = mapped_column(sa.Text())
    payload: Mapped[dict[str, Any] | None] = mapped_column(JSONType)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=sa.func.now())


class Job(Base):
    """A unit of work on the durable queue; at most one active job per run and job type."""

    __tablename__ = "jobs"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'completed', 'failed', 'cancelled')", name="ck_jobs_status"
        ),
        sa.CheckConstraint(
            "attempt_count >= 0 AND max_attempts >= 1 AND attempt_count <= max_attempts",
            name="ck_jobs_attempts",
        ),
        sa.Index("ix_jobs_status_next_retry_at", "status", "next_retry_at"),
        sa.Index(
            "uq_jobs_active",
            "run_id",
            "job_type",
            unique=True,
            postgresql_where=sa.text(ACTIVE_JOB_PREDICATE),
            sqlite_where=sa.text(ACTIVE_JOB_PREDICATE),
        ),
    )

    id: Mapped[int] = mapped_column(sa.Integer(), primary_key=True)
    run_id: Mapped[uuid.UUID] = mapped_column(
        sa.Uuid(), sa.ForeignKey("runs.id", ondelete="CASCADE", name="fk_jobs_run_id_runs")
    )
    job_type: Mapped[str] = mapped_column(sa.String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType, server_default=sa.text("'{}'"))
    status: Mapped[str] = mapped_column(sa.String(20), server_default=JobStatus.queued.value)
    attempt_count: Mapped[int] = mapped_column(sa.Integer(), server_default=sa.text("0"))
    max_attempts: Mapped[int] = mapped_column(sa.Integer(), server_default=sa.text("3"))
    next_retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    locked_by: Mapped[str | None] = mapped_column(sa.String(255))
    cancel_requested: Mapped[bool] = mapped_column(sa.Boolean(), server_default=sa.false())
    last_error: Mapped[str | None] = mapped_column(sa.Text())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), server_default=sa.func.now())
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), server_default=sa.func.now(), onupdate=sa.func.now()
    )
