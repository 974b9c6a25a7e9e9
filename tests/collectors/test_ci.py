"""The ci collector: workflow inventory, artifacts, pinning, DB steps, malformed files, a missing folder."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.collectors import ci
from evidence_kit.errors import CollectorError
from evidence_kit.model import Context, Output

SHA = "5d5d22a31266ced268874388b861e4b58bb5c2f3"

CI_YML = """\
name: CI
on:
  push:
    branches: [main]
  pull_request:
permissions:
  contents: read
jobs:
  test:
    name: Backend tests
    runs-on: ubuntu-latest
    services:
      postgres:
        image: postgres:15-alpine
        env:
          POSTGRES_PASSWORD: postgres
        ports: ["5432:5432"]
    steps:
      - uses: actions/checkout@v4
      - name: Install
        run: pip install -r requirements.txt pytest alembic
      - name: Migrate
        run: |
          cd backend
          alembic upgrade head
      - name: Tests
        run: |
          python -m pytest \\
            -q tests
      - name: Upload test results
        uses: actions/upload-artifact@v4
        with:
          name: test-results
          path: reports/
          retention-days: 7
  schema:
    runs-on: ubuntu-latest
    needs: test
    permissions:
      contents: read
      id-token: write
    steps:
      - name: Schema snapshot
        run: podman exec app-postgres pg_dump --schema-only --no-owner -U app app > schema.sql
      - name: Upload schema
        uses: actions/upload-artifact@v4
        with:
          name: schema
          path: |
            schema.sql
            alembic.ini
          retention-days: 30
"""

EVIDENCE_YML = f"""\
name: Evidence
on: [push, pull_request]
jobs:
  bundle:
    runs-on: [self-hosted, linux]
    steps:
      - uses: actions/download-artifact@v4
        with:
          name: test-results
          path: downloaded/
      - uses: ./.github/actions/bundle
      - uses: docker://alpine:3.19
      - name: Upload bundle
        uses: actions/upload-artifact@{SHA}  # v4.3.1 pinned by SHA
        with:
          name: evidence-bundle
          path: .evidence/
          retention-days: 90
"""

NIGHTLY_YAML = """\
on: workflow_dispatch
permissions: read-all
jobs:
  lint:
    uses: octo/shared/.github/workflows/lint.yml@main
"""

BROKEN_YML = """\
on: push
jobs:
  x: [unclosed
"""


def _write(root: Path, files: dict[str, str]) -> None:
    folder = root / ".github" / "workflows"
    folder.mkdir(parents=True)
    for name, text in files.items():
        (folder / name).write_text(text)


def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def _by_name(outputs: list[Output]) -> dict[str, Output]:
    return {o.name: o for o in outputs}


def _report(outputs: list[Output]) -> dict[str, Any]:
    data = _by_name(outputs)["workflows.json"].data
    assert data is not None
    result: dict[str, Any] = json.loads(data)
    return result


def _text(output: Output) -> str:
    assert output.data is not None
    return output.data.decode()


@pytest.fixture()
def repo(tmp_path: Path) -> Path:
    _write(
        tmp_path,
        {
            "ci.yml": CI_YML,
            "evidence.yml": EVIDENCE_YML,
            "nightly.yaml": NIGHTLY_YAML,
            "broken.yml": BROKEN_YML,
            ".gitkeep": "",
        },
    )
    return tmp_path


def test_workflows_are_inventoried_per_file_in_order(repo: Path) -> None:
    outputs = ci.collect(Context(repo, repo / "scratch"), {})
    assert [o.name for o in outputs] == ["workflows.json", "summary.txt", "broken.yml.error.txt"]
    report = _report(outputs)
    assert (report["path"], report["globs"], report["found"]) == (
        ".github/workflows",
        ["*.yml", "*.yaml"],
        True,
    )
    assert [w["file"] for w in report["workflows"]] == [
        ".github/workflows/broken.yml",
        ".github/workflows/ci.yml",
        ".github/workflows/evidence.yml",
        ".github/workflows/nightly.yaml",
    ]
    files = {w["file"].rsplit("/", 1)[1]: w for w in report["workflows"]}
    assert {name: (w.get("triggers"), w.get("pull_request")) for name, w in files.items()} == {
        "broken.yml": (None, None),
        "ci.yml": (["pull_request", "push"], True),
        "evidence.yml": (["pull_request", "push"], True),
        "nightly.yaml": (["workflow_dispatch"], False),
    }
    assert files["ci.yml"]["on"] == {"push": {"branches": ["main"]}, "pull_request": None}
    assert files["nightly.yaml"]["on"] == "workflow_dispatch"
    assert files["ci.yml"]["permissions"] == {"contents": "read"}
    assert files["nightly.yaml"]["permissions"] == "read-all"
    assert files["evidence.yml"]["permissions"] is None


def test_jobs_services_and_permissions(repo: Path) -> None:
    wf = {w["file"]: w for w in _report(ci.collect(Context(repo, repo / "s"), {}))["workflows"]}
    jobs = wf[".github/workflows/ci.yml"]["jobs"]
    assert jobs[0] == {
        "id": "test",
        "line": 9,
        "name": "Backend tests",
        "runs_on": "ubuntu-latest",
        "needs": [],
        "if": None,
        "permissions": None,
        "services": [{"id": "postgres", "image": "postgres:15-alpine"}],
        "container": None,
        "uses": None,
        "steps": 5,
    }
    assert (jobs[1]["id"], jobs[1]["needs"], jobs[1]["permissions"]) == (
        "schema",
        ["test"],
        {"contents": "read", "id-token": "write"},
    )
    assert wf[".github/workflows/evidence.yml"]["jobs"][0]["runs_on"] == ["self-hosted", "linux"]
    lint = wf[".github/workflows/nightly.yaml"]["jobs"][0]
    assert (lint["uses"], lint["steps"]) == ("octo/shared/.github/workflows/lint.yml@main", 0)


def test_artifacts_with_retention(repo: Path) -> None:
    wf = {w["file"]: w for w in _report(ci.collect(Context(repo, repo / "s"), {}))["workflows"]}
    assert wf[".github/workflows/ci.yml"]["artifacts"] == [
        {
            "job": "test",
            "step": "Upload test results",
            "step_index": 5,
            "line": 30,
            "kind": "upload",
            "action": "actions/upload-artifact",
            "ref": "v4",
            "uses": "actions/upload-artifact@v4",
            "name": "test-results",
            "path": "reports/",
            "retention_days": 7,
            "if_no_files_found": None,
        },
        {
            "job": "schema",
            "step": "Upload schema",
            "step_index": 2,
            "line": 45,
            "kind": "upload",
            "action": "actions/upload-artifact",
            "ref": "v4",
            "uses": "actions/upload-artifact@v4",
            "name": "schema",
            "path": "schema.sql\nalembic.ini",
            "retention_days": 30,
            "if_no_files_found": None,
        },
    ]
    evidence = wf[".github/workflows/evidence.yml"]["artifacts"]
    assert evidence[0] == {
        "job": "bundle",
        "step": "actions/download-artifact@v4",
        "step_index": 1,
        "line": 7,
        "kind": "download",
        "action": "actions/download-artifact",
        "ref": "v4",
        "uses": "actions/download-artifact@v4",
        "name": "test-results",
        "path": "downloaded/",
        "retention_days": None,
        "pattern": None,
    }
    assert (evidence[1]["kind"], evidence[1]["ref"], evidence[1]["retention_days"]) == ("upload", SHA, 90)


def test_uses_pinning_local_docker_and_reusable_workflows(repo: Path) -> None:
    wf = {w["file"]: w for w in _report(ci.collect(Context(repo, repo / "s"), {}))["workflows"]}
    uses = [
        (u["uses"], u["kind"], u["action"], u["ref"], u["pinned_by_sha"])
        for u in wf[".github/workflows/evidence.yml"]["uses"]
    ]
    assert uses == [
        ("actions/download-artifact@v4", "action", "actions/download-artifact", "v4", False),
        ("./.github/actions/bundle", "local", "./.github/actions/bundle", None, None),
        ("docker://alpine:3.19", "docker", "alpine", "3.19", False),
        (f"actions/upload-artifact@{SHA}", "action", "actions/upload-artifact", SHA, True),
    ]
    (lint,) = wf[".github/workflows/nightly.yaml"]["uses"]
    assert (lint["kind"], lint["job"], lint["step"], lint["ref"], lint["pinned_by_sha"]) == (
        "workflow",
        "lint",
        None,
        "main",
        False,
    )


def test_alembic_pytest_and_pg_dump_steps(repo: Path) -> None:
    wf = {w["file"]: w for w in _report(ci.collect(Context(repo, repo / "s"), {}))["workflows"]}
    steps = [
        (s["job"], s["step"], s["line"], s["tool"], s["command"])
        for s in wf[".github/workflows/ci.yml"]["db_steps"]
    ]
    # NOTE: `pip install ... pytest alembic` installs the tools and is rightly absent.
    assert steps == [
        ("test", "Migrate", 22, "alembic", "alembic upgrade head"),
        ("test", "Tests", 26, "pytest", "python -m pytest -q tests"),
        (
            "schema",
            "Schema snapshot",
            43,
            "pg_dump",
            "podman exec app-postgres pg_dump --schema-only --no-owner -U app app > schema.sql",
        ),
    ]


def test_db_commands_are_command_words_not_paths_or_installs() -> None:
    script = (
        "pip install pytest-cov alembic\n"
        "cp alembic.ini build/ && ls backend/alembic/versions\n"
        "# pytest is run below\n"
        "uv sync && .venv/bin/pytest -x\n"
        "PGPASSWORD=x pg_dump -s app > a.sql; alembic current\n"
    )
    assert ci.db_commands(script) == [
        ("pytest", "uv sync && .venv/bin/pytest -x", None),
        ("alembic", "PGPASSWORD=x pg_dump -s app > a.sql; alembic current", None),
        ("pg_dump", "PGPASSWORD=x pg_dump -s app > a.sql; alembic current", None),
    ]


TASKFILE = """\
version: "3"
tasks:
  py:test:
    desc: run the tests
    deps: [py:migrate]
    cmds:
      - poetry run pytest
      - task: py:coverage
  py:migrate:
    cmds:
      - cmd: poetry run alembic upgrade head
  py:coverage: poetry run coverage report
  docs: mkdocs build
"""
MAKEFILE = """\
.PHONY: test check
check: lint test
lint:
\truff check .
test: ; @echo tests
\t-python -m pytest \\
\t  -q tests
%.o: %.c
\tcc -c $<
"""
JUSTFILE = """\
set dotenv-load

# the tests
test *args: build
    pytest {{args}}

build:
    pip install -e .
"""


@pytest.mark.parametrize(
    ("files", "run", "expected"),
    [
        (
            {"Taskfile.yml": TASKFILE},
            "task py:test",
            [
                ("alembic", "task py:test", "Taskfile.yml: poetry run alembic upgrade head"),
                ("pytest", "task py:test", "Taskfile.yml: poetry run pytest"),
            ],
        ),
        ({"Taskfile.yml": TASKFILE}, "task docs", []),
        (
            {"Makefile": MAKEFILE},
            "make check",
            [("pytest", "make check", "Makefile: python -m pytest -q tests")],
        ),
        ({"Makefile": MAKEFILE}, "make lint", []),
        # NOTE: a runner told to read another folder or file is not followed.
        ({"Makefile": MAKEFILE}, "make -C backend check", []),
        ({"justfile": JUSTFILE}, "just test -x", [("pytest", "just test -x", "justfile: pytest {{args}}")]),
        (
            {
                "scripts/tests-start.sh": "#!/bin/sh\nset -e\n# pytest below\nbash scripts/test.sh\n",
                "scripts/test.sh": "coverage run -m pytest tests/\n",
            },
            'uv run bash scripts/tests-start.sh "Coverage"',
            [
                (
                    "pytest",
                    'uv run bash scripts/tests-start.sh "Coverage"',
                    "scripts/test.sh: coverage run -m pytest tests/",
                )
            ],
        ),
        ({"x.sh": "pytest\n"}, "cat x.sh", []),
        # NOTE: an install before the tests on the same line of a script does not hide them.
        (
            {"t.sh": "pip install -e . && pytest -q\n"},
            "./t.sh",
            [("pytest", "./t.sh", "./t.sh: pip install -e . && pytest -q")],
        ),
        # NOTE: a Taskfile of the wrong shapes gives nothing, and fails nothing.
        ({"Taskfile.yml": "tasks:\n  t:\n    deps: 5\n    cmds: 5\n  u:\n    deps: lint\n"}, "task t", []),
        (
            {"Taskfile.yml": "tasks:\n  u:\n    deps: lint\n  lint: pytest\n"},
            "task u",
            [("pytest", "task u", "Taskfile.yml: pytest")],
        ),
        ({"x.sh": "pytest\n"}, "bash ../x.sh", []),
        # NOTE: taskipy's tasks (`task` too, where no Taskfile is) and poe's, behind `uv run` as well.
        (
            {
                "pyproject.toml": '[tool.taskipy.tasks]\ndb_migrate = "python -m scripts.db upgrade"\n'
                'pre_test = "alembic upgrade head"\ntest = { cmd = "pytest -x", help = "tests" }\n'
            },
            "uv run task test",
            [
                ("alembic", "uv run task test", "pyproject.toml: alembic upgrade head"),
                ("pytest", "uv run task test", "pyproject.toml: pytest -x"),
            ],
        ),
        # NOTE: a service's own migration command runs Alembic; a message about one does not.
        (
            {"pyproject.toml": '[tool.taskipy.tasks]\ndb_migrate = "python -m scripts.db upgrade"\n'},
            "uv run task db_migrate && echo 'now run flask db upgrade'",
            [
                (
                    "alembic",
                    "uv run task db_migrate && echo 'now run flask db upgrade'",
                    "pyproject.toml: python -m scripts.db upgrade",
                )
            ],
        ),
        # NOTE: another tool's own database is not the service's.
        ({}, "airflow db upgrade && mlflow db upgrade sqlite:///mlflow.db", []),
        (
            {"pyproject.toml": '[tool.poe.tasks]\nmigrate = "alembic upgrade head"\nci = ["migrate"]\n'},
            "poetry run poe ci",
            [("alembic", "poetry run poe ci", "pyproject.toml: alembic upgrade head")],
        ),
        (
            {"pyproject.toml": "[tool.taskipy.tasks]\nt = 5\n", "Taskfile.yml": "tasks:\n  t: pytest\n"},
            "task t",
            [("pytest", "task t", "Taskfile.yml: pytest")],
        ),
        ({"pyproject.toml": "[tool.taskipy"}, "task t", []),
        ({}, "task py:test", []),
        ({"Taskfile.yml": "tasks: [not, a, mapping"}, "task py:test", []),
    ],
)
def test_db_commands_follow_task_runner_targets(
    tmp_path: Path, files: dict[str, str], run: str, expected: list[tuple[str, str, str]]
) -> None:
    _tree(tmp_path, files)
    assert ci.db_commands(run, tmp_path) == expected
    assert ci.db_commands(run) == []


def test_task_expansion_reads_each_target_once_and_stays_in_its_folder(tmp_path: Path) -> None:
    from evidence_kit.support import tasks

    # NOTE: 40 targets each depending on every later one: exponential without memory of what was expanded.
    names = [f"t{i}" for i in range(40)]
    rules = "".join(f"{n}: {' '.join(names[i + 1 :])}\n\tpytest -k {n}\n" for i, n in enumerate(names))
    _tree(tmp_path / "deep", {"Makefile": rules})
    got = tasks.commands(tmp_path / "deep", "make", "t0")
    assert len(got) == 40 and got[-1] == ("Makefile", "pytest -k t0")
    outside = tmp_path / "outside.sh"
    outside.write_text("alembic upgrade head\n")
    (tmp_path / "deep" / "scripts").mkdir()
    (tmp_path / "deep" / "scripts" / "link.sh").symlink_to(outside)
    assert tasks.commands(tmp_path / "deep", "script", "scripts/link.sh") == []
    assert tasks.commands(tmp_path / "deep", "script", "../outside.sh") == []


def test_a_step_running_a_task_says_what_the_task_runs(tmp_path: Path) -> None:
    workflow = (
        "on: push\njobs:\n  test:\n    defaults:\n      run:\n        working-directory: backend\n"
        "    steps:\n      - name: Tests\n        run: task py:test\n"
        "      - name: Outside\n        working-directory: ../..\n        run: task py:test\n"
    )
    _tree(tmp_path, {".github/workflows/ci.yml": workflow, "backend/Taskfile.yml": TASKFILE})
    outputs = ci.collect(Context(tmp_path, tmp_path / "s"), {})
    (wf,) = _report(outputs)["workflows"]
    assert [(s["step"], s["tool"], s["via"]) for s in wf["db_steps"]] == [
        ("Tests", "alembic", "backend/Taskfile.yml: poetry run alembic upgrade head"),
        ("Tests", "pytest", "backend/Taskfile.yml: poetry run pytest"),
    ]
    assert (
        "Steps running pytest (1):\n  .github/workflows/ci.yml:8 job test step 'Tests': task py:test "
        "(runs backend/Taskfile.yml: poetry run pytest)\n"
    ) in _text(_by_name(outputs)["summary.txt"])


def test_a_task_file_many_steps_call_is_parsed_once_per_collect(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evidence_kit.support import tasks

    steps = "".join(f"      - name: Step {i}\n        run: task py:test\n" for i in range(6))
    workflow = "on: push\njobs:\n  test:\n    steps:\n" + steps
    _tree(
        tmp_path,
        {".github/workflows/a.yml": workflow, ".github/workflows/b.yml": workflow, "Taskfile.yml": TASKFILE},
    )
    parsed: list[str] = []
    real = tasks._taskfile

    def counted(text: str) -> Any:
        parsed.append(text)
        return real(text)

    monkeypatch.setattr(tasks, "_taskfile", counted)
    workflows = _report(ci.collect(Context(tmp_path, tmp_path / "s"), {}))["workflows"]
    assert [len(w["db_steps"]) for w in workflows] == [12, 12] and len(parsed) == 1


def test_malformed_yaml_is_recorded_per_file_and_not_fatal(repo: Path) -> None:
    outputs = _by_name(ci.collect(Context(repo, repo / "s"), {}))
    report = _report(list(outputs.values()))
    broken = report["workflows"][0]
    assert broken == {
        "file": ".github/workflows/broken.yml",
        "tracked": None,
        "error": "ParserError: while parsing a flow sequence (line 3, column 6): "
        "did not find expected ',' or ']' (line 4, column 1)",
    }
    error = outputs["broken.yml.error.txt"]
    assert error.status == "error"
    assert error.message == f"{broken['file']}: {broken['error']}"
    assert _text(error) == f"{broken['file']}: {broken['error']}\n"
    assert outputs["workflows.json"].status == "ok" and outputs["summary.txt"].status == "ok"
    assert all(w["error"] is None for w in report["workflows"][1:])


def test_non_mapping_document_is_an_error_entry(tmp_path: Path) -> None:
    _write(tmp_path, {"list.yml": "- a\n- b\n", "empty.yml": ""})
    outputs = ci.collect(Context(tmp_path, tmp_path / "s"), {})
    report = _report(outputs)
    assert [(w["file"], w["error"]) for w in report["workflows"]] == [
        (
            ".github/workflows/empty.yml",
            "ValueError: not a workflow: the top level is NoneType, not a mapping",
        ),
        (".github/workflows/list.yml", "ValueError: not a workflow: the top level is list, not a mapping"),
    ]
    assert sorted(o.name for o in outputs if o.status == "error") == [
        "empty.yml.error.txt",
        "list.yml.error.txt",
    ]


def test_summary_reads_like_an_audit(repo: Path) -> None:
    summary = _text(_by_name(ci.collect(Context(repo, repo / "s"), {}))["summary.txt"])
    w = ".github/workflows"
    expected_blocks = [
        f"CI workflows in {w}: 4 file(s), 3 read, 1 unreadable\n",
        f"PR-triggered workflows (2):\n  {w}/ci.yml (on: pull_request, push)\n"
        f"  {w}/evidence.yml (on: pull_request, push)\n",
        f"Not PR-triggered (1):\n  {w}/nightly.yaml (on: workflow_dispatch)\n",
        f"Service containers (1):\n  {w}/ci.yml:9 job test: service postgres image postgres:15-alpine\n",
        f"Artifact uploads (3):\n"
        f"  {w}/ci.yml:30 job test step 'Upload test results': actions/upload-artifact@v4 name=test-results "
        "path=reports/ retention-days=7\n"
        f"  {w}/ci.yml:45 job schema step 'Upload schema': actions/upload-artifact@v4 name=schema "
        "path=schema.sql, alembic.ini retention-days=30\n",
        f"Artifact downloads (1):\n  {w}/evidence.yml:7 job bundle: actions/download-artifact@v4 "
        "name=test-results path=downloaded/\n",
        "Retention days used: 7, 30, 90\n",
        f"Actions pinned by commit SHA (or image digest) (1):\n"
        f"  {w}/evidence.yml:13 job bundle step 'Upload bundle': actions/upload-artifact@{SHA}\n",
        f"Local actions and workflows (1):\n  {w}/evidence.yml:11 job bundle: ./.github/actions/bundle\n",
        f"Steps running alembic (1):\n  {w}/ci.yml:22 job test step 'Migrate': alembic upgrade head\n",
        f"Steps running pg_dump (1):\n  {w}/ci.yml:43 job schema step 'Schema snapshot': podman exec "
        "app-postgres pg_dump --schema-only --no-owner -U app app > schema.sql\n",
        f"Steps running pytest (1):\n  {w}/ci.yml:26 job test step 'Tests': python -m pytest -q tests\n",
        f"Permissions (4):\n  {w}/ci.yml: top-level contents: read\n"
        f"    job schema: contents: read, id-token: write\n  {w}/evidence.yml: top-level not set\n"
        f"  {w}/nightly.yaml: top-level read-all\n",
        f"Unreadable workflow files (1):\n  {w}/broken.yml: ParserError: while parsing a flow sequence",
    ]
    for block in expected_blocks:
        assert block in summary
    unpinned = summary.split("Actions not pinned by commit SHA (or image digest) (6):\n", 1)[1].split("\n\n")[
        0
    ]
    assert unpinned.splitlines() == [
        f"  {w}/ci.yml:19 job test: actions/checkout@v4",
        f"  {w}/ci.yml:30 job test step 'Upload test results': actions/upload-artifact@v4",
        f"  {w}/ci.yml:45 job schema step 'Upload schema': actions/upload-artifact@v4",
        f"  {w}/evidence.yml:7 job bundle: actions/download-artifact@v4",
        f"  {w}/evidence.yml:12 job bundle: docker://alpine:3.19",
        f"  {w}/nightly.yaml:4 job lint: octo/shared/.github/workflows/lint.yml@main",
    ]


def test_output_is_deterministic(repo: Path) -> None:
    first = [(o.name, o.data) for o in ci.collect(Context(repo, repo / "s"), {})]
    second = [(o.name, o.data) for o in ci.collect(Context(repo, repo / "s"), {})]
    assert first == second


def test_missing_folder_is_reported_not_raised(tmp_path: Path) -> None:
    outputs = ci.collect(Context(tmp_path, tmp_path / "s"), {})
    assert [(o.name, o.status) for o in outputs] == [("workflows.json", "ok"), ("summary.txt", "ok")]
    assert _report(outputs) == {
        "path": ".github/workflows",
        "globs": ["*.yml", "*.yaml"],
        "found": False,
        "workflows": [],
    }
    assert _text(outputs[1]) == "No workflows found: the folder .github/workflows does not exist.\n"


def test_empty_folder_and_custom_path_and_globs(tmp_path: Path) -> None:
    (tmp_path / "ci" / "nested").mkdir(parents=True)
    outputs = ci.collect(Context(tmp_path, tmp_path / "s"), {"path": "ci"})
    assert _text(outputs[1]) == "No workflows found: no workflow file in ci.\n"
    (tmp_path / "ci" / "nested" / "deep.yml").write_text(NIGHTLY_YAML)
    report = _report(ci.collect(Context(tmp_path, tmp_path / "s"), {"path": "ci", "globs": ["**/*.yml"]}))
    assert [w["file"] for w in report["workflows"]] == ["ci/nested/deep.yml"]


def test_a_path_may_reach_up_inside_the_repository_never_out_of_it(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    _write(repo, {"nightly.yml": NIGHTLY_YAML})
    (repo / "server").mkdir()
    report = _report(ci.collect(Context(repo / "server", tmp_path / "s"), {"path": "../.github/workflows"}))
    assert [w["file"] for w in report["workflows"]] == ["../.github/workflows/nightly.yml"]
    with pytest.raises(CollectorError, match=r"'../../elsewhere' leads to .*, outside the repository") as exc:
        ci.collect(Context(repo / "server", tmp_path / "s"), {"path": "../../elsewhere"})
    assert "may reach anywhere inside the repository" in (exc.value.hint or "")
    # Without git, the repository is the config's own folder.
    with pytest.raises(CollectorError, match="outside the repository"):
        ci.collect(Context(tmp_path, tmp_path / "s"), {"path": "../elsewhere"})
    (tmp_path / "wf").mkdir()
    with pytest.raises(CollectorError, match="leaves the workflow folder"):
        ci.collect(Context(tmp_path, tmp_path / "s"), {"path": "wf", "globs": ["../*.yml"]})


def test_quoted_on_key_and_pull_request_target(tmp_path: Path) -> None:
    _write(tmp_path, {"a.yml": '"on":\n  pull_request_target:\n    types: [opened]\njobs: {}\n'})
    (wf,) = _report(ci.collect(Context(tmp_path, tmp_path / "s"), {}))["workflows"]
    assert (wf["triggers"], wf["pull_request"], wf["jobs"]) == (["pull_request_target"], True, [])


def test_options_schema_rejects_unknown_keys() -> None:
    assert ci.OPTIONS_SCHEMA["additionalProperties"] is False
    assert all("description" in spec for spec in ci.OPTIONS_SCHEMA["properties"].values())


def test_an_upload_without_retention_days_says_so_in_words(tmp_path: Path) -> None:
    flows = tmp_path / ".github" / "workflows"
    flows.mkdir(parents=True)
    (flows / "up.yml").write_text(
        "on: pull_request\njobs:\n  b:\n    runs-on: ubuntu-latest\n    steps:\n"
        "      - uses: actions/upload-artifact@v4\n        with: {name: bundle, path: .evidence/}\n"
    )
    summary = _text(_by_name(ci.collect(Context(tmp_path, tmp_path / "s"), {}))["summary.txt"])
    assert "Retention days used: not set (repository default)\n" in summary
    assert "None" not in summary


def test_each_workflow_says_whether_git_tracks_it(repo: Path) -> None:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    subprocess.run(["git", "init", "-q", str(repo)], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "add", ".github/workflows/ci.yml"], check=True, env=env)
    subprocess.run(["git", "-C", str(repo), "commit", "-qm", "ci"], check=True, env=env)
    report = _report(ci.collect(Context(repo, repo / "scratch"), {}))
    tracked = {w["file"].rsplit("/", 1)[1]: w["tracked"] for w in report["workflows"]}
    assert tracked == {"broken.yml": False, "ci.yml": True, "evidence.yml": False, "nightly.yaml": False}


def test_outside_a_repository_tracking_is_unknown(repo: Path) -> None:
    report = _report(ci.collect(Context(repo, repo / "scratch"), {}))
    assert {w["tracked"] for w in report["workflows"]} == {None}


def test_a_service_in_a_sub_folder_reads_the_repository_workflows(tmp_path: Path) -> None:
    (tmp_path / ".git").mkdir()
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "nightly.yml").write_text(NIGHTLY_YAML)
    service = tmp_path / "backend"
    service.mkdir()
    report = _report(ci.collect(Context(service, tmp_path / "s"), {"path": "../.github/workflows"}))
    assert [w["file"] for w in report["workflows"]] == ["../.github/workflows/nightly.yml"]
    with pytest.raises(CollectorError, match="outside the repository"):
        ci.collect(Context(service, tmp_path / "s"), {"path": "../../elsewhere"})
