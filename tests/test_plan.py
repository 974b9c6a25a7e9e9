"""`evidence collect --plan`: what would run, in which order, with what; and nothing runs."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from evidence_kit import config
from evidence_kit.cli import app
from evidence_kit.plan import plan

runner = CliRunner()
SECRET = "plan-" + "secret-99"


def service(tmp_path: Path) -> Path:
    (tmp_path / "proofs").mkdir()
    cfg = tmp_path / "evidence.yaml"
    cfg.write_text(
        f"""\
service: demo
output: out
database:
  url: postgresql://${{PLAN_USER}}:${{PLAN_PASSWORD}}@db.internal:5432/jobs
collectors:
  tests:
    run: [python, -m, pytest, -q]
    cwd: proofs
  files:
    after: [tests]
    sets: [{{name: logs, glob: logs/*.log}}]
  sql:
    queries: [{{name: counts, sql: "SELECT count(*)\\n  FROM jobs"}}]
  openapi:
    app: svc.main:app
    python: .venv/bin/python
  git: true
  command:
    commands:
      - {{name: marker, run: "touch {tmp_path / "ran"}", cwd: proofs}}
      - {{name: worker, run: [python, -m, worker], run_for: 20}}
"""
    )
    return cfg


def test_the_plan_tells_order_interpreters_database_commands_and_reads(tmp_path: Path) -> None:
    cfg = config.load(service(tmp_path))
    got = plan(cfg, env={"PLAN_USER": "app", "PLAN_PASSWORD": SECRET}).as_json()
    assert got["database"] == {
        "url": "postgresql://app:***@db.internal:5432/jobs",
        "source": "database.url in the config, from PLAN_USER, PLAN_PASSWORD",
        "problem": None,
    }
    assert got["order"] == [["git", "command"], ["sql"], ["openapi"], ["tests"], ["files"]]
    by = {c["name"]: c for c in got["collectors"]}
    assert [c["name"] for c in got["collectors"]] == ["git", "command", "sql", "openapi", "tests", "files"]
    assert by["files"]["waits_for"] == ["tests", "command"]
    assert by["tests"]["waits_for"] == ["sql", "openapi", "command"]
    assert by["command"]["interpreter"] == "the first `python` on PATH (no `python:` in evidence.yaml)"
    # NOTE: a configured interpreter that is not there: the plan says the collect cannot use it.
    assert by["openapi"]["interpreter"] is None
    missing = tmp_path.resolve() / ".venv/bin/python"
    assert by["openapi"]["interpreter_problem"] == (
        f"the collector's `python` option: the interpreter {missing} does not exist"
    )
    assert by["git"]["interpreter"] is None and by["sql"]["interpreter"] is None
    assert by["command"]["runs"] == [
        {
            "name": "marker (timeout 300 s)",
            "line": f"touch {tmp_path / 'ran'}",
            "cwd": str(tmp_path / "proofs"),
        },
        {
            "name": "worker (runs 20 s, then SIGINT (grace 10 s))",
            "line": "python -m worker",
            "cwd": str(tmp_path.resolve()),
        },
    ]
    assert by["tests"]["runs"][0]["line"] == (
        "python -m pytest -q -o 'cache_dir=<scratch>/pytest-cache' '--junitxml=<scratch>/junit.xml'"
    )
    assert by["sql"]["reads"] == ["the database (read-only): counts: SELECT count(*) FROM jobs"]
    assert by["files"]["reads"] == ["logs: files matching logs/*.log"]
    assert SECRET not in json.dumps(got)


def test_collect_plan_runs_nothing(tmp_path: Path) -> None:
    cfg = service(tmp_path)
    res = runner.invoke(
        app, ["collect", "-c", str(cfg), "--plan"], env={"PLAN_USER": "app", "PLAN_PASSWORD": SECRET}
    )
    assert res.exit_code == 0, res.output
    assert not (tmp_path / "ran").exists() and not (tmp_path / "out").exists()
    assert "database: postgresql://app:***@db.internal:5432/jobs" in res.stdout
    assert (
        f"  runs marker (timeout 300 s): touch {tmp_path / 'ran'}\n    in {tmp_path / 'proofs'}\n"
        in res.stdout
    )
    assert "  1. git, command\n  2. sql\n  3. openapi\n  4. tests\n  5. files\n" in res.stdout
    assert SECRET not in res.stdout
    # A variable the URL needs is missing: the plan says so instead of failing.
    res = runner.invoke(
        app, ["collect", "-c", str(cfg), "--plan", "--json", "--only", "git"], env={"PLAN_USER": "a"}
    )
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    assert "PLAN_PASSWORD" in got["database"]["problem"] and got["order"] == [["git"]]
    assert not (tmp_path / "out").exists()


def test_an_unset_url_variable_is_named_in_the_plan(tmp_path: Path) -> None:
    (tmp_path / "evidence.yaml").write_text(
        "service: demo\noutput: out\ndatabase: {url_env: DEMO_DATABASE_URL}\ncollectors:\n  git: true\n"
    )
    got = plan(config.load(tmp_path / "evidence.yaml"), env={"PATH": "/usr/bin"})
    assert (
        "database: cannot tell: the environment variable DEMO_DATABASE_URL (evidence.yaml's " in got.render()
    )
    with_url = plan(config.load(tmp_path / "evidence.yaml"), env={"DEMO_DATABASE_URL": "sqlite:///x.db"})
    assert "database: sqlite:///x.db (from environment variable DEMO_DATABASE_URL)" in with_url.render()


def test_the_plan_says_which_env_files_it_reads_and_which_are_missing(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PLAN_HOST=127.0.0.1\n", encoding="utf-8")
    (tmp_path / "evidence.yaml").write_text(
        "service: demo\nenv_file: [.env, .env.locl]\ndatabase: {url: 'postgresql://u@${PLAN_HOST}/d'}\n"
        "collectors:\n  git: true\n",
        encoding="utf-8",
    )
    res = runner.invoke(app, ["collect", "-c", str(tmp_path / "evidence.yaml"), "--plan"], env={})
    assert res.exit_code == 0, res.output
    assert "env files: .env (read), .env.locl (missing: skipped)\n" in res.stdout
    assert "database: postgresql://u@127.0.0.1/d" in res.stdout


def test_the_plan_says_a_database_url_came_from_an_env_file_not_the_environment(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("PLAN_DB_URL=postgresql://u@127.0.0.1/d\n", encoding="utf-8")
    (tmp_path / "evidence.yaml").write_text(
        "service: demo\nenv_file: .env\ndatabase: {url_env: PLAN_DB_URL}\ncollectors:\n  git: true\n",
        encoding="utf-8",
    )
    res = runner.invoke(app, ["collect", "-c", str(tmp_path / "evidence.yaml"), "--plan"], env={})
    assert res.exit_code == 0, res.output
    assert "(from PLAN_DB_URL in .env (env_file))" in res.stdout
    told = {"PLAN_DB_URL": "postgresql://u@127.0.0.1/e"}
    res = runner.invoke(app, ["collect", "-c", str(tmp_path / "evidence.yaml"), "--plan"], env=told)
    assert "(from environment variable PLAN_DB_URL)" in res.stdout and "/e" in res.stdout
