"""Database URLs from a `${VAR}` template or the libpq variables; which parts are secret."""

from __future__ import annotations

import json
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from evidence_kit import config
from evidence_kit.commands.collect import collect
from evidence_kit.errors import EvidenceError
from evidence_kit.support.db import from_libpq, from_template, safe

# NOTE: assembled at run time so that no secret stands in clear in a file.
SECRET = "s3cr" + "et-p@ss/word"
TEMPLATE = (
    "postgresql+psycopg://${POSTGRES_USER}:${POSTGRES_PASSWORD}@${POSTGRES_SERVER}:${PORT}/${POSTGRES_DB}"
)
PARTS = {
    "POSTGRES_USER": "app",
    "POSTGRES_PASSWORD": SECRET,
    "POSTGRES_SERVER": "db.internal",
    "PORT": "5433",
    "POSTGRES_DB": "jobs",
}


def test_a_template_is_filled_and_the_password_encoded() -> None:
    target = from_template(TEMPLATE, PARTS)
    assert target.url == "postgresql+psycopg://app:s3cret-p%40ss%2Fword@db.internal:5433/jobs"
    assert target.shown == "postgresql+psycopg://app:***@db.internal:5433/jobs"
    assert SECRET in target.secrets and "s3cret-p%40ss%2Fword" in target.secrets
    # Host, port, user and database name are not secret: they must stay readable across the bundle.
    for part in ("app", "db.internal", "5433", "jobs"):
        assert part not in target.secrets
    assert target.source == (
        "database.url in the config, from "
        "POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_SERVER, PORT, POSTGRES_DB"
    )


def test_a_reference_may_give_a_default_where_its_variable_is_unset_or_empty() -> None:
    template = (
        "postgresql://${PGUSER:-app}:${PGPASSWORD}@${PGHOST:-localhost}:${PGPORT:-5432}/${PGDATABASE:-jobs}"
    )
    target = from_template(template, {"PGPASSWORD": SECRET, "PGPORT": "", "PGDATABASE": "ledger"})
    assert target.url == "postgresql://app:s3cret-p%40ss%2Fword@localhost:5432/ledger"
    assert SECRET in target.secrets and "app" not in target.secrets
    # NOTE: the plan says which parts came from defaults, not from variables that are not set.
    assert target.source == (
        "database.url in the config, from PGPASSWORD, PGDATABASE and the defaults of PGUSER, PGHOST, PGPORT"
    )
    # NOTE: a reference with no default is still needed, and named.
    with pytest.raises(EvidenceError, match="needs the environment variable PGPASSWORD, which is not set"):
        from_template(template, {})


def test_a_reference_it_cannot_read_is_an_error_and_the_password_is_found_past_a_default() -> None:
    with pytest.raises(EvidenceError, match="holds a reference it cannot read"):
        from_template("postgresql://u:${PW}@${H:-db:5432}/d", {"PW": "x"})
    # NOTE: the `:` of a default in the user part is not the one before the password.
    target = from_template("postgresql://${PRE:-x}${U}:${PW}@h/d", {"U": "alice_user", "PW": SECRET})
    assert target.url.startswith("postgresql://xalice_user:") and "alice_user" not in target.secrets
    assert SECRET in target.secrets


def test_a_secret_named_variable_is_secret_wherever_it_stands() -> None:
    target = from_template(
        "postgresql://${DATABASE_HOSTNAME}/${DATABASE_CREDENTIALS}",
        {"DATABASE_HOSTNAME": "db1", "DATABASE_CREDENTIALS": "cred-" + "value-1"},
    )
    assert target.secrets == ("cred-value-1",)


def test_a_variable_that_is_the_whole_user_part_may_hold_user_and_password() -> None:
    template = "postgresql://${DATABASE_CREDENTIALS}@${DATABASE_HOSTNAME}:5432/${DATABASE_NAME}"
    env = {"DATABASE_CREDENTIALS": "app:" + SECRET, "DATABASE_HOSTNAME": "db1", "DATABASE_NAME": "jobs"}
    target = from_template(template, env)
    assert target.url == "postgresql://app:s3cret-p%40ss%2Fword@db1:5432/jobs"
    assert urlsplit(target.url).username == "app"
    assert SECRET in target.secrets and "app" not in target.secrets
    assert target.shown == "postgresql://app:***@db1:5432/jobs"


def test_a_missing_variable_is_an_error_that_names_it() -> None:
    with pytest.raises(EvidenceError) as one:
        from_template(TEMPLATE, {k: v for k, v in PARTS.items() if k != "POSTGRES_PASSWORD"})
    assert (
        one.value.message == "database.url needs the environment variable POSTGRES_PASSWORD, which is not set"
    )
    assert "export POSTGRES_PASSWORD" in one.value.hint and "`database.url` template" in one.value.hint
    assert "url_env" not in one.value.hint
    with pytest.raises(EvidenceError, match="variables POSTGRES_USER, POSTGRES_DB, which are not set"):
        from_template(TEMPLATE, {k: v for k, v in PARTS.items() if k not in ("POSTGRES_USER", "POSTGRES_DB")})
    # Set but empty is set (a trust-auth server needs no password).
    assert from_template(TEMPLATE, {**PARTS, "POSTGRES_PASSWORD": ""}).url.startswith(
        "postgresql+psycopg://app:@"
    )


def test_the_libpq_variables() -> None:
    assert from_libpq({}) is None
    assert from_libpq({"PGPASSWORD": SECRET}) is None
    target = from_libpq(
        {"PGHOST": "db", "PGPORT": "6543", "PGUSER": "u", "PGPASSWORD": SECRET, "PGDATABASE": "d"}
    )
    assert target is not None
    assert target.url == "postgresql://u:s3cret-p%40ss%2Fword@db:6543/d"
    assert safe(target.url) == "postgresql://u:***@db:6543/d"
    assert SECRET in target.secrets
    assert target.source == "libpq variables PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE"
    socket = from_libpq({"PGHOST": "/var/run/postgresql", "PGPORT": "5433", "PGDATABASE": "d"})
    assert socket is not None and socket.url == "postgresql:///d?host=/var/run/postgresql&port=5433"


def test_a_collect_through_a_template_masks_the_password_and_nothing_else(
    tmp_path: Path, pg_url: str
) -> None:
    parts = urlsplit(pg_url)
    password = "tmpl-" + "pw-" + "4711"
    env = {
        **config.environment(),
        "EKT_USER": parts.username or "postgres",
        "EKT_PASSWORD": password,
        "EKT_SERVER": f"{parts.hostname}:{parts.port}",
        "EKT_DB": parts.path.lstrip("/"),
    }
    env.pop("DATABASE_URL", None)
    cfg = tmp_path / "evidence.yaml"
    cfg.write_text(
        "service: s\noutput: out\n"
        "database:\n  url: postgresql://${EKT_USER}:${EKT_PASSWORD}@${EKT_SERVER}/${EKT_DB}\n"
        "collectors:\n"
        "  sql:\n    queries: [{name: who, sql: 'SELECT current_user AS u, current_database() AS d'}]\n"
        "  command:\n    commands:\n"
        "      - {name: echo, run: 'echo \"$EKT_PASSWORD $EKT_SERVER $EKT_USER $EKT_DB $DATABASE_URL\"'}\n"
    )
    summary = collect(config.load(cfg), env=env)
    assert {r.collector: r.status for r in summary.results} == {"sql": "ok", "command": "ok"}
    echoed = (summary.bundle / "data/command/echo.stdout.txt").read_text()
    assert password not in echoed and echoed.startswith("[REDACTED] ")
    for part in (env["EKT_SERVER"], env["EKT_USER"], env["EKT_DB"]):
        assert part in echoed
    who = json.loads((summary.bundle / "data/sql/who.json").read_text())["rows"]
    assert who == [[env["EKT_USER"], env["EKT_DB"]]]
    for path in summary.bundle.rglob("*"):
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path
    env.pop("EKT_PASSWORD")
    again = collect(config.load(cfg), env=env)
    sql = next(r for r in again.results if r.collector == "sql")
    assert sql.status == "error" and "EKT_PASSWORD, which is not set" in (sql.error or "")


def _one_migration(root: Path) -> None:
    """An alembic.ini and one revision, so the alembic collector has a history to read."""
    (root / "migrations" / "versions").mkdir(parents=True)
    (root / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
    (root / "migrations" / "versions" / "a1_init.py").write_text(
        '"""init"""\nrevision = "a1"\ndown_revision = None\n\n\ndef upgrade():\n    pass\n'
    )


def test_a_url_template_that_cannot_be_filled_costs_only_the_database_collectors(tmp_path: Path) -> None:
    _one_migration(tmp_path)
    (tmp_path / "evidence.yaml").write_text(
        "service: svc\noutput: out\ndatabase:\n  url_env: SVC_DATABASE_URL\n"
        '  url: "postgresql://${SVC_USER}:${SVC_PASSWORD}@127.0.0.1:5432/svc"\n'
        "collectors:\n  alembic: true\n  schema: true\n"
        "  sql: {queries: [{name: one, sql: SELECT 1}]}\n  queue: {queues: [{name: jobs, table: jobs}]}\n"
    )
    env = {"PATH": os.environ["PATH"]}
    summary = collect(config.load(tmp_path / "evidence.yaml"), env=env)
    by = {r.collector: r for r in summary.results}
    why = "the database URL cannot be built: database.url needs the environment variables SVC_USER, SVC_"
    for name in ("schema", "sql", "queue"):
        assert by[name].status == "error" and (by[name].error or "").startswith(why), by[name]
        assert "SVC_DATABASE_URL" not in (by[name].error or "")
        assert (
            by[name].hint
            == f"export the variable named above before collecting, or disable the {name} collector"
        )
    assert (summary.bundle / "data" / "alembic" / "heads.txt").read_text() == "a1 (head)\n", "still read"
    current = json.loads((summary.bundle / "data" / "alembic" / "current.json").read_text())
    assert current["status"] == "skipped" and current["reason"].startswith(why)


def test_a_template_that_cannot_be_filled_still_masks_its_password(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from evidence_kit.cli import app

    password = "pw-" + "k7Qz9" * 3
    (tmp_path / "evidence.yaml").write_text(
        "service: svc\noutput: out\ndatabase:\n"
        '  url: "postgresql://app:${SVC_PW}@${SVC_HOST}:5432/app"\n'
        "collectors:\n  command:\n    commands:\n"
        '      - {name: proof, run: \'echo "pw $SVC_PW"; echo "url=${DATABASE_URL:-unset}"\'}\n'
    )
    env = {"PATH": os.environ["PATH"], "SVC_PW": password}
    summary = collect(config.load(tmp_path / "evidence.yaml"), env=env)
    stdout = (summary.bundle / "data" / "command" / "proof.stdout.txt").read_text()
    assert password not in stdout and "pw [REDACTED]" in stdout and "url=unset" in stdout
    for path in summary.bundle.rglob("*"):
        if path.is_file():
            assert password.encode() not in path.read_bytes(), path
    assert summary.database_problem and "SVC_HOST" in summary.database_problem
    res = CliRunner().invoke(app, ["collect", "-c", str(tmp_path / "evidence.yaml")], env=env)
    assert res.exit_code == 0, res.output
    assert (
        "database: the URL cannot be built: database.url needs the environment variable SVC_HOST"
        in res.output
    )
    assert "commands ran without DATABASE_URL" in res.output and password not in res.output


def test_an_unset_url_variable_is_named_where_the_database_is_needed(tmp_path: Path) -> None:
    _one_migration(tmp_path)
    (tmp_path / "evidence.yaml").write_text(
        "service: svc\noutput: out\ndatabase:\n  url_env: SVC_DATABASE_URL\ncollectors:\n  alembic: true\n"
    )
    summary = collect(config.load(tmp_path / "evidence.yaml"), env={"PATH": os.environ["PATH"]})
    current = json.loads((summary.bundle / "data" / "alembic" / "current.json").read_text())
    assert current["status"] == "skipped"
    assert current["reason"] == (
        "the database URL cannot be built: the environment variable SVC_DATABASE_URL "
        "(evidence.yaml's `database.url_env`) is not set"
    )
