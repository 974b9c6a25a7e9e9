"""Database URLs: tell PostgreSQL from SQLite, open read-only connections, hide passwords."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from evidence_kit.errors import CollectorError

if TYPE_CHECKING:
    import sqlite3

    import psycopg

_DRIVER = re.compile(r"^(postgres(?:ql)?)(\+[a-z0-9_]+)?://", re.I)


def is_postgres(url: str) -> bool:
    """True for postgresql://, postgres:// and SQLAlchemy's postgresql+driver:// URLs."""
    return bool(_DRIVER.match(url))


def is_sqlite(url: str) -> bool:
    """True for SQLAlchemy-style sqlite:/// URLs."""
    return url.lower().startswith("sqlite")


def libpq_url(url: str) -> str:
    """A URL libpq accepts: SQLAlchemy's `+driver` suffix removed."""
    return _DRIVER.sub("postgresql://", url, count=1)


def sqlite_path(url: str, root: Path) -> Path:
    """The file of a sqlite:///relative or sqlite:////absolute URL, relative paths from `root`."""
    rest = url.split(":///", 1)[1] if ":///" in url else ""
    if not rest or rest == ":memory:":
        raise CollectorError(f"unsupported SQLite URL {url!r}", hint="use sqlite:///path/to/file.db")
    path = Path(rest.split("?", 1)[0])
    return path if path.is_absolute() else root / path


def safe(url: str) -> str:
    """The URL with any password replaced, for messages."""
    parts = urlsplit(url)
    if parts.password:
        return url.replace(f":{parts.password}@", ":***@", 1)
    return url


def connect_pg(
    url: str, *, timeout_s: int = 10, statement_timeout_ms: int = 60_000
) -> psycopg.Connection[Any]:
    """A read-only PostgreSQL connection with a statement timeout; clear error when down."""
    import psycopg

    try:
        conn = psycopg.connect(
            libpq_url(url),
            connect_timeout=timeout_s,
            options=f"-c default_transaction_read_only=on -c statement_timeout={statement_timeout_ms}",
            application_name="evidence-kit",
        )
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CollectorError(
            f"cannot connect to the database at {safe(url)}: {first}",
            hint="start the database or fix the URL in the environment variable named by `database.url_env`",
        ) from exc
    conn.read_only = True
    return conn


def connect_sqlite(url: str, root: Path) -> sqlite3.Connection:
    """A read-only SQLite connection; a missing file is an error, never created."""
    import sqlite3

    path = sqlite_path(url, root)
    if not path.exists():
        raise CollectorError(
            f"SQLite database {path} does not exist",
            hint="run the migrations first (`alembic upgrade head`) or fix the database URL",
        )
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)
