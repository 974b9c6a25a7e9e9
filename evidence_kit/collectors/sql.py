"""Named read-only SQL queries: each result as JSON and as an aligned text table."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import time
import uuid
from collections.abc import Generator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from evidence_kit.errors import CollectorError
from evidence_kit.model import Context, Intent, Output, Status
from evidence_kit.support import db, proc, table

if TYPE_CHECKING:
    import sqlite3

    import psycopg

NAME = "sql"
# NOTE: the option whose entries each name their own artifacts: two of one name would overwrite each other.
NAMED = "queries"
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MAX_ROWS = 10_000

_SCALAR = {"type": ["string", "number", "integer", "boolean", "null"]}
OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["queries"],
    "properties": {
        "queries": {
            "type": "array",
            "minItems": 1,
            "description": (
                "Queries to run, in order, each in its own read-only transaction (PostgreSQL: READ ONLY "
                "with a statement timeout and TimeZone UTC; SQLite: a read-only connection with "
                "query_only). A query that fails, writes or times out is recorded and the others still "
                "run. Add ORDER BY for output that compares across bundles. For before/after evidence, "
                "use plain count queries (e.g. `SELECT status, count(*) FROM jobs GROUP BY status ORDER "
                "BY status`) and collect once before and once after the action: the two `<name>.json` "
                "files are the before and after counts."
            ),
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "sql"],
                "properties": {
                    "name": {
                        "type": "string",
                        "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*$",
                        "description": "Artifact name: <name>.json and <name>.txt (letters, digits, . _ -).",
                    },
                    "sql": {
                        "type": "string",
                        "minLength": 1,
                        "description": "One statement that returns rows (SELECT, WITH, VALUES, SHOW...).",
                    },
                    "title": {"type": "string", "description": "What the result shows."},
                    "params": {
                        "type": "object",
                        "propertyNames": {"pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                        "additionalProperties": {
                            "anyOf": [_SCALAR, {"type": "array", "items": _SCALAR}],
                        },
                        "description": (
                            "Values for %(name)s placeholders, sent separately from the SQL (never spliced "
                            "in); with params, write a literal % as %%. Lists bind as arrays (PostgreSQL)."
                        ),
                    },
                    "timeout": {
                        "type": "number",
                        "exclusiveMinimum": 0,
                        "description": "Seconds the statement may run (default 30).",
                    },
                    "max_rows": {
                        "type": "integer",
                        "minimum": 1,
                        "description": "Rows kept (default 10000); `truncated` says when there were more.",
                    },
                },
            },
        }
    },
}

# NOTE: the placeholder grammar psycopg applies when parameters are given; SQLite gets the same one.
_PLACEHOLDER = re.compile(r"%%|%\((?P<name>[^)]*)\)(?P<kind>[sbt])")

_WRITE_HINT = (
    "the sql collector only reads: every query runs in a read-only transaction; keep writes in the "
    "service's own code or a `command` step"
)


@dataclass(frozen=True)
class Result:
    """The rows a query returned: column names, JSON-safe rows, whether rows were left out."""

    columns: list[str]
    rows: list[list[Any]]
    truncated: bool


class QueryError(Exception):
    """One query failed; `status` is "error" or "timeout" and `hint` says what to do."""

    def __init__(self, message: str, hint: str, status: Status = "error") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.status = status


def jsonable(value: Any) -> Any:
    """A JSON-safe form of a database value: UUID, times, Decimal, bytes and the like become strings."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID | dt.timedelta):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return str(value)


def render_json(value: Any) -> bytes:
    """Deterministic JSON: sorted keys, two-space indent, a final newline."""
    return (json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its type when it has none."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def placeholders(text: str) -> list[str]:
    """The distinct %(name)s placeholder names in `text`, in order of appearance."""
    return list(dict.fromkeys(m["name"] for m in _PLACEHOLDER.finditer(text) if m["name"] is not None))


def _sqlite_query(text: str) -> str:
    return _PLACEHOLDER.sub(lambda m: "%" if m["name"] is None else f":{m['name']}", text)


def _dollar_query(text: str) -> str:
    numbers: dict[str, int] = {}

    def number(m: re.Match[str]) -> str:
        if m["name"] is None:
            return "%"
        return f"${numbers.setdefault(m['name'], len(numbers) + 1)}"

    return _PLACEHOLDER.sub(number, text)


def _check_params(spec: Mapping[str, Any]) -> dict[str, Any] | None:
    params = dict(spec.get("params") or {})
    missing = [n for n in placeholders(spec["sql"]) if n not in params]
    if missing:
        names = ", ".join(missing)
        raise QueryError(
            f"query uses parameter(s) {names} without a value",
            hint=f"add {names} under `params:` of query {spec['name']!r} in evidence.yaml",
        )
    return params or None


def _fix_hint(name: str) -> str:
    return f"fix `sql:` of query {name!r} in evidence.yaml; try it in psql or sqlite3 first"


# ----------------------------------------------------------------------------------------------------
# PostgreSQL


def _pg_describe(conn: psycopg.Connection[Any], text: str, params: Mapping[str, Any] | None) -> list[str]:
    """The column names of a statement, without running it (for results with no rows)."""
    from psycopg import pq

    enc = conn.info.encoding
    query = _dollar_query(text) if params else text
    pgconn = conn.pgconn
    if pgconn.prepare(b"", query.encode(enc)).status != pq.ExecStatus.COMMAND_OK:
        return []
    res = pgconn.describe_prepared(b"")
    if res.status != pq.ExecStatus.COMMAND_OK:
        return []
    return [(res.fname(i) or b"").decode(enc, errors="replace") for i in range(res.nfields)]


def pg_message(exc: Exception) -> str:
    """The server's message of a PostgreSQL error, with its detail, hint and SQLSTATE."""
    import psycopg

    if isinstance(exc, psycopg.Error) and exc.diag.message_primary:
        text = exc.diag.message_primary
        for label, extra in (("detail", exc.diag.message_detail), ("hint", exc.diag.message_hint)):
            if extra:
                text += f" ({label}: {extra})"
        return f"{text} [SQLSTATE {exc.sqlstate}]" if exc.sqlstate else text
    return first_line(exc)


def _pg_error(exc: Exception, spec: Mapping[str, Any], timeout: float) -> QueryError:
    import psycopg

    name = spec["name"]
    if isinstance(exc, psycopg.errors.QueryCanceled):
        return QueryError(
            f"canceled after the statement timeout of {timeout:g} s",
            hint=f"raise `timeout:` of query {name!r} or make the query cheaper (an index, a LIMIT)",
            status="timeout",
        )
    if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction | psycopg.errors.ActiveSqlTransaction):
        return QueryError(pg_message(exc), hint=_WRITE_HINT)
    if isinstance(exc, psycopg.ProgrammingError) and "didn't produce a result" in str(exc):
        return QueryError(
            "the statement returned no result set",
            hint=f"use a statement that returns rows (SELECT, WITH, VALUES, SHOW, EXPLAIN) in query {name!r}",
        )
    if isinstance(exc, psycopg.OperationalError) and exc.sqlstate is None:
        return QueryError(pg_message(exc), hint="check that the database is still reachable")
    return QueryError(pg_message(exc), hint=_fix_hint(name))


@contextmanager
def pg_read_only(conn: psycopg.Connection[Any], timeout: float) -> Iterator[None]:
    """A read-only transaction, always rolled back, with a statement timeout and TimeZone UTC."""
    from psycopg import sql

    with conn.transaction(force_rollback=True):
        conn.execute(
            sql.SQL("SET LOCAL statement_timeout = {}").format(sql.Literal(max(1, round(timeout * 1000))))
        )
        # NOTE: timestamps then read the same whatever the server's or the client's time zone.
        conn.execute("SET LOCAL TimeZone = 'UTC'")
        yield


def _run_pg(conn: psycopg.Connection[Any], spec: Mapping[str, Any]) -> Result:
    import psycopg

    params = _check_params(spec)
    timeout = float(spec.get("timeout", DEFAULT_TIMEOUT_S))
    max_rows = int(spec.get("max_rows", DEFAULT_MAX_ROWS))
    rows: list[list[Any]] = []
    columns: list[str] = []
    more = False
    try:
        with pg_read_only(conn, timeout), conn.transaction(force_rollback=True):
            # NOTE: inside a savepoint PostgreSQL refuses `SET TRANSACTION READ WRITE`; stream() uses the
            # extended protocol, which takes one statement only, and stops fetching after max_rows + 1.
            cur = conn.cursor()
            # NOTE: closed explicitly so psycopg cancels the rest of a cut-off result right away.
            stream = cast("Generator[tuple[Any, ...], None, None]", cur.stream(spec["sql"], params))
            try:
                for row in stream:
                    if len(rows) == max_rows:
                        more = True
                        break
                    rows.append([jsonable(v) for v in row])
            finally:
                stream.close()
            if cur.description is not None:
                columns = [d.name for d in cur.description]
            elif not rows:
                columns = _pg_describe(conn, spec["sql"], params)
    except psycopg.Error as exc:
        raise _pg_error(exc, spec, timeout) from exc
    return Result(columns, rows, more)


# ----------------------------------------------------------------------------------------------------
# SQLite


def _deny_attach(action: int, *_: str | None) -> int:
    import sqlite3

    # NOTE: ATTACH (and VACUUM INTO, which attaches) would create files even on a read-only connection.
    return (
        sqlite3.SQLITE_DENY if action in (sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH) else sqlite3.SQLITE_OK
    )


class SqliteTimer:
    """A progress handler that interrupts a SQLite statement running longer than `timeout` seconds."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self.deadline = math.inf
        self.expired = False

    def start(self) -> None:
        """Start the clock for the next statement."""
        self.deadline = time.monotonic() + self.timeout
        self.expired = False

    def __call__(self) -> int:
        if time.monotonic() > self.deadline:
            self.expired = True
            return 1
        return 0


def sqlite_read_only(ctx: Context, url: str, timeout: float) -> tuple[sqlite3.Connection, SqliteTimer]:
    """A read-only SQLite connection (query_only, no ATTACH) and the timer of its statements."""
    conn = db.connect_sqlite(url, ctx.root)
    conn.isolation_level = None
    conn.execute("PRAGMA query_only = ON")
    conn.set_authorizer(_deny_attach)
    timer = SqliteTimer(timeout)
    conn.set_progress_handler(timer, 10_000)
    return conn, timer


def sqlite_message(exc: Exception) -> str:
    """The message of a SQLite error with its error code name."""
    code = getattr(exc, "sqlite_errorname", None)
    return f"{first_line(exc)} [{code}]" if code else first_line(exc)


def _sqlite_error(exc: Exception, spec: Mapping[str, Any], timeout: float, timed_out: bool) -> QueryError:
    name = spec["name"]
    if timed_out:
        return QueryError(
            f"interrupted after the statement timeout of {timeout:g} s",
            hint=f"raise `timeout:` of query {name!r} or make the query cheaper (an index, a LIMIT)",
            status="timeout",
        )
    message = sqlite_message(exc)
    if getattr(exc, "sqlite_errorname", None) in ("SQLITE_READONLY", "SQLITE_AUTH"):
        return QueryError(message, hint=_WRITE_HINT)
    return QueryError(message, hint=_fix_hint(name))


def _run_sqlite(ctx: Context, url: str, spec: Mapping[str, Any]) -> Result:
    import sqlite3

    params = _check_params(spec)
    timeout = float(spec.get("timeout", DEFAULT_TIMEOUT_S))
    max_rows = int(spec.get("max_rows", DEFAULT_MAX_ROWS))
    # NOTE: a fresh connection per query, so nothing one query changes in the session reaches the next.
    conn, timer = sqlite_read_only(ctx, url, timeout)
    try:
        timer.start()
        cur = conn.execute(_sqlite_query(spec["sql"]) if params else spec["sql"], params or ())
        if cur.description is None:
            raise QueryError(
                "the statement returned no result set",
                hint="use a statement that returns rows (SELECT, WITH, VALUES, PRAGMA) in query "
                f"{spec['name']!r}",
            )
        columns = [d[0] for d in cur.description]
        fetched = cur.fetchmany(max_rows + 1)
    except sqlite3.Error as exc:
        raise _sqlite_error(exc, spec, timeout, timer.expired) from exc
    finally:
        conn.close()
    rows = [[jsonable(v) for v in row] for row in fetched[:max_rows]]
    return Result(columns, rows, len(fetched) > max_rows)


# ----------------------------------------------------------------------------------------------------


def _outputs(spec: Mapping[str, Any], result: Result, timing: Mapping[str, Any]) -> list[Output]:
    name, title = spec["name"], spec.get("title", spec["name"])
    doc = {
        "columns": result.columns,
        "rows": result.rows,
        "row_count": len(result.rows),
        "truncated": result.truncated,
    }
    text = table.render(result.columns, result.rows)
    message = None
    if result.truncated:
        message = f"result cut at max_rows = {len(result.rows)}; the query returned more rows"
        text += f"(truncated at max_rows = {len(result.rows)})\n"
    common: dict[str, Any] = {"truncated": result.truncated, "message": message, **timing}
    return [
        Output(f"{name}.json", title, media_type="application/json", data=render_json(doc), **common),
        Output(f"{name}.txt", title, data=text.encode(), **common),
    ]


def error_output(
    name: str,
    title: str,
    message: str,
    hint: str,
    status: Status = "error",
    extra: str = "",
    timing: Mapping[str, Any] | None = None,
) -> Output:
    """The `<name>.error.txt` artifact of one failed item: the message, the hint, optional details."""
    body = str(CollectorError(message, hint)) + "\n" + (f"\n{extra.rstrip()}\n" if extra else "")
    return Output(
        f"{name}.error.txt", title, data=body.encode(), status=status, message=message, **(timing or {})
    )


def timed(started: str, t0: float) -> dict[str, Any]:
    """The started/finished/duration_s fields of an Output that began at `started` (monotonic `t0`)."""
    return {"started": started, "finished": proc.utcnow(), "duration_s": round(time.monotonic() - t0, 3)}


def unique_names(items: Sequence[Mapping[str, Any]], what: str, option: str) -> None:
    """Raise a CollectorError when two items share a name (their artifacts would collide)."""
    seen: set[str] = set()
    for item in items:
        if item["name"] in seen:
            raise CollectorError(
                f"two {what} are named {item['name']!r}",
                hint=f"give every entry of `{option}:` in evidence.yaml its own name",
            )
        seen.add(item["name"])


def collect(ctx: Context, options: Mapping[str, Any]) -> list[Output]:
    """Run every configured query read-only; a failing query is recorded, the others still run."""
    specs: list[Mapping[str, Any]] = list(options.get("queries") or [])
    if not specs:
        raise CollectorError(
            "no queries configured", hint="list them under `collectors.sql.queries` in evidence.yaml"
        )
    unique_names(specs, "queries", "queries")
    url = db.require_url(ctx, NAME)
    conn = db.connect_pg(url, source=ctx.database_source) if db.is_postgres(url) else None
    outputs: list[Output] = []
    try:
        for spec in specs:
            started, t0 = proc.utcnow(), time.monotonic()
            try:
                result = _run_pg(conn, spec) if conn is not None else _run_sqlite(ctx, url, spec)
            except QueryError as exc:
                timing = timed(started, t0)
                outputs.append(
                    error_output(
                        spec["name"],
                        spec.get("title", spec["name"]),
                        exc.message,
                        exc.hint,
                        exc.status,
                        extra="-- SQL\n" + spec["sql"],
                        timing=timing,
                    )
                )
                continue
            timing = timed(started, t0)
            outputs += _outputs(spec, result, timing)
    finally:
        if conn is not None:
            conn.close()
    return outputs


def plan(root: Path, options: Mapping[str, Any]) -> Intent:
    """What `collect --plan` shows: each query, run read-only."""
    return Intent(
        reads=tuple(
            f"the database (read-only): {q['name']}: {' '.join(q['sql'].split())}" for q in options["queries"]
        )
    )
