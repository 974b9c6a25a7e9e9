"""The queue collector on seeded job tables in PostgreSQL and SQLite, and on the example service's own."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import psycopg
import pytest
import yaml

from evidence_kit.collectors import queue, sql
from evidence_kit.errors import CollectorError
from evidence_kit.model import Context, Output
from tests import pg as pgtools

# id, status, attempt_count, max_attempts, locked_at, locked_by, next_retry_at, created_at (seconds ago,
# or None; negative: in the future). Expected: stuck 3 and 7, over-attempted 6 and 7, due for retry 10.
SEED: list[tuple[int, str, int, int, float | None, str | None, float | None, float]] = [
    (1, "queued", 0, 3, None, None, None, 7200),
    (2, "queued", 0, 3, None, None, None, 600),
    (3, "running", 1, 3, 7200, "worker-a:11", None, 7300),
    (4, "running", 0, 3, 60, "worker-b:12", None, 120),
    (5, "running", 0, 3, None, None, None, 60),
    (6, "queued", 3, 3, None, None, None, 30),
    (7, "running", 5, 3, 600, "worker-c:13", None, 900),
    (8, "failed", 3, 3, None, None, None, 30),
    (9, "completed", 0, 3, 30, "worker-a:11", None, 30),
    (10, "queued", 1, 3, None, None, 30, 300),
    (11, "queued", 1, 3, None, None, -3600, 300),
    (12, "cancelled", 0, 3, None, None, None, 30),
]
BY_STATUS = {"cancelled": 1, "completed": 1, "failed": 1, "queued": 5, "running": 4}

JOBS_DDL = """
CREATE SCHEMA q;
CREATE TABLE q.jobs (
    id integer PRIMARY KEY,
    status varchar(20) NOT NULL,
    attempt_count integer NOT NULL,
    max_attempts integer NOT NULL,
    locked_at timestamptz,
    locked_by text,
    next_retry_at timestamptz,
    created_at timestamptz NOT NULL
);
CREATE VIEW q.slow_jobs AS SELECT j.* FROM q.jobs j CROSS JOIN LATERAL (SELECT pg_sleep(0.3 + 0 * j.id)) s;
CREATE TABLE q.no_retry (id integer PRIMARY KEY, status text, attempt_count int, max_attempts int,
                         locked_at timestamptz, locked_by text, created_at timestamptz);
CREATE SCHEMA "Ops";
CREATE TABLE "Ops"."Task Queue" (
    "Task Id" integer PRIMARY KEY,
    "State" smallint NOT NULL,
    "Tries" integer NOT NULL,
    "Limit" integer NOT NULL,
    "Taken" timestamp,
    "Due" timestamp,
    "Made" timestamp NOT NULL
);
"""
OPS_COLUMNS = {
    "id": "Task Id",
    "status": "State",
    "attempts": "Tries",
    "max_attempts": "Limit",
    "locked_at": "Taken",
    "locked_by": None,
    "next_retry_at": "Due",
    "created_at": "Made",
}


def ago(seconds: float | None) -> str | None:
    return None if seconds is None else f"{seconds} seconds"


@pytest.fixture(scope="module")
def pg(pg_url: str) -> str:
    """The module's database: seeded jobs, a slow view, a table without retries, a quoted-name queue."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(JOBS_DDL)
        for job in SEED:
            conn.execute(
                "INSERT INTO q.jobs VALUES (%s, %s, %s, %s, now() - %s::interval, %s, now() - %s::interval, "
                "now() - %s::interval)",
                [job[0], job[1], job[2], job[3], ago(job[4]), job[5], ago(job[6]), ago(job[7])],
            )
        # NOTE: timestamps without a time zone hold UTC wall-clock times, as SQLAlchemy writes them.
        utc = "(now() AT TIME ZONE 'UTC')"
        conn.execute(
            f"""INSERT INTO "Ops"."Task Queue" VALUES
            (1, 0, 0, 2, NULL, NULL, {utc} - interval '1 hour'),
            (2, 1, 1, 2, {utc} - interval '2 minutes', NULL, {utc}),
            (3, 1, 1, 2, {utc} - interval '10 seconds', NULL, {utc}),
            (4, 9, 2, 2, NULL, NULL, {utc}),
            (5, 0, 2, 2, NULL, {utc} - interval '1 minute', {utc})"""
        )
        # NOTE: a server in another time zone must not shift the ages of timestamps without a time zone.
        conn.execute(f"ALTER DATABASE {conn.info.dbname} SET timezone = 'America/New_York'")
    return pg_url


def collect(url: str | None, queues: list[dict[str, Any]], root: Path | None = None) -> dict[str, Output]:
    root = root or Path.cwd()
    outputs = queue.collect(Context(root=root, scratch=root, database_url=url), {"queues": queues})
    names = [o.name for o in outputs]
    assert len(names) == len(set(names)), names
    return {o.name: o for o in outputs}


def doc(output: Output) -> Any:
    assert output.status == "ok", output.message
    assert output.data is not None
    return json.loads(output.data)


def text(output: Output) -> str:
    assert output.data is not None
    return output.data.decode()


def ids(finding: dict[str, Any]) -> list[Any]:
    return [job["id"] for job in finding["jobs"]]


def assert_seeded_health(health: dict[str, Any], table_name: str) -> None:
    assert health["table"] == table_name
    assert health["by_status"] == BY_STATUS and health["total"] == 12
    assert health["queued"]["count"] == 5
    assert 7200 <= health["queued"]["oldest_age_seconds"] < 7300
    stuck = health["stuck"]
    assert stuck["count"] == 2 and ids(stuck) == [3, 7] and stuck["truncated"] is False
    assert [job["locked_by"] for job in stuck["jobs"]] == ["worker-a:11", "worker-c:13"]
    assert 7200 <= stuck["jobs"][0]["age_seconds"] < 7300 and 600 <= stuck["jobs"][1]["age_seconds"] < 700
    over = health["over_attempted"]
    assert over["count"] == 2
    assert over["jobs"] == [
        {"id": 6, "status": "queued", "attempts": 3, "max_attempts": 3},
        {"id": 7, "status": "running", "attempts": 5, "max_attempts": 3},
    ]
    due = health["due_retry"]
    assert due["count"] == 1 and ids(due) == [10] and 30 <= due["jobs"][0]["overdue_seconds"] < 130
    assert health["skipped"] == {}


# ----------------------------------------------------------------------------------------------------
# PostgreSQL


def test_pg_seeded_queue_health(pg: str) -> None:
    out = collect(pg, [{"name": "jobs", "table": "q.jobs"}])
    assert set(out) == {"jobs.json", "jobs.txt"}
    health = doc(out["jobs.json"])
    assert_seeded_health(health, "q.jobs")
    assert health["columns"] == queue.DEFAULT_COLUMNS and health["lease_seconds"] == 300
    assert health["stuck"]["criterion"] == "status in (running) and locked_at older than 300 s"
    summary = text(out["jobs.txt"])
    assert "Jobs by status\n  status   | count\n-----------+-------\n cancelled |     1\n" in summary
    assert "Total: 12\nQueued: 5 (the oldest queued 72" in summary
    assert (
        "Stuck (status in (running) and locked_at older than 300 s): 2\n id |  locked_by  | age_seconds\n"
        in summary
    )
    assert "Over-attempted (attempt_count >= max_attempts and status not in (failed)): 2\n" in summary
    assert "Due for retry (status in (queued) and next_retry_at <= now): 1\n" in summary


def test_pg_quoted_names_custom_columns_and_statuses(pg: str) -> None:
    spec = {
        "name": "tasks",
        "title": "Task queue",
        "table": "Ops.Task Queue",
        "columns": OPS_COLUMNS,
        "statuses": {"queued": ["0"], "running": ["1"], "failed": ["9"]},
        "lease_seconds": 60,
    }
    health = doc(collect(pg, [spec])["tasks.json"])
    assert health["table"] == "Ops.Task Queue"
    assert health["by_status"] == {"0": 2, "1": 2, "9": 1}
    assert 3600 <= health["queued"]["oldest_age_seconds"] < 3700
    assert ids(health["stuck"]) == [2] and set(health["stuck"]["jobs"][0]) == {"id", "age_seconds"}
    assert 120 <= health["stuck"]["jobs"][0]["age_seconds"] < 220
    assert ids(health["over_attempted"]) == [5]
    assert ids(health["due_retry"]) == [5]


def test_pg_list_limit_and_null_columns(pg: str) -> None:
    out = collect(
        pg,
        [
            {"name": "short", "table": "q.jobs", "list_limit": 1},
            {"name": "counts", "table": "q.jobs", "list_limit": 0},
            {
                "name": "bare",
                "table": "q.jobs",
                "columns": {k: None for k in OPS_COLUMNS if k not in ("id", "status")},
            },
        ],
    )
    short = doc(out["short.json"])
    assert short["stuck"]["count"] == 2 and ids(short["stuck"]) == [3] and short["stuck"]["truncated"] is True
    assert "(first 1 of 2 listed)" in text(out["short.txt"])
    counts = doc(out["counts.json"])
    assert counts["stuck"]["count"] == 2 and counts["stuck"]["jobs"] == []
    bare = doc(out["bare.json"])
    assert bare["by_status"] == BY_STATUS and bare["queued"] == {"count": 5, "oldest_age_seconds": None}
    assert bare["stuck"] is None and bare["over_attempted"] is None and bare["due_retry"] is None
    assert bare["skipped"] == {
        "due_retry": "columns.next_retry_at is null",
        "oldest_queued": "columns.created_at is null",
        "over_attempted": "columns.attempts is null, columns.max_attempts is null",
        "stuck": "columns.locked_at is null",
    }
    assert "Stuck: skipped (columns.locked_at is null)" in text(out["bare.txt"])


def test_pg_missing_table_and_columns_are_reported_and_the_rest_runs(pg: str) -> None:
    out = collect(
        pg,
        [
            {"name": "typo", "table": "q.jobz"},
            {
                "name": "wrong-column",
                "table": "q.jobs",
                "columns": {"attempts": "attempts", "locked_by": "worker"},
            },
            {"name": "default-missing", "table": "q.no_retry"},
            {"name": "fine", "table": "q.jobs"},
        ],
    )
    typo = out["typo.error.txt"]
    assert typo.status == "error"
    assert typo.message is not None and typo.message.startswith("queue 'typo': table q.jobz does not exist")
    assert "check `table:` of queue 'typo'" in text(typo)
    wrong = out["wrong-column.error.txt"]
    assert wrong.message == (
        'queue \'wrong-column\': table q.jobs has no column "attempts" (columns.attempts), "worker" '
        "(columns.locked_by); its columns are: id, status, attempt_count, max_attempts, locked_at, "
        "locked_by, next_retry_at, created_at"
    )
    assert "check `columns:` of queue 'wrong-column' in evidence.yaml" in text(wrong)
    missing = out["default-missing.error.txt"].message or ""
    assert 'no column "next_retry_at" (columns.next_retry_at)' in missing
    assert_seeded_health(doc(out["fine.json"]), "q.jobs")


def test_pg_timeout_is_recorded(pg: str) -> None:
    out = collect(
        pg, [{"name": "slow", "table": "q.slow_jobs", "timeout": 1}, {"name": "fine", "table": "q.jobs"}]
    )
    slow = out["slow.error.txt"]
    assert slow.status == "timeout"
    assert slow.message == "queue 'slow': a statement was canceled after the timeout of 1 s"
    assert doc(out["fine.json"])["total"] == 12


def test_pg_checks_change_nothing_and_repeat(pg: str) -> None:
    with psycopg.connect(pg) as conn:
        before = conn.execute("SELECT md5(string_agg(j::text, ',' ORDER BY id)) FROM q.jobs j").fetchone()
    first = doc(collect(pg, [{"name": "jobs", "table": "q.jobs"}])["jobs.json"])
    second = doc(collect(pg, [{"name": "jobs", "table": "q.jobs"}])["jobs.json"])
    with psycopg.connect(pg) as conn:
        after = conn.execute("SELECT md5(string_agg(j::text, ',' ORDER BY id)) FROM q.jobs j").fetchone()
    assert before == after

    def without_ages(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: without_ages(v) for k, v in value.items() if not k.endswith("_seconds")}
        if isinstance(value, list):
            return [without_ages(v) for v in value]
        return value

    assert without_ages(first) == without_ages(second)


def test_no_database_and_database_down(tmp_path: Path) -> None:
    with pytest.raises(CollectorError, match="no database configured"):
        collect(None, [{"name": "jobs", "table": "jobs"}], tmp_path)
    with pytest.raises(CollectorError, match="cannot connect"):
        collect("postgresql://postgres@127.0.0.1:1/nothing", [{"name": "jobs", "table": "jobs"}], tmp_path)
    with pytest.raises(CollectorError, match="two queues are named 'a'"):
        collect("sqlite:///x.db", [{"name": "a", "table": "x"}, {"name": "a", "table": "y"}], tmp_path)


def test_options_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(queue.OPTIONS_SCHEMA)
    validator = jsonschema.Draft202012Validator(queue.OPTIONS_SCHEMA)
    good = {
        "queues": [
            {"name": "jobs", "table": "jobs"},
            {"name": "t", "table": "Ops.Task Queue", "columns": OPS_COLUMNS, "lease_seconds": 60},
        ]
    }
    assert list(validator.iter_errors(good)) == []
    for bad in (
        {"queues": [{"name": "jobs"}]},
        {"queues": [{"name": "jobs", "table": "jobs", "columns": {"status": None}}]},
        {"queues": [{"name": "jobs", "table": "jobs", "columns": {"attempt": "x"}}]},
        {"queues": [{"name": "jobs", "table": "jobs", "statuses": {"queued": []}}]},
        {"queues": [{"name": "jobs", "table": "jobs", "lease_seconds": 0}]},
    ):
        assert list(validator.iter_errors(bad)), bad


# ----------------------------------------------------------------------------------------------------
# SQLite


@pytest.fixture()
def sqlite_url(tmp_path: Path) -> str:
    """The same seed in a SQLite file, times stored as SQLAlchemy stores them (one as a unix epoch)."""
    now = datetime.now(UTC).replace(tzinfo=None)

    def at(seconds: float | None) -> str | None:
        return (
            None if seconds is None else (now - timedelta(seconds=seconds)).strftime("%Y-%m-%d %H:%M:%S.%f")
        )

    conn = sqlite3.connect(tmp_path / "jobs.db")
    conn.execute(
        "CREATE TABLE jobs (id INTEGER PRIMARY KEY, status VARCHAR(20) NOT NULL, "
        "attempt_count INTEGER NOT NULL, max_attempts INTEGER NOT NULL, locked_at DATETIME, "
        "locked_by VARCHAR(255), next_retry_at DATETIME, "
        "created_at DATETIME NOT NULL)"
    )
    for job in SEED:
        conn.execute(
            "INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [*job[:4], at(job[4]), job[5], at(job[6]), at(job[7])],
        )
    epoch = (datetime.now(UTC) - timedelta(seconds=600)).timestamp()
    conn.execute("UPDATE jobs SET locked_at = ? WHERE id = 7", [epoch])
    conn.commit()
    conn.close()
    return "sqlite:///jobs.db"


def test_sqlite_seeded_queue_health(sqlite_url: str, tmp_path: Path) -> None:
    before = (tmp_path / "jobs.db").read_bytes()
    out = collect(
        sqlite_url, [{"name": "jobs", "table": "jobs"}, {"name": "main", "table": "main.jobs"}], tmp_path
    )
    assert_seeded_health(doc(out["jobs.json"]), "jobs")
    assert_seeded_health(doc(out["main.json"]), "main.jobs")
    assert (tmp_path / "jobs.db").read_bytes() == before


def test_sqlite_missing_table_and_column(sqlite_url: str, tmp_path: Path) -> None:
    out = collect(
        sqlite_url,
        [
            {"name": "typo", "table": "jobz"},
            {"name": "schema", "table": "other.jobs"},
            {"name": "col", "table": "jobs", "columns": {"created_at": "enqueued_at"}},
            {"name": "fine", "table": "JOBS"},
        ],
        tmp_path,
    )
    assert out["typo.error.txt"].message == "queue 'typo': table jobz does not exist in the SQLite database"
    assert "unknown database 'other'" in (out["schema.error.txt"].message or "")
    assert 'no column "enqueued_at" (columns.created_at)' in (out["col.error.txt"].message or "")
    assert doc(out["fine.json"])["total"] == 12


# ----------------------------------------------------------------------------------------------------
# The example service


EVIDENCE_SNIPPET = """
sql:
  queries:
    - name: run-status-counts
      title: Runs by status
      sql: SELECT status, count(*) AS runs FROM runs GROUP BY status ORDER BY status
    - name: job-status-counts
      title: Jobs by status
      sql: SELECT status, count(*) AS jobs FROM jobs GROUP BY status ORDER BY status
    - name: jobs
      title: Job table contents
      sql: >-
        SELECT id, run_id, job_type, status, attempt_count, max_attempts, next_retry_at,
               locked_by, last_error FROM jobs ORDER BY id
      max_rows: 500
    - name: recent-events
      title: Last run events of one type
      sql: >-
        SELECT run_id, job_id, event_type, message FROM run_events
        WHERE event_type = %(type)s ORDER BY id DESC LIMIT 20
      params: {type: worker_failed}
queue:
  queues:
    - name: jobs
      title: Job queue health
      table: jobs
      lease_seconds: 300
"""


@pytest.fixture()
def example_db(pg_admin_url: str, example_copy: Path) -> Iterator[str]:
    """A fresh database migrated to head by the example service's own Alembic history."""
    with pgtools.database(pg_admin_url, prefix="ek_queue_example") as url:
        env = {**os.environ, "DATABASE_URL": url, "PYTHONDONTWRITEBYTECODE": "1"}
        done = subprocess.run(
            [str(Path(sys.executable).parent / "alembic"), "upgrade", "head"],
            cwd=example_copy,
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        yield url


def test_example_service_jobs_table_with_the_defaults(example_db: str, example_copy: Path) -> None:
    runs = [uuid.UUID(int=i) for i in range(1, 5)]
    with psycopg.connect(example_db, autocommit=True) as conn:
        for n, run_id in enumerate(runs):
            conn.execute("INSERT INTO runs (id, company_name) VALUES (%s, %s)", [run_id, f"Company {n}"])
        conn.execute(
            """INSERT INTO jobs (id, run_id, job_type, status, attempt_count, max_attempts, locked_at,
                                 locked_by, next_retry_at, created_at) VALUES
            (1, %(r1)s, 'research_company', 'queued', 0, 3, NULL, NULL, NULL, now() - interval '1 hour'),
            (2, %(r2)s, 'research_company', 'running', 0, 3, now() - interval '1 hour', 'worker-x:1', NULL,
             now()),
            (3, %(r3)s, 'research_company', 'queued', 3, 3, NULL, NULL, NULL, now()),
            (4, %(r4)s, 'research_company', 'queued', 1, 3, NULL, NULL, now() - interval '1 minute', now()),
            (5, %(r1)s, 'other', 'failed', 3, 3, NULL, NULL, NULL, now()),
            (6, %(r2)s, 'other', 'completed', 1, 3, NULL, NULL, NULL, now())""",
            {"r1": runs[0], "r2": runs[1], "r3": runs[2], "r4": runs[3]},
        )
        conn.execute(
            "INSERT INTO run_events (run_id, job_id, event_type, message) "
            "VALUES (%s, 6, 'worker_failed', 'boom')",
            [runs[1]],
        )
    options = yaml.safe_load(EVIDENCE_SNIPPET)
    for module in (sql, queue):
        assert (
            list(jsonschema.Draft202012Validator(module.OPTIONS_SCHEMA).iter_errors(options[module.NAME]))
            == []
        )
    ctx = Context(root=example_copy, scratch=example_copy, database_url=example_db)

    health = {o.name: o for o in queue.collect(ctx, options["queue"])}
    jobs = doc(health["jobs.json"])
    assert jobs["table"] == "public.jobs"
    assert jobs["by_status"] == {"completed": 1, "failed": 1, "queued": 3, "running": 1}
    assert jobs["queued"]["count"] == 3 and 3600 <= jobs["queued"]["oldest_age_seconds"] < 3700
    assert ids(jobs["stuck"]) == [2] and jobs["stuck"]["jobs"][0]["locked_by"] == "worker-x:1"
    assert ids(jobs["over_attempted"]) == [3]
    assert ids(jobs["due_retry"]) == [4]

    results = {o.name: o for o in sql.collect(ctx, options["sql"])}
    assert all(o.status == "ok" for o in results.values()), {o.name: o.message for o in results.values()}
    assert doc(results["run-status-counts.json"])["rows"] == [["pending", 4]]
    assert doc(results["job-status-counts.json"])["rows"] == [
        ["completed", 1],
        ["failed", 1],
        ["queued", 3],
        ["running", 1],
    ]
    assert doc(results["jobs.json"])["row_count"] == 6
    assert doc(results["recent-events.json"])["rows"] == [[str(runs[1]), 6, "worker_failed", "boom"]]
