"""Health of database job queues: counts by status, oldest queued job, stuck, over-attempted and due jobs."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evidence_kit.collectors.sql import (
    QueryError,
    error_output,
    jsonable,
    pg_message,
    pg_read_only,
    render_json,
    sqlite_message,
    sqlite_read_only,
    timed,
    unique_names,
)
from evidence_kit.errors import CollectorError
from evidence_kit.model import Context, Intent, Output
from evidence_kit.support import db, proc, table

if TYPE_CHECKING:
    import sqlite3

    import psycopg

NAME = "queue"
DEFAULT_LEASE_S = 300.0
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_LIST_LIMIT = 100

# NOTE: the defaults are the columns and statuses of the example service's `jobs` table.
DEFAULT_COLUMNS: dict[str, str] = {
    "id": "id",
    "status": "status",
    "attempts": "attempt_count",
    "max_attempts": "max_attempts",
    "locked_at": "locked_at",
    "locked_by": "locked_by",
    "next_retry_at": "next_retry_at",
    "created_at": "created_at",
}
DEFAULT_STATUSES: dict[str, list[str]] = {"queued": ["queued"], "running": ["running"], "failed": ["failed"]}

_OPTIONAL_COLUMN: dict[str, Any] = {"type": ["string", "null"], "minLength": 1}
_STATUS_LIST: dict[str, Any] = {
    "type": "array",
    "items": {"type": "string"},
    "minItems": 1,
    "uniqueItems": True,
}
OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["queues"],
    "properties": {
        "queues": {
            "type": "array",
            "minItems": 1,
            "description": (
                "Job tables to check with read-only queries: jobs by status, the oldest queued job, stuck "
                "jobs (running, locked longer than the lease), over-attempted jobs (attempts >= "
                "max_attempts, status not failed) and jobs due for retry (queued, next_retry_at <= now). "
                "Ages are seconds by the database's own clock; timestamps without a time zone count as UTC."
            ),
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "table"],
                "properties": {
                    "name": {
                        "type": "string",
                        "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*$",
                        "description": "Artifact name: <name>.json and <name>.txt (letters, digits, . _ -).",
                    },
                    "title": {"type": "string", "description": "What the queue is."},
                    "table": {
                        "type": "string",
                        "minLength": 1,
                        "description": "The jobs table, `table` or `schema.table`, spelled as created.",
                    },
                    "columns": {
                        "type": "object",
                        "additionalProperties": False,
                        "description": (
                            "The table's column for each role; defaults: "
                            + ", ".join(f"{k}: {v}" for k, v in DEFAULT_COLUMNS.items())
                            + ". Set a role other than id and status to null when the table has no such "
                            "column: the checks that need it are skipped."
                        ),
                        "properties": {
                            "id": {"type": "string", "minLength": 1, "description": "Orders the job lists."},
                            "status": {"type": "string", "minLength": 1, "description": "The job's state."},
                            "attempts": {**_OPTIONAL_COLUMN, "description": "Attempts made so far."},
                            "max_attempts": {**_OPTIONAL_COLUMN, "description": "Attempts allowed."},
                            "locked_at": {**_OPTIONAL_COLUMN, "description": "When a worker took the job."},
                            "locked_by": {**_OPTIONAL_COLUMN, "description": "Which worker holds it."},
                            "next_retry_at": {**_OPTIONAL_COLUMN, "description": "When a retry is due."},
                            "created_at": {**_OPTIONAL_COLUMN, "description": "When it was queued."},
                        },
                    },
                    "statuses": {
                        "type": "object",
                        "additionalProperties": False,
                        "description": "Status values per state, compared as text; default: the state name.",
                        "properties": {
                            "queued": _STATUS_LIST,
                            "running": _STATUS_LIST,
                            "failed": _STATUS_LIST,
                        },
                    },
                    "lease_seconds": {
                        "type": "number",
                        "exclusiveMinimum": 0,
                        "description": "A running job locked longer than this is stuck (default 300).",
                    },
                    "list_limit": {
                        "type": "integer",
                        "minimum": 0,
                        "description": "Jobs listed per finding (default 100); the counts are always exact.",
                    },
                    "timeout": {
                        "type": "number",
                        "exclusiveMinimum": 0,
                        "description": "Seconds each statement may run (default 30).",
                    },
                },
            },
        }
    },
}

_COLUMNS_HINT = (
    "check `columns:` of queue {name!r} in evidence.yaml: name the table's column for each role, or set a "
    "role to null to skip the checks that need it"
)


@dataclass(frozen=True)
class Queue:
    """One configured queue with the defaults filled in."""

    name: str
    title: str
    table: str
    columns: dict[str, str | None]
    statuses: dict[str, list[str]]
    lease_seconds: float
    list_limit: int
    timeout: float

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> Queue:
        """The queue described by one entry of `queues:`."""
        columns: dict[str, str | None] = {**DEFAULT_COLUMNS, **dict(spec.get("columns") or {})}
        statuses = {k: list(v) for k, v in {**DEFAULT_STATUSES, **dict(spec.get("statuses") or {})}.items()}
        return cls(
            name=spec["name"],
            title=spec.get("title") or f"Queue health of {spec['table']}",
            table=spec["table"],
            columns=columns,
            statuses=statuses,
            lease_seconds=float(spec.get("lease_seconds", DEFAULT_LEASE_S)),
            list_limit=int(spec.get("list_limit", DEFAULT_LIST_LIMIT)),
            timeout=float(spec.get("timeout", DEFAULT_TIMEOUT_S)),
        )

    def parts(self) -> tuple[str, ...]:
        """The table name split into (schema, table), or (table,) when it has no schema."""
        schema, dot, name = self.table.partition(".")
        return (schema, name) if dot and schema and name else (self.table,)

    def configured(self) -> dict[str, str]:
        """The roles that name a column."""
        return {role: column for role, column in self.columns.items() if column}


def _number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _listed(values: Sequence[str]) -> str:
    return "(" + ", ".join(values) + ")"


def _seconds(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


# ----------------------------------------------------------------------------------------------------
# The SQL, written once; each dialect supplies quoting, placeholders and its time arithmetic.


class _Dialect:
    """SQL fragments of one database: PostgreSQL composes psycopg.sql objects, SQLite plain strings."""

    AGE = ""
    DUE = ""
    EXPIRED = ""
    MEMBER = ""
    TEXT = "CAST({col} AS text)"

    def ident(self, *names: str) -> Any:
        raise NotImplementedError

    def fmt(self, template: str, **parts: Any) -> Any:
        raise NotImplementedError

    def param(self, name: str) -> Any:
        raise NotImplementedError

    def join(self, parts: Sequence[Any]) -> Any:
        raise NotImplementedError

    def run(self, query: Any, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    def bind(self, queue: Queue) -> dict[str, Any]:
        return {"lease": queue.lease_seconds, "list_limit": queue.list_limit, **queue.statuses}


class _Postgres(_Dialect):
    AGE = "EXTRACT(EPOCH FROM now() - {col})"
    DUE = "{col} <= now()"
    EXPIRED = "{col} < now() - make_interval(secs => {lease})"
    MEMBER = "{text} = ANY({values}::text[])"

    def __init__(self, conn: psycopg.Connection[Any]) -> None:
        self.conn = conn

    def ident(self, *names: str) -> Any:
        from psycopg import sql

        return sql.Identifier(*names)

    def fmt(self, template: str, **parts: Any) -> Any:
        from psycopg import sql

        return sql.SQL(template).format(**parts)

    def param(self, name: str) -> Any:
        from psycopg import sql

        return sql.Placeholder(name)

    def join(self, parts: Sequence[Any]) -> Any:
        from psycopg import sql

        return sql.SQL(", ").join(parts)

    def run(self, query: Any, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        return self.conn.execute(query, dict(params)).fetchall()


# NOTE: SQLite keeps times as text (or as unix epoch numbers); julianday reads both.
_JULIAN = (
    "(CASE WHEN typeof({col}) IN ('integer', 'real') THEN julianday({col}, 'unixepoch') "
    "ELSE julianday({col}) END)"
)


class _Sqlite(_Dialect):
    AGE = f"((julianday('now') - {_JULIAN}) * 86400.0)"
    DUE = f"{_JULIAN} <= julianday('now')"
    EXPIRED = f"{_JULIAN} < julianday('now') - {{lease}} / 86400.0"
    MEMBER = "{text} IN (SELECT value FROM json_each({values}))"

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def ident(self, *names: str) -> Any:
        return ".".join('"' + n.replace('"', '""') + '"' for n in names)

    def fmt(self, template: str, **parts: Any) -> Any:
        return template.format(**parts)

    def param(self, name: str) -> Any:
        return f":{name}"

    def join(self, parts: Sequence[Any]) -> Any:
        return ", ".join(parts)

    def run(self, query: Any, params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        return self.conn.execute(query, dict(params)).fetchall()

    def bind(self, queue: Queue) -> dict[str, Any]:
        return {k: json.dumps(v) if isinstance(v, list) else v for k, v in super().bind(queue).items()}


@dataclass(frozen=True)
class _Finding:
    """One kind of unhealthy job: its key, its criterion in words, its condition, the fields listed."""

    key: str
    criterion: str
    where: Any
    fields: tuple[tuple[str, Any], ...]


def _findings(d: _Dialect, q: Queue) -> tuple[list[_Finding], dict[str, str]]:
    """The findings the configured columns allow, and why the others are skipped."""
    col = {role: d.ident(column) for role, column in q.configured().items()}
    status = d.fmt(d.TEXT, col=col["status"])

    def member(state: str) -> Any:
        return d.fmt(d.MEMBER, text=status, values=d.param(state))

    def age(role: str) -> Any:
        return d.fmt(d.AGE, col=col[role])

    names = q.columns
    wanted = {
        "stuck": ("locked_at",),
        "over_attempted": ("attempts", "max_attempts"),
        "due_retry": ("next_retry_at",),
    }
    skipped = {
        key: ", ".join(f"columns.{r} is null" for r in roles if r not in col)
        for key, roles in wanted.items()
        if any(r not in col for r in roles)
    }
    found: list[_Finding] = []
    if "stuck" not in skipped:
        found.append(
            _Finding(
                "stuck",
                f"{names['status']} in {_listed(q.statuses['running'])} and {names['locked_at']} older than "
                f"{_number(q.lease_seconds)} s",
                d.fmt(
                    "{running} AND {locked_at} IS NOT NULL AND {expired}",
                    running=member("running"),
                    locked_at=col["locked_at"],
                    expired=d.fmt(d.EXPIRED, col=col["locked_at"], lease=d.param("lease")),
                ),
                (
                    ("id", col["id"]),
                    *((("locked_by", col["locked_by"]),) if "locked_by" in col else ()),
                    ("age_seconds", age("locked_at")),
                ),
            )
        )
    if "over_attempted" not in skipped:
        found.append(
            _Finding(
                "over_attempted",
                f"{names['attempts']} >= {names['max_attempts']} and {names['status']} not in "
                f"{_listed(q.statuses['failed'])}",
                d.fmt(
                    "{attempts} >= {max_attempts} AND ({status} IS NULL OR NOT ({failed}))",
                    attempts=col["attempts"],
                    max_attempts=col["max_attempts"],
                    status=col["status"],
                    failed=member("failed"),
                ),
                (
                    ("id", col["id"]),
                    ("status", status),
                    ("attempts", col["attempts"]),
                    ("max_attempts", col["max_attempts"]),
                ),
            )
        )
    if "due_retry" not in skipped:
        found.append(
            _Finding(
                "due_retry",
                f"{names['status']} in {_listed(q.statuses['queued'])} and {names['next_retry_at']} <= now",
                d.fmt(
                    "{queued} AND {retry} IS NOT NULL AND {due}",
                    queued=member("queued"),
                    retry=col["next_retry_at"],
                    due=d.fmt(d.DUE, col=col["next_retry_at"]),
                ),
                (("id", col["id"]), ("overdue_seconds", age("next_retry_at"))),
            )
        )
    return found, skipped


def _health(d: _Dialect, q: Queue, table_sql: Any, table_name: str) -> dict[str, Any]:
    """Run the checks of one queue; the rows come back JSON-safe and sorted."""
    col = {role: d.ident(column) for role, column in q.configured().items()}
    params = d.bind(q)
    status = d.fmt(d.TEXT, col=col["status"])
    by_status: dict[str, int] = {}
    for value, count in d.run(
        d.fmt("SELECT {s}, count(*) FROM {t} GROUP BY 1", s=status, t=table_sql), params
    ):
        by_status[table.NULL if value is None else str(value)] = int(count)
    oldest = (
        d.fmt("max({age})", age=d.fmt(d.AGE, col=col["created_at"])) if "created_at" in col else d.fmt("NULL")
    )
    queued = d.fmt(d.MEMBER, text=status, values=d.param("queued"))
    [(n_queued, oldest_age)] = d.run(
        d.fmt("SELECT count(*), {oldest} FROM {t} WHERE {queued}", oldest=oldest, t=table_sql, queued=queued),
        params,
    )
    findings, skipped = _findings(d, q)
    if "created_at" not in col:
        skipped["oldest_queued"] = "columns.created_at is null"
    doc: dict[str, Any] = {
        "table": table_name,
        "columns": q.columns,
        "statuses": q.statuses,
        "lease_seconds": _number(q.lease_seconds),
        "total": sum(by_status.values()),
        "by_status": by_status,
        "queued": {"count": int(n_queued), "oldest_age_seconds": _seconds(oldest_age)},
        "skipped": skipped,
    }
    for key in ("stuck", "over_attempted", "due_retry"):
        doc[key] = None
    for f in findings:
        [(count,)] = d.run(d.fmt("SELECT count(*) FROM {t} WHERE {w}", t=table_sql, w=f.where), params)
        rows: list[tuple[Any, ...]] = []
        if q.list_limit and count:
            fields = d.join([e for _, e in f.fields])
            rows = d.run(
                d.fmt(
                    "SELECT {fields} FROM {t} WHERE {w} ORDER BY {id} LIMIT {limit}",
                    fields=fields,
                    t=table_sql,
                    w=f.where,
                    id=col["id"],
                    limit=d.param("list_limit"),
                ),
                params,
            )
        jobs = []
        for row in rows:
            job = {}
            for (label, _), value in zip(f.fields, row, strict=True):
                job[label] = _seconds(value) if label.endswith("_seconds") else jsonable(value)
            jobs.append(job)
        doc[f.key] = {
            "criterion": f.criterion,
            "count": int(count),
            "jobs": jobs,
            "truncated": int(count) > len(jobs),
        }
    return doc


# ----------------------------------------------------------------------------------------------------
# Catalog checks: the table and every configured column must exist.


def _missing_columns(q: Queue, table_name: str, actual: Sequence[str], fold: bool) -> None:
    have = {c.lower() for c in actual} if fold else set(actual)
    missing = [
        f'"{column}" (columns.{role})'
        for role, column in q.configured().items()
        if (column.lower() if fold else column) not in have
    ]
    if missing:
        raise QueryError(
            f"queue {q.name!r}: table {table_name} has no column {', '.join(missing)}; "
            f"its columns are: {', '.join(actual)}",
            hint=_COLUMNS_HINT.format(name=q.name),
        )


def _no_table(q: Queue, where: str) -> QueryError:
    return QueryError(
        f"queue {q.name!r}: table {q.table} does not exist in {where}",
        hint=f"check `table:` of queue {q.name!r} in evidence.yaml (the exact name; `schema.table` for a "
        "table outside the default schema), or run the migrations that create it",
    )


def _pg_table(conn: psycopg.Connection[Any], q: Queue, url: str) -> tuple[Any, str]:
    from psycopg import sql

    row = conn.execute(
        "SELECT n.nspname, c.relname, c.relkind FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = pg_catalog.to_regclass(%s)",
        [sql.Identifier(*q.parts()).as_string(conn)],
    ).fetchone()
    if row is None or row[2] not in ("r", "p", "v", "m", "f"):
        raise _no_table(q, f"the database {db.safe(url)}")
    schema, name = str(row[0]), str(row[1])
    actual = [
        str(r[0])
        for r in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
            "ORDER BY ordinal_position",
            [schema, name],
        )
    ]
    _missing_columns(q, f"{schema}.{name}", actual, fold=False)
    return sql.Identifier(schema, name), f"{schema}.{name}"


def _sqlite_table(conn: sqlite3.Connection, q: Queue, d: _Sqlite) -> tuple[Any, str]:
    import sqlite3

    parts = q.parts()
    query = (
        "SELECT name FROM pragma_table_info(?, ?)"
        if len(parts) == 2
        else "SELECT name FROM pragma_table_info(?)"
    )
    try:
        rows = conn.execute(query, tuple(reversed(parts))).fetchall()
    except sqlite3.Error as exc:
        raise _no_table(q, f"the SQLite database ({sqlite_message(exc)})") from exc
    if not rows:
        raise _no_table(q, "the SQLite database")
    _missing_columns(q, q.table, [str(r[0]) for r in rows], fold=True)
    return d.ident(*parts), q.table


# ----------------------------------------------------------------------------------------------------


def _check_pg(conn: psycopg.Connection[Any], q: Queue, url: str) -> dict[str, Any]:
    import psycopg

    try:
        with pg_read_only(conn, q.timeout):
            table_sql, table_name = _pg_table(conn, q, url)
            return _health(_Postgres(conn), q, table_sql, table_name)
    except psycopg.errors.QueryCanceled as exc:
        raise QueryError(
            f"queue {q.name!r}: a statement was canceled after the timeout of {q.timeout:g} s",
            hint=f"raise `timeout:` of queue {q.name!r}, or add an index on the status column",
            status="timeout",
        ) from exc
    except psycopg.Error as exc:
        raise QueryError(
            f"queue {q.name!r}: {pg_message(exc)}",
            hint=_COLUMNS_HINT.format(name=q.name) + " (status compares as text, attempts as numbers, "
            "the time columns as timestamps)",
        ) from exc


def _check_sqlite(ctx: Context, url: str, q: Queue) -> dict[str, Any]:
    import sqlite3

    conn, timer = sqlite_read_only(ctx, url, q.timeout)
    try:
        # NOTE: one read transaction, so every check sees the same snapshot.
        conn.execute("BEGIN")
        timer.start()
        d = _Sqlite(conn)
        table_sql, table_name = _sqlite_table(conn, q, d)
        return _health(d, q, table_sql, table_name)
    except sqlite3.Error as exc:
        if timer.expired:
            raise QueryError(
                f"queue {q.name!r}: the checks were interrupted after the timeout of {q.timeout:g} s",
                hint=f"raise `timeout:` of queue {q.name!r}, or add an index on the status column",
                status="timeout",
            ) from exc
        raise QueryError(
            f"queue {q.name!r}: {sqlite_message(exc)}", hint=_COLUMNS_HINT.format(name=q.name)
        ) from exc
    finally:
        conn.close()


def render_text(q: Queue, doc: Mapping[str, Any]) -> str:
    """The readable summary of one queue's health."""
    lines = [f"{q.title}", f"Table {doc['table']}, lease {doc['lease_seconds']} s", "", "Jobs by status"]
    lines.append(table.render(["status", "count"], sorted(doc["by_status"].items())))
    lines.append(f"Total: {doc['total']}")
    queued = doc["queued"]
    oldest = queued["oldest_age_seconds"]
    lines.append(
        f"Queued: {queued['count']}" + (f" (the oldest queued {oldest} s ago)" if oldest is not None else "")
    )
    labels = {"stuck": "Stuck", "over_attempted": "Over-attempted", "due_retry": "Due for retry"}
    for key, label in labels.items():
        finding = doc[key]
        lines.append("")
        if finding is None:
            lines.append(f"{label}: skipped ({doc['skipped'][key]})")
            continue
        lines.append(f"{label} ({finding['criterion']}): {finding['count']}")
        if finding["jobs"]:
            columns = list(finding["jobs"][0])
            lines.append(
                table.render(columns, [[job[c] for c in columns] for job in finding["jobs"]]).rstrip("\n")
            )
            if finding["truncated"]:
                lines.append(f"(first {len(finding['jobs'])} of {finding['count']} listed)")
    if "oldest_queued" in doc["skipped"]:
        lines += ["", f"Oldest queued age: skipped ({doc['skipped']['oldest_queued']})"]
    return "\n".join(lines) + "\n"


def collect(ctx: Context, options: Mapping[str, Any]) -> list[Output]:
    """Check every configured queue read-only; a queue that cannot be checked is recorded, the rest run."""
    specs: list[Mapping[str, Any]] = list(options.get("queues") or [])
    if not specs:
        raise CollectorError(
            "no queues configured", hint="list them under `collectors.queue.queues` in evidence.yaml"
        )
    unique_names(specs, "queues", "queues")
    url = db.require_url(ctx, NAME)
    conn = None
    if db.is_postgres(url):
        import psycopg

        conn = db.connect_pg(url, source=ctx.database_source)
        # NOTE: one snapshot per queue, so the counts and the lists agree.
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    outputs: list[Output] = []
    try:
        for spec in specs:
            q = Queue.from_spec(spec)
            started, t0 = proc.utcnow(), time.monotonic()
            try:
                doc = _check_pg(conn, q, url) if conn is not None else _check_sqlite(ctx, url, q)
            except QueryError as exc:
                timing = timed(started, t0)
                outputs.append(
                    error_output(q.name, q.title, exc.message, exc.hint, exc.status, timing=timing)
                )
                continue
            timing = timed(started, t0)
            outputs += [
                Output(
                    f"{q.name}.json", q.title, media_type="application/json", data=render_json(doc), **timing
                ),
                Output(f"{q.name}.txt", q.title, data=render_text(q, doc).encode(), **timing),
            ]
    finally:
        if conn is not None:
            conn.close()
    return outputs


def plan(root: Path, options: Mapping[str, Any]) -> Intent:
    """What `collect --plan` shows: each job table, read-only."""
    return Intent(reads=tuple(f"the database (read-only): job table {q['table']}" for q in options["queues"]))
