"""Benchmark: the schema collector's catalog read against `pg_dump --schema-only` and per-table reflection.

Creates a throwaway database with generated tables (varied columns, primary and foreign keys, indexes
including partial and expression ones, checks, enums), times each method several times on it, prints the
medians and the ratio, and drops the database. Exits 1 when the catalog read misses its target.

    python benchmarks/bench_schema.py [--tables 1000] [--runs 5]

The server comes from EVIDENCE_BENCH_DATABASE_URL (an admin URL), default postgresql://postgres@127.0.0.1:5432/postgres.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from evidence_kit.collectors import schema
from evidence_kit.support import db, pgdump, proc

DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
TARGET_RATIO = 1.3
ENUMS = {
    "job_status": ["queued", "running", "done", "failed"],
    "priority": ["low", "normal", "high", "urgent"],
    "currency": ["EUR", "USD", "GBP", "CHF", "JPY"],
    "channel": ["email", "sms", "push"],
}
SCHEMAS = ("public", "billing")
KINDS = ["int", "bigint", "text", "varchar", "numeric", "bool", "ts", "jsonb", "uuid", "date", "enum"]

STATS_SQL = """
SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND n.nspname IN ('public', 'billing')),
       (SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
        JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname IN ('public', 'billing')),
       (SELECT count(*) FROM pg_constraint WHERE contype = 'f'),
       (SELECT count(*) FROM pg_constraint WHERE contype = 'c'),
       (SELECT count(*) FROM pg_index WHERE indpred IS NOT NULL)
"""


def generate_ddl(count: int, seed: int = 42) -> list[str]:
    """CREATE statements for `count` varied tables (plus enums and schemas), in batches of 100 tables."""
    rng = random.Random(seed)
    head = ["CREATE SCHEMA billing;"]
    for enum, values in ENUMS.items():
        head.append(f"CREATE TYPE {enum} AS ENUM ({', '.join(repr(v) for v in values)});")
    head.append("CREATE SEQUENCE invoice_numbers START 1000 INCREMENT 10;")
    batches: list[str] = ["\n".join(head)]
    simple_pk: list[str] = []
    batch: list[str] = []
    for i in range(1, count + 1):
        name = f"{SCHEMAS[0] if i % 5 else SCHEMAS[1]}.t{i:04d}"
        cols: list[str] = []
        extra: list[str] = []
        after: list[str] = []
        composite = i % 10 == 0
        if composite:
            cols += ["tenant_id integer NOT NULL", "id bigint NOT NULL"]
            extra.append("PRIMARY KEY (tenant_id, id)")
        else:
            cols.append("id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY")
        text_cols: list[str] = []
        enum_col: tuple[str, str] | None = None
        for c in range(rng.randint(3, 12)):
            kind = rng.choice(KINDS)
            col = f"c{c}_{kind}"
            not_null = " NOT NULL" if rng.random() < 0.4 else ""
            if kind == "int":
                cols.append(f"{col} integer{not_null} DEFAULT 0")
            elif kind == "bigint":
                cols.append(f"{col} bigint{not_null}")
            elif kind == "text":
                cols.append(f"{col} text{not_null}")
                text_cols.append(col)
            elif kind == "varchar":
                cols.append(f"{col} varchar({rng.choice([20, 64, 255])}){not_null}")
                text_cols.append(col)
            elif kind == "numeric":
                cols.append(f"{col} numeric(12,2){not_null}")
                extra.append(f"CONSTRAINT {name.split('.')[1]}_{col}_nonneg CHECK ({col} >= 0)")
            elif kind == "bool":
                cols.append(f"{col} boolean NOT NULL DEFAULT false")
            elif kind == "ts":
                cols.append(f"{col} timestamptz NOT NULL DEFAULT now()")
            elif kind == "jsonb":
                cols.append(f"{col} jsonb")
                if rng.random() < 0.3:
                    after.append(f"CREATE INDEX ON {name} USING gin ({col});")
            elif kind == "uuid":
                cols.append(f"{col} uuid{not_null}")
            elif kind == "date":
                cols.append(f"{col} date")
            else:
                enum = rng.choice(sorted(ENUMS))
                cols.append(f"{col} {enum} NOT NULL DEFAULT '{ENUMS[enum][0]}'")
                enum_col = (col, enum)
        if simple_pk and rng.random() < 0.6:
            target = rng.choice(simple_pk[-200:])
            action = rng.choice(["CASCADE", "SET NULL", "RESTRICT", "NO ACTION"])
            cols.append(f"parent_id bigint REFERENCES {target} (id) ON DELETE {action}")
            after.append(f"CREATE INDEX ON {name} (parent_id);")
        if text_cols:
            if rng.random() < 0.5:
                after.append(f"CREATE INDEX ON {name} (lower({text_cols[0]}));")
            if rng.random() < 0.3:
                extra.append(f"UNIQUE ({text_cols[-1]})")
            extra.append(f"CHECK (length({text_cols[0]}) < 10000)")
        if enum_col and text_cols:
            col, enum = enum_col
            allowed = ", ".join(repr(v) for v in ENUMS[enum][:2])
            after.append(f"CREATE UNIQUE INDEX ON {name} ({text_cols[0]}) WHERE {col} IN ({allowed});")
        if rng.random() < 0.3:
            after.append(f"CREATE INDEX ON {name} (id DESC);")
        batch.append(f"CREATE TABLE {name} (\n    " + ",\n    ".join(cols + extra) + "\n);")
        batch += after
        if not composite:
            simple_pk.append(name)
        if i % 100 == 0 or i == count:
            batches.append("\n".join(batch))
            batch = []
    return batches


@contextmanager
def throwaway_database(admin_url: str) -> Iterator[str]:
    """A new database on the admin URL's server, dropped on exit."""
    name = f"ek_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, _ = admin_url.rpartition("/")
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def catalog_read(url: str) -> int:
    """What the collector does for schema.json: connect, read the catalogs, render the JSON."""
    conn = db.connect_pg(url)
    try:
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        data = schema.render_json(schema.postgres_catalog(conn))
    finally:
        conn.close()
    return len(data)


def run_pg_dump(url: str, binary: Path, scratch: Path) -> int:
    """`pg_dump --schema-only` as the collector runs it, output spooled to a file."""
    argv = [
        str(binary),
        "--schema-only",
        "--no-owner",
        "--no-privileges",
        "--no-password",
        f"--dbname={db.libpq_url(url)}",
    ]
    result = proc.run(argv, scratch=scratch, label="pg_dump", timeout=600)
    if result.exit_code != 0:
        raise RuntimeError(f"pg_dump failed: {result.text('stderr')}")
    return result.stdout.stat().st_size


def inspect_per_table(url: str) -> int:
    """SQLAlchemy reflection, one round of inspector calls per table (the usual hand-written approach)."""
    from sqlalchemy import create_engine, inspect

    engine = create_engine(db.libpq_url(url).replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        inspector = inspect(engine)
        items = 0
        for schema_name in SCHEMAS:
            for table in inspector.get_table_names(schema=schema_name):
                items += len(inspector.get_columns(table, schema=schema_name))
                items += len(inspector.get_pk_constraint(table, schema=schema_name)["constrained_columns"])
                items += len(inspector.get_foreign_keys(table, schema=schema_name))
                items += len(inspector.get_indexes(table, schema=schema_name))
                items += len(inspector.get_unique_constraints(table, schema=schema_name))
                items += len(inspector.get_check_constraints(table, schema=schema_name))
        return items
    finally:
        engine.dispose()


def timed(label: str, runs: int, fn: Callable[[], Any]) -> float:
    """Median wall time of `runs` calls of `fn`, after one untimed warm-up call."""
    fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    median = statistics.median(times)
    spread = ", ".join(f"{t:.3f}" for t in times)
    print(f"  {label:<34} median {median:7.3f} s   (runs: {spread})")
    return median


def main(argv: list[str] | None = None) -> int:
    """Build the database, time the three methods, print the comparison; 1 when the target is missed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tables", type=int, default=1000, help="tables to generate (default 1000)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per method (default 5)")
    parser.add_argument("--inspect-runs", type=int, default=3, help="timed runs of the reflection baseline")
    args = parser.parse_args(argv)
    admin_url = os.environ.get("EVIDENCE_BENCH_DATABASE_URL", DEFAULT_ADMIN_URL)

    with throwaway_database(admin_url) as url, tempfile.TemporaryDirectory(prefix="ek-bench-") as tmp:
        t0 = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as conn:
            for batch in generate_ddl(args.tables):
                with conn.transaction():
                    conn.execute(batch)
            stats = conn.execute(STATS_SQL).fetchone()
            version = schema.server_version(conn)
        assert stats is not None
        print(f"database: {db.safe(url)} (PostgreSQL {version}), built in {time.perf_counter() - t0:.1f} s")
        print(
            f"  {stats[0]} tables, {stats[1]} indexes ({stats[4]} partial), {stats[2]} foreign keys, "
            f"{stats[3]} checks, {len(ENUMS)} enums"
        )
        binary = pgdump.find_pg_dump(version).path
        print(f"pg_dump: {binary}")
        json_size = catalog_read(url)
        dump_size = run_pg_dump(url, binary, Path(tmp))
        print(f"schema.json {json_size / 1e6:.2f} MB, schema.sql {dump_size / 1e6:.2f} MB")
        print(f"median of {args.runs} runs (one warm-up each):")
        catalog = timed("catalog read (schema.json)", args.runs, lambda: catalog_read(url))
        dump = timed("pg_dump --schema-only", args.runs, lambda: run_pg_dump(url, binary, Path(tmp)))
        reflect = timed("SQLAlchemy inspect, per table", args.inspect_runs, lambda: inspect_per_table(url))

    ratio = catalog / dump
    verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
    print(f"catalog read / pg_dump = {ratio:.2f}x ({verdict} the target of <= {TARGET_RATIO}x)")
    print(f"per-table inspect / catalog read = {reflect / catalog:.1f}x")
    return 0 if ratio <= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
