"""The sql collector and the text tables, against a real PostgreSQL and a SQLite file."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

import jsonschema
import psycopg
import pytest

from evidence_kit.collectors import sql
from evidence_kit.errors import CollectorError
from evidence_kit.model import Context, Output
from evidence_kit.support import table

DDL = """
CREATE TABLE runs (
    id uuid PRIMARY KEY,
    company text NOT NULL,
    status text NOT NULL,
    score numeric(6, 2),
    created_at timestamptz NOT NULL,
    blob bytea,
    meta jsonb
);
CREATE TABLE jobs (id integer PRIMARY KEY, status text NOT NULL);
INSERT INTO runs VALUES
    ('00000000-0000-0000-0000-000000000001', 'Acme', 'completed', 12.50, '2026-01-02 03:04:05+00',
     '\\x0102', '{"b": 1, "a": [1, 2]}'),
    ('00000000-0000-0000-0000-000000000002', 'Globex', 'queued', NULL, '2026-01-03 00:00:00+00', NULL, NULL),
    ('00000000-0000-0000-0000-000000000003', 'Initech', 'queued', 7, '2026-01-04 00:00:00+00', NULL, NULL);
INSERT INTO jobs
SELECT g, CASE WHEN g % 3 = 0 THEN 'failed' ELSE 'completed' END FROM generate_series(1, 30) g;
"""

WRITES = {
    "insert": ("INSERT INTO jobs VALUES (99, 'queued')", "cannot execute INSERT in a read-only transaction"),
    "update": ("UPDATE jobs SET status = 'queued'", "cannot execute UPDATE in a read-only transaction"),
    "delete": ("DELETE FROM jobs", "cannot execute DELETE in a read-only transaction"),
    "cte-delete": (
        "WITH gone AS (DELETE FROM jobs RETURNING id) SELECT count(*) FROM gone",
        "in a read-only transaction",
    ),
    "create": ("CREATE TABLE evil (id int)", "cannot execute CREATE TABLE in a read-only transaction"),
    "drop": ("DROP TABLE jobs", "cannot execute DROP TABLE in a read-only transaction"),
    "truncate": ("TRUNCATE jobs", "cannot execute TRUNCATE TABLE in a read-only transaction"),
    "read-write": ("SET TRANSACTION READ WRITE", "cannot set transaction read-write mode"),
    "two-statements": (
        "SELECT 1; DELETE FROM jobs",
        "cannot insert multiple commands into a prepared statement",
    ),
    "for-update": (
        "SELECT * FROM jobs FOR UPDATE",
        "cannot execute SELECT FOR UPDATE in a read-only transaction",
    ),
}


@pytest.fixture(scope="module")
def pg(pg_url: str) -> str:
    """The module's database with two small tables in it."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(DDL)
    return pg_url


@pytest.fixture()
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite file with the same jobs table."""
    path = tmp_path / "app.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE jobs (id INTEGER PRIMARY KEY, status TEXT NOT NULL, payload BLOB)")
    conn.executemany(
        "INSERT INTO jobs VALUES (?, ?, ?)",
        [(i, "failed" if i % 3 == 0 else "completed", b"\x00\xff" if i == 1 else None) for i in range(1, 31)],
    )
    conn.commit()
    conn.close()
    return f"sqlite:///{path}"


def run(url: str | None, queries: list[dict[str, Any]], root: Path | None = None) -> dict[str, Output]:
    root = root or Path.cwd()
    outputs = sql.collect(Context(root=root, scratch=root, database_url=url), {"queries": queries})
    names = [o.name for o in outputs]
    assert len(names) == len(set(names)), names
    return {o.name: o for o in outputs}


def doc(output: Output) -> Any:
    assert output.data is not None
    return json.loads(output.data)


def text(output: Output) -> str:
    assert output.data is not None
    return output.data.decode()


def pg_state(url: str) -> tuple[int, str, int, bool]:
    """Row count and checksum of jobs, row count of runs, whether a table `evil` exists."""
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM jobs), "
            "(SELECT md5(string_agg(j::text, ',' ORDER BY id)) FROM jobs j), "
            "(SELECT count(*) FROM runs), to_regclass('evil') IS NOT NULL"
        ).fetchone()
    assert row is not None
    return int(row[0]), str(row[1]), int(row[2]), bool(row[3])


# ----------------------------------------------------------------------------------------------------
# The text table


def test_render_aligns_like_psql() -> None:
    got = table.render(["id", "status", "note"], [[1, "queued", None], [10, "completed", "ok"]])
    assert got == (
        " id |  status   | note\n"
        "----+-----------+------\n"
        "  1 | queued    | NULL\n"
        " 10 | completed | ok\n"
        "(2 rows)\n"
    )


def test_render_one_row_zero_rows_and_no_columns() -> None:
    assert table.render(["n"], [[5]]).endswith("\n(1 row)\n")
    assert table.render(["a", "b"], []) == " a | b\n---+---\n(0 rows)\n"
    assert table.render([], []) == "(0 rows)\n"


def test_render_keeps_each_row_on_one_line_and_counts_wide_characters() -> None:
    got = table.render(["v", "w"], [["a\nb\tc", "日本"], [True, {"b": 1, "a": [1]}], [b"\x01\xff", 1.5]])
    lines = got.splitlines()
    assert len(lines) == 6
    assert lines[2] == " a\\nb\\tc | 日本"
    assert lines[3] == ' true    | {"a":[1],"b":1}'
    assert lines[4] == " \\x01ff  | 1.5"
    assert table.width("日本") == 4


def test_render_rejects_ragged_rows() -> None:
    with pytest.raises(ValueError, match="row 0 has 1 values for 2 columns"):
        table.render(["a", "b"], [[1]])


# ----------------------------------------------------------------------------------------------------
# PostgreSQL


def test_pg_results_as_json_and_text(pg: str) -> None:
    out = run(
        pg,
        [
            {"name": "runs", "title": "All runs", "sql": "SELECT * FROM runs ORDER BY company"},
            {
                "name": "by-status",
                "sql": "SELECT status, count(*) AS n FROM jobs GROUP BY status ORDER BY status",
            },
        ],
    )
    assert set(out) == {"runs.json", "runs.txt", "by-status.json", "by-status.txt"}
    runs = out["runs.json"]
    assert runs.status == "ok" and runs.media_type == "application/json" and runs.title == "All runs"
    assert runs.started and runs.finished and runs.duration_s is not None
    assert doc(runs) == {
        "columns": ["id", "company", "status", "score", "created_at", "blob", "meta"],
        "rows": [
            [
                "00000000-0000-0000-0000-000000000001",
                "Acme",
                "completed",
                "12.50",
                "2026-01-02T03:04:05+00:00",
                "\\x0102",
                {"a": [1, 2], "b": 1},
            ],
            [
                "00000000-0000-0000-0000-000000000002",
                "Globex",
                "queued",
                None,
                "2026-01-03T00:00:00+00:00",
                None,
                None,
            ],
            [
                "00000000-0000-0000-0000-000000000003",
                "Initech",
                "queued",
                "7.00",
                "2026-01-04T00:00:00+00:00",
                None,
                None,
            ],
        ],
        "row_count": 3,
        "truncated": False,
    }
    assert runs.data == (json.dumps(doc(runs), sort_keys=True, indent=2) + "\n").encode()
    assert text(out["by-status.txt"]) == (
        "  status   | n\n-----------+----\n completed | 20\n failed    | 10\n(2 rows)\n"
    )
    assert text(out["runs.txt"]) == table.render(doc(runs)["columns"], doc(runs)["rows"])


def test_pg_two_runs_give_the_same_bytes(pg: str) -> None:
    queries = [{"name": "runs", "sql": "SELECT * FROM runs ORDER BY id"}]
    first, second = run(pg, queries), run(pg, queries)
    assert {k: v.data for k, v in first.items()} == {k: v.data for k, v in second.items()}


def test_pg_writes_are_refused_and_change_nothing(pg: str) -> None:
    before = pg_state(pg)
    queries = [{"name": name, "sql": statement} for name, (statement, _) in WRITES.items()]
    queries.append({"name": "after", "sql": "SELECT count(*) AS n FROM jobs"})
    out = run(pg, queries)
    for name, (statement, message) in WRITES.items():
        err = out[f"{name}.error.txt"]
        assert err.status == "error", name
        assert err.message is not None and message in err.message, (name, err.message)
        body = text(err)
        assert message in body and "Tip: " in body and statement in body
        assert f"{name}.json" not in out
    assert "read-only transaction" in text(out["insert.error.txt"]).split("Tip: ")[1]
    assert doc(out["after.json"])["rows"] == [[30]]
    assert pg_state(pg) == before
    assert before[3] is False


def test_pg_syntax_error_is_recorded_and_the_rest_runs(pg: str) -> None:
    out = run(
        pg,
        [
            {"name": "typo", "sql": "SELEC status FROM jobs"},
            {"name": "no-table", "sql": "SELECT * FROM nothing_here"},
            {"name": "ok", "sql": "SELECT 1 AS one"},
        ],
    )
    typo = out["typo.error.txt"]
    assert typo.status == "error"
    assert typo.message == 'syntax error at or near "SELEC" [SQLSTATE 42601]'
    assert "fix `sql:` of query 'typo'" in text(typo)
    assert 'relation "nothing_here" does not exist' in (out["no-table.error.txt"].message or "")
    assert doc(out["ok.json"])["rows"] == [[1]]


def test_pg_statement_timeout(pg: str) -> None:
    t0 = time.monotonic()
    out = run(
        pg,
        [
            {"name": "slow", "sql": "SELECT pg_sleep(5)", "timeout": 1},
            {"name": "fast", "sql": "SELECT 2 AS two"},
        ],
    )
    assert time.monotonic() - t0 < 4
    slow = out["slow.error.txt"]
    assert slow.status == "timeout"
    assert slow.message == "canceled after the statement timeout of 1 s"
    assert "raise `timeout:`" in text(slow)
    assert doc(out["fast.json"])["rows"] == [[2]]


def test_pg_params_are_bound_not_spliced(pg: str) -> None:
    out = run(
        pg,
        [
            {
                "name": "one",
                "sql": "SELECT company FROM runs WHERE status = %(status)s AND company LIKE 'I%%' ORDER BY 1",
                "params": {"status": "queued"},
            },
            {
                "name": "many",
                "sql": "SELECT count(*) AS n FROM jobs WHERE status = ANY(%(statuses)s) AND id <= %(top)s",
                "params": {"statuses": ["failed", "completed"], "top": 9},
            },
            {"name": "sneaky", "sql": "SELECT %(v)s AS v", "params": {"v": "x'); DROP TABLE jobs; --"}},
            {"name": "missing", "sql": "SELECT %(nope)s AS v", "params": {"other": 1}},
            {"name": "literal", "sql": "SELECT '100%' AS pct"},
        ],
    )
    assert doc(out["one.json"])["rows"] == [["Initech"]]
    assert doc(out["many.json"])["rows"] == [[9]]
    assert doc(out["sneaky.json"])["rows"] == [["x'); DROP TABLE jobs; --"]]
    missing = out["missing.error.txt"]
    assert missing.message == "query uses parameter(s) nope without a value"
    assert "add nope under `params:`" in text(missing)
    assert doc(out["literal.json"])["rows"] == [["100%"]]


def test_pg_max_rows_and_empty_results(pg: str) -> None:
    out = run(
        pg,
        [
            {"name": "capped", "sql": "SELECT id FROM jobs ORDER BY id", "max_rows": 4},
            {"name": "big", "sql": "SELECT g FROM generate_series(1, 1000000) g", "max_rows": 2},
            {"name": "none", "sql": "SELECT id, status FROM jobs WHERE id < %(n)s", "params": {"n": 0}},
            {"name": "nothing", "sql": "SELECT id FROM jobs WHERE false"},
        ],
    )
    capped = out["capped.json"]
    assert doc(capped) == {"columns": ["id"], "rows": [[1], [2], [3], [4]], "row_count": 4, "truncated": True}
    assert capped.truncated and out["capped.txt"].truncated
    assert text(out["capped.txt"]).endswith("(4 rows)\n(truncated at max_rows = 4)\n")
    assert doc(out["big.json"])["rows"] == [[1], [2]]
    assert doc(out["none.json"]) == {
        "columns": ["id", "status"],
        "rows": [],
        "row_count": 0,
        "truncated": False,
    }
    assert text(out["none.txt"]) == " id | status\n----+--------\n(0 rows)\n"
    assert doc(out["nothing.json"])["columns"] == ["id"]


def test_pg_statement_without_rows_is_an_error(pg: str) -> None:
    out = run(pg, [{"name": "set", "sql": "SET search_path = public"}])
    assert out["set.error.txt"].message == "the statement returned no result set"


def test_no_database_down_database_and_duplicates(tmp_path: Path) -> None:
    with pytest.raises(CollectorError, match="no database configured"):
        run(None, [{"name": "a", "sql": "SELECT 1"}], tmp_path)
    with pytest.raises(CollectorError, match="cannot connect"):
        run("postgresql://postgres:secret@127.0.0.1:1/nothing", [{"name": "a", "sql": "SELECT 1"}], tmp_path)
    with pytest.raises(CollectorError, match="unsupported database URL"):
        run("mysql://x@y/z", [{"name": "a", "sql": "SELECT 1"}], tmp_path)
    with pytest.raises(CollectorError, match="two queries are named 'a'"):
        run("sqlite:///x.db", [{"name": "a", "sql": "SELECT 1"}, {"name": "a", "sql": "SELECT 2"}], tmp_path)
    with pytest.raises(CollectorError, match="does not exist"):
        run("sqlite:///missing.db", [{"name": "a", "sql": "SELECT 1"}], tmp_path)
    with pytest.raises(CollectorError, match="no queries configured"):
        sql.collect(Context(root=tmp_path, scratch=tmp_path, database_url="sqlite:///x.db"), {})


def test_options_schema_accepts_the_documented_shape_and_rejects_typos() -> None:
    jsonschema.Draft202012Validator.check_schema(sql.OPTIONS_SCHEMA)
    validator = jsonschema.Draft202012Validator(sql.OPTIONS_SCHEMA)
    good = {
        "queries": [
            {"name": "a", "sql": "SELECT 1"},
            {
                "name": "b.c",
                "title": "t",
                "sql": "SELECT %(x)s",
                "params": {"x": [1, "a"]},
                "timeout": 0.5,
                "max_rows": 1,
            },
        ]
    }
    assert list(validator.iter_errors(good)) == []
    bads: list[dict[str, Any]] = [
        {"queries": []},
        {"queries": [{"name": "a"}]},
        {"queries": [{"name": "../x", "sql": "SELECT 1"}]},
        {"queries": [{"name": "a", "sql": "SELECT 1", "timout": 3}]},
        {"queries": [{"name": "a", "sql": "SELECT 1", "params": {"1x": 1}}]},
        {"queries": [{"name": "a", "sql": "SELECT 1", "params": {"x": {"y": 1}}}]},
    ]
    for bad in bads:
        assert list(validator.iter_errors(bad)), bad


# ----------------------------------------------------------------------------------------------------
# SQLite


def sqlite_state(url: str) -> tuple[int, str, str]:
    path = Path(url.removeprefix("sqlite:///"))
    conn = sqlite3.connect(path)
    count = conn.execute("SELECT count(*) FROM jobs").fetchone()[0]
    tables = ",".join(r[0] for r in conn.execute("SELECT name FROM sqlite_master ORDER BY name"))
    conn.close()
    return int(count), tables, hashlib.sha256(path.read_bytes()).hexdigest()


def test_sqlite_results_params_and_types(sqlite_url: str, tmp_path: Path) -> None:
    out = run(
        sqlite_url,
        [
            {
                "name": "by-status",
                "sql": "SELECT status, count(*) AS n FROM jobs GROUP BY status ORDER BY status",
            },
            {
                "name": "first",
                "sql": "SELECT id, payload, 1.5 AS f, NULL AS z FROM jobs WHERE id = %(id)s",
                "params": {"id": 1},
            },
            {
                "name": "none",
                "sql": "SELECT id, status FROM jobs WHERE status LIKE %(s)s || '%%'",
                "params": {"s": "nothing"},
            },
            {"name": "capped", "sql": "SELECT id FROM jobs ORDER BY id", "max_rows": 2},
        ],
        tmp_path,
    )
    assert text(out["by-status.txt"]) == (
        "  status   | n\n-----------+----\n completed | 20\n failed    | 10\n(2 rows)\n"
    )
    assert doc(out["first.json"])["rows"] == [[1, "\\x00ff", 1.5, None]]
    assert doc(out["none.json"]) == {
        "columns": ["id", "status"],
        "rows": [],
        "row_count": 0,
        "truncated": False,
    }
    assert doc(out["capped.json"])["truncated"] is True and doc(out["capped.json"])["row_count"] == 2


def test_sqlite_writes_are_refused_and_change_nothing(sqlite_url: str, tmp_path: Path) -> None:
    before = sqlite_state(sqlite_url)
    writes = {
        "insert": "INSERT INTO jobs (id, status) VALUES (99, 'queued')",
        "update": "UPDATE jobs SET status = 'queued'",
        "delete": "DELETE FROM jobs",
        "create": "CREATE TABLE evil (id INTEGER)",
        "drop": "DROP TABLE jobs",
        "pragma": "PRAGMA user_version = 7",
        "vacuum-into": f"VACUUM INTO '{tmp_path / 'copy.db'}'",
        "attach": f"ATTACH '{tmp_path / 'other.db'}' AS other",
    }
    queries = [{"name": k, "sql": v} for k, v in writes.items()]
    queries.append({"name": "after", "sql": "SELECT count(*) AS n FROM jobs"})
    out = run(sqlite_url, queries, tmp_path)
    for name in writes:
        err = out[f"{name}.error.txt"]
        assert err.status == "error", name
        assert "only reads" in text(err), name
    assert out["insert.error.txt"].message == "attempt to write a readonly database [SQLITE_READONLY]"
    assert out["attach.error.txt"].message == "not authorized [SQLITE_AUTH]"
    assert out["vacuum-into.error.txt"].message == "authorization denied [SQLITE_AUTH]"
    assert doc(out["after.json"])["rows"] == [[30]]
    assert sqlite_state(sqlite_url) == before
    assert not (tmp_path / "copy.db").exists() and not (tmp_path / "other.db").exists()


def test_sqlite_syntax_error_timeout_and_multiple_statements(sqlite_url: str, tmp_path: Path) -> None:
    t0 = time.monotonic()
    out = run(
        sqlite_url,
        [
            {"name": "typo", "sql": "SELEC 1"},
            {
                "name": "forever",
                "sql": "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                "SELECT count(*) FROM c",
                "timeout": 1,
            },
            {"name": "two", "sql": "SELECT 1; DELETE FROM jobs"},
            {"name": "ok", "sql": "SELECT count(*) AS n FROM jobs"},
        ],
        tmp_path,
    )
    assert time.monotonic() - t0 < 5
    assert out["typo.error.txt"].message == 'near "SELEC": syntax error [SQLITE_ERROR]'
    assert out["forever.error.txt"].status == "timeout"
    assert out["forever.error.txt"].message == "interrupted after the statement timeout of 1 s"
    assert out["two.error.txt"].status == "error"
    assert doc(out["ok.json"])["rows"] == [[30]]


def test_relative_sqlite_url_is_read_from_the_root(sqlite_url: str, tmp_path: Path) -> None:
    out = run("sqlite:///app.db", [{"name": "n", "sql": "SELECT count(*) AS n FROM jobs"}], tmp_path)
    assert doc(out["n.json"])["rows"] == [[30]]
