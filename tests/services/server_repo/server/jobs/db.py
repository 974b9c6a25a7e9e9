"""Database access: DATABASE_URL names it."""

import os

from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

type Url = str


def database_url() -> Url:
    return os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)


def engine() -> Engine:
    return create_engine(database_url(), pool_pre_ping=True)
