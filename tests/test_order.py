"""The order collectors run in: commands first, readers next, tests last and alone; `after:` on top."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import psycopg
import pytest

from evidence_kit import config
from evidence_kit.commands.collect import collect
from evidence_kit.errors import EvidenceError
from evidence_kit.order import closure, cycle, order, stages

EVERY = ["git", "command", "alembic", "schema", "sql", "queue", "http", "files", "openapi", "tests", "ci"]
EVERY += ["codefacts", "environment"]


def test_default_order() -> None:
    waits = order(EVERY, {})
    assert waits["command"] == ()
    for reader in ("alembic", "schema", "sql", "queue", "files"):
        assert waits[reader] == ("command",)
    # NOTE: an app may migrate or seed the database as it starts: it runs after what reads the database.
    for app in ("http", "openapi"):
        assert set(waits[app]) == {"command", "alembic", "schema", "sql", "queue", "files"}
    assert set(waits["tests"]) == {"command", "alembic", "schema", "sql", "queue", "http", "files", "openapi"}
    for anytime in ("git", "ci", "codefacts", "environment"):
        assert waits[anytime] == ()
    assert stages(waits) == [
        ["git", "command", "ci", "codefacts", "environment"],
        ["alembic", "schema", "sql", "queue", "files"],
        ["http", "openapi"],
        ["tests"],
    ]


def test_the_order_holds_among_the_selected_collectors_only() -> None:
    assert order(["tests", "sql"], {}) == {"tests": ("sql",), "sql": ()}
    assert order(["tests", "command"], {"command": ("sql",)}) == {"tests": ("command",), "command": ()}


def test_after_adds_and_wins_over_a_contradicting_default() -> None:
    waits = order(EVERY, {"files": ("tests",), "git": ("command",)})
    assert set(waits["files"]) == {"command", "tests"}
    assert "files" not in waits["tests"]
    assert waits["git"] == ("command",)
    assert stages(waits)[-1] == ["files"]
    # Even a collector that runs first by default can be made to wait.
    waits = order(["command", "sql", "tests", "environment"], {"command": ("environment",)})
    assert waits["command"] == ("environment",) and waits["sql"] == ("command",)


def test_after_chains_inside_a_stage_keep_the_later_stages_waiting() -> None:
    """Readers chained by `after:` stay readers: the app and the tests still wait for all of them."""
    for after in (
        {"schema": ("alembic",), "sql": ("schema",)},
        {"sql": ("schema",), "queue": ("sql",), "alembic": ("queue",)},
    ):
        waits = order(EVERY, after)
        for later in ("http", "openapi", "tests"):
            assert {"alembic", "schema", "sql", "queue", "files"} <= set(closure(waits, later)), (
                after,
                later,
            )
        assert stages(waits)[-1] == ["tests"]
    # NOTE: one that waits for the app moves to the app's stage: the tests wait for it, the app does not.
    waits = order(EVERY, {"sql": ("http",)})
    assert "sql" in closure(waits, "tests") and "sql" not in closure(waits, "http")


def test_cycles_among_after_options() -> None:
    assert cycle({"files": ("tests",)}) is None
    assert cycle({"files": ("tests",), "tests": ("files",)}) == ["files", "tests"]
    assert cycle({"a": ("b",), "b": ("c",), "c": ("a",)}) == ["a", "b", "c"]
    assert cycle({"sql": ("sql",)}) == ["sql"]


def write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "evidence.yaml"
    path.write_text("service: demo\ncollectors:\n" + body)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(EvidenceError) as caught:
        config.load(path)
    return list(caught.value.details)


FILES = "  files:\n    after: [tests]\n    sets: [{name: l, glob: '*.log'}]\n"


def test_after_is_read_from_the_config_and_not_passed_to_the_collector(tmp_path: Path) -> None:
    loaded = config.load(write(tmp_path, FILES))
    assert loaded.after == {"files": ("tests",)}
    assert "after" not in loaded.collectors["files"]


def test_unknown_names_and_cycles_in_after_are_config_errors(tmp_path: Path) -> None:
    found = problems(write(tmp_path, "  git:\n    after: [tset]\n"))
    assert len(found) == 1
    assert "collectors.git.after.0: 'tset' is not one of" in found[0]
    assert "fix: use one of: alembic" in found[0]
    found = problems(write(tmp_path, FILES + "  tests:\n    after: [files]\n"))
    assert found == [
        f"{tmp_path / 'evidence.yaml'}: collectors.files.after: the `after:` options make a cycle "
        "(files → tests → files) — fix: remove one of these `after:` entries"
    ]


# A proof that inserts one row and writes its log slowly; a test suite that inserts five more rows.
SEED = """\
import os, sys, time, psycopg
with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
    conn.execute("INSERT INTO items DEFAULT VALUES")
with open("logs/seed.log", "w") as log:
    log.write("seed started\\n")
    log.flush()
    time.sleep(1.0)
    log.write("seed finished\\n")
"""
SUITE = """\
import os, psycopg

def test_writes_rows():
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        for _ in range(5):
            conn.execute("INSERT INTO items DEFAULT VALUES")
"""


@pytest.fixture()
def writer_service(tmp_path: Path, pg_url: str) -> Path:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS items")
        conn.execute("CREATE TABLE items (id serial PRIMARY KEY)")
    (tmp_path / "logs").mkdir()
    (tmp_path / "seed.py").write_text(SEED)
    (tmp_path / "suite").mkdir()
    (tmp_path / "suite" / "test_rows.py").write_text(SUITE)
    python = json.dumps(sys.executable)
    cfg = tmp_path / "evidence.yaml"
    cfg.write_text(
        f"""\
service: demo
output: out
database: {{url_env: EK_ORDER_TEST_URL}}
collectors:
  tests:
    run: [{python}, -m, pytest, -q, -p, no:cacheprovider, test_rows.py]
    cwd: suite
  sql:
    queries:
      - {{name: pause, sql: "SELECT pg_sleep(1.5) AS slept"}}
      - {{name: items, sql: "SELECT count(*) AS n FROM items"}}
  files:
    sets: [{{name: logs, glob: logs/*.log}}]
  command:
    commands:
      - {{name: seed, run: [{python}, seed.py]}}
"""
    )
    return cfg


def test_tests_that_write_rows_do_not_change_the_sql_evidence(writer_service: Path, pg_url: str) -> None:
    counts = []
    for _ in range(2):
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("TRUNCATE items")
        env = {**config.environment(), "EK_ORDER_TEST_URL": pg_url}
        summary = collect(config.load(writer_service), env=env)
        by: dict[str, dict[str, Any]] = {a["path"]: a for a in summary.manifest["artifacts"]}
        assert {r.collector: r.status for r in summary.results} == {
            "command": "ok",
            "sql": "ok",
            "files": "ok",
            "tests": "ok",
        }, summary.results
        counts.append(json.loads((summary.bundle / "data/sql/items.json").read_text())["rows"])
        # sql and files read what the command left, before the tests started.
        seed = by["data/command/seed.stdout.txt"]
        tests = by["data/tests/stdout.txt"]
        assert by["data/sql/items.json"]["started"] >= seed["finished"]
        assert by["data/sql/items.json"]["finished"] <= tests["started"]
        log = summary.bundle / "data/files/logs/logs/seed.log"
        assert log.read_text() == "seed started\nseed finished\n"
        with psycopg.connect(pg_url) as conn:
            assert conn.execute("SELECT count(*) FROM items").fetchone() == (6,)
    assert counts[0] == counts[1] == [[1]]


APP_THAT_MIGRATES = """\
import os

import psycopg
from fastapi import FastAPI


def create_app():
    # NOTE: as a factory that upgrades the database on start does.
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS made_by_the_app (id int)")
    app = FastAPI(title="starts")
    app.get("/ping")(lambda: "pong")
    return app
"""


def test_an_app_that_changes_the_database_as_it_starts_runs_after_the_database_is_read(
    tmp_path: Path, pg_url: str
) -> None:
    """The schema records the database as the commands left it, not as the app's import changed it."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS made_by_the_app")
    (tmp_path / "appmod.py").write_text(APP_THAT_MIGRATES)
    cfg = tmp_path / "evidence.yaml"
    cfg.write_text(
        "service: demo\noutput: out\ndatabase: {url_env: EK_ORDER_TEST_URL}\ncollectors:\n"
        "  schema: {}\n"
        f"  openapi: {{app: 'appmod:create_app', factory: true, python: {json.dumps(sys.executable)}}}\n"
    )
    env = {**config.environment(), "EK_ORDER_TEST_URL": pg_url}
    summary = collect(config.load(cfg), env=env)
    assert {r.collector: r.status for r in summary.results} == {"schema": "ok", "openapi": "ok"}, (
        summary.results
    )
    assert "made_by_the_app" not in (summary.bundle / "data/schema/schema.sql").read_text()
    by = {a["path"]: a for a in summary.manifest["artifacts"]}
    assert by["data/schema/schema.sql"]["finished"] <= by["data/openapi/openapi.json"]["started"]
    with psycopg.connect(pg_url) as conn:
        assert conn.execute("SELECT to_regclass('made_by_the_app') IS NOT NULL").fetchone() == (True,)
