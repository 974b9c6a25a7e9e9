"""Database settings, a lazily created engine and session helpers."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

SERVICE_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = f"sqlite:///{SERVICE_ROOT / 'jobs_service.db'}"

_lock = threading.Lock()
_override: str | None = None
_engine: Engine | None = None
_factory: sessionmaker[Session] | None = None


def normalize_url(url: str) -> str:
    """Return a SQLAlchemy URL, routing plain PostgreSQL URLs to the psycopg 3 driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def database_url() -> str:
    """Return the configured database URL: an explicit override, then DATABASE_URL, then SQLite."""
    return normalize_url(_override or os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def make_engine(url: str) -> Engine:
    """Create an engine for the URL with settings that suit the backend."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def get_engine() -> Engine:
    """Return the process-wide engine, creating it on first use."""
    global _engine, _factory
    with _lock:
        if _engine is None:
            _engine = make_engine(database_url())
            _factory = sessionmaker(bind=_engine, expire_on_commit=False)
        return _engine


def get_sessionmaker() -> sessionmaker[Session]:
    """Return the session factory bound to the process-wide engine."""
    get_engine()
    assert _factory is not None
    return _factory


def configure(url: str | None) -> None:
    """Point the process at another database (None restores the default lookup) and drop the old engine."""
    global _override, _engine, _factory
    with _lock:
        if _engine is not None:
            _engine.dispose()
        _override = url
        _engine = None
        _factory = None


@contextmanager
def session_scope() -> Iterator[Session]:
    """Yield a session that commits on success and rolls back on error."""
    session = get_sessionmaker()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
