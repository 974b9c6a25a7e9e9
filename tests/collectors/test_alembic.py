"""The alembic collector against alembic's own commands, real PostgreSQL and SQLite databases."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import psycopg
import pytest
from psycopg import sql

from evidence_kit.collectors import alembic as collector
from evidence_kit.errors import CollectorError
from evidence_kit.model import Context, Output
from tests import pythons
from tests.alembic_gen import Project, generate, plan

ALEMBIC = Path(sys.executable).with_name("alembic")


def alembic(root: Path, *args: str) -> str:
    """Run the real alembic command in `root` and return what it printed."""
    env = dict(os.environ, PYTHONIOENCODING="utf-8", PYTHONDONTWRITEBYTECODE="1")
    argv = [str(ALEMBIC), *args]
    done = subprocess.run(argv, cwd=root, env=env, capture_output=True, text=True, timeout=600, check=False)
    assert done.returncode == 0, f"alembic {' '.join(args)}: {done.stderr}"
    return done.stdout


def lines(text: str) -> list[str]:
    """Lines without trailing whitespace."""
    return [line.rstrip() for line in text.splitlines()]


def collect(root: Path, url: str | None = None, **options: Any) -> dict[str, Output]:
    """Run the collector and index its outputs by name."""
    ctx = Context(root=root, scratch=root / ".scratch", database_url=url)
    return {o.name: o for o in collector.collect(ctx, options)}


def text(output: Output) -> str:
    assert output.data is not None
    return output.data.decode()


def as_json(output: Output) -> Any:
    assert output.media_type == "application/json"
    return json.loads(text(output))


def write_revision(folder: Path, name: str, body: str) -> Path:
    """Write one hand-made revision file."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(body)
    return path


@pytest.fixture(scope="module")
def big(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A 1,000-revision history with branches, merges, labels and dependencies."""
    return generate(tmp_path_factory.mktemp("big"), 1000)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """A 40-revision history, some files in sub-folders (recursive_version_locations)."""
    return generate(tmp_path_factory.mktemp("small"), 40, seed=3, recursive=True)


def test_heads_and_history_match_alembic(small: Project) -> None:
    out = collect(small.root)
    history = alembic(small.root, "history")
    assert text(out["heads.txt"]) == alembic(small.root, "heads")
    assert text(out["history.txt"]) == history
    assert collector.read_graph(small.ini).history_text() == history
    assert any(r.subdir for r in small.revisions)


@pytest.mark.slow
def test_thousand_revisions_match_alembic(big: Project) -> None:
    out = collect(big.root)
    heads, history = alembic(big.root, "heads"), alembic(big.root, "history")
    assert lines(text(out["heads.txt"])) == lines(heads)
    assert lines(text(out["history.txt"])) == lines(history)
    # NOTE: the generated history must really exercise every marker alembic prints.
    for marker in ("(mergepoint)", "(branchpoint)", "(effective head)", "(reporting)", "(audit)", ") -> "):
        assert marker in history, marker
    assert len(lines(heads)) == 4


def test_history_json_describes_the_graph(big: Project) -> None:
    out = collect(big.root)
    graph = as_json(out["history.json"])
    assert graph["count"] == 1000 and len(graph["revisions"]) == 1000
    assert [r["revision"] for r in graph["revisions"]] == sorted(r.revision for r in big.revisions)
    assert graph["problems"] == []
    by_id = {r["revision"]: r for r in graph["revisions"]}
    for rev in big.revisions:
        entry = by_id[rev.revision]
        down = list(rev.down) if isinstance(rev.down, tuple) else [rev.down] if rev.down else []
        assert entry["down_revisions"] == down
        assert entry["depends_on"] == ([rev.depends_on] if rev.depends_on else [])
        assert entry["declared_branch_labels"] == list(rev.labels)
        second = "\nwith a second line in the first paragraph" if rev.style == 2 else ""
        assert entry["message"] == rev.message + second
        assert entry["path"].startswith("migrations/versions/") and entry["path"].endswith(".py")
        assert entry["is_merge"] == (len(down) > 1)
    children: dict[str, int] = {}
    for r in graph["revisions"]:
        for d in r["down_revisions"]:
            children[d] = children.get(d, 0) + 1
    assert graph["heads"] == sorted(r for r in by_id if r not in children)
    assert graph["branch_points"] == sorted(r for r, n in children.items() if n > 1)
    assert graph["merge_points"] == sorted(r for r, e in by_id.items() if e["is_merge"])
    assert graph["bases"] == sorted(r for r, e in by_id.items() if not e["down_revisions"])
    assert sorted(graph["history"]) == sorted(by_id)
    assert graph["branch_labels"]["reporting"] in by_id
    summary = as_json(out["summary.json"])
    assert summary["count"] == 1000 and summary["multiple_heads"] is True
    assert summary["heads"] == graph["heads"] and summary["bases"] == graph["bases"]
    assert summary["current"] is None and summary["up_to_date"] is None and summary["problems"] == 0


def test_every_migration_file_is_an_artifact(small: Project) -> None:
    out = collect(small.root)
    files = {name: o for name, o in out.items() if name.startswith("migrations/")}
    on_disk = sorted(small.versions.rglob("*.py"))
    assert len(files) == len(on_disk) == 40
    for path in on_disk:
        output = files[f"migrations/{path.relative_to(small.versions).as_posix()}"]
        assert output.data == path.read_bytes()
        assert output.media_type == "text/x-python" and output.status == "ok"


def test_output_is_deterministic(small: Project) -> None:
    first = {n: o.data for n, o in collect(small.root).items()}
    second = {n: o.data for n, o in collect(small.root).items()}
    assert first == second


def test_no_database_url_skips_current(small: Project) -> None:
    out = collect(small.root)
    for name in ("current.json", "current.txt"):
        assert out[name].status == "skipped"
        assert "no database URL" in (out[name].message or "")
    assert as_json(out["summary.json"])["current_status"] == "skipped"


def test_resolve_matches_alembic(big: Project) -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    script = ScriptDirectory.from_config(Config(str(big.ini)))
    graph = collector.read_graph(big.ini)
    first = big.revisions[0].revision
    names = [
        "reporting@head",
        "audit@head",
        "head",
        "reporting",
        "audit",
        first,
        first[:6],
        "base",
        "nope",
        f"reporting@{first}",
        f"{graph.heads[0][:5]}",
    ]
    for name in names:
        try:
            expected = script.get_revision(name)
        except CommandError:
            with pytest.raises(collector.ResolutionError):
                graph.resolve(name)
        else:
            assert graph.resolve(name) == (expected.revision if expected else None), name
    reporting_head = graph.resolve("reporting@head")
    assert reporting_head is not None and "reporting" in graph.labels[reporting_head]


def _version_table(
    conn: psycopg.Connection[Any],
    schema: str,
    versions: list[str],
    table: str = "alembic_version",
    column: str = "version_num",
) -> None:
    """Create a version table in `schema` holding `versions`, as alembic would."""
    name = sql.Identifier(schema, table)
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    create = sql.SQL("CREATE TABLE {} ({} varchar(32) NOT NULL PRIMARY KEY)")
    conn.execute(create.format(name, sql.Identifier(column)))
    for v in versions:
        conn.execute(sql.SQL("INSERT INTO {} VALUES (%s)").format(name), (v,))


@pytest.fixture(scope="module")
def stamped(pg_url: str, small: Project) -> Iterator[str]:
    """The test database with an up-to-date `public` schema and a `tenant_a` schema two steps behind."""
    graph = collector.read_graph(small.ini)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        _version_table(conn, "public", graph.real_heads)
        old = graph.history()[-3]
        _version_table(conn, "tenant_a", [old])
    yield pg_url


def test_current_postgres_every_schema(stamped: str, small: Project) -> None:
    out = collect(small.root, stamped)
    graph = collector.read_graph(small.ini)
    current = as_json(out["current.json"])
    assert out["current.json"].status == "ok" and current["status"] == "ok"
    assert current["dialect"] == "postgresql"
    assert sorted(current["schemas"]) == ["public", "tenant_a"]
    public, tenant = current["schemas"]["public"], current["schemas"]["tenant_a"]
    assert public["versions"] == sorted(graph.real_heads)
    assert public["up_to_date"] is True and public["pending"] == []
    assert public["current"] == sorted(graph.heads)
    old = graph.history()[-3]
    assert tenant["versions"] == [old] and tenant["up_to_date"] is False
    assert len(tenant["pending"]) == 40 - graph.ancestors[old].bit_count() > 0
    assert current["up_to_date"] is False
    report = text(out["current.txt"])
    assert "[public] up to date" in report
    assert f"[tenant_a] {len(tenant['pending'])} revision(s) not applied" in report
    summary = as_json(out["summary.json"])
    assert summary["current"] == {"public": sorted(graph.real_heads), "tenant_a": [old]}
    assert summary["up_to_date"] is False
    assert out["current.txt"].started and out["current.txt"].finished


def test_current_postgres_unreadable_table_is_reported(stamped: str, small: Project) -> None:
    with psycopg.connect(stamped, autocommit=True) as conn:
        _version_table(conn, "public", [small.revisions[0].revision], table="other_version")
        _version_table(conn, "broken", [], table="other_version", column="num")
    out = collect(small.root, stamped, version_table="other_version")
    current = as_json(out["current.json"])
    assert out["current.json"].status == "error"
    assert current["errors"] == {"broken": "broken.other_version has no version_num column"}
    assert current["schemas"]["public"]["versions"] == [small.revisions[0].revision]
    assert "[broken] error" in text(out["current.txt"])


def test_current_sqlite_after_real_upgrade(tmp_path: Path) -> None:
    project = generate(tmp_path / "svc", 24, seed=11)
    alembic(project.root, "upgrade", "heads")
    shown = alembic(project.root, "current")
    out = collect(project.root, "sqlite:///app.db")
    current = as_json(out["current.json"])
    main = current["schemas"]["main"]
    assert main["up_to_date"] is True and current["up_to_date"] is True
    with sqlite3.connect(project.root / "app.db") as conn:
        stored = sorted(r[0] for r in conn.execute("SELECT version_num FROM alembic_version"))
    assert main["versions"] == stored
    report = lines(text(out["current.txt"]))
    assert report[0] == "[main] up to date"
    assert sorted(report[1:]) == sorted(lines(shown))
    assert as_json(out["summary.json"])["up_to_date"] is True


def test_sqlite_without_version_table(tmp_path: Path, small: Project) -> None:
    sqlite3.connect(tmp_path / "empty.db").close()
    out = collect(small.root, f"sqlite:///{tmp_path / 'empty.db'}")
    current = as_json(out["current.json"])
    assert current["schemas"] == {} and current["up_to_date"] is False
    assert "no alembic_version table found" in text(out["current.txt"])


def test_database_down_keeps_static_outputs(small: Project) -> None:
    out = collect(small.root, "postgresql://postgres@127.0.0.1:1/x")
    for name in ("current.txt", "current.json"):
        assert out[name].status == "error"
        assert str(out[name].message).startswith(
            "cannot connect to the database at postgresql://postgres@127.0.0.1:1/x"
        )
    assert "cannot connect" in text(out["current.txt"])
    assert as_json(out["current.json"])["status"] == "error"
    for name in ("heads.txt", "history.txt", "history.json", "summary.json"):
        assert out[name].status == "ok"
    assert text(out["heads.txt"]) == alembic(small.root, "heads")
    assert as_json(out["summary.json"])["current_status"] == "error"


def test_missing_sqlite_file_is_an_error_output(small: Project, tmp_path: Path) -> None:
    out = collect(small.root, f"sqlite:///{tmp_path / 'none.db'}")
    assert out["current.txt"].status == "error" and "does not exist" in (out["current.txt"].message or "")


def test_unsupported_database_is_skipped(small: Project) -> None:
    out = collect(small.root, "mysql://u@localhost/x")
    assert out["current.txt"].status == "skipped" and "'mysql'" in (out["current.txt"].message or "")


def test_broken_files_are_reported_the_rest_read(tmp_path: Path) -> None:
    project = generate(tmp_path / "svc", 20, seed=5)
    last = project.revisions[-1].revision
    write_revision(
        project.versions,
        "zz_broken_body.py",
        (
            f'"""broken body"""\nrevision = "bbbb00000001"\ndown_revision = "{last}"\n\n'
            "def upgrade():\n    op.execute(\n\n\ndef downgrade():\n    pass\n"
        ),
    )
    write_revision(project.versions, "zz_broken_head.py", 'revision = "bbbb00000002\ndown_revision = None\n')
    write_revision(project.versions, "helpers.py", "def shared():\n    return 1\n")
    write_revision(project.versions, "zz_computed.py", 'revision = "x" + "y"\ndown_revision = None\n')
    write_revision(project.versions, "zz_no_down.py", 'revision = "bbbb00000003"\n')
    write_revision(project.versions, "__init__.py", "")
    write_revision(project.versions, ".#lock.py", "garbage(")
    out = collect(project.root)
    problems = text(out["problems.txt"]).splitlines()
    assert out["problems.txt"].status == "error" and "5 problem(s)" in (out["problems.txt"].message or "")
    expected = {
        "zz_broken_body.py": "syntax error at line",
        "zz_broken_head.py": "syntax error at line 1",
        "helpers.py": "no `revision` variable",
        "zz_computed.py": "`revision` is not a literal",
        "zz_no_down.py": "no `down_revision`",
    }
    assert len(problems) == len(expected)
    for name, reason in expected.items():
        assert any(p.startswith(f"migrations/versions/{name}: {reason}") for p in problems), name
    graph = as_json(out["history.json"])
    assert graph["count"] == 20 and len(graph["problems"]) == 5
    assert "migrations/zz_broken_body.py" in out and "migrations/__init__.py" not in out
    assert out["history.txt"].status == "ok" and out["heads.txt"].status == "ok"
    for name in expected:
        (project.versions / name).unlink()
    assert text(collect(project.root)["history.txt"]) == alembic(project.root, "history")


def test_assignment_forms(tmp_path: Path) -> None:
    versions = tmp_path / "migrations" / "versions"
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
    write_revision(
        versions,
        "a.py",
        '"""\n  first one\n\n  more"""\nrevision: str = "aaaa"\n'
        'down_revision: None = None\nbranch_labels = ["lab"]\n',
    )
    write_revision(versions, "b.py", 'revision, down_revision = "bbbb", ("aaaa",)\ndepends_on = None\n')
    write_revision(
        versions, "c.py", '"""c"""\nrevision = "cccc"\ndown_revision = ["aaaa"]\nrevision = "cccd"\n'
    )
    write_revision(
        versions,
        "d.py",
        '"""merge"""\nrevision = "dddd"\ndown_revision = ("bbbb", "cccd")\ndepends_on = ("lab",)\n',
    )
    out = collect(tmp_path)
    assert text(out["history.txt"]) == alembic(tmp_path, "history")
    assert text(out["heads.txt"]) == alembic(tmp_path, "heads") == "dddd (lab) (head)\n"
    graph = as_json(out["history.json"])
    by_id = {r["revision"]: r for r in graph["revisions"]}
    assert sorted(by_id) == ["aaaa", "bbbb", "cccd", "dddd"]
    assert by_id["aaaa"]["message"] == "first one" and by_id["bbbb"]["message"] == ""
    assert by_id["dddd"]["depends_on"] == ["lab"] and by_id["aaaa"]["is_branch_point"] is True


def test_duplicate_label_and_missing_parent_are_reported(tmp_path: Path) -> None:
    versions = tmp_path / "migrations" / "versions"
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
    write_revision(versions, "a.py", 'revision = "aaaa"\ndown_revision = None\nbranch_labels = "x"\n')
    write_revision(
        versions, "b.py", 'revision = "bbbb"\ndown_revision = "aaaa"\nbranch_labels = ("x", "aaaa")\n'
    )
    write_revision(versions, "c.py", 'revision = "cccc"\ndown_revision = "gone"\ndepends_on = "nope"\n')
    problems = as_json(collect(tmp_path)["history.json"])["problems"]
    assert problems == [
        "branch label 'aaaa' of bbbb is already used by aaaa",
        "branch label 'x' of bbbb is already used by aaaa",
        "depends_on 'nope' of revision cccc (migrations/versions/c.py) is not present",
        "down_revision 'gone' of revision cccc (migrations/versions/c.py) is not present",
    ]


def test_cycle_is_reported(tmp_path: Path) -> None:
    versions = tmp_path / "migrations" / "versions"
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
    write_revision(versions, "a.py", 'revision = "aaaa"\ndown_revision = None\n')
    write_revision(versions, "b.py", 'revision = "bbbb"\ndown_revision = ("aaaa", "cccc")\n')
    write_revision(versions, "c.py", 'revision = "cccc"\ndown_revision = "bbbb"\n')
    out = collect(tmp_path)
    assert out["history.txt"].status == "error"
    assert "cycle among revisions bbbb, cccc" in str(out["history.txt"].message)
    assert out["problems.txt"].status == "error"
    assert as_json(out["history.json"])["history"] is None


def test_missing_ini_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(CollectorError) as info:
        collect(tmp_path)
    assert str(tmp_path / "alembic.ini") in info.value.message and info.value.hint
    with pytest.raises(CollectorError) as info:
        collect(tmp_path, configs=[{"ini": "deploy/alembic.ini"}])
    assert str(tmp_path / "deploy" / "alembic.ini") in info.value.message


def test_missing_section_and_script_location(tmp_path: Path) -> None:
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = nowhere\n\n[other]\nx = 1\n")
    with pytest.raises(CollectorError, match=r"has no \[tenant\] section") as info:
        collect(tmp_path, configs=[{"name": "tenant"}])
    assert "alembic, other" in info.value.hint
    with pytest.raises(CollectorError, match=r"nowhere .* does not exist"):
        collect(tmp_path)
    with pytest.raises(CollectorError, match="no `script_location`"):
        collect(tmp_path, configs=[{"name": "other"}])


def test_two_configs_write_under_labels(tmp_path: Path) -> None:
    project = generate(tmp_path / "svc", 15, seed=2)
    ini = project.ini.read_text()
    tenant_section = "[tenant]\nscript_location = %(here)s/tenant_migrations\nversion_table = tv\n\n"
    ini = ini.replace("[loggers]", tenant_section + "[loggers]")
    project.ini.write_text(ini)
    tenant = generate(tmp_path / "other", 12, seed=9)
    (tmp_path / "svc" / "tenant_migrations").symlink_to(tenant.root / "migrations")
    out = collect(project.root, configs=[{}, {"name": "tenant", "label": "tenants"}, {"name": "gone"}])
    assert text(out["alembic/heads.txt"]) == alembic(project.root, "heads")
    assert text(out["tenants/history.txt"]) == alembic(project.root, "-n", "tenant", "history")
    assert "tenants/migrations/" + next(tenant.versions.iterdir()).name in out
    assert out["tenants/current.txt"].title == "Applied alembic version (tv)"
    assert out["gone/error.txt"].status == "error"
    assert "has no [gone] section" in str(out["gone/error.txt"].message)
    assert not any(name.startswith("migrations/") for name in out)
    with pytest.raises(CollectorError, match="same folder: alembic"):
        collect(project.root, configs=[{}, {"label": "alembic"}])
    with pytest.raises(CollectorError, match="no alembic config could be read"):
        collect(project.root, configs=[{"name": "gone"}, {"name": "missing"}])


@pytest.mark.parametrize(
    ("setting", "value"),
    [("path_separator", "os"), ("version_path_separator", ";"), (None, ", ")],
    ids=["path_separator", "version_path_separator", "legacy"],
)
def test_version_locations_match_alembic(tmp_path: Path, setting: str | None, value: str) -> None:
    root = tmp_path / "svc"
    generate(root, 14, seed=21)
    # NOTE: the second folder's plan must not reuse the first one's branch labels.
    second = plan(14, seed=22)
    for rev in second:
        rev.labels = ()
        rev.depends_on = None if rev.depends_on == "reporting" else rev.depends_on
    generate(tmp_path / "b", revisions=second)
    (root / "more").mkdir()
    (tmp_path / "b" / "migrations" / "versions").rename(root / "more" / "versions")
    sep = os.pathsep if value == "os" else value
    lines_ = f"{setting} = {value}\n" if setting else ""
    lines_ += f"version_locations = %(here)s/migrations/versions{sep}%(here)s/more/versions\n"
    ini = root / "alembic.ini"
    ini.write_text(ini.read_text().replace("path_separator = os\n", lines_))
    out = collect(root)
    assert text(out["heads.txt"]) == alembic(root, "heads")
    assert text(out["history.txt"]) == alembic(root, "history")
    assert as_json(out["summary.json"])["count"] == 28
    assert any(name.startswith("migrations/more/versions/") for name in out)
    assert any(name.startswith("migrations/migrations/versions/") for name in out)


def test_pyproject_script_location(tmp_path: Path) -> None:
    project = generate(tmp_path / "svc", 12, seed=4)
    ini = project.ini.read_text().replace("script_location = %(here)s/migrations\n", "")
    project.ini.write_text(ini)
    (project.root / "pyproject.toml").write_text('[tool.alembic]\nscript_location = "%(here)s/migrations"\n')
    out = collect(project.root)
    assert text(out["history.txt"]) == alembic(project.root, "history")
    assert as_json(out["history.json"])["script_location"] == "migrations"


def test_script_location_option_overrides_the_ini(tmp_path: Path) -> None:
    project = generate(tmp_path / "svc", 12, seed=4)
    (project.root / "migrations").rename(project.root / "db")
    out = collect(project.root, script_location="db")
    assert as_json(out["summary.json"])["count"] == 12


def test_options_schema() -> None:
    schema = collector.OPTIONS_SCHEMA
    jsonschema.Draft202012Validator.check_schema(schema)

    def walk(node: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        for name, prop in node.get("properties", {}).items():
            yield name, prop
            yield from walk(prop)
            if "items" in prop:
                yield from walk(prop["items"])

    for name, prop in walk(schema):
        assert prop.get("description"), name
    assert schema["additionalProperties"] is False
    assert schema["properties"]["configs"]["items"]["additionalProperties"] is False
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors({"configs": [{"ini": "a.ini", "name": "x", "label": "x"}]}))
    assert list(validator.iter_errors({"config": []}))


def test_docstrings_are_cleaned_like_python_3_13(monkeypatch: pytest.MonkeyPatch) -> None:
    doc = "  first\n      indented\n    second\n\n\tthird"
    if sys.version_info < (3, 13):
        assert collector._clean_doc(doc) == doc
    monkeypatch.setattr(sys, "version_info", (3, 13, 0))
    assert collector._clean_doc(doc) == "first\n  indented\nsecond\n\n    third"


def test_module_start_up_stays_light() -> None:
    probe = "import sys, evidence_kit.collectors.alembic; print(sorted(m for m in ('sqlalchemy', 'alembic', "
    probe += "'psycopg', 'tomllib') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_generator_plan_is_stable() -> None:
    first = [(r.revision, r.down, r.depends_on) for r in plan(60, seed=1)]
    assert first == [(r.revision, r.down, r.depends_on) for r in plan(60, seed=1)]
    assert len({r for r, _, _ in first}) == 60


def _revision_file(rev: str, down: str | None, extra: str = "") -> str:
    return f'"""{rev} message"""\n{extra}revision = "{rev}"\ndown_revision = {down!r}\n'


def _dialect_service(root: Path, env_line: str) -> Path:
    """A prefect-like layout: `package:path` script location, env.py picks a folder per dialect."""
    files = {
        "src/svc/__init__.py": "",
        "src/svc/db/alembic.ini": "[alembic]\nscript_location = svc:db:_migrations\nprepend_sys_path = .\n",
        "src/svc/db/_migrations/env.py": f"from alembic import context\n\n{env_line}\n",
        "src/svc/db/_migrations/versions/postgresql/p1_a.py": _revision_file("p1", None),
        "src/svc/db/_migrations/versions/postgresql/p2_b.py": _revision_file("p2", "p1"),
        "src/svc/db/_migrations/versions/sqlite/s1_a.py": _revision_file("s1", None),
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def test_env_py_that_picks_a_folder_per_dialect(tmp_path: Path) -> None:
    root = _dialect_service(tmp_path, "context.script.version_locations = [db.orm.versions_dir]")
    spec = {"ini": "src/svc/db/alembic.ini"}
    setup = collector.resolve_setup(root, spec, {}, database_url="postgresql+psycopg://u@h/db")
    assert setup.version_locations == (root / "src/svc/db/_migrations/versions/postgresql",)
    assert setup.locations_from == (
        "env.py (src/svc/db/_migrations/env.py:3) picks a folder per database dialect: postgresql"
    )
    assert setup.locations_problem is None
    url = f"sqlite:///{tmp_path / 'app.db'}"
    sqlite3.connect(tmp_path / "app.db").close()
    outs = {
        o.name: o
        for o in collector.collect(Context(root, tmp_path / "s", database_url=url), {"configs": [spec]})
    }
    assert outs["heads.txt"].data == b"s1 (head)\n"
    assert {o.name: o.message for o in outs.values() if o.status != "ok"} == {}
    history = json.loads(outs["history.json"].data or b"")
    assert history["version_locations"] == ["src/svc/db/_migrations/versions/sqlite"]


def test_env_py_folders_that_cannot_be_read_are_said(tmp_path: Path) -> None:
    root = _dialect_service(tmp_path, "context.script.version_locations = [db.orm.versions_dir]")
    unset = "the environment variable SVC_DB_URL (evidence.yaml's `database.url_env`) is not set"
    outs = {
        o.name: o
        for o in collector.collect(
            Context(root, tmp_path / "s", database_problem=unset),
            {"configs": [{"ini": "src/svc/db/alembic.ini"}]},
        )
    }
    assert outs["problems.txt"].status == "error"
    # NOTE: without a URL the dialect is unknown: the problem names the variable to set first.
    assert (
        "env.py picks the version folder by database dialect at run time (src/svc/db/_migrations/env.py:3; "
        "folders under versions/: postgresql, sqlite) and no database URL tells the dialect "
        f"({unset}): give the URL, or set the alembic collector's `version_locations` option"
    ) in (outs["problems.txt"].message or "")
    url = f"mysql://u@h/{tmp_path.name}"
    outs = {
        o.name: o
        for o in collector.collect(
            Context(root, tmp_path / "s", database_url=url), {"configs": [{"ini": "src/svc/db/alembic.ini"}]}
        )
    }
    assert "env.py sets the version locations at run time (src/svc/db/_migrations/env.py:3)" in (
        outs["problems.txt"].message or ""
    )
    assert "database dialect: mysql" in (outs["problems.txt"].data or b"").decode()
    chosen = {
        "configs": [
            {
                "ini": "src/svc/db/alembic.ini",
                "version_locations": ["src/svc/db/_migrations/versions/postgresql"],
            }
        ]
    }
    outs = {o.name: o for o in collector.collect(Context(root, tmp_path / "s"), chosen)}
    assert outs["heads.txt"].data == b"p2 (head)\n"
    assert "problems.txt" not in outs


def test_env_py_literal_locations_are_read(tmp_path: Path) -> None:
    root = _dialect_service(
        tmp_path,
        'config = context.config\nconfig.set_main_option("version_locations", "%s")'
        % (tmp_path / "src/svc/db/_migrations/versions/postgresql"),
    )
    setup = collector.resolve_setup(root, {"ini": "src/svc/db/alembic.ini"}, {})
    assert setup.version_locations == (tmp_path / "src/svc/db/_migrations/versions/postgresql",)
    assert setup.locations_problem is None


def test_the_template_separator_comment_is_ignored_without_version_locations(tmp_path: Path) -> None:
    (tmp_path / "migrations" / "versions").mkdir(parents=True)
    (tmp_path / "migrations" / "versions" / "a1_x.py").write_text(_revision_file("a1", None))
    line = "version_path_separator = os  # Use os.pathsep. Default configuration used for new projects.\n"
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/migrations\n" + line)
    assert collector.resolve_setup(tmp_path, {}, {}).version_locations == (
        tmp_path / "migrations" / "versions",
    )
    with (tmp_path / "alembic.ini").open("a") as ini:
        ini.write("version_locations = %(here)s/migrations/versions\n")
    with pytest.raises(
        CollectorError, match=r"version_path_separator 'os  # Use os.pathsep.*' .* is not valid"
    ):
        collector.resolve_setup(tmp_path, {}, {})


def test_migrations_in_newer_syntax_are_read_by_the_service_interpreter(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    if sys.version_info >= (3, 12):
        pytest.skip("the tool's own Python reads 3.12 syntax")
    python = pythons.venv(tmp_path_factory, "3.12", [], pip=False)
    (tmp_path / "migrations" / "versions").mkdir(parents=True)
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
    newer = 'type Rows = list[dict[str, int]]\nNOTE = f"{"nested"}"\n'
    (tmp_path / "migrations" / "versions" / "a1_x.py").write_text(_revision_file("a1", None))
    (tmp_path / "migrations" / "versions" / "b2_y.py").write_text(_revision_file("b2", "a1", newer))
    without = {o.name: o for o in collector.collect(Context(tmp_path, tmp_path / "s"), {})}
    assert "syntax error" in (without["problems.txt"].data or b"").decode()
    outs = {o.name: o for o in collector.collect(Context(tmp_path, tmp_path / "s", python=str(python)), {})}
    assert "problems.txt" not in outs
    assert outs["heads.txt"].data == b"b2 (head)\n"
    assert json.loads(outs["history.json"].data or b"")["parsed_by_service_python"] == 1


def test_an_ini_inside_its_migrations_folder_is_run_from_the_folder_above(tmp_path: Path) -> None:
    """`script_location = migrations` in `app/db/migrations/alembic.ini`: Alembic takes the path from
    where it runs, so it runs in `app/db`; the collector reads that folder and says where to run."""
    migrations = tmp_path / "src" / "app" / "db" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
    (migrations / "script.py.mako").write_text("")
    write_revision(migrations / "versions", "a.py", 'revision = "aaaa"\ndown_revision = None\n')
    write_revision(migrations / "versions", "b.py", 'revision = "bbbb"\ndown_revision = "aaaa"\n')
    out = collect(tmp_path, configs=[{"ini": "src/app/db/migrations/alembic.ini"}])
    graph = as_json(out["history.json"])
    assert graph["script_location"] == "src/app/db/migrations" and graph["run_from"] == "src/app/db"
    # NOTE: the real alembic, run where the graph says, with the ini as the graph's invocation names it.
    from evidence_kit.evidence.alembic import invocation

    folder, words = invocation(graph["ini"], graph["section"], graph["run_from"])
    assert (folder, words) == ("src/app/db", ["alembic", "-c", "migrations/alembic.ini"])
    assert text(out["heads.txt"]) == alembic(tmp_path / folder, *words[1:], "heads") == "bbbb (head)\n"
    # NOTE: an ini whose `script_location` exists from its own folder is run there, as before.
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = src/app/db/migrations\n")
    assert as_json(collect(tmp_path)["history.json"])["run_from"] == "."


def test_an_env_py_written_for_a_wrapper_s_configuration_is_named_as_plain_alembic_cannot_run_it(
    tmp_path: Path,
) -> None:
    """env.py that reads `config.db_url` runs only under the service's command that hands it a `Config`
    of its own: the graph says so, with the line; one that reads only what Alembic's `Config` has does not."""
    versions = tmp_path / "migrations" / "versions"
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
    write_revision(versions, "a.py", 'revision = "aaaa"\ndown_revision = None\n')
    env = tmp_path / "migrations" / "env.py"
    env.write_text(
        "from alembic import context\n"
        "config = context.config\n"
        "url = config.get_main_option('sqlalchemy.url')\n"
        "section = config.get_section(config.config_ini_section)\n"
    )
    assert as_json(collect(tmp_path)["history.json"])["plain_alembic_problem"] is None
    env.write_text(
        "from alembic import context\n"
        "from wrapper import CommandConfig\n"
        "config: CommandConfig = context.config\n"
        "section = config.get_section(config.config_ini_section)\n"
        "context.configure(url=config.db_url, version_table=config.version_table_name)\n"
    )
    graph = as_json(collect(tmp_path, configs=[{"migrate_command": "app database upgrade"}])["history.json"])
    assert graph["migrate_command"] == "app database upgrade"
    problem = as_json(collect(tmp_path)["history.json"])["plain_alembic_problem"]
    assert problem.startswith("env.py reads `config.db_url` (line 5), which Alembic's own `Config` lacks")
    # NOTE: and so does a read of `context.config` itself.
    env.write_text("from alembic import context\nurl = context.config.engine_url\n")
    assert (
        "`context.config.engine_url` (line 2)"
        in as_json(collect(tmp_path)["history.json"])["plain_alembic_problem"]
    )


def test_a_sqlite_table_of_another_name_holding_the_revisions_is_named_not_taken(tmp_path: Path) -> None:
    """env.py names its version table at run time; in SQLite, a table of another name with a `version_num`
    column holds a revision of this configuration: the collect names it, and does not say none applied."""
    versions = tmp_path / "migrations" / "versions"
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
    write_revision(versions, "a.py", 'revision = "aaaa"\ndown_revision = None\n')
    (tmp_path / "migrations" / "env.py").write_text(
        "import os\nfrom alembic import context\n"
        'context.configure(url="sqlite:///app.db", version_table=os.environ.get("TABLE", "ddl_version"))\n'
    )
    db_path = tmp_path / "app.db"
    with sqlite3.connect(db_path) as conn:
        conn.execute("CREATE TABLE ddl_version (version_num VARCHAR(32) NOT NULL PRIMARY KEY)")
        conn.execute("INSERT INTO ddl_version VALUES ('aaaa')")
        conn.execute("CREATE TABLE notes (version_num TEXT)")
        conn.execute("INSERT INTO notes VALUES ('draft')")
    conn.close()
    out = collect(tmp_path, f"sqlite:///{db_path}")
    current = as_json(out["current.json"])
    assert current["up_to_date"] is None and current["schemas"] == {}
    assert current["version_table_unknown"].startswith(
        "tables of another name hold this configuration's revisions (main.ddl_version holds aaaa)"
    )
    assert "no migration has been applied" not in text(out["current.txt"])
    # NOTE: no revision read, no evidence that passes for one (EK304 counts only `ok` artifacts).
    assert out["current.json"].status == out["current.txt"].status == "skipped"
    assert "set the alembic configuration's `version_table`" in (out["current.txt"].message or "")
    assert (
        as_json(collect(tmp_path, f"sqlite:///{db_path}", version_table="ddl_version")["current.json"])[
            "up_to_date"
        ]
        is True
    )
