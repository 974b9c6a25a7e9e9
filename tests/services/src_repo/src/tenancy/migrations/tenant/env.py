"""Tenant migrations: per-tenant tables, versioned in the tenant schema itself."""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy import create_engine, pool, text

config = context.config
SCHEMA = "tenant"


def run() -> None:
    url = os.environ["DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        connection.execute(text(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}"))
        connection.commit()
        context.configure(
            connection=connection,
            target_metadata=None,
            version_table=config.get_main_option("version_table"),
            version_table_schema=SCHEMA,
        )
        with context.begin_transaction():
            context.run_migrations()


run()
