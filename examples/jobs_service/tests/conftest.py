"""Fixtures: a throwaway PostgreSQL database migrated by the real Alembic scripts, and an API client."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from psycopg import sql
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from jobs_service import db
from jobs_service.worker import WorkerConfig

SERVICE_ROOT = Path(__file__).resolve().parent.parent
ALEMBIC_INI = SERVICE_ROOT / "alembic.ini"
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def alembic_config(url: str) -> Config:
    """Return an Alembic config for the service that migrates the given database."""
    cfg = Config(str(ALEMBIC_INI))
    cfg.attributes["database_url"] = url
    cfg.attributes["configure_logger"] = False
    return cfg


@contextmanager
def throwaway_database(admin_url: str) -> Iterator[str]:
    """Create an empty database next to admin_url's, yield its URL, and drop it afterwards."""
    name = f"jobs_test_{uuid.uuid4().hex}"
    with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin_url, autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def make_alembic_config() -> Callable[[str], Config]:
    """Return the factory of Alembic configs bound to a database URL."""
    return alembic_config


@pytest.fixture(scope="session")
def pg_admin_url() -> str:
    """The PostgreSQL server to test on; an unreachable server fails the tests, it never skips them."""
    url = os.environ.get("EVIDENCE_TEST_DATABASE_URL", DEFAULT_ADMIN_URL)
    try:
        with psycopg.connect(url, autocommit=True, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at {make_url(url).render_as_string(hide_password=True)}: {exc}\n"
            "Start a server or set EVIDENCE_TEST_DATABASE_URL=postgresql://USER@HOST:PORT/postgres",
            pytrace=False,
        )
    return url


@pytest.fixture(scope="session")
def pg_url(pg_admin_url: str) -> Iterator[str]:
    """A throwaway database for the whole session, migrated with `alembic upgrade head`."""
    with throwaway_database(pg_admin_url) as url:
        command.upgrade(alembic_config(url), "head")
        yield url


@pytest.fixture()
def database(pg_url: str) -> Iterator[str]:
    """Point the service at the migrated test database, emptied before each test."""
    db.configure(pg_url)
    with db.get_engine().begin() as conn:
        conn.execute(text("TRUNCATE run_events, jobs, runs RESTART IDENTITY CASCADE"))
    yield pg_url
    db.configure(None)


@pytest.fixture()
def sessions(database: str) -> sessionmaker[Session]:
    """The service's session factory for the test database."""
    return db.get_sessionmaker()


@pytest.fixture()
def client(database: str) -> Iterator[TestClient]:
    """An API client talking to the test database."""
    from jobs_service.app import app

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture()
def worker_config() -> WorkerConfig:
    """A worker with a fixed id and a 10 second backoff base."""
    return WorkerConfig(worker_id="test-host:4242", backoff_base=10.0)


@pytest.fixture()
def fresh_pg_url(pg_admin_url: str) -> Iterator[str]:
    """An empty throwaway database for one test, not migrated."""
    with throwaway_database(pg_admin_url) as url:
        yield url
