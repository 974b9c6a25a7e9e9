"""The codefacts collector: create_all, Alembic in tests, pytest hooks, row locks, read with `ast`."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.collectors import codefacts
from evidence_kit.errors import CollectorError
from evidence_kit.model import Context, Output
from tests import pythons

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "jobs_service"

FILES = {
    "app/db.py": '''\
"""Engine setup; create_all is never used in production (docstring, not code)."""
from sqlalchemy import create_engine, text

from app.models import Base

engine = create_engine("postgresql://localhost/app")
# Base.metadata.create_all(engine)  -- a comment, not a call
NOTE = "call Base.metadata.create_all(engine) on a fresh database"


def init() -> None:
    Base.metadata.create_all(engine)


async def init_async(conn) -> None:
    await conn.run_sync(Base.metadata.create_all)
''',
    "app/queue.py": '''\
from sqlalchemy import select, text

from app.models import Job

CLAIM = text(
    """
    SELECT id FROM jobs WHERE status = 'queued'
    ORDER BY created_at LIMIT 1
    FOR UPDATE SKIP LOCKED
    """
)
CLAIM_BLOCKING = "select id from jobs where status = 'queued' limit 1 for update"
CLAIM_NOWAIT = f"SELECT id FROM {'jobs'} FOR NO KEY UPDATE NOWAIT"
PROSE = "wait for update of the package index"


def claim_stmt():
    """Return SELECT ... FOR UPDATE SKIP LOCKED (a docstring, not SQL)."""
    return select(Job).with_for_update(skip_locked=True)


def lock_row(session, job_id):
    return session.get(Job, job_id, with_for_update={"nowait": True})


def share(stmt):
    return stmt.with_for_update(read=True)
''',
    "tests/conftest.py": """\
import pytest
from alembic import command
from alembic.config import Config


@pytest.fixture(scope="session", autouse=True)
def migrated() -> None:
    command.upgrade(Config("alembic.ini"), "head")


@pytest.fixture(scope="session")
def settings() -> dict:
    return {}


@pytest.fixture()
def per_test() -> int:
    return 1


def pytest_sessionstart(session) -> None:
    pass


def pytest_collection_modifyitems(config, items) -> None:
    pass
""",
    "tests/test_models.py": """\
import subprocess

from app.db import engine
from app.models import Base


def test_schema() -> None:
    Base.metadata.drop_all(engine)
    subprocess.run(["alembic", "upgrade", "head"], check=True)
    subprocess.run("alembic downgrade base", shell=True, check=True)
""",
    "tests/test_broken.py": "def broken(:\n    pass\n",
    ".venv/lib/python3.11/site-packages/sqlalchemy/schema.py": "metadata.create_all(engine)\n",
    "node_modules/x/y.py": "metadata.drop_all(engine)\n",
    "README.md": "Base.metadata.create_all(engine)\n",
}


def _tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def _report(outputs: list[Output]) -> dict[str, Any]:
    data = outputs[0].data
    assert outputs[0].name == "codefacts.json" and data is not None
    result: dict[str, Any] = json.loads(data)
    return result


def _text(outputs: list[Output]) -> str:
    data = outputs[1].data
    assert outputs[1].name == "codefacts.txt" and data is not None
    return data.decode()


@pytest.fixture()
def report(tmp_path: Path) -> dict[str, Any]:
    return _report(codefacts.collect(Context(_tree(tmp_path, FILES), tmp_path / "s"), {}))


def test_files_read_and_excluded(report: dict[str, Any]) -> None:
    assert report["files"] == {
        "scanned": 5,
        "parsed": 4,
        "tests": 3,
        "migrations": 0,
        "unparsable": 1,
        "parsed_by_service_python": 0,
    }
    assert report["parse_errors"] == [
        {"path": "tests/test_broken.py", "line": 1, "error": "SyntaxError: invalid syntax"}
    ]


def test_create_all_in_code_only_not_in_comments_or_strings(report: dict[str, Any]) -> None:
    assert report["schema_calls"] == {
        "app": [
            {
                "path": "app/db.py",
                "line": 12,
                "method": "create_all",
                "form": "call",
                "receiver": "Base.metadata",
                "receiver_kind": "metadata",
                "code": "Base.metadata.create_all(engine)",
                "scope": "init",
            },
            {
                "path": "app/db.py",
                "line": 16,
                "method": "create_all",
                "form": "argument",
                "receiver": "Base.metadata",
                "receiver_kind": "metadata",
                "code": "conn.run_sync(Base.metadata.create_all)",
                "scope": "init_async",
            },
        ],
        "tests": [
            {
                "path": "tests/test_models.py",
                "line": 8,
                "method": "drop_all",
                "form": "call",
                "receiver": "Base.metadata",
                "receiver_kind": "metadata",
                "code": "Base.metadata.drop_all(engine)",
                "scope": "test_schema",
            }
        ],
        "migrations": [],
    }


def test_alembic_run_by_tests(report: dict[str, Any]) -> None:
    assert report["tests_run_alembic"] is True
    assert report["alembic_runs"]["migrations"] == []
    assert report["alembic_runs"] == {
        "migrations": [],
        "app": [],
        "tests": [
            {
                "path": "tests/conftest.py",
                "line": 8,
                "via": "alembic.command.upgrade",
                "code": "command.upgrade(Config('alembic.ini'), 'head')",
                "scope": "migrated",
            },
            {
                "path": "tests/test_models.py",
                "line": 9,
                "via": "argv",
                "code": "subprocess.run(['alembic', 'upgrade', 'head'], check=True)",
                "scope": "test_schema",
            },
            {
                "path": "tests/test_models.py",
                "line": 10,
                "via": "subprocess.run (shell)",
                "code": "subprocess.run('alembic downgrade base', shell=True, check=True)",
                "scope": "test_schema",
            },
        ],
    }


def test_session_fixtures_and_hooks(report: dict[str, Any]) -> None:
    assert report["session_fixtures"] == [
        {
            "path": "tests/conftest.py",
            "line": 6,
            "name": "migrated",
            "autouse": True,
            "decorator": "@pytest.fixture(scope='session', autouse=True)",
        },
        {
            "path": "tests/conftest.py",
            "line": 11,
            "name": "settings",
            "autouse": False,
            "decorator": "@pytest.fixture(scope='session')",
        },
    ]
    assert report["pytest_hooks"] == [
        {"path": "tests/conftest.py", "line": 21, "name": "pytest_sessionstart"},
        {"path": "tests/conftest.py", "line": 25, "name": "pytest_collection_modifyitems"},
    ]


def test_row_locks_in_sql_strings(report: dict[str, Any]) -> None:
    sql = report["row_locks"]["sql"]
    assert sql["tests"] == []
    assert [(s["line"], s["lock"], s["skip_locked"], s["nowait"], s["statement"]) for s in sql["app"]] == [
        (6, "FOR UPDATE", True, False, True),
        (12, "FOR UPDATE", False, False, True),
        (13, "FOR NO KEY UPDATE", False, True, True),
    ]
    assert sql["app"][0]["sql"] == (
        "SELECT id FROM jobs WHERE status = 'queued' ORDER BY created_at LIMIT 1 FOR UPDATE SKIP LOCKED"
    )
    assert sql["app"][2]["sql"] == "SELECT id FROM {'jobs'} FOR NO KEY UPDATE NOWAIT"


def test_row_locks_in_sqlalchemy(report: dict[str, Any]) -> None:
    assert report["row_locks"]["orm"] == {
        "app": [
            {
                "path": "app/queue.py",
                "line": 19,
                "lock": "FOR UPDATE",
                "skip_locked": True,
                "nowait": False,
                "read": False,
                "key_share": False,
                "code": "select(Job).with_for_update(skip_locked=True)",
            },
            {
                "path": "app/queue.py",
                "line": 23,
                "lock": "FOR UPDATE",
                "skip_locked": False,
                "nowait": True,
                "read": False,
                "key_share": False,
                "code": "session.get(Job, job_id, with_for_update={'nowait': True})",
            },
            {
                "path": "app/queue.py",
                "line": 27,
                "lock": "FOR SHARE",
                "skip_locked": False,
                "nowait": False,
                "read": True,
                "key_share": False,
                "code": "stmt.with_for_update(read=True)",
            },
        ],
        "tests": [],
        "migrations": [],
    }


def test_readable_report(tmp_path: Path) -> None:
    text = _text(codefacts.collect(Context(_tree(tmp_path, FILES), tmp_path / "s"), {}))
    for piece in [
        "Python files read: 5 (3 test files, 0 in migration folders), 1 could not be parsed\n",
        "  app code (2):\n    app/db.py:12  create_all (call)  Base.metadata.create_all(engine)\n",
        "  tests (1):\n    tests/test_models.py:8  drop_all (call)  Base.metadata.drop_all(engine)\n",
        "Alembic run by code (tests run Alembic: yes)\n  app code: none\n  tests (3):\n",
        "  tests/conftest.py:6  migrated  (autouse)  @pytest.fixture(scope='session', autouse=True)\n",
        "  pytest_sessionstart: tests/conftest.py:21\n",
        "  pytest_sessionfinish: none\n",
        "  pytest_collection_modifyitems: tests/conftest.py:25\n",
        "    app/queue.py:19  FOR UPDATE SKIP LOCKED  select(Job).with_for_update(skip_locked=True)\n",
        "    app/queue.py:12  FOR UPDATE (no SKIP LOCKED or NOWAIT: waits for locked rows)  select id from",
        "Files that could not be parsed (1):\n  tests/test_broken.py:1  SyntaxError: invalid syntax\n",
    ]:
        assert piece in text


def test_output_is_deterministic(tmp_path: Path) -> None:
    root = _tree(tmp_path, FILES)
    first = [(o.name, o.data) for o in codefacts.collect(Context(root, tmp_path / "s"), {})]
    assert first == [(o.name, o.data) for o in codefacts.collect(Context(root, tmp_path / "s"), {})]


def test_options_select_and_exclude_files(tmp_path: Path) -> None:
    root = _tree(tmp_path, FILES)
    options = {"paths": ["app/*.py"], "exclude": ["app/queue.py"], "tests": []}
    got = _report(codefacts.collect(Context(root, tmp_path / "s"), options))
    assert got["files"] == {
        "scanned": 1,
        "parsed": 1,
        "tests": 0,
        "migrations": 0,
        "unparsable": 0,
        "parsed_by_service_python": 0,
    }
    assert got["options"] == {**options, "migrations": None}
    everything = _report(codefacts.collect(Context(root, tmp_path / "s"), {"exclude": []}))
    assert "node_modules/x/y.py" in {c["path"] for c in everything["schema_calls"]["app"]}
    with pytest.raises(CollectorError, match="outside the repository"):
        codefacts.collect(Context(root, tmp_path / "s"), {"paths": ["../**/*.py"]})
    with pytest.raises(CollectorError, match=r"`\.\.` may only lead a glob"):
        codefacts.collect(Context(root, tmp_path / "s"), {"paths": ["app/../../*.py"]})


def test_globs_led_by_dotdot_reach_up_inside_the_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "common").mkdir()
    (repo / "common" / "db.py").write_text("Base.metadata.create_all(engine)\n")
    (repo / "other").mkdir()
    (repo / "other" / "x.py").write_text("Base.metadata.drop_all(engine)\n")
    (repo / "server" / "app").mkdir(parents=True)
    (repo / "server" / "app" / "main.py").write_text("x = 1\n")
    options = {"paths": ["**/*.py", "../common/**/*.py"], "exclude": [], "tests": []}
    got = _report(codefacts.collect(Context(repo / "server", tmp_path / "s"), options))
    assert got["files"]["scanned"] == 2
    assert [c["path"] for c in got["schema_calls"]["app"]] == ["../common/db.py"]


def test_glob_regex() -> None:
    assert codefacts.glob_regex("**/*.py").fullmatch("a.py")
    assert codefacts.glob_regex("**/*.py").fullmatch("a/b/c.py")
    assert not codefacts.glob_regex("*.py").fullmatch("a/b.py")
    assert codefacts.glob_regex("tests/**").fullmatch("tests/x/y.py")
    assert codefacts.glob_regex("**/test_?.py").fullmatch("pkg/test_a.py")
    assert codefacts.glob_regex("[!_]*.py").fullmatch("a.py")
    assert not codefacts.glob_regex("[!_]*.py").fullmatch("_a.py")


def test_a_list_that_only_names_alembic_runs_nothing() -> None:
    """A command line runs Alembic when `alembic` comes first or after `-m`; a tuple of package names that
    holds the word (`dict.fromkeys((..., "alembic", ...))`) runs nothing."""
    source = """\
import subprocess
import sys

KNOWN = dict.fromkeys(("aiohttp", "alembic", "anthropic"))
subprocess.run([sys.executable, "-m", "alembic", "upgrade", "head"], check=True)
subprocess.run(["/app/.venv/bin/alembic", "current"], check=True)
subprocess.run(["pip", "show", "alembic"], check=True)
"""
    facts = codefacts.scan_source("svc/errors.py", source.encode(), test=False)
    assert [(r["line"], r["via"]) for r in facts.alembic_runs] == [(5, "argv"), (6, "argv")]


def test_flask_migrate_runs_alembic_in_the_app(tmp_path: Path) -> None:
    """An app factory that upgrades (or stamps) with Flask-Migrate's functions runs Alembic's commands."""
    source = """\
import flask_migrate
from flask_migrate import stamp, upgrade


def create_app(url):
    if url.startswith("sqlite"):
        stamp()
    else:
        upgrade()
    flask_migrate.downgrade(revision="-1")
"""
    facts = codefacts.scan_source("app/__init__.py", source.encode(), test=False)
    assert sorted((r["line"], r["via"]) for r in facts.alembic_runs) == [
        (7, "flask_migrate.stamp"),
        (9, "flask_migrate.upgrade"),
        (10, "flask_migrate.downgrade"),
    ]


def test_alembic_aliases_and_unimported_command(tmp_path: Path) -> None:
    source = """\
import alembic.command
import alembic.command as ac
from alembic.command import stamp as mark
from click import command


def run(cfg, cmd):
    alembic.command.upgrade(cfg, "head")
    ac.downgrade(cfg, "base")
    mark(cfg, "head")
    command.upgrade(cfg)


def other(cfg, command):
    pass
"""
    facts = codefacts.scan_source("tests/test_a.py", source.encode(), test=True)
    assert [(r["line"], r["via"]) for r in facts.alembic_runs] == [
        (8, "alembic.command.upgrade"),
        (9, "alembic.command.downgrade"),
        (10, "alembic.command.stamp"),
    ]
    bare = codefacts.scan_source(
        "t.py", b"def f(command, cfg):\n    command.upgrade(cfg, 'head')\n", test=True
    )
    assert [(r["line"], r["via"]) for r in bare.alembic_runs] == [(2, "command.upgrade")]


def test_example_service(tmp_path: Path) -> None:
    outputs = codefacts.collect(Context(EXAMPLE, tmp_path / "s"), {})
    got = _report(outputs)
    assert got["parse_errors"] == []
    # NOTE: the example migrates with Alembic everywhere; no table comes from create_all.
    assert got["schema_calls"] == {"app": [], "tests": [], "migrations": []}
    orm = got["row_locks"]["orm"]["app"]
    claim = [o for o in orm if o["skip_locked"]]
    assert [(o["path"], o["code"]) for o in claim] == [
        ("jobs_service/worker.py", "stmt.with_for_update(skip_locked=True)")
    ]
    assert {(o["path"], o["code"]) for o in orm if not o["skip_locked"]} == {
        ("jobs_service/app.py", "stmt.with_for_update()"),
        ("jobs_service/worker.py", "stmt.with_for_update()"),
    }
    assert got["row_locks"]["sql"]["app"] == []
    assert got["tests_run_alembic"] is True
    vias = {(r["path"], r["via"]) for r in got["alembic_runs"]["tests"]}
    assert ("tests/conftest.py", "alembic.command.upgrade") in vias
    assert ("tests/test_sqlite_end_to_end.py", "argv") in vias
    assert got["alembic_runs"]["app"] == []
    assert [(f["path"], f["name"]) for f in got["session_fixtures"]] == [
        ("tests/conftest.py", "make_alembic_config"),
        ("tests/conftest.py", "pg_admin_url"),
        ("tests/conftest.py", "pg_url"),
    ]
    assert got["pytest_hooks"] == []
    assert not any(p.startswith(".evidence/") for p in _paths(got))
    assert re.search(
        r"\n    jobs_service/worker\.py:\d+  FOR UPDATE SKIP LOCKED  "
        r"stmt\.with_for_update\(skip_locked=True\)\n",
        _text(outputs),
    )


def _paths(report: dict[str, Any]) -> set[str]:
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("path"), str):
                found.add(value["path"])
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    walk(report)
    return found


def test_migration_files_are_neither_app_code_nor_tests(tmp_path: Path) -> None:
    migration = "revision = 'a1'\ndown_revision = None\nSQL = 'SELECT * FROM t WHERE id = :id FOR UPDATE'\n"
    root = _tree(
        tmp_path,
        {
            "src/pkg/db/_migrations/env.py": "from alembic import context\n",
            "src/pkg/db/_migrations/versions/postgresql/a1_migrate.py": migration,
            "src/pkg/worker_versions/versions/x.py": "CLAIM = 'SELECT id FROM jobs LIMIT 1 FOR UPDATE'\n",
        },
    )
    got = _report(codefacts.collect(Context(root, tmp_path / "s"), {}))
    sql = got["row_locks"]["sql"]
    assert [s["path"] for s in sql["migrations"]] == [
        "src/pkg/db/_migrations/versions/postgresql/a1_migrate.py"
    ]
    assert [s["path"] for s in sql["app"]] == ["src/pkg/worker_versions/versions/x.py"]
    assert got["files"]["migrations"] == 2
    globbed = _report(
        codefacts.collect(Context(root, tmp_path / "s"), {"migrations": ["src/pkg/worker_*/**"]})
    )
    assert [s["path"] for s in globbed["row_locks"]["sql"]["migrations"]] == [
        "src/pkg/worker_versions/versions/x.py"
    ]


def test_prose_about_row_locks_is_not_a_row_lock() -> None:
    source = """import pytest


def test_skips(db):
    if db.sqlite:
        pytest.skip("FOR UPDATE SKIP LOCKED is not supported on SQLite")


@pytest.mark.skipif(True, reason="FOR UPDATE needs PostgreSQL")
def test_marked():
    raise RuntimeError(f"FOR UPDATE SKIP LOCKED failed on {1}")


NOTE = "FOR UPDATE SKIP LOCKED is what workers use"
TAIL = " FOR UPDATE SKIP LOCKED"
TAIL_OF = "FOR UPDATE OF jobs SKIP LOCKED"
"""
    facts = codefacts.scan_source("tests/test_q.py", source.encode(), test=True)
    assert [(lock["line"], lock["sql"]) for lock in facts.sql_locks] == [
        (15, "FOR UPDATE SKIP LOCKED"),
        (16, "FOR UPDATE OF jobs SKIP LOCKED"),
    ]


def test_with_for_update_keyword_is_a_row_lock_only_on_sessions_get_and_refresh() -> None:
    """A project's own `with_for_update=` keyword (one that picks SQLite's BEGIN IMMEDIATE) locks no row."""
    source = """from app.database import provide_database_interface


async def read_flow(db, session, flow_id):
    async with db.session_context(begin_transaction=True, with_for_update=True) as tx:
        pass
    async with session_context(with_for_update=True):
        pass
    await session.refresh(flow, with_for_update={"skip_locked": True})
    await session.get(Flow, flow_id, with_for_update=True)
    await session.get_one(Flow, flow_id, with_for_update={"read": True})
    await session.get(Flow, flow_id, with_for_update=False)
"""
    facts = codefacts.scan_source("app/flows.py", source.encode(), test=False)
    assert [(lock["line"], lock["lock"], lock["skip_locked"]) for lock in facts.orm_locks] == [
        (9, "FOR UPDATE", True),
        (10, "FOR UPDATE", False),
        (11, "FOR SHARE", False),
    ]


def test_a_schema_method_of_the_service_itself_is_told_apart(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "app/exporter.py": "class Exporter:\n    def drop_all(self):\n        pass\n",
            "app/backup.py": (
                "from sqlalchemy import MetaData\n\n\n"
                "def restore(self, engine, db):\n"
                "    self.exporter.drop_all()\n"
                "    meta = MetaData()\n"
                "    meta.drop_all(bind=engine)\n"
                "    db.create_all()\n"
            ),
        },
    )
    outputs = codefacts.collect(Context(root, tmp_path / "s"), {})
    calls = {(c["code"], c["receiver_kind"]) for c in _report(outputs)["schema_calls"]["app"]}
    assert calls == {
        ("self.exporter.drop_all()", "service method"),
        ("meta.drop_all(bind=engine)", "metadata"),
        ("db.create_all()", "other"),
    }
    assert _report(outputs)["schema_methods_defined"] == [
        {"path": "app/exporter.py", "line": 2, "name": "drop_all"}
    ]
    assert "self.exporter.drop_all()  [the service's own method, not SQLAlchemy's]" in _text(outputs)


# NOTE: syntax newer than the tool's own Python, and the interpreter that reads it.
PY312 = """\
class Box[T]:
    item: T

type Pair[K] = tuple[K, K]
NAME = f"{'x' + f'{"y"}'}"
"""
PY313 = """\
def first[T = int](items: list[T]) -> T:
    return items[0]
"""
NEWER = ("3.12", PY312) if sys.version_info < (3, 12) else ("3.13", PY313)


@pytest.fixture(scope="module")
def newer_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if sys.version_info >= (3, 13):
        pytest.skip("no Python syntax is newer than the tool's own 3.13")
    return pythons.venv(tmp_path_factory, NEWER[0], [], pip=False)


def _newer_tree(root: Path) -> Path:
    return _tree(
        root,
        {
            "app/models.py": NEWER[1] + "\ndef boot(engine):\n    Base.metadata.create_all(engine)\n",
            "app/ok.py": "X = 1\n",
        },
    )


def test_newer_syntax_is_parsed_in_the_service_interpreter(tmp_path: Path, newer_python: Path) -> None:
    root = _newer_tree(tmp_path / "svc")
    outputs = codefacts.collect(Context(root, tmp_path / "s", python=str(newer_python)), {})
    got = _report(outputs)
    assert got["files"]["parsed_by_service_python"] == 1
    assert got["parse_errors"] == []
    assert [(c["path"], c["method"]) for c in got["schema_calls"]["app"]] == [("app/models.py", "create_all")]
    assert {o.status for o in outputs} == {"ok"}


def test_unparsed_files_are_never_a_silent_ok(tmp_path: Path, newer_python: Path) -> None:
    root = _newer_tree(tmp_path / "svc")
    outputs = codefacts.collect(Context(root, tmp_path / "s"), {})
    assert {o.status for o in outputs} == {"error"}
    assert outputs[0].message is not None
    assert outputs[0].message.startswith("1 of 2 Python file(s) could not be parsed, first app/models.py:")
    assert "set `python:` in evidence.yaml" in outputs[0].message
    (root / "app" / "broken.py").write_text("def broken(:\n")
    outputs = codefacts.collect(Context(root, tmp_path / "s", python=str(newer_python)), {})
    got = _report(outputs)
    assert got["files"]["unparsable"] == 1 and got["files"]["parsed_by_service_python"] == 1
    assert [e["path"] for e in got["parse_errors"]] == ["app/broken.py"]
    assert {o.status for o in outputs} == {"error"}
    assert f"(not by {newer_python} either)" in (outputs[0].message or "")


def test_tests_that_run_alembic_through_the_services_code_say_where(tmp_path: Path) -> None:
    """A conftest that calls, at import time, a function of the service that runs Alembic: followed one
    hop into the service's module (a src layout, `from pkg.mod import f`, `import pkg.mod as m`)."""
    files = {
        "src/shop/__init__.py": "",
        "src/shop/db/init_db.py": (
            "from alembic import command\nfrom alembic.config import Config\n\n\n"
            "def main():\n    cfg = Config('alembic.ini')\n    command.upgrade(cfg, 'head')\n\n\n"
            "def reset(engine):\n    helper(engine)\n"
        ),
        "src/shop/db/schema.py": (
            "from shop.models import Base\n\n\ndef build(engine):\n    Base.metadata.create_all(engine)\n"
        ),
        "tests/conftest.py": (
            "import shop.db.schema as schema\nfrom shop.db.init_db import main, reset\n\n"
            "main()\nreset(None)\nmain()\n\n\ndef engine():\n    schema.build(None)\n"
        ),
    }
    outputs = codefacts.collect(Context(_tree(tmp_path, files), tmp_path / "s"), {})
    got = _report(outputs)
    assert got["tests_run_alembic"] is True
    assert got["alembic_runs"]["tests"] == []
    assert got["tests_reach_through_service_code"] == [
        {
            "path": "src/shop/db/init_db.py",
            "line": 7,
            "function": "main",
            "via": "alembic.command.upgrade",
            "called_from": "tests/conftest.py:4",
        },
        {
            "path": "src/shop/db/schema.py",
            "line": 5,
            "function": "build",
            "via": "create_all",
            "called_from": "tests/conftest.py:10",
        },
    ]
    assert (
        "Alembic run by code (tests run Alembic: via src/shop/db/init_db.py:7 "
        "(called from tests/conftest.py:4); they reach create_all at src/shop/db/schema.py:5 "
        "(called from tests/conftest.py:10))"
    ) in _text(outputs)


def test_calls_two_hops_away_are_not_followed(tmp_path: Path) -> None:
    files = {
        "app/db.py": "from alembic import command\n\n\ndef migrate(cfg):\n    command.upgrade(cfg, 'head')\n",
        "app/boot.py": "from app.db import migrate\n\n\ndef start():\n    migrate(None)\n",
        "tests/conftest.py": "from app.boot import start\n\n\ndef setup():\n    start()\n",
    }
    got = _report(codefacts.collect(Context(_tree(tmp_path, files), tmp_path / "s"), {}))
    assert got["tests_run_alembic"] is False and got["tests_reach_through_service_code"] == []
    text = _text(codefacts.collect(Context(_tree(tmp_path, files), tmp_path / "s"), {}))
    assert (
        "tests run Alembic: not directly, nor in a service function they call (deeper calls are not followed)"
    ) in text


def test_each_schema_call_names_the_function_or_class_it_sits_in() -> None:
    from evidence_kit.support import pyscan

    source = (
        "from app.models import Base\n"
        "Base.metadata.create_all(e)\n"
        "class Admin:\n"
        "    def wipe(self):\n"
        "        def again():\n"
        "            Base.metadata.drop_all(e)\n"
        "        Base.metadata.drop_all(e)\n"
        "if True:\n"
        "    def reset():\n"
        "        Base.metadata.create_all(e)\n"
    )
    facts = pyscan.scan_source("app/reset.py", source.encode(), test=False)
    assert sorted((c["line"], c["scope"]) for c in facts.schema_calls) == [
        (2, "<module>"),
        (6, "Admin.wipe.again"),
        (7, "Admin.wipe"),
        (10, "reset"),
    ]
