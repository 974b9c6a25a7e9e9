"""Which version tables are a configuration's: one ini, a core and a tenant configuration, real alembic runs.

The service below keeps core's version table in the `app_core` schema and one tenant version table per
tenant schema (`app_tenant_<name>`), as multi-tenant services do; env.py picks both schemas at run time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from evidence_kit.bundle.writer import BundleWriter
from evidence_kit.checks import CHECKS
from evidence_kit.collectors import alembic as collector
from evidence_kit.diff import diff
from evidence_kit.model import CollectorResult, Context, Output
from evidence_kit.policy.packs import Rule
from evidence_kit.policy.target import Skipped, Target
from evidence_kit.redact.redactor import Redactor
from tests import pg
from tests.collectors.test_alembic import alembic, as_json, collect, text

CORE = ["3f1a9c0e2b71", "8d24e6f0a913", "b7c05d1e4a62", "e19f3b8c7d05"]
TENANT = ["5a7e2c9d1f38", "9c3b6e0a7d24", "d480f1b5c6e9"]
TENANTS = ["default", "acme"]
BOTH = [{"name": "core", "label": "core"}, {"name": "tenant", "label": "tenant"}]
EMPTY = (
    "empty, and alembic.ini [core], alembic.ini [tenant] all name alembic_version with no schema: "
    "nothing tells whose it is (`version_table_schema` tells)"
)

INI = """\
[core]
script_location = %(here)s/db/core
sqlalchemy.url = {url}

[tenant]
script_location = %(here)s/db/tenant
sqlalchemy.url = {url}
"""

ENV = '''\
"""Migrations whose version table lives in a schema picked at run time."""

import os

from alembic import context
from sqlalchemy import create_engine, text

SCHEMA_LINE
engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
with engine.connect() as connection:
    connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{SCHEMA}"'))
    connection.commit()
    context.configure(connection=connection, version_table_schema=SCHEMA)
    with context.begin_transaction():
        context.run_migrations()
'''
# NOTE: core names its schema in a setting; tenant migrations run once per tenant (`-x tenant=NAME`).
CORE_ENV = ENV.replace("SCHEMA_LINE", 'SCHEMA = os.environ.get("APP_CORE_SCHEMA", "app_core")')
TENANT_ENV = ENV.replace(
    "SCHEMA_LINE", 'SCHEMA = "app_tenant_" + context.get_x_argument(as_dictionary=True)["tenant"]'
)


def _revision(rev: str, down: str | None, message: str) -> str:
    return (
        f'"""{message}\n\nRevision ID: {rev}\n"""\nfrom alembic import op\n\n'
        f"revision = {rev!r}\ndown_revision = {down!r}\nbranch_labels = None\ndepends_on = None\n\n\n"
        'def upgrade():\n    op.execute("SELECT 1")\n\n\ndef downgrade():\n    op.execute("SELECT 1")\n'
    )


def service(root: Path, url: str) -> Path:
    """The two-configuration service, its ini pointing at the database `url`."""
    for name, env, revisions in (("core", CORE_ENV, CORE), ("tenant", TENANT_ENV, TENANT)):
        versions = root / "db" / name / "versions"
        versions.mkdir(parents=True)
        (root / "db" / name / "env.py").write_text(env)
        for i, rev in enumerate(revisions):
            down = revisions[i - 1] if i else None
            (versions / f"{i:03d}_{rev}.py").write_text(_revision(rev, down, f"{name} step {i + 1}"))
    (root / "alembic.ini").write_text(
        INI.format(url=url.replace("postgresql://", "postgresql+psycopg://", 1))
    )
    return root


@pytest.fixture()
def migrated(tmp_path: Path, pg_admin_url: str) -> Iterator[tuple[Path, str]]:
    """The service with its own database, core and every tenant upgraded to head by alembic itself."""
    with pg.database(pg_admin_url) as url:
        root = service(tmp_path / "svc", url)
        alembic(root, "-n", "core", "upgrade", "head")
        for tenant in TENANTS:
            alembic(root, "-n", "tenant", "-x", f"tenant={tenant}", "upgrade", "head")
        yield root, url


def bundle(out: Path, outputs: dict[str, Output]) -> tuple[Path, dict[str, Any]]:
    """A bundle holding the collector's outputs, written by the real writer."""
    writer = BundleWriter(out, Redactor())
    for output in outputs.values():
        writer.add("alembic", output)
    path = writer.finish(
        service="svc",
        phase="1",
        git_sha="a" * 40,
        results=[CollectorResult("alembic", "ok")],
        host={"name": "h", "platform": "p", "python": "3"},
        ci=None,
    )
    return path, json.loads((path / "manifest.json").read_text())


def findings(check: str, path: Path, manifest: dict[str, Any]) -> list[str]:
    """The messages of a check's findings on a bundle."""
    target = Target(bundle=path, manifest=manifest)
    return [f.message for f in CHECKS[check].run(target, Rule(check, "error"))]


def ek302(path: Path, manifest: dict[str, Any]) -> list[str]:
    """The messages of EK302's findings on a bundle."""
    return findings("EK302", path, manifest)


def test_each_configuration_counts_only_its_own_version_tables(
    migrated: tuple[Path, str], tmp_path: Path
) -> None:
    root, url = migrated
    out = collect(root, url, configs=BOTH)
    core, tenant = as_json(out["core/current.json"]), as_json(out["tenant/current.json"])
    assert sorted(core["schemas"]) == ["app_core"]
    assert core["schemas"]["app_core"]["versions"] == [CORE[-1]] and core["up_to_date"] is True
    assert sorted(tenant["schemas"]) == ["app_tenant_acme", "app_tenant_default"]
    assert (
        all(s["versions"] == [TENANT[-1]] for s in tenant["schemas"].values())
        and tenant["up_to_date"] is True
    )
    assert core["not_counted"]["app_tenant_acme"] == {
        "versions": [TENANT[-1]],
        "reason": "holds revisions of alembic.ini [tenant]",
    }
    assert tenant["not_counted"]["app_core"]["reason"] == "holds revisions of alembic.ini [core]"
    assert as_json(out["core/summary.json"])["current"] == {"app_core": [CORE[-1]]}
    assert as_json(out["tenant/summary.json"])["up_to_date"] is True
    shown = text(out["core/current.txt"])
    assert shown.startswith(f"[app_core] up to date\n{CORE[-1]} (head)\n")
    assert "not applied" not in shown and "unknown" not in shown
    assert "[app_tenant_acme] not counted: holds revisions of alembic.ini [tenant]" in shown
    assert "not applied" not in text(out["tenant/current.txt"])
    assert ek302(*bundle(tmp_path / "bundle", out)) == []


def test_a_version_table_that_cannot_be_read_is_an_error_not_a_table_of_another(
    migrated: tuple[Path, str], tmp_path: Path
) -> None:
    """A role that may read the tenants' tables only: core's own table is unreadable, not someone else's."""
    import uuid

    import psycopg

    root, url = migrated
    role = "ek_tenants_" + uuid.uuid4().hex[:8]
    schemas = "app_core, app_tenant_default, app_tenant_acme"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {role} LOGIN")
        conn.execute(f"GRANT USAGE ON SCHEMA {schemas} TO {role}")
        conn.execute(
            f"GRANT SELECT ON app_tenant_default.alembic_version, app_tenant_acme.alembic_version TO {role}"
        )
    try:
        out = collect(root, url.replace("postgres@", f"{role}@", 1), configs=BOTH)
        core = as_json(out["core/current.json"])
        assert core["status"] == "error" and "app_core" in core["errors"], core
        assert core["up_to_date"] is False and "app_core" not in core["not_counted"]
        found = ek302(*bundle(tmp_path / "bundle", out))
        assert any("core" in f and "could not be read" in f for f in found), found
        assert not any("holds one of its revisions" in f for f in found), found
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"DROP OWNED BY {role}")
            conn.execute(f"DROP ROLE {role}")


def test_a_real_downgrade_of_one_tenant_is_that_configuration_behind(
    migrated: tuple[Path, str], tmp_path: Path
) -> None:
    root, url = migrated
    before, _ = bundle(tmp_path / "before", collect(root, url, configs=BOTH))
    alembic(root, "-n", "tenant", "-x", "tenant=acme", "downgrade", "-1")
    out = collect(root, url, configs=BOTH)
    tenant = as_json(out["tenant/current.json"])
    assert tenant["schemas"]["app_tenant_acme"]["pending"] == [TENANT[-1]]
    assert tenant["schemas"]["app_tenant_default"]["up_to_date"] is True
    assert tenant["up_to_date"] is False
    assert as_json(out["core/current.json"])["up_to_date"] is True
    after, manifest = bundle(tmp_path / "after", out)
    assert ek302(after, manifest) == [
        f"Alembic configuration tenant, schema app_tenant_acme: database is at {TENANT[-2]}, heads are "
        f"{TENANT[-1]} (1 revision not applied)"
    ]
    titles = [c.what for c in diff(before, after).changes]
    assert "[tenant] database behind the migrations" in titles
    assert "[core] database behind the migrations" not in titles


def test_a_section_of_the_same_ini_that_is_not_listed_is_named_as_the_owner(
    migrated: tuple[Path, str],
) -> None:
    root, url = migrated
    out = collect(root, url, configs=[{"name": "core"}])
    current = as_json(out["current.json"])
    assert sorted(current["schemas"]) == ["app_core"] and current["up_to_date"] is True
    assert current["not_counted"]["app_tenant_default"]["reason"] == "holds revisions of alembic.ini [tenant]"


def test_an_empty_version_table_two_configurations_may_own_is_unknown_until_a_schema_is_named(
    migrated: tuple[Path, str], tmp_path: Path
) -> None:
    root, url = migrated
    alembic(root, "-n", "tenant", "-x", "tenant=acme", "downgrade", "base")
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT count(*) FROM app_tenant_acme.alembic_version").fetchone() == (0,)
    # NOTE: an empty table holds no revision to tell whose it is: neither configuration is at base there,
    # each one's own tables still judge it, and the empty one is named as unknown.
    out = collect(root, url, configs=BOTH)
    for label in ("core", "tenant"):
        current = as_json(out[f"{label}/current.json"])
        assert "app_tenant_acme" not in current["schemas"]
        assert current["owner_unknown"]["app_tenant_acme"]["versions"] == []
        assert current["owner_unknown"]["app_tenant_acme"]["reason"] == EMPTY
        assert current["up_to_date"] is None and as_json(out[f"{label}/summary.json"])["up_to_date"] is None
        assert "[app_tenant_acme] unknown: empty" in text(out[f"{label}/current.txt"])
    assert as_json(out["core/current.json"])["schemas"]["app_core"]["up_to_date"] is True
    assert ek302(*bundle(tmp_path / "unknown", out)) == []
    named = [
        {"name": "core", "label": "core", "version_table_schema": "app_core"},
        {"name": "tenant", "label": "tenant", "version_table_schema": "app_tenant_*"},
    ]
    out = collect(root, url, configs=named)
    core, tenant = as_json(out["core/current.json"]), as_json(out["tenant/current.json"])
    assert sorted(core["schemas"]) == ["app_core"] and core["up_to_date"] is True
    assert core["version_table_schema"] == "app_core"
    assert core["not_counted"]["app_tenant_acme"] == {
        "versions": [],
        "reason": "outside the schema app_core (the alembic collector's `version_table_schema` option)",
    }
    assert tenant["schemas"]["app_tenant_acme"]["pending"] == sorted(TENANT)
    assert tenant["up_to_date"] is False and tenant["owner_unknown"] == {}
    assert tenant["not_counted"]["app_core"]["reason"].startswith("outside the schema app_tenant_*")


def test_a_configuration_whose_only_version_table_may_be_another_s_is_not_judged(
    migrated: tuple[Path, str], tmp_path: Path
) -> None:
    root, url = migrated
    for tenant in TENANTS:
        alembic(root, "-n", "tenant", "-x", f"tenant={tenant}", "downgrade", "base")
    out = collect(root, url, configs=BOTH)
    tenant = as_json(out["tenant/current.json"])
    assert tenant["schemas"] == {} and sorted(tenant["owner_unknown"]) == [
        "app_tenant_acme",
        "app_tenant_default",
    ]
    assert "no alembic_version table found" not in text(out["tenant/current.txt"])
    assert ek302(*bundle(tmp_path / "bundle", out)) == [
        "Alembic configuration tenant: no alembic_version table is surely its own "
        f"(app_tenant_acme: {EMPTY}; app_tenant_default: {EMPTY}), so whether the database is at the heads "
        f"({TENANT[-1]}) cannot be told"
    ]


TENANT_TABLE = "tenant_version"


@pytest.fixture()
def own_tables(tmp_path: Path, pg_admin_url: str) -> Iterator[tuple[Path, str]]:
    """The service with tenant migrations keeping their version in `tenant_version`, named only in env.py
    by a module constant, as `context.configure(version_table=...)` takes it; every schema at head."""
    with pg.database(pg_admin_url) as url:
        root = service(tmp_path / "svc", url)
        env = root / "db" / "tenant" / "env.py"
        env.write_text(
            env.read_text()
            .replace("\nengine = ", f"\nVERSION_TABLE = {TENANT_TABLE!r}\nengine = ", 1)
            .replace(
                "version_table_schema=SCHEMA)", "version_table_schema=SCHEMA, version_table=VERSION_TABLE)"
            )
        )
        alembic(root, "-n", "core", "upgrade", "head")
        for tenant in TENANTS:
            alembic(root, "-n", "tenant", "-x", f"tenant={tenant}", "upgrade", "head")
        yield root, url


def test_a_version_table_named_in_env_py_is_the_one_read(
    own_tables: tuple[Path, str], tmp_path: Path
) -> None:
    root, url = own_tables
    with psycopg.connect(url) as conn:
        found = conn.execute(
            "SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema LIKE 'app%'"
            " ORDER BY 1"
        ).fetchall()
    assert found == [
        ("app_core", "alembic_version"),
        ("app_tenant_acme", TENANT_TABLE),
        ("app_tenant_default", TENANT_TABLE),
    ]
    out = collect(root, url, configs=BOTH)
    core, tenant = as_json(out["core/current.json"]), as_json(out["tenant/current.json"])
    assert tenant["version_table"] == TENANT_TABLE
    assert tenant["version_table_from"] == "env.py (db/tenant/env.py:14)"
    assert (
        sorted(tenant["schemas"]) == ["app_tenant_acme", "app_tenant_default"]
        and tenant["up_to_date"] is True
    )
    assert core["version_table"] == "alembic_version" and core["version_table_from"] is None
    assert sorted(core["schemas"]) == ["app_core"] and core["not_counted"] == {}
    assert text(out["tenant/current.txt"]).startswith(
        f"version table {TENANT_TABLE} (named in env.py (db/tenant/env.py:14))\n\n"
        "[app_tenant_acme] up to date\n"
    )
    assert out["tenant/current.json"].title == f"Applied alembic version ({TENANT_TABLE})"
    assert as_json(out["tenant/summary.json"])["version_table"] == TENANT_TABLE
    before, _ = bundle(tmp_path / "before", out)
    assert ek302(*bundle(tmp_path / "at-heads", out)) == []

    # NOTE: an empty table of a name only one configuration uses is that configuration's, at base.
    alembic(root, "-n", "tenant", "-x", "tenant=acme", "downgrade", "base")
    out = collect(root, url, configs=BOTH)
    tenant = as_json(out["tenant/current.json"])
    assert tenant["schemas"]["app_tenant_acme"]["pending"] == sorted(TENANT) and tenant["owner_unknown"] == {}
    assert as_json(out["core/current.json"])["up_to_date"] is True
    after, manifest = bundle(tmp_path / "after", out)
    assert ek302(after, manifest) == [
        f"Alembic configuration tenant, schema app_tenant_acme ({TENANT_TABLE}): database is at none, "
        f"heads are {TENANT[-1]} (3 revisions not applied)"
    ]
    changes = {c.what: c for c in diff(before, after).changes}
    assert changes["[tenant] database version changed"].after == (
        f"app_tenant_acme.{TENANT_TABLE}: none; app_tenant_default.{TENANT_TABLE}: {TENANT[-1]}"
    )


def test_another_applications_version_table_is_not_counted(pg_admin_url: str, tmp_path: Path) -> None:
    with pg.database(pg_admin_url) as url:
        root = service(tmp_path / "svc", url)
        (root / "alembic.ini").write_text((root / "alembic.ini").read_text().replace("[tenant]", "[other]"))
        alembic(root, "-n", "core", "upgrade", "head")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE SCHEMA scheduler")
            conn.execute("CREATE TABLE scheduler.alembic_version (version_num varchar(32) PRIMARY KEY)")
            conn.execute("INSERT INTO scheduler.alembic_version VALUES ('0a1b2c3d4e5f')")
        out = collect(root, url, configs=[{"name": "core"}])
    current = as_json(out["current.json"])
    assert sorted(current["schemas"]) == ["app_core"] and current["up_to_date"] is True
    assert current["not_counted"]["scheduler"]["reason"] == (
        "holds only revisions unknown to alembic.ini [core], alembic.ini [other]"
    )


@pytest.mark.parametrize(
    ("ini_line", "env_value", "expected", "origin"),
    [
        ("", '"app_core"', "app_core", "env.py (db/core/env.py:"),
        ("", "SCHEMA", "app_core", "env.py (db/core/env.py:"),
        ("version_table_schema = core_from_ini\n", '"app_core"', "core_from_ini", "alembic.ini"),
        ("", "schema_for(tenant)", None, None),
        (
            "version_table_name = core_versions\n",
            "f\"{SCHEMA}_{config.get_main_option('version_table_name')}\"",
            "app_core_core_versions",
            "env.py (db/core/env.py:",
        ),
        (
            "",
            "SCHEMA + '_' + context.config.get_main_option('missing', 'versions')",
            "app_core_versions",
            "env.py",
        ),
        ("", 'f"{SCHEMA!r}_versions"', None, None),
    ],
    ids=[
        "literal",
        "module constant",
        "ini first",
        "run time",
        "f-string of an ini option",
        "sum",
        "conversion",
    ],
)
def test_version_table_is_read_statically(
    tmp_path: Path, ini_line: str, env_value: str, expected: str | None, origin: str | None
) -> None:
    root = service(tmp_path / "svc", "postgresql://u@localhost/x")
    ini = root / "alembic.ini"
    ini.write_text(ini.read_text().replace("[tenant]", ini_line.replace("_schema", "") + "\n[tenant]", 1))
    env = root / "db" / "core" / "env.py"
    env.write_text(
        env.read_text()
        .replace('os.environ.get("APP_CORE_SCHEMA", "app_core")', '"app_core"')
        .replace("version_table_schema=SCHEMA", f"version_table={env_value}")
    )
    setup = collector.resolve_setup(root, {"name": "core"}, {})
    assert setup.version_table == (expected or "alembic_version")
    assert setup.version_table_schema is None
    if origin is None:
        assert setup.version_table_from is None
    else:
        assert str(setup.version_table_from).startswith(origin)


@pytest.mark.parametrize(
    ("ini_line", "env_value", "expected", "origin"),
    [
        ("", '"app_core"', "app_core", "env.py (db/core/env.py:"),
        ("", "SCHEMA", "app_core", "env.py (db/core/env.py:"),
        ("version_table_schema = core_from_ini\n", '"app_core"', "core_from_ini", "alembic.ini"),
        ("", "schema_for(tenant)", None, None),
    ],
    ids=["literal", "module constant", "ini first", "run time"],
)
def test_version_table_schema_is_read_statically(
    tmp_path: Path, ini_line: str, env_value: str, expected: str | None, origin: str | None
) -> None:
    root = service(tmp_path / "svc", "postgresql://u@localhost/x")
    ini = root / "alembic.ini"
    ini.write_text(ini.read_text().replace("[tenant]", ini_line + "\n[tenant]", 1))
    env = root / "db" / "core" / "env.py"
    env.write_text(
        env.read_text()
        .replace('os.environ.get("APP_CORE_SCHEMA", "app_core")', '"app_core"')
        .replace("version_table_schema=SCHEMA", f"version_table_schema={env_value}")
    )
    setup = collector.resolve_setup(root, {"name": "core"}, {})
    assert setup.version_table_schema == expected
    if origin is None:
        assert setup.version_table_schema_from is None
    else:
        assert str(setup.version_table_schema_from).startswith(origin)


def test_a_bundle_made_without_a_database_url_proves_no_database_state(tmp_path: Path) -> None:
    root = service(tmp_path / "svc", "postgresql://u@localhost/x")
    ctx = Context(root=root, scratch=tmp_path / "scratch", database_problem="DB_PASSWORD is not set")
    outputs = {o.name: o for o in collector.collect(ctx, {"configs": BOTH})}
    path, manifest = bundle(tmp_path / "bundle", outputs)
    with pytest.raises(Skipped) as skipped:
        ek302(path, manifest)
    assert skipped.value.reason.startswith(
        "Alembic configuration core: the database revision was not read (data/alembic/core/current.json is "
        "skipped: the database URL cannot be built: DB_PASSWORD is not set)"
    )
    assert "no version table" not in skipped.value.reason
    assert [m for m in findings("EK304", path, manifest) if "alembic" in m] == [
        "required evidence alembic/*current.txt was not collected: alembic/core/current.txt, "
        "alembic/tenant/current.txt are skipped (the database URL cannot be built: DB_PASSWORD is not set)"
    ]


def test_a_version_table_env_py_names_at_run_time_is_said_unknown_and_where_its_revisions_are(
    tmp_path: Path, pg_admin_url: str
) -> None:
    """env.py passes `version_table=` a setting: no `alembic_version` of its own says nothing of the real
    table. The collect says which line names it, and which tables of another name hold its revisions, and
    EK302 does not judge until the option names the table; a mistyped option names the table that holds
    them instead of saying that no migration was applied."""
    with pg.database(pg_admin_url) as url:
        root = service(tmp_path / "svc", url)
        env = root / "db" / "tenant" / "env.py"
        env.write_text(
            env.read_text().replace(
                "version_table_schema=SCHEMA)",
                f'version_table_schema=SCHEMA, version_table=os.environ.get("APP_TABLE", {TENANT_TABLE!r}))',
            )
        )
        # NOTE: the service's own tables with a `version_num` column: a number, or text holding no revision.
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE documents (id int, version_num integer)")
            conn.execute("INSERT INTO documents VALUES (1, 7)")
            conn.execute("CREATE TABLE notes (version_num varchar(32))")
            conn.execute("INSERT INTO notes VALUES ('draft')")
        out = collect(root, url, configs=[{"name": "tenant"}])
        current = as_json(out["current.json"])
        assert current["version_table"] == "alembic_version" and current["schemas"] == {}
        assert (
            "documents" not in current["version_table_unknown"]
            and "notes" not in current["version_table_unknown"]
        )
        assert current["up_to_date"] is None
        assert current["version_table_unknown"].startswith("env.py (db/tenant/env.py:")
        assert (
            f"passes `version_table=os.environ.get('APP_TABLE', {TENANT_TABLE!r})`"
            in (current["version_table_unknown"])
        )
        assert "no migration has been applied" not in text(out["current.txt"])
        path, manifest = bundle(tmp_path / "b", out)
        with pytest.raises(Skipped, match=r"a table picked at run time.*cannot be told"):
            ek302(path, manifest)

        alembic(root, "-n", "tenant", "-x", "tenant=acme", "upgrade", "head")
        # NOTE: a table of another name holds the revisions: named, never taken (a tenant's may be another's).
        out = collect(root, url, configs=[{"name": "tenant"}])
        current = as_json(out["current.json"])
        assert current["version_table"] == "alembic_version" and current["up_to_date"] is None
        held = f"app_tenant_acme.{TENANT_TABLE} holds {TENANT[-1]}"
        assert current["version_table_unknown"].startswith(
            f"tables of another name hold this configuration's revisions ({held})"
        )
        path, manifest = bundle(tmp_path / "c", out)
        with pytest.raises(Skipped, match=f"app_tenant_acme.{TENANT_TABLE} holds"):
            ek302(path, manifest)
        out = collect(root, url, configs=[{"name": "tenant", "version_table": TENANT_TABLE}])
        assert as_json(out["current.json"])["up_to_date"] is True
        assert ek302(*bundle(tmp_path / "e", out)) == []

        out = collect(root, url, configs=[{"name": "tenant", "version_table": "tenant_versions"}])
        current = as_json(out["current.json"])
        assert current["up_to_date"] is None and "no migration has been applied" not in text(
            out["current.txt"]
        )
        assert f"app_tenant_acme.{TENANT_TABLE} holds {TENANT[-1]}" in current["version_table_unknown"]
        path, manifest = bundle(tmp_path / "d", out)
        with pytest.raises(Skipped, match="no tenant_versions table was found, and tables of another name"):
            ek302(path, manifest)


def test_a_configuration_declared_not_applied_is_read_and_not_judged(
    tmp_path: Path, pg_admin_url: str
) -> None:
    """Only core is applied to this database (the tenants' tree is applied elsewhere): `database: false` on
    tenant keeps its history and leaves its revision unread and unjudged, as required evidence that is there;
    without it, EK302 fails on a healthy database."""
    with pg.database(pg_admin_url) as url:
        root = service(tmp_path / "svc", url)
        alembic(root, "-n", "core", "upgrade", "head")
        apart = [{"name": "core", "label": "core"}, {"name": "tenant", "label": "tenant", "database": False}]
        out = collect(root, url, configs=apart)
        tenant = as_json(out["tenant/current.json"])
        assert tenant == {
            "status": "not_applied",
            "reason": "not applied to this database (`database: false` in evidence.yaml)",
        }
        assert out["tenant/current.txt"].status == "ok" and out["tenant/heads.txt"].status == "ok"
        assert as_json(out["tenant/summary.json"])["heads"] == [TENANT[-1]]
        path, manifest = bundle(tmp_path / "apart", out)
        assert ek302(path, manifest) == []
        assert [m for m in findings("EK304", path, manifest) if "alembic" in m] == []
        # NOTE: undeclared, the tree no table holds is blamed on the database.
        out = collect(root, url, configs=BOTH)
        assert any(
            m.startswith("Alembic configuration tenant: no alembic_version table holds")
            for m in ek302(*bundle(tmp_path / "blamed", out))
        )
        # NOTE: with every configuration declared apart, nothing is judged: skipped, with why.
        both_apart = [{**c, "database": False} for c in apart]
        path, manifest = bundle(tmp_path / "none", collect(root, url, configs=both_apart))
        with pytest.raises(Skipped, match=r"Alembic configuration core: not applied to this database"):
            ek302(path, manifest)


def test_a_version_table_built_of_a_constant_imported_from_the_service_is_read(tmp_path: Path) -> None:
    """`from app.naming import PREFIX` and `f"{PREFIX}versions"`: the service's module is read, not run;
    a constant it computes (a setting) or two that name each other stand for no table."""
    root = service(tmp_path / "svc", "postgresql://u@localhost/x")
    (root / "app").mkdir()
    naming = root / "app" / "naming.py"
    naming.write_text('PREFIX = "svc_"\nOTHER = settings.prefix\n')
    env = root / "db" / "core" / "env.py"
    base = env.read_text().replace('os.environ.get("APP_CORE_SCHEMA", "app_core")', '"app_core"')
    for value, expected in [
        ('f"{PREFIX}versions"', "svc_versions"),
        ('OTHER + "versions"', None),
        ("A", None),
    ]:
        head = "from app.naming import OTHER, PREFIX\nA = B\nB = A\n"
        env.write_text(head + base.replace("version_table_schema=SCHEMA", f"version_table={value}"))
        setup = collector.resolve_setup(root, {"name": "core"}, {})
        assert setup.version_table == (expected or "alembic_version"), value
        assert (setup.version_table_picked is None) == (expected is not None), value
