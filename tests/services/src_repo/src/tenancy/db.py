"""Database access; DATABASE_URL names the database."""

from __future__ import annotations

import os

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine


def database_url() -> str:
    url = os.environ["DATABASE_URL"]
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def engine() -> Engine:
    return create_engine(database_url(), pool_pre_ping=True)
