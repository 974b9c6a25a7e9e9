"""The phase documents: pre-filled from the bundle, prompts for the rest, overridable templates."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.bundle.archive import pack
from evidence_kit.bundle.writer import BundleWriter
from evidence_kit.commands.docs import DOCS, render_docs
from evidence_kit.errors import EvidenceError
from evidence_kit.model import CollectorResult, Output
from evidence_kit.redact.redactor import Redactor

SHA = "3263237f" + "0" * 32
JSON = "application/json"


def _dump(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()


def _rev(rev: str, down: list[str], message: str, head: bool = False) -> dict[str, Any]:
    return {
        "revision": rev,
        "down_revisions": down,
        "depends_on": [],
        "message": message,
        "branch_labels": [],
        "declared_branch_labels": [],
        "path": f"migrations/versions/{rev}.py",
        "is_head": head,
        "is_base": not down,
        "is_merge": False,
        "is_branch_point": False,
    }


def _outputs() -> dict[str, list[Output]]:
    routes = [
        {"path": "/jobs", "methods": ["POST"], "operation_ids": ["submit_job"]},
        {"path": "/jobs/{job_id}", "methods": ["GET"], "operation_ids": ["job_status"]},
    ]
    history = {
        "count": 2,
        "heads": ["b2c3"],
        "bases": ["a1b2"],
        "history": ["b2c3", "a1b2"],
        "revisions": [_rev("a1b2", [], "create jobs table"), _rev("b2c3", ["a1b2"], "add job events", True)],
        "problems": [],
    }
    summary = {"count": 2, "heads": ["b2c3"], "current": {"public": ["b2c3"]}, "up_to_date": True}
    tests = {
        "totals": {"tests": 2, "passed": 1, "failed": 1, "errors": 0, "skipped": 0, "duration_s": 0.5},
        "tests": [
            {"id": "tests.test_jobs::test_submit", "outcome": "passed", "duration_s": 0.2, "message": None},
            {
                "id": "tests.test_jobs::test_worker",
                "nodeid": "tests/test_jobs.py::test_worker",
                "outcome": "failed",
                "duration_s": 0.3,
                "message": "boom",
            },
        ],
    }
    return {
        "openapi": [Output("routes.json", "Routes", JSON, data=_dump(routes))],
        "alembic": [
            Output("history.json", "alembic revision graph", JSON, data=_dump(history)),
            Output("summary.json", "alembic summary", JSON, data=_dump(summary)),
        ],
        "schema": [Output("tables.txt", "Tables", data=b"public.jobs\npublic.job_events\n")],
        "tests": [Output("tests.json", "Tests", JSON, data=_dump(tests))],
        "command": [
            Output("smoke.stdout.txt", "Smoke (stdout)", data=b"ok\n", argv=("scripts/smoke",), exit_code=0),
            Output("smoke.stderr.txt", "Smoke (stderr)", data=b"", argv=("scripts/smoke",), exit_code=0),
        ],
    }


def _written(
    out: Path, outputs: Mapping[str, Sequence[Output]], service: str = "svc", phase: str = "1"
) -> Path:
    """A bundle of these outputs by collector, written by the real writer."""
    writer = BundleWriter(out, Redactor())
    for collector, items in outputs.items():
        for item in items:
            writer.add(collector, item)
    return writer.finish(
        service=service,
        phase=phase,
        git_sha=SHA,
        results=[CollectorResult(c, "ok", tuple(items)) for c, items in outputs.items()],
        host={"name": "ci", "platform": "Linux", "python": "3.11"},
        ci=None,
        created=datetime(2026, 1, 1, tzinfo=UTC),
    )


def make_bundle(out: Path, skip: tuple[str, ...] = ()) -> Path:
    outputs = {c: items for c, items in _outputs().items() if c not in skip}
    return _written(out, outputs, service="jobs-service", phase="phase-16")


@pytest.fixture()
def bundle(tmp_path: Path) -> Path:
    return make_bundle(tmp_path / "bundles")


def _read(paths: list[Path]) -> dict[str, str]:
    return {p.name: p.read_text() for p in paths}


def test_every_document_is_written_and_prefilled(bundle: Path, tmp_path: Path) -> None:
    docs = _read(render_docs(bundle, tmp_path / "docs"))
    assert sorted(docs) == sorted(DOCS)
    for text in docs.values():
        assert "jobs-service" in text and "phase-16" in text
        assert "> TODO(author):" in text
    assert "POST" in docs["endpoints.md"] and "/jobs/{job_id}" in docs["endpoints.md"]
    assert "submit_job" in docs["endpoints.md"]
    guide = docs["migration-guide.md"]
    assert "`a1b2` — create jobs table" in guide and "`b2c3` — add job events" in guide
    assert "Database at: b2c3 (up to date)" in guide
    assert "`scripts/smoke` exited 0" in guide
    rollback = docs["rollback-plan.md"]
    assert rollback.index("`b2c3`") < rollback.index("`a1b2`")
    assert "→ a1b2" in rollback and "→ base" in rollback
    assert SHA in rollback
    assert "`public.jobs`" in docs["architecture.md"] and "`public.job_events`" in docs["architecture.md"]
    notes = docs["release-notes.md"]
    assert "2 tests: 1 passed, 1 failed" in notes
    # NOTE: by its pytest node id where known (one pastes it back into pytest), else its id.
    assert "`tests/test_jobs.py::test_worker`: failed" in notes
    assert "`tests.test_jobs::test_submit`: passed" in notes
    assert "`scripts/smoke`: exit 0" in notes


def test_missing_evidence_gives_prompts(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "bundles", skip=("openapi", "alembic", "schema", "tests", "command"))
    docs = _read(render_docs(bundle, tmp_path / "docs"))
    assert "> TODO(author): no OpenAPI routes in the bundle" in docs["endpoints.md"]
    assert "> TODO(author): no Alembic history in the bundle" in docs["migration-guide.md"]
    assert "> TODO(author): no Alembic history in the bundle" in docs["rollback-plan.md"]
    assert "> TODO(author): no schema listing in the bundle" in docs["architecture.md"]
    assert "> TODO(author): no test results in the bundle" in docs["release-notes.md"]
    assert "> TODO(author): no proof commands in the bundle" in docs["release-notes.md"]


def test_an_archive_renders_like_its_folder(bundle: Path, tmp_path: Path) -> None:
    archive = pack(bundle, tmp_path / "bundle.tar.gz")
    assert _read(render_docs(archive, tmp_path / "a")) == _read(render_docs(bundle, tmp_path / "b"))


def test_an_override_template_is_used(bundle: Path, tmp_path: Path) -> None:
    own = tmp_path / "own"
    own.mkdir()
    (own / "overview.md.j2").write_text("# Ours for {{ service }}\n")
    docs = _read(render_docs(bundle, tmp_path / "docs", templates=own))
    assert docs["overview.md"] == "# Ours for jobs-service\n"
    assert "> TODO(author):" in docs["release-notes.md"]


@pytest.mark.parametrize(
    ("body", "line"),
    [("# ok\n{% if %}\n", 2), ("# ok\n\n{{ nowhere.deeper }}\n", 3)],
)
def test_a_broken_template_names_itself_and_the_line(
    bundle: Path, tmp_path: Path, body: str, line: int
) -> None:
    own = tmp_path / "own"
    own.mkdir()
    (own / "endpoints.md.j2").write_text(body)
    with pytest.raises(EvidenceError) as caught:
        render_docs(bundle, tmp_path / "docs", templates=own)
    assert "endpoints.md.j2" in caught.value.message
    assert f"line {line}" in caught.value.message
    assert not (tmp_path / "docs").exists()


def test_output_inside_the_bundle_is_refused(bundle: Path) -> None:
    with pytest.raises(EvidenceError, match="inside the bundle"):
        render_docs(bundle, bundle / "docs")
    assert not (bundle / "docs").exists()


def test_a_missing_template_folder_is_an_error(bundle: Path, tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="does not exist"):
        render_docs(bundle, tmp_path / "docs", templates=tmp_path / "nope")


def _two_configs_and_webhooks(out: Path) -> Path:
    """A bundle with two Alembic configurations (one with a merge and a no-op downgrade) and webhooks."""
    merge = {**_rev("m9", ["c1", "c2"], "merge heads", True), "is_merge": True}
    core = {
        "count": 4,
        "heads": ["m9"],
        "bases": ["c0"],
        "history": ["m9", "c2", "c1", "c0"],
        "revisions": [
            _rev("c0", [], "create core"),
            {**_rev("c1", ["c0"], "add accounts"), "path": "c1.py"},
            _rev("c2", ["c0"], "add audit"),
            merge,
        ],
        "problems": [],
        "ini": "src/svc/alembic.ini",
        "section": "core",
    }
    tenant = {
        "count": 1,
        "heads": ["t1"],
        "bases": ["t1"],
        "history": ["t1"],
        "revisions": [_rev("t1", [], "create tenant tables", True)],
        "problems": [],
    }
    noop = (
        b'revision = "c1"\ndown_revision = "c0"\n\ndef upgrade():\n    pass\n\ndef downgrade():\n    pass\n'
    )
    spec = {
        "openapi": "3.1.0",
        "paths": {"/runs": {"get": {"operationId": "list_runs"}, "post": {"operationId": "start_run"}}},
        "webhooks": {"runFinished": {"post": {"operationId": "run_finished"}}},
    }
    outputs = {
        "openapi": [Output("openapi.json", "OpenAPI", JSON, data=_dump(spec))],
        "alembic": [
            Output("core/history.json", "graph", JSON, data=_dump(core)),
            Output("core/summary.json", "summary", JSON, data=_dump({"heads": ["m9"], "up_to_date": True})),
            Output("core/migrations/c1.py", "migration", "text/x-python", data=noop),
            Output("tenant/history.json", "graph", JSON, data=_dump(tenant)),
            Output("tenant/summary.json", "summary", JSON, data=_dump({"heads": ["t1"], "up_to_date": True})),
        ],
    }
    return _written(out, outputs, service="tenants", phase="2")


def test_several_alembic_configurations_each_get_their_history(tmp_path: Path) -> None:
    docs = _read(render_docs(_two_configs_and_webhooks(tmp_path / "b"), tmp_path / "docs"))
    guide = docs["migration-guide.md"]
    assert "no Alembic history" not in guide
    assert "### Alembic configuration `core`" in guide and "### Alembic configuration `tenant`" in guide
    assert "`t1` — create tenant tables" in guide
    assert "alembic -n tenant upgrade t1" in guide
    # NOTE: a configuration whose ini lies in a sub-folder is upgraded from there, by its section.
    assert "$ cd src/svc && alembic -n core upgrade m9" in guide
    assert "Alembic configuration `tenant`: 1 migration, head: t1" in docs["overview.md"]


def test_the_rollback_plan_follows_the_graph_marking_merges_and_no_op_steps(tmp_path: Path) -> None:
    docs = _read(render_docs(_two_configs_and_webhooks(tmp_path / "b"), tmp_path / "docs"))
    plan = docs["rollback-plan.md"]
    assert "`m9` (merge heads) → c1 + c2 — merge point: downgrading it splits into 2 branches" in plan
    assert "`c1` (add accounts) → c0 — no-op downgrade" in plan
    assert "`c2` (add audit) → c0\n" in plan


def test_webhooks_are_listed_beside_the_routes(tmp_path: Path) -> None:
    docs = _read(render_docs(_two_configs_and_webhooks(tmp_path / "b"), tmp_path / "docs"))
    assert "## POST webhook runFinished" in docs["endpoints.md"]
    assert "## GET, POST /runs" in docs["endpoints.md"]
    # NOTE: paths and operations are counted apart, as the report and diff count operations.
    assert "1 API path with 2 operations and 1 webhook" in docs["overview.md"]
    assert "POST webhook `runFinished`" in docs["architecture.md"]


@pytest.mark.parametrize("location", ["alembic/versions", "backend/app/alembic/versions"])
def test_a_no_op_downgrade_is_marked_wherever_the_version_folder_lies(tmp_path: Path, location: str) -> None:
    """The collector keeps each file by its path below the version folder; history.json names it by
    its path in the repository: the plan finds the one from the other."""
    from evidence_kit.collectors import alembic as collector
    from evidence_kit.model import Context

    root = tmp_path / "svc"
    versions = root / location
    versions.mkdir(parents=True)
    script = versions.parent.relative_to(root).as_posix()
    (root / "alembic.ini").write_text(f"[alembic]\nscript_location = {script}\n")
    (versions / "2023_a1_init.py").write_text(
        'revision = "a1"\ndown_revision = None\n\ndef upgrade():\n    pass\n\n'
        'def downgrade():\n    op.drop_table("x")\n'
    )
    (versions / "2024_b2_flags.py").write_text(
        'revision = "b2"\ndown_revision = "a1"\n\ndef upgrade():\n    pass\n\ndef downgrade():\n    pass\n'
    )
    outputs = collector.collect(Context(root, tmp_path / "scratch"), {})
    bundle = _written(tmp_path / "out", {"alembic": outputs})
    plan = _read(render_docs(bundle, tmp_path / "docs"))["rollback-plan.md"]
    assert "`b2` → a1 — no-op downgrade\n" in plan and "`a1` → base\n" in plan


def test_a_message_of_several_lines_stays_on_its_list_item(tmp_path: Path) -> None:
    """A docstring whose first paragraph runs over several lines, the "Revision ID:" lines alembic writes
    right under the title (no blank line) among them: each list item stays one line."""
    # NOTE: with a comment-like leftover line among them (`# create date: ...`), left out too.
    headed = (
        "add index\nRevision ID: d20618ce678e\nRevises: 4a1a0e4f89de\n# create date: 101112\n"
        "Create Date: 2024-05-02 10:11:12.000000"
    )
    wrapped = "Add an index on jobs\n    for the claim query"
    history = {
        "count": 2,
        "heads": ["d20618ce678e"],
        "bases": ["4a1a0e4f89de"],
        "history": ["d20618ce678e", "4a1a0e4f89de"],
        "revisions": [
            _rev("4a1a0e4f89de", [], wrapped),
            _rev("d20618ce678e", ["4a1a0e4f89de"], headed, True),
        ],
        "problems": [],
    }
    bundle = _written(
        tmp_path / "b", {"alembic": [Output("history.json", "graph", JSON, data=_dump(history))]}
    )
    docs = _read(render_docs(bundle, tmp_path / "docs"))
    lines = {name: text.splitlines() for name, text in docs.items()}
    assert "- `d20618ce678e` — add index (down: 4a1a0e4f89de, head)" in lines["migration-guide.md"]
    assert (
        "- `4a1a0e4f89de` — Add an index on jobs for the claim query (down: base)"
        in lines["migration-guide.md"]
    )
    assert "1. `d20618ce678e` (add index) → 4a1a0e4f89de" in lines["rollback-plan.md"]
    assert "- `d20618ce678e` — add index" in lines["release-notes.md"]
    for text in docs.values():
        assert "Revision ID" not in text and "Create Date" not in text and "create date" not in text


def test_a_configuration_is_upgraded_from_the_folder_its_bundle_names() -> None:
    """Alembic takes a relative `script_location` from where it runs: the bundle's `run_from` says where."""
    from evidence_kit.commands.docs import _alembic_command

    graph = {"ini": "src/py/app/db/migrations/alembic.ini", "section": "alembic", "run_from": "src/py/app/db"}
    assert _alembic_command(graph, "alembic") == "cd src/py/app/db && alembic -c migrations/alembic.ini"
    # NOTE: a bundle that does not say (an earlier version's): the ini's folder, as before.
    del graph["run_from"]
    assert _alembic_command(graph, "alembic") == "cd src/py/app/db/migrations && alembic"
    assert _alembic_command({"ini": "alembic.ini", "run_from": "."}, "alembic") == "alembic"


def _alembic_bundle(out: Path, **documents: dict[str, Any]) -> Path:
    """A bundle of the alembic collector's documents alone (`history`, `summary`, `current`)."""
    outputs = [Output(f"{name}.json", name, JSON, data=_dump(doc)) for name, doc in documents.items()]
    return _written(out, {"alembic": outputs})


WRAPPED = {
    "count": 1,
    "heads": ["a1b2"],
    "bases": ["a1b2"],
    "history": ["a1b2"],
    "revisions": [_rev("a1b2", [], "create jobs table", True)],
    "problems": [],
    "ini": "src/py/app/db/migrations/alembic.ini",
    "section": "alembic",
    "run_from": "src/py/app/db",
    "plain_alembic_problem": (
        "env.py reads `config.db_url` (line 8), which Alembic's own `Config` lacks: it runs only under the "
        "service's command that hands it its own configuration"
    ),
}


def test_commands_plain_alembic_cannot_run_are_not_given_as_runnable(tmp_path: Path) -> None:
    docs = _read(render_docs(_alembic_bundle(tmp_path / "b", history=WRAPPED), tmp_path / "docs"))
    reason = str(WRAPPED["plain_alembic_problem"])
    command = "cd src/py/app/db && alembic -c migrations/alembic.ini"
    guide, plan = docs["migration-guide.md"], docs["rollback-plan.md"]
    for text, step in ((guide, "upgrade a1b2"), (plan, "downgrade <revision>")):
        assert f"Plain `alembic` cannot run this configuration: {reason}." in text
        assert f"\nRun the {step.split()[0]} with the service's own migration command;" in text
        assert f"```text\n{command} {step}\n```" in text
        assert f"$ {command}" not in text
    assert "or -1" not in plan
    # NOTE: without the problem, the commands are runnable as they are.
    fine = {k: v for k, v in WRAPPED.items() if k != "plain_alembic_problem"}
    docs = _read(render_docs(_alembic_bundle(tmp_path / "c", history=fine), tmp_path / "docs2"))
    assert f"```console\n$ {command} upgrade a1b2\n```" in docs["migration-guide.md"]
    assert f"$ {command} downgrade <revision>   # or -1" in docs["rollback-plan.md"]
    assert "cannot run" not in docs["migration-guide.md"] + docs["rollback-plan.md"]
    # NOTE: with the service's own command named in evidence.yaml, the upgrade is given as it; the
    # downgrade, whose form that command does not say, still is not.
    named = {**WRAPPED, "migrate_command": "app database upgrade --no-prompt"}
    docs = _read(render_docs(_alembic_bundle(tmp_path / "d", history=named), tmp_path / "docs3"))
    guide, plan = docs["migration-guide.md"], docs["rollback-plan.md"]
    assert "```console\n$ app database upgrade --no-prompt\n```" in guide
    assert f"```text\n{command} upgrade a1b2\n```" not in guide
    assert f"```text\n{command} downgrade <revision>\n```" in plan and "app database" not in plan
    # NOTE: Flask-Migrate's `flask db` takes Alembic's steps as they are: both are given runnable.
    flask = {
        **WRAPPED,
        "ini": "migrations/alembic.ini",
        "run_from": "migrations",
        "migrate_command": "flask db upgrade",
        "plain_alembic_problem": "env.py reads Flask's `current_app` (line 2): it runs only inside the app",
    }
    docs = _read(render_docs(_alembic_bundle(tmp_path / "e", history=flask), tmp_path / "docs4"))
    guide, plan = docs["migration-guide.md"], docs["rollback-plan.md"]
    assert "```console\n$ flask db upgrade a1b2\n```" in guide
    assert "$ flask db downgrade <revision>   # or -1" in plan
    assert "alembic downgrade" not in plan and "alembic upgrade" not in guide


def test_a_database_whose_version_table_is_unknown_is_not_called_empty(tmp_path: Path) -> None:
    picked = (
        "env.py (migrations/env.py:12) passes `version_table=settings.table`, a table picked at run time; "
        "set the alembic collector's `version_table` option to the table it names"
    )
    summary = {"count": 1, "heads": ["a1b2"], "current": {}, "up_to_date": None}
    current = {"status": "ok", "schemas": {}, "version_table_unknown": picked, "up_to_date": None}
    bundle = _alembic_bundle(tmp_path / "b", history=WRAPPED, summary=summary, current=current)
    guide = _read(render_docs(bundle, tmp_path / "docs"))["migration-guide.md"]
    assert "empty database" not in guide
    assert (f"Database at: not known: no alembic_version table was found, and {picked}.\n") in guide
    # NOTE: a database truly at no revision (its version table found empty) is still said to be empty.
    summary = {**summary, "up_to_date": False}
    current = {**current, "version_table_unknown": None, "up_to_date": False}
    bundle = _alembic_bundle(tmp_path / "c", history=WRAPPED, summary=summary, current=current)
    guide = _read(render_docs(bundle, tmp_path / "docs2"))["migration-guide.md"]
    assert "Database at: no revision (empty database) (NOT up to date)\n" in guide


def test_a_configuration_not_applied_to_the_database_is_said_so_not_empty(tmp_path: Path) -> None:
    reason = "not applied to this database (`database: false` in evidence.yaml)"
    summary = {
        "count": 1,
        "heads": ["a1b2"],
        "current": None,
        "up_to_date": None,
        "current_status": "not_applied",
    }
    current = {"status": "not_applied", "reason": reason}
    bundle = _alembic_bundle(tmp_path / "b", history=WRAPPED, summary=summary, current=current)
    guide = _read(render_docs(bundle, tmp_path / "docs"))["migration-guide.md"]
    assert f"Database at: not read: {reason}.\n" in guide
    assert "empty database" not in guide and "state it" not in guide
    # NOTE: no upgrade command that would fail on this database is given for it.
    assert f"Not in this database ({reason}): upgrade it where it is applied." in guide
    assert "upgrade a1b2" not in guide


# NOTE: two migrations, the second added by the change under review.
PHASED = {
    "count": 2,
    "heads": ["b2"],
    "bases": ["a1"],
    "history": ["b2", "a1"],
    "revisions": [_rev("a1", [], "create jobs table"), _rev("b2", ["a1"], "add job notes", True)],
    "problems": [],
}


def _documents_bundle(out: Path, documents: list[tuple[str, str, dict[str, Any]]]) -> Path:
    """A bundle of JSON documents, each as (collector, file name, content), written by the real writer."""
    outputs: dict[str, list[Output]] = {}
    for collector, name, document in documents:
        outputs.setdefault(collector, []).append(Output(name, name, JSON, data=_dump(document)))
    return _written(out, outputs, phase="2")


def test_release_notes_list_the_phase_s_migrations_when_the_base_is_recorded(tmp_path: Path) -> None:
    notes = _read(render_docs(_alembic_bundle(tmp_path / "all", history=PHASED), tmp_path / "d1"))
    text = notes["release-notes.md"]
    assert "the bundle records no base of this change (`collectors.git.base`" in text
    assert "- `a1` — create jobs table\n" in text and "- `b2` — add job notes\n" in text
    # NOTE: the bundle's range since the base names the files changed: only their migrations are listed.
    ranged = {
        "base": "origin/main",
        "base_sha": "c" * 40,
        "commits": [],
        "files": [{"status": "A", "path": "backend/migrations/versions/b2.py"}],
    }
    bundle = _documents_bundle(
        tmp_path / "ranged", [("alembic", "history.json", PHASED), ("git", "range.json", ranged)]
    )
    text = _read(render_docs(bundle, tmp_path / "d2"))["release-notes.md"]
    assert "Migrations added or changed since `origin/main` (committed or not):" in text
    assert "- `b2` — add job notes\n" in text and "`a1`" not in text


def test_release_notes_count_a_migration_not_committed_yet(tmp_path: Path) -> None:
    ranged = {"base": "HEAD~1", "base_sha": "c" * 40, "commits": [], "files": []}
    status = {"clean": False, "entries": [{"code": "??", "path": "migrations/versions/b2.py"}]}
    bundle = _documents_bundle(
        tmp_path / "b",
        [("alembic", "history.json", PHASED), ("git", "range.json", ranged), ("git", "status.json", status)],
    )
    text = _read(render_docs(bundle, tmp_path / "d"))["release-notes.md"]
    assert "- `b2` — add job notes\n" in text and "`a1`" not in text


def test_the_overview_counts_skipped_tests_apart_from_those_that_ran(tmp_path: Path) -> None:
    totals = {"tests": 3, "passed": 2, "failed": 0, "errors": 0, "skipped": 1, "xfailed": 0, "xpassed": 0}
    report = {
        "totals": totals,
        "tests": [
            {"id": "t::a", "nodeid": "t.py::a", "outcome": "passed", "duration_s": 0.1, "message": None},
            {"id": "t::b", "nodeid": "t.py::b", "outcome": "passed", "duration_s": 0.1, "message": None},
            {"id": "t::c", "nodeid": "t.py::c", "outcome": "skipped", "duration_s": 0.0, "message": "later"},
        ],
    }
    bundle = _documents_bundle(tmp_path / "b", [("tests", "tests.json", report)])
    overview = _read(render_docs(bundle, tmp_path / "d"))["overview.md"]
    assert "- tests: 2 run, 2 passed, 0 failed, 0 errors, 1 skipped" in overview
