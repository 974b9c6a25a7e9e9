"""`evidence init`: static detection of a service's repository and the starter files it writes."""

from __future__ import annotations

import ast
import re
import secrets
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from evidence_kit import config
from evidence_kit.collectors import openapi
from evidence_kit.commands import init
from evidence_kit.errors import EvidenceError
from evidence_kit.policy import loader as policy
from evidence_kit.support import foreign
from tests import pythons
from tests.conftest import ROOT

ALEMBIC_INI = """\
[alembic]
script_location = %(here)s/migrations
sqlalchemy.url = driver://user:pass@localhost/dbname

[reporting]
script_location = reporting_migrations
version_table = reporting_version

[loggers]
keys = root
"""

MIGRATION = """\
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade():
    op.create_table(
        "task_queue",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("state", sa.String(20)),
        sa.Column("attempts", sa.Integer()),
        sa.Column("claimed_at", sa.DateTime()),
        sa.Column("created_at", sa.DateTime()),
    )


def downgrade():
    op.drop_table("task_queue")
"""

PYPROJECT = """\
[project]
name = "svc-api"

[project.optional-dependencies]
dev = ["pytest"]
"""

MAIN = """\
import os

from fastapi import FastAPI

DATABASE = os.environ["SVC_DATABASE_URL"]
REDIS = os.getenv("REDIS_URL")

app = FastAPI(title="svc")
"""

CLAIM = """\
CLAIM = "SELECT id FROM task_queue WHERE state = 'queued' FOR UPDATE SKIP LOCKED LIMIT 1"
"""


def _service(root: Path) -> Path:
    """A service tree with every kind of thing `detect` looks for, and decoys it must ignore."""
    files = {
        "pyproject.toml": PYPROJECT,
        "alembic.ini": ALEMBIC_INI,
        "migrations/env.py": "import os\nURL = os.environ.get('SVC_DATABASE_URL')\n",
        "migrations/versions/0001_queue.py": MIGRATION,
        "reporting_migrations/env.py": "",
        "src/svc/__init__.py": "",
        "src/svc/main.py": MAIN,
        "src/svc/claim.py": CLAIM,
        "src/svc/jobs_worker.py": "import dramatiq\n\n\n@dramatiq.actor\ndef run() -> None:\n    pass\n",
        "tests/test_api.py": "from fastapi import FastAPI\napp = FastAPI()\n",
        ".venv/lib/python3.12/site-packages/other/main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
        "node_modules/x/worker.py": "",
        ".github/workflows/ci.yml": "name: ci\non: push\njobs: {}\n",
        ".gitignore": ".evidence/\n",
    }
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    (root / ".venv" / "bin").mkdir()
    (root / ".venv" / "bin" / "python").symlink_to(sys.executable)
    return root


@pytest.fixture()
def service(tmp_path: Path) -> Path:
    return _service(tmp_path / "svc")


def _snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_detect_finds_each_piece(service: Path) -> None:
    found = init.detect(service)

    assert (found.service, found.service_from) == ("svc-api", "pyproject.toml")
    assert [(c.ini, c.section, c.script_location) for c in found.alembic] == [
        ("alembic.ini", "alembic", "migrations"),
        ("alembic.ini", "reporting", "reporting_migrations"),
    ]
    assert found.app == "svc.main:app"
    assert found.app_dir == "src"
    assert [a.source for a in found.apps] == ["src/svc/main.py"]
    assert found.tests == ("tests",)
    assert found.workers == (
        init.Worker("src/svc/jobs_worker.py", "dramatiq", "dramatiq svc.jobs_worker --path src"),
    )
    assert found.claims == ("src/svc/claim.py",)
    assert found.database_queue
    assert (found.python, found.python_how) == (".venv/bin/python", ".venv")
    assert found.python_version == f"{sys.version_info.major}.{sys.version_info.minor}"
    assert found.workflows == (".github/workflows/ci.yml",)
    assert (found.database_env, found.database_env_source) == ("SVC_DATABASE_URL", "migrations/env.py")
    assert found.queue is not None
    assert found.queue.table == "task_queue"
    roles = dict(found.queue.columns)
    assert (roles["status"], roles["attempts"], roles["locked_at"], roles["max_attempts"]) == (
        "state",
        "attempts",
        "claimed_at",
        None,
    )
    assert found.install == ("python -m venv .venv", '.venv/bin/pip install -e ".[dev]"')
    assert found.ignores_output


def test_written_config_validates_and_uses_what_was_found(service: Path) -> None:
    found = init.detect(service)
    written = init.write(service, found)

    assert written == list(init.targets(service))
    loaded = config.load(service / "evidence.yaml")
    assert loaded.service == "svc-api"
    assert loaded.database_env == "SVC_DATABASE_URL"
    assert loaded.rules == (str(service / "evidence-rules.yaml"),)
    collectors = loaded.collectors
    assert collectors["alembic"]["configs"] == [
        {"ini": "alembic.ini"},
        {"ini": "alembic.ini", "name": "reporting"},
    ]
    assert collectors["openapi"]["app"] == "svc.main:app"
    assert collectors["openapi"]["app_dir"] == "src"
    # NOTE: a src layout's app runs, and reads its `.env`, from the project's folder.
    assert collectors["openapi"]["cwd"] == "."
    assert collectors["tests"]["run"] == ["python", "-m", "pytest", "tests"]
    assert collectors["queue"]["queues"][0]["table"] == "task_queue"
    assert collectors["queue"]["queues"][0]["columns"] == {
        "status": "state",
        "attempts": "attempts",
        "max_attempts": None,
        "locked_at": "claimed_at",
        "locked_by": None,
        "next_retry_at": None,
    }
    assert "GROUP BY state" in collectors["sql"]["queries"][0]["sql"]
    assert {"git", "schema", "ci", "codefacts", "environment"} <= set(collectors)
    assert "command" not in collectors and "http" not in collectors
    assert "src/svc/jobs_worker.py" in (service / "evidence.yaml").read_text("utf-8")


def test_written_rule_pack_loads_and_its_commented_parts_load_when_uncommented(service: Path) -> None:
    init.write(service, init.detect(service))
    pack = service / "evidence-rules.yaml"
    assert {r.check for r in policy.load([str(pack)]).rules} >= {"EK201", "EK304"}

    text = pack.read_text("utf-8")
    # NOTE: where the pack already turns checks on or off, the example goes under its `checks:`.
    assert ("# checks:" in text) != ("add them under `checks:` above" in text)
    assert "#   EK304:" in text and "# waivers:" in text
    opened = re.sub(r"^# (?=(checks|waivers):|  )", "", text, flags=re.MULTILINE)
    uncommented = service / "uncommented.yaml"
    uncommented.write_text(opened, encoding="utf-8")
    loaded = policy.load([str(uncommented)])
    ek304 = next(r for r in loaded.rules if r.check == "EK304")
    assert "alembic/*heads.txt" in ek304.options["required"]
    assert [w.check for w in loaded.waivers] == ["EK201"]


def test_written_workflow_pins_actions_and_migrates_every_config(service: Path) -> None:
    init.write(service, init.detect(service))
    workflow = service / ".github" / "workflows" / "evidence.yml"
    data = yaml.safe_load(workflow.read_text("utf-8"))
    job = data["jobs"]["evidence"]
    assert data["permissions"] == {}
    # NOTE: and the Redis the service reads (`REDIS_URL`), started beside PostgreSQL.
    assert job["env"] == {
        "SVC_DATABASE_URL": "postgresql://postgres:postgres@127.0.0.1:5432/postgres",
        "REDIS_URL": "redis://127.0.0.1:6379/0",
    }
    assert sorted(job["services"]) == ["postgres", "redis"]
    steps = job["steps"]
    uses = [s["uses"] for s in steps if "uses" in s]
    assert uses[-1] == init.ACTION_PLACEHOLDER
    assert all(re.fullmatch(r"[^@]+@[0-9a-f]{40}", u) for u in uses[:-1])
    migrate = next(s for s in steps if s.get("name") == "Migrate")["run"]
    assert migrate.splitlines() == [
        ".venv/bin/alembic upgrade head",
        ".venv/bin/alembic -n reporting upgrade head",
    ]
    install = next(s for s in steps if s.get("name") == "Install the service")["run"]
    assert install.splitlines() == [
        "python -m venv .venv",
        '.venv/bin/pip install -e ".[dev]"',
    ]
    python = next(s for s in steps if "setup-python" in s.get("uses", ""))["with"]["python-version"]
    assert python == f"{sys.version_info.major}.{sys.version_info.minor}"
    text = workflow.read_text("utf-8")
    assert "Replace OWNER/REPO" in text and "COMMIT_SHA" in text


def test_second_write_skips_every_file_and_changes_nothing(service: Path) -> None:
    found = init.detect(service)
    init.write(service, found)
    (service / "evidence.yaml").write_text("service: edited-by-hand\n", encoding="utf-8")
    before = _snapshot(service)

    assert init.write(service, found) == []
    assert _snapshot(service) == before


def test_only_missing_files_are_written_without_force(service: Path) -> None:
    found = init.detect(service)
    init.write(service, found)
    (service / "evidence.yaml").write_text("service: edited-by-hand\n", encoding="utf-8")
    (service / "evidence-rules.yaml").unlink()

    assert init.write(service, found) == [service / "evidence-rules.yaml"]
    assert (service / "evidence.yaml").read_text("utf-8") == "service: edited-by-hand\n"


def test_force_overwrites(service: Path) -> None:
    found = init.detect(service)
    init.write(service, found)
    fresh = _snapshot(service)
    for path in init.targets(service):
        path.write_text("edited\n", encoding="utf-8")

    assert init.write(service, found, force=True) == list(init.targets(service))
    assert _snapshot(service) == fresh


def test_an_empty_tree_reports_each_missing_piece_and_still_validates(tmp_path: Path) -> None:
    root = tmp_path / "bare-service"
    root.mkdir()
    found = init.detect(root)
    lines = init.report(found)

    assert found.service == "bare-service"
    expected = [
        "found service name: bare-service (from the folder name)",
        "no alembic.ini found: list your Alembic configs under collectors.alembic by hand",
        "no virtualenv of the service found (.venv, venv, Poetry, pipenv, Hatch, $VIRTUAL_ENV): "
        "create it and set `python:` in evidence.yaml",
        "no app found: set collectors.openapi.app by hand",
        "no tests found: set collectors.tests.run by hand",
        "no worker found (dramatiq, celery, arq, rq, APScheduler, SAQ, a `--once` loop, a worker/ package)",
        "no database job queue found: EK308 (claims use SKIP LOCKED) is turned off in the rule pack",
        "no GitHub workflows found: .github/workflows/evidence.yml will be the first",
        "no database URL variable found in the code: database.url_env in evidence.yaml is DATABASE_URL; "
        "set it to the variable the service reads its database URL from",
        "no queue table found (a table with status, attempts and locked_at columns): "
        "collectors.queue is left commented out",
        "no git repository found: the git collector needs one (`git init`)",
    ]
    assert lines == expected

    init.write(root, found)
    loaded = config.load(root / "evidence.yaml")
    assert set(loaded.collectors) == {"git", "ci", "codefacts", "environment"}
    assert loaded.database_env == "DATABASE_URL"
    text = (root / "evidence.yaml").read_text("utf-8")
    assert "# openapi:" in text and "# alembic:" in text and "# queue:" in text and "# sql:" in text
    assert (
        "services" not in yaml.safe_load((root / init.WORKFLOW_FILE).read_text("utf-8"))["jobs"]["evidence"]
    )


def test_report_names_what_was_found(service: Path) -> None:
    lines = init.report(init.detect(service))

    assert "found app: svc.main:app (in src/svc/main.py, app_dir src)" in lines
    assert "found Alembic config: alembic.ini [reporting] -> reporting_migrations" in lines
    assert "found queue table: task_queue (in migrations/versions/0001_queue.py)" in lines
    assert not any(line.startswith("no ") for line in lines if "git" not in line)


def test_apps_are_ranked_and_odd_names_are_quoted(tmp_path: Path) -> None:
    root = tmp_path / "two-apps"
    for rel, text in {
        "admin/__init__.py": "",
        "admin/internal.py": "import fastapi\nadmin_api = fastapi.FastAPI()\n",
        "api/__init__.py": "",
        "api/main.py": "from fastapi import FastAPI\napp: FastAPI = FastAPI()\n",
        "factory.py": "from fastapi import FastAPI\ndef make():\n    app = FastAPI()\n    return app\n",
        "pyproject.toml": '[project]\nname = "yes"\n',
    }.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    found = init.detect(root)

    assert [a.target for a in found.apps] == ["api.main:app", "admin.internal:admin_api", "factory:make"]
    assert [a.factory for a in found.apps] == [False, False, True]
    init.write(root, found)
    text = (root / "evidence.yaml").read_text("utf-8")
    assert 'service: "yes"' in text
    assert "# another app found: admin.internal:admin_api" in text
    assert "# another app found: factory:make" in text
    assert config.load(root / "evidence.yaml").service == "yes"


def test_alembic_configs_in_two_files_get_distinct_labels(tmp_path: Path) -> None:
    root = tmp_path / "multi"
    for rel in ("alembic.ini", "db/analytics/alembic.ini"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("[alembic]\nscript_location = migrations\n", encoding="utf-8")
    found = init.detect(root)
    init.write(root, found)

    configs = config.load(root / "evidence.yaml").collectors["alembic"]["configs"]
    assert [c["ini"] for c in configs] == ["alembic.ini", "db/analytics/alembic.ini"]
    assert len({c["label"] for c in configs}) == 2


def test_init_on_the_example_service(example_copy: Path) -> None:
    found = init.detect(example_copy)

    assert found.app == "jobs_service.app:app"
    assert found.app_dir == "."
    assert [(c.ini, c.section) for c in found.alembic] == [("alembic.ini", "alembic")]
    assert found.tests == ("tests",)
    assert found.workers == (
        init.Worker("jobs_service/worker.py", "loop with --once", "python -m jobs_service.worker --once"),
    )
    assert found.claims == ("jobs_service/worker.py",)
    assert found.workflows == (".github/workflows/evidence.yml",)
    assert found.database_env == "DATABASE_URL"
    assert found.queue is not None and found.queue.table == "jobs"

    kept = {p: p.read_bytes() for p in (example_copy / "evidence.yaml", example_copy / init.WORKFLOW_FILE)}
    assert init.write(example_copy, found) == [example_copy / "evidence-rules.yaml"]
    assert {p: p.read_bytes() for p in kept} == kept

    assert init.write(example_copy, found, force=True) == list(init.targets(example_copy))
    loaded = config.load(example_copy / "evidence.yaml")
    assert loaded.collectors["openapi"] == {"app": "jobs_service.app:app", "timeout": 60}
    assert loaded.collectors["queue"]["queues"][0] == {
        "name": "jobs",
        "title": "Job queue health",
        "table": "jobs",
        "lease_seconds": 300,
    }


def test_detect_refuses_a_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(EvidenceError, match="is not a folder"):
        init.detect(tmp_path / "nowhere")


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


SETTINGS = """\
from pydantic_settings import BaseSettings


class LoggingSettings(BaseSettings):
    LOG_LEVEL: str = "info"


class AppSettings(LoggingSettings):
    PRODUCTION: bool
    SECRET_KEY: str
    WORKERS: int
    DB_ENGINE: str = "sqlite"
    POSTGRES_SERVER: str = "localhost"
    POSTGRES_USER: str = "app"
    POSTGRES_PASSWORD: str = ""
    POSTGRES_DB: str = "app"
    LDAP_SERVER_URL: str | None = None
"""


def test_settings_fields_become_the_workflow_environment(tmp_path: Path) -> None:
    root = _tree(tmp_path / "svc", {"svc/__init__.py": "", "svc/settings.py": SETTINGS})
    found = init.detect(root)
    assert found.database_env == "DATABASE_URL" and found.database_env_source is None
    assert dict(found.required_env) == {"PRODUCTION": "false", "SECRET_KEY": "change-me", "WORKERS": "0"}
    init.write(root, found)
    loaded = config.load(root / "evidence.yaml")
    # NOTE: with the defaults the service's settings give (the password's is never written).
    template = "postgresql://${POSTGRES_USER:-app}:${POSTGRES_PASSWORD}@${POSTGRES_SERVER:-localhost}/${POSTGRES_DB:-app}"
    # NOTE: the service reads no URL variable: evidence.yaml names none, and the workflow sets none.
    assert (loaded.database_env, loaded.database_template) == (None, template)
    # NOTE: what init says matches what it wrote: the template, not "no database URL variable found".
    assert (
        f"found the parts the service builds its database URL of: database.url is {template} (no "
        "database.url_env: the service reads no URL variable); every variable it names must be set for a "
        "collect"
    ) in init.report(found)
    env = yaml.safe_load((root / init.WORKFLOW_FILE).read_text("utf-8"))["jobs"]["evidence"]["env"]
    assert env == {
        "DB_ENGINE": "postgres",
        "POSTGRES_DB": "postgres",
        "POSTGRES_PASSWORD": "postgres",
        "POSTGRES_SERVER": "127.0.0.1",
        "POSTGRES_USER": "postgres",
        "PRODUCTION": "false",
        "SECRET_KEY": "${{ secrets.SECRET_KEY }}",
        "WORKERS": "0",
    }


def test_the_served_app_and_the_api_app_behind_a_hidden_one_come_first(tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "svc",
        {
            "svc/__init__.py": "",
            "svc/api.py": "from fastapi import FastAPI\napi = FastAPI()\n",
            "svc/main.py": "from fastapi import FastAPI\nfrom svc.api import api\n"
            "app = FastAPI(openapi_url=None)\napp.mount('/api/v1', api)\n",
            "svc/cli/__init__.py": "",
            "svc/cli/login.py": "from fastapi import FastAPI\napp = FastAPI()\n",
            "svc/factory.py": "from fastapi import FastAPI\n\n\ndef create_app() -> FastAPI:\n"
            "    return FastAPI()\n",
        },
    )
    found = init.detect(root)
    assert [(a.target, a.mounted, a.hidden, a.factory) for a in found.apps] == [
        ("svc.api:api", True, False, False),
        ("svc.factory:create_app", False, False, True),
        ("svc.cli.login:app", False, False, False),
        ("svc.main:app", False, True, False),
    ]
    (root / "Dockerfile").write_text('CMD ["uvicorn", "svc.factory:create_app", "--factory"]\n')
    served = init.detect(root)
    assert served.app == "svc.factory:create_app" and served.apps[0].served and served.apps[0].factory
    init.write(root, served)
    assert config.load(root / "evidence.yaml").collectors["openapi"]["factory"] is True
    # NOTE: the http example, once uncommented, serves the very app the openapi collector would import.
    text = (root / "evidence.yaml").read_text()
    start = text.index("  # http:\n")
    block = text[start : text.index("\n\n", start)]
    (root / "evidence.yaml").write_text(text.replace(block, block.replace("  # ", "  ")))
    loaded = config.load(root / "evidence.yaml")
    assert "--factory" in loaded.collectors["http"]["serve"]["command"]
    bindir = {"PATH": str(Path(sys.executable).parent)}
    assert openapi.served(
        loaded.collectors["openapi"], loaded.collectors["http"], root, loaded.python, bindir
    ) == (
        "/openapi.json",
        "`serve.command` runs svc.factory:create_app",
    )


def test_an_app_factory_that_needs_arguments_is_not_imported(tmp_path: Path) -> None:
    """`create_app(db, authentication_enabled, ...)` is what the service's own start script calls with what it
    built: an import cannot call it, and the collect failed (`missing 2 required positional arguments`).
    One that needs none comes first; with none such, openapi is left commented out, and says why."""
    root = _tree(
        tmp_path / "svc",
        {
            "pyproject.toml": '[project]\nname = "svc"\n',
            "svc/__init__.py": "",
            "svc/app.py": "from fastapi import FastAPI\n\n\ndef create_app(db, authentication_enabled, *, "
            "scaffold=None, secret):\n    return FastAPI()\n",
        },
    )
    found = init.detect(root)
    assert [(a.target, a.needs) for a in found.apps] == [
        ("svc.app:create_app", ("db", "authentication_enabled", "secret"))
    ]
    report = init.report(found)
    assert "found an app factory that needs db, authentication_enabled, secret: svc.app:create_app" in (
        "\n".join(report)
    )
    init.write(root, found)
    loaded = config.load(root / "evidence.yaml")
    assert "openapi" not in loaded.collectors
    assert "# The app factory svc.app:create_app needs arguments" in (root / "evidence.yaml").read_text()
    (root / "svc/main.py").write_text(
        "from fastapi import FastAPI\n\n\ndef get_app(debug=False):\n    return FastAPI()\n"
    )
    found = init.detect(root)
    assert (found.apps[0].target, found.apps[0].needs) == ("svc.main:get_app", ())


def test_a_function_that_serves_an_app_of_its_own_and_returns_nothing_is_no_factory(tmp_path: Path) -> None:
    """A CLI's `login` builds a FastAPI app for an OAuth callback and serves it for a moment: no app of the
    service. A factory that returns what it builds, or returns None on one path only, is one."""
    root = _tree(
        tmp_path / "svc",
        {
            "pyproject.toml": '[project]\nname = "svc"\n',
            "svc/__init__.py": "",
            "svc/cli.py": "import uvicorn\nfrom fastapi import FastAPI\n\n\ndef login(info):\n"
            "    app = FastAPI()\n\n    @app.get('/callback')\n    def callback(code: str):\n"
            "        return code\n\n    uvicorn.run(app)\n",
            "svc/main.py": "from fastapi import FastAPI\n\n\ndef create(debug=False):\n"
            "    if debug is None:\n        return None\n    app = FastAPI()\n    return app\n",
        },
    )
    found = init.detect(root)
    assert [(a.target, a.factory) for a in found.apps] == [("svc.main:create", True)]


def test_an_app_in_a_namespace_package_imports_from_where_its_code_imports_itself(tmp_path: Path) -> None:
    """`keep/` holds no `__init__.py` but `keep/api/` does, and the app's module imports `keep.api.…`: the
    app is `keep.api.api:get_app` from the top, not `api.api:get_app` from `keep/` (which fails to import).
    A namespace folder the code does not import by (`services/`) is still where imports start."""
    root = _tree(
        tmp_path / "svc",
        {
            "pyproject.toml": '[project]\nname = "keep"\n',
            "keep/api/__init__.py": "",
            "keep/api/core/__init__.py": "",
            "keep/api/core/db.py": "ENGINE = None\n",
            "keep/api/api.py": "from fastapi import FastAPI\n\nfrom keep.api.core.db import ENGINE\n\n\n"
            "def get_app() -> FastAPI:\n    return FastAPI()\n",
        },
    )
    found = init.detect(root)
    assert (found.app, found.app_dir) == ("keep.api.api:get_app", ".")
    other = _tree(
        tmp_path / "other",
        {
            "pyproject.toml": '[project]\nname = "svc"\n',
            "services/api/__init__.py": "",
            "services/api/db.py": "ENGINE = None\n",
            "services/api/main.py": "from fastapi import FastAPI\n\nfrom api.db import ENGINE\n\n"
            "app = FastAPI()\n",
        },
    )
    found = init.detect(other)
    assert (found.app, found.app_dir) == ("api.main:app", "services")


def test_an_app_a_compose_file_of_the_repository_serves_comes_first_however_it_is_made(
    tmp_path: Path,
) -> None:
    """`backend/` of a repository whose `deployment/docker_compose/` starts `uvicorn onyx.main:app`, where
    `app` is what a helper returns (no `FastAPI()` in sight), beside another service's plain app: the served
    one is the app, from `backend/` and from the top."""
    top = _tree(
        tmp_path / "repo",
        {
            "backend/onyx/__init__.py": "",
            "backend/onyx/main.py": "from fastapi import FastAPI\nfrom onyx.utils import versioned\n\n\n"
            "def get_application() -> FastAPI:\n    return FastAPI()\n\n\n"
            'app = versioned(module="onyx.main", attribute="get_application")\n',
            "backend/onyx/utils.py": "def versioned(module, attribute):\n    return None\n",
            "backend/model_server/__init__.py": "",
            "backend/model_server/main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
            "deployment/docker_compose/docker-compose.yml": "services:\n  api_server:\n    command: >\n"
            '      /bin/sh -c "alembic upgrade head &&\n'
            '      uvicorn onyx.main:app --host 0.0.0.0 --port 8080"\n',
        },
    )
    (top / ".git").mkdir()
    backend = init.detect(top / "backend")
    assert [(a.target, a.served, a.factory) for a in backend.apps][:2] == [
        ("onyx.main:app", True, False),
        ("model_server.main:app", False, False),
    ]
    whole = init.detect(top)
    assert (whole.app, whole.app_dir) == ("onyx.main:app", "backend")
    # NOTE: unserved, the helper's result is no app init knows of: the factory and the plain app are.
    (top / "deployment/docker_compose/docker-compose.yml").unlink()
    assert {a.target for a in init.detect(top / "backend").apps} == {
        "onyx.main:get_application",
        "model_server.main:app",
    }


def test_a_history_that_already_fails_is_baselined_and_new_migrations_are_checked(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from evidence_kit.cli import app
    from tests.test_check import _history

    root = _history(tmp_path / "svc")
    init.write(root, init.detect(root))
    rules = (root / "evidence-rules.yaml").read_text()
    assert "(EK201: 2,\n  # in 3 revisions)" in rules
    # NOTE: only the checks the history fails are baselined; the others keep checking all of it.
    assert "  EK201: {options: {baseline: [a3]}}\n" in rules and "EK205" not in rules and "EK203" not in rules
    runner = CliRunner()
    res = runner.invoke(app, ["check", str(root), "--config", str(root / "evidence.yaml")])
    assert res.exit_code == 0, res.output
    (root / "migrations" / "versions" / "a4_next.py").write_text(
        '"""next"""\nrevision = "a4"\ndown_revision = "a3"\n\n\ndef upgrade():\n    pass\n'
    )
    res = runner.invoke(app, ["check", str(root), "--config", str(root / "evidence.yaml")])
    assert res.exit_code == 1
    assert "a4_next.py" in res.output and "a1_step.py" not in res.output and "a3_step.py" not in res.output


def test_a_clean_history_gets_no_baseline(tmp_path: Path) -> None:
    from tests.test_check import _history

    root = _history(tmp_path / "svc")
    for rev in ("a1", "a3"):
        path = root / "migrations" / "versions" / f"{rev}_step.py"
        path.write_text(path.read_text().replace("    pass\n", '    op.execute("SELECT 2")\n'))
    init.write(root, init.detect(root))
    assert "baseline" not in (root / "evidence-rules.yaml").read_text()


RESET = """\
from svc.models import Base


def reset(engine):
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
"""


def _gates(root: Path, rules: list[str]) -> dict[str, tuple[str, list[str]]]:
    """EK307's and EK308's status and finding messages on a bundle of the service's code facts."""
    import json

    from typer.testing import CliRunner

    from evidence_kit.cli import app

    runner = CliRunner()
    out = root.parent / "bundles"
    if not out.is_dir():
        res = runner.invoke(
            app,
            ["collect", "--config", str(root / "evidence.yaml"), "--only", "codefacts", "--out", str(out)],
        )
        assert res.exit_code == 0, res.output
    (bundle,) = [p for p in out.iterdir() if p.is_dir()]
    argv = [
        "check",
        str(root),
        "--config",
        str(root / "evidence.yaml"),
        "--bundle",
        str(bundle),
        "--format",
        "json",
    ]
    res = runner.invoke(app, [*argv, *(a for r in rules for a in ("--rules", r))])
    report = json.loads(res.output)
    shown = {
        c["id"]: (c["status"], [f["message"] for f in report["findings"] if f["check"] == c["id"]])
        for c in report["checks"]
    }
    return {check: shown[check] for check in ("EK307", "EK308")}


def test_init_rules_take_the_claims_and_create_all_calls_the_code_already_has(service: Path) -> None:
    """A claim outside the default worker globs and a create_all in a reset helper (shapes of real
    services): init's rules pass on them, while the default pack alone fails EK307 and, the code facts
    showing no claim in a default worker module and the bundle no queue table, skips EK308."""
    (service / "src" / "svc" / "reset.py").write_text(RESET, encoding="utf-8")
    init.write(service, init.detect(service))
    rules = (service / "evidence-rules.yaml").read_text()
    assert yaml.safe_load(rules)["checks"]["EK307"] == {
        "options": {
            "allow": [
                "src/svc/reset.py::reset: Base.metadata.create_all(engine)",
                "src/svc/reset.py::reset: Base.metadata.drop_all(engine)",
            ]
        }
    }
    assert '"*consumer*.py", src/svc/claim.py]}}\n' in rules
    assert _gates(service, [str(service / "evidence-rules.yaml")]) == {
        "EK307": ("passed", []),
        "EK308": ("passed", []),
    }
    default = _gates(service, ["default"])
    assert (default["EK307"][0], default["EK308"][0]) == ("failed", "skipped")
    assert default["EK307"][1] == [
        "application code calls drop_all at src/svc/reset.py:5",
        "application code calls create_all at src/svc/reset.py:6",
    ]
    # NOTE: an allowed call that moves still passes (drop_all, now on line 8); a changed call in the same
    # function is a new one and fails.
    changed = RESET.replace("create_all(engine)", "create_all(bind=engine)")
    (service / "src" / "svc" / "reset.py").write_text("import os\n\n\n" + changed, encoding="utf-8")
    shutil.rmtree(service.parent / "bundles")
    assert _gates(service, [str(service / "evidence-rules.yaml")])["EK307"] == (
        "failed",
        ["application code calls create_all at src/svc/reset.py:9"],
    )
    # NOTE: a copy of an allowed call in the same function fails; init run again allows both, one entry each.
    copied = RESET + "    Base.metadata.create_all(engine)\n"
    (service / "src" / "svc" / "reset.py").write_text(copied, encoding="utf-8")
    shutil.rmtree(service.parent / "bundles")
    assert _gates(service, [str(service / "evidence-rules.yaml")])["EK307"] == (
        "failed",
        [
            "application code calls create_all at src/svc/reset.py:7 (another identical call of this scope "
            "is allowed: `allow` lists one entry per call; if both were there already, list the entry twice)"
        ],
    )
    init.write(service, init.detect(service), force=True)
    allow = yaml.safe_load((service / "evidence-rules.yaml").read_text())["checks"]["EK307"]["options"][
        "allow"
    ]
    assert allow.count("src/svc/reset.py::reset: Base.metadata.create_all(engine)") == 2
    assert _gates(service, [str(service / "evidence-rules.yaml")])["EK307"] == ("passed", [])


def test_the_workflow_url_names_the_driver_the_services_urls_name(tmp_path: Path) -> None:
    """A service whose engine is async (`postgresql+asyncpg://`) rejects a plain URL: the workflow gives it
    the URL shape its own code uses."""
    settings = (
        "import os\n\nURL = os.environ.get('SVC_DATABASE_URL', 'postgresql+asyncpg://svc@localhost/svc')\n"
    )
    # NOTE: tests that name another driver more often do not outvote the service's own code.
    tests = {f"tests/test_{n}.py": "URL = 'postgresql+psycopg://u@h/db'\n" for n in range(5)}
    root = _tree(tmp_path / "svc", {"svc/__init__.py": "", "svc/settings.py": settings, **tests})
    found = init.detect(root)
    assert found.database_driver == "asyncpg"
    init.write(root, found)
    env = yaml.safe_load((root / init.WORKFLOW_FILE).read_text("utf-8"))["jobs"]["evidence"]["env"]
    assert env["SVC_DATABASE_URL"] == "postgresql+asyncpg://postgres:postgres@127.0.0.1:5432/postgres"


def test_init_in_a_repository_says_to_commit_what_it_wrote(service: Path) -> None:
    """Uncommitted starter files leave the tree dirty, and the clean-tree gate fails: init says so."""
    import subprocess

    from typer.testing import CliRunner

    from evidence_kit.cli import app

    subprocess.run(["git", "init", "-q", str(service)], check=True)
    res = CliRunner().invoke(app, ["init", str(service)])
    assert res.exit_code == 0, res.output
    assert res.output.splitlines()[-1].startswith("next: commit them (`git add ")
    assert "evidence-rules.yaml" in res.output.splitlines()[-1] and "EK301 fails" in res.output
    again = CliRunner().invoke(app, ["init", str(service)])
    assert "next:" not in again.output


def test_settings_fields_the_service_fills_in_itself_are_not_required(tmp_path: Path) -> None:
    factory = (
        "\n\ndef make(folder: str) -> AppSettings:\n"
        '    generated = {"SECRET_KEY": folder + "/.secret"}\n'
        "    return AppSettings(**generated, WORKERS=1)\n"
        "\n\ndef logging_only() -> LoggingSettings:\n"
        "    return LoggingSettings(PRODUCTION=True)\n"
    )
    logging = SETTINGS.replace('LOG_LEVEL: str = "info"', 'LOG_LEVEL: str = "info"\n    PRODUCTION: bool')
    app = logging.replace("    PRODUCTION: bool\n    SECRET_KEY", "    SECRET_KEY")
    root = _tree(tmp_path / "svc", {"svc/__init__.py": "", "svc/settings.py": app + factory})
    # NOTE: PRODUCTION, declared in the base class, is not given when the subclass is made: still required.
    assert dict(init.detect(root).required_env) == {"PRODUCTION": "false"}
    (root / "svc/settings.py").write_text(app + factory.replace("WORKERS=1", "WORKERS=1, PRODUCTION=False"))
    assert dict(init.detect(root).required_env) == {}
    # NOTE: keywords given to a call of something else fill in nothing; with the subclass made nowhere,
    # the base class's calls alone decide for PRODUCTION.
    other = factory.replace("AppSettings(**generated", "dict(**generated")
    (root / "svc/settings.py").write_text(app + other)
    assert dict(init.detect(root).required_env) == {"SECRET_KEY": "change-me", "WORKERS": "0"}


def _alembic_configs(root: Path) -> list[dict[str, str]]:
    data = yaml.safe_load((root / "evidence.yaml").read_text("utf-8"))
    configs: list[dict[str, str]] = data["collectors"]["alembic"]["configs"]
    return configs


def _migrate_step(root: Path) -> list[str]:
    init.write(root, init.detect(root), force=True)
    steps = yaml.safe_load((root / init.WORKFLOW_FILE).read_text("utf-8"))["jobs"]["evidence"]["steps"]
    run: str = next(s for s in steps if s.get("name") == "Migrate")["run"]
    return run.splitlines()


def test_the_workflow_migrates_as_the_service_itself_does(service: Path) -> None:
    ci = service / ".github/workflows/ci.yml"
    # NOTE: the command inside `sh -c "..."`, the downgrade before it and the commented line left out.
    ci.write_text(
        "jobs:\n  it:\n    steps:\n"
        "      # - run: svc admin db upgrade --old\n"
        '      - run: echo "running db upgrade" && echo running db upgrade\n'
        '      - run: docker run img sh -c "svc server database downgrade -y -r base && '
        'svc server database upgrade --yes"\n',
        encoding="utf-8",
    )
    found = init.detect(service)
    assert found.migrate_command == ("svc server database upgrade --yes", ".github/workflows/ci.yml")
    assert "found the service's own migration command in .github/workflows/ci.yml" in "\n".join(
        init.report(found)
    )
    assert _migrate_step(service) == [".venv/bin/svc server database upgrade --yes"]
    text = (service / init.WORKFLOW_FILE).read_text("utf-8")
    assert "as .github/workflows/ci.yml runs it" in text
    # NOTE: with several Alembic configurations, which one it migrates is not known: none names it; the one
    # configuration of a service does, so that the docs give the service's own command (plain Alembic may
    # not run the service's env.py at all).
    assert [c.get("migrate_command") for c in _alembic_configs(service)] == [None, None]
    (service / "alembic.ini").write_text(
        ALEMBIC_INI.replace("[reporting]\nscript_location = reporting_migrations\n", ""), encoding="utf-8"
    )
    init.write(service, init.detect(service), force=True)
    assert _alembic_configs(service) == [
        {"ini": "alembic.ini", "migrate_command": "svc server database upgrade --yes"}
    ]
    (service / "alembic.ini").write_text(ALEMBIC_INI, encoding="utf-8")
    # NOTE: `poetry run x` is x of the virtualenv the workflow makes; the service's own files come first.
    (service / "Makefile").write_text("migrate:\n\tpoetry run flask db upgrade\n", encoding="utf-8")
    assert _migrate_step(service) == [".venv/bin/flask db upgrade"]
    # NOTE: lines whose command cannot be copied as it is give none: variables set before it (a secret,
    # say), a wrapper, a secret in its options.
    secret = "pw" + "0123456789abcdef"
    (service / "Makefile").write_text(
        f"a:\n\tPGPASSWORD={secret} svc db upgrade\n\tFLASK_APP=app flask db upgrade\n"
        f"\tdocker compose run --rm api flask db upgrade\n\texec flask db upgrade\n"
        f"\tsvc db upgrade --password={secret}\n",
        encoding="utf-8",
    )
    ci.write_text("jobs: {}\n", encoding="utf-8")
    assert init.detect(service).migrate_command is None
    assert _migrate_step(service)[0] == ".venv/bin/alembic upgrade head"
    assert secret not in (service / init.WORKFLOW_FILE).read_text("utf-8")
    # NOTE: a service that runs plain Alembic somewhere gets the per-config Alembic commands.
    (service / "scripts").mkdir()
    (service / "scripts/start.sh").write_text("alembic -c alembic.ini upgrade heads\n", encoding="utf-8")
    assert init.detect(service).migrate_command is None
    assert _migrate_step(service) == [
        ".venv/bin/alembic upgrade head",
        ".venv/bin/alembic -n reporting upgrade head",
    ]


def test_a_service_in_a_sub_project_folder_runs_its_tests_and_migrations_from_there(tmp_path: Path) -> None:
    """The repository's top holds the virtualenv and the workflows; `backend/` holds the service's own
    project, its Alembic config (a relative `script_location`) and its tests."""
    root = _tree(
        tmp_path / "repo",
        {
            "pyproject.toml": "[tool.uv.workspace]\nmembers = ['backend']\n",
            "backend/pyproject.toml": PYPROJECT,
            "backend/alembic.ini": "[alembic]\nscript_location = app/alembic\n",
            "backend/app/__init__.py": "",
            "backend/app/main.py": MAIN,
            "backend/app/alembic/env.py": "",
            "backend/app/alembic/versions/0001_queue.py": MIGRATION,
            "backend/tests/test_api.py": "def test_ok():\n    pass\n",
            ".github/workflows/ci.yml": "jobs: {}\n",
        },
    )
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    (root / ".venv" / "bin" / "python").symlink_to(sys.executable)
    found = init.detect(root)
    assert found.tests == ("backend/tests",)
    init.write(root, found)
    tests = config.load(root / "evidence.yaml").collectors["tests"]
    assert (tests["run"], tests["cwd"]) == (["python", "-m", "pytest", "tests"], "backend")
    assert _migrate_step(root) == ["(cd backend && ../.venv/bin/alembic upgrade head)"]
    # NOTE: the sub-project's own testpaths: pytest there finds them itself.
    (root / "backend/pyproject.toml").write_text(
        PYPROJECT + "\n[tool.pytest.ini_options]\ntestpaths = ['tests']\n"
    )
    init.write(root, init.detect(root), force=True)
    tests = config.load(root / "evidence.yaml").collectors["tests"]
    assert (tests["run"], tests["cwd"]) == (["python", "-m", "pytest"], "backend")


def test_an_ini_inside_its_migrations_folder_is_upgraded_from_the_folder_above(tmp_path: Path) -> None:
    """`src/py/app/db/migrations/alembic.ini` says `script_location = migrations`: Alembic finds that only
    when run in `src/py/app/db`, so the workflow upgrades from there, naming the ini."""
    root = _tree(
        tmp_path / "repo",
        {
            "pyproject.toml": PYPROJECT,
            "src/py/app/__init__.py": "",
            "src/py/app/main.py": MAIN,
            "src/py/app/db/migrations/alembic.ini": "[alembic]\nscript_location = migrations\n",
            "src/py/app/db/migrations/env.py": "",
            "src/py/app/db/migrations/versions/0001_queue.py": MIGRATION,
        },
    )
    found = init.detect(root)
    assert [(c.script_location, c.run_from) for c in found.alembic] == [
        ("src/py/app/db/migrations", "src/py/app/db")
    ]
    # NOTE: no virtualenv here: the one the workflow makes, from the folder the step runs in.
    assert _migrate_step(root) == [
        "(cd src/py/app/db && ../../../../.venv/bin/alembic -c migrations/alembic.ini upgrade head)"
    ]
    alembic = config.load(root / "evidence.yaml").collectors["alembic"]
    assert "script_location" not in str(alembic)  # NOTE: the collector finds the folder itself


STARLETTE_CONFIG = """\
from starlette.config import Config
from starlette.datastructures import Secret

config = Config(".env")
SENTRY_DSN = config("SENTRY_DSN", default="")
UI_URL = config("SVC_UI_URL", default="http://localhost:8080")
ENCRYPTION_KEY = config("SVC_ENCRYPTION_KEY", cast=Secret)
WORKERS = config("SVC_WORKERS", cast=int)
DATABASE_HOSTNAME = config("DATABASE_HOSTNAME")
DATABASE_CREDENTIALS = config("DATABASE_CREDENTIALS", cast=Secret)
DATABASE_NAME = config("DATABASE_NAME", default="svc")
DATABASE_PORT = config("DATABASE_PORT", default="5432")
POOL_SIZE = config("DATABASE_POOL_SIZE", int, 20)
"""


def test_settings_read_through_starlette_or_decouple_config_are_found(tmp_path: Path) -> None:
    decoupled = (
        'from decouple import config\n\nDEBUG = config("SVC_DEBUG", False, cast=bool)\n'
        'TOKEN = config("SVC_TOKEN")\n'
    )
    root = _tree(
        tmp_path / "svc",
        {"svc/__init__.py": "", "svc/config.py": STARLETTE_CONFIG, "svc/other.py": decoupled},
    )
    found = init.detect(root)
    # NOTE: neither Sentry's DSN nor the UI's URL is the database's: the URL is built of its parts.
    assert found.database_env_source is None
    assert dict(found.required_env) == {
        "DATABASE_CREDENTIALS": "change-me",
        "DATABASE_HOSTNAME": "change-me",
        "SVC_ENCRYPTION_KEY": "change-me",
        "SVC_TOKEN": "change-me",
        "SVC_WORKERS": "0",
    }
    init.write(root, found)
    loaded = config.load(root / "evidence.yaml")
    template = "postgresql://${DATABASE_CREDENTIALS}@${DATABASE_HOSTNAME}:${DATABASE_PORT:-5432}/${DATABASE_NAME:-svc}"
    assert loaded.database_template == template
    env = yaml.safe_load((root / init.WORKFLOW_FILE).read_text("utf-8"))["jobs"]["evidence"]["env"]
    assert env["DATABASE_CREDENTIALS"] == "postgres:postgres" and env["DATABASE_HOSTNAME"] == "127.0.0.1"
    assert env["SVC_ENCRYPTION_KEY"] == "${{ secrets.SVC_ENCRYPTION_KEY }}"
    assert env["SVC_TOKEN"] == "${{ secrets.SVC_TOKEN }}" and env["SVC_WORKERS"] == "0"
    assert "SENTRY_DSN" not in env and "SVC_DEBUG" not in env and "DATABASE_POOL_SIZE" not in env


def test_each_required_variable_says_why_and_what_the_migrations_read_is_required(tmp_path: Path) -> None:
    migration = (
        "import os\nfrom starlette.config import Config\n\nconfig = Config()\n"
        'FOLDER = config("SVC_STORAGE_FOLDER")\nREGION = os.environ["SVC_REGION"]\n'
        'OPTIONAL = os.environ.get("SVC_OPTIONAL")\n'
    )
    root = _tree(
        tmp_path / "svc",
        {
            "alembic.ini": "[alembic]\nscript_location = migrations\n",
            "migrations/env.py": "import os\nURL = os.environ['DATABASE_URL']\n",
            "migrations/versions/0002_storage.py": "revision = '0002'\n" + migration,
            "svc/__init__.py": "",
            "svc/config.py": STARLETTE_CONFIG,
            # NOTE: a required read outside the migrations may never run: it is listed, not required.
            "svc/tools.py": 'import os\nHOME = os.environ["SVC_TOOL_HOME"]\n',
        },
    )
    found = init.detect(root)
    why = dict(found.required_why)
    assert (
        why["SVC_STORAGE_FOLDER"]
        == "read with no default by the migration migrations/versions/0002_storage.py"
    )
    assert why["SVC_REGION"] == "read by the migration migrations/versions/0002_storage.py"
    assert why["SVC_WORKERS"] == "read with no default in svc/config.py"
    assert set(why) == set(dict(found.required_env))
    assert "SVC_OPTIONAL" not in why and "SVC_TOOL_HOME" not in why
    init.write(root, found)
    workflow = (root / init.WORKFLOW_FILE).read_text("utf-8")
    assert "SVC_REGION: change-me   # read by the migration migrations/versions/0002_storage.py" in workflow
    assert "# read with no default in svc/config.py: set the real value" in workflow
    assert "required by the service's settings" not in workflow
    assert "# SVC_TOOL_HOME: ...   # read by the service" in workflow
    # NOTE: the database URL env.py reads is the one the workflow sets for its own database.
    assert workflow.count("DATABASE_URL:") == 1 and "read by the migration migrations/env.py" not in workflow


def test_init_in_a_service_folder_sees_the_workflows_at_the_repository_top(tmp_path: Path) -> None:
    import subprocess

    root = _tree(
        tmp_path / "repo",
        {
            ".github/workflows/ci.yml": "jobs:\n  t:\n    steps:\n      - run: svc db upgrade\n",
            "backend/pyproject.toml": PYPROJECT,
            "backend/alembic.ini": ALEMBIC_INI,
            "backend/migrations/env.py": "",
        },
    )
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    found = init.detect(root / "backend")
    assert found.workflows == ("../.github/workflows/ci.yml",)
    assert found.migrate_command == ("svc db upgrade", "../.github/workflows/ci.yml")
    assert "found GitHub workflows: ../.github/workflows/ci.yml" in init.report(found)


def test_an_allowed_call_holding_a_secret_is_written_masked_and_still_allowed(service: Path) -> None:
    secret = "Sup3r" + "S3cretPw9"
    (service / "src" / "svc" / "reset.py").write_text(
        "from sqlalchemy import MetaData, create_engine\n\nmetadata = MetaData()\n\n\ndef reset():\n"
        f'    metadata.create_all(create_engine("postgresql://app:{secret}@db/app"))\n',
        encoding="utf-8",
    )
    init.write(service, init.detect(service))
    rules = (service / "evidence-rules.yaml").read_text()
    assert secret not in rules
    assert yaml.safe_load(rules)["checks"]["EK307"]["options"]["allow"] == [
        "src/svc/reset.py::reset: metadata.create_all(create_engine('postgresql://app:[REDACTED]@db/app'))"
    ]
    assert _gates(service, [str(service / "evidence-rules.yaml")])["EK307"] == ("passed", [])


def test_a_sub_project_with_its_own_virtualenv_is_installed_and_migrated_from_its_folder(
    tmp_path: Path,
) -> None:
    root = _tree(
        tmp_path / "repo",
        {
            "backend/pyproject.toml": PYPROJECT,
            "backend/alembic.ini": "[alembic]\nscript_location = app/alembic\n",
            "backend/app/__init__.py": "",
            "backend/app/alembic/env.py": "",
            "backend/tests/test_api.py": "def test_ok():\n    pass\n",
        },
    )
    venv = root / "backend" / ".venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    (venv / "bin" / "python").symlink_to(sys.executable)
    init.write(root, init.detect(root))
    steps = yaml.safe_load((root / init.WORKFLOW_FILE).read_text("utf-8"))["jobs"]["evidence"]["steps"]
    install = next(s for s in steps if s.get("name") == "Install the service")["run"]
    assert install.splitlines() == [
        "(cd backend && python -m venv .venv)",
        '(cd backend && .venv/bin/pip install -e ".[dev]")',
    ]
    assert _migrate_step(root) == ["(cd backend && .venv/bin/alembic upgrade head)"]


def test_a_project_two_folders_down_runs_its_tests_installs_and_migrates_there(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`backend/app/` holds the only project (a template's shape), init runs at the top, and the service's
    virtualenv lies outside the repository: the workflow makes it in the project's folder."""
    root = _tree(
        tmp_path / "repo",
        {
            "backend/app/pyproject.toml": PYPROJECT,
            "backend/app/alembic.ini": "[alembic]\nscript_location = alembic\n",
            "backend/app/alembic/env.py": "",
            "backend/app/app/__init__.py": "",
            "backend/app/test/api/test_login.py": "def test_ok():\n    pass\n",
        },
    )
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "bin").mkdir(parents=True)
    (elsewhere / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    (elsewhere / "bin" / "python").symlink_to(sys.executable)
    monkeypatch.setenv("VIRTUAL_ENV", str(elsewhere))
    found = init.detect(root)
    assert (found.tests, found.python) == (("backend/app/test",), "backend/app/.venv/bin/python")
    init.write(root, found)
    tests = yaml.safe_load((root / "evidence.yaml").read_text("utf-8"))["collectors"]["tests"]
    assert (tests["cwd"], tests["run"]) == ("backend/app", ["python", "-m", "pytest", "test"])
    steps = yaml.safe_load((root / init.WORKFLOW_FILE).read_text("utf-8"))["jobs"]["evidence"]["steps"]
    install = next(s for s in steps if s.get("name") == "Install the service")["run"]
    assert install.splitlines()[0] == "(cd backend/app && python -m venv .venv)"
    assert _migrate_step(root) == ["(cd backend/app && .venv/bin/alembic upgrade head)"]


def test_the_migration_step_puts_the_folder_env_py_imports_from_on_pythonpath(tmp_path: Path) -> None:
    """env.py imports the service's own package (`from app.core import settings`), and no
    `prepend_sys_path` puts its folder on sys.path (a Dockerfile's `ENV PYTHONPATH` did, in the image):
    `alembic`, a console script, would not find it, so the step sets PYTHONPATH to that folder."""
    env_py = (
        "from alembic import context\nfrom app.core.config import settings\n\ndef run():\n    import models\n"
    )
    root = _tree(
        tmp_path / "repo",
        {
            "backend/app/pyproject.toml": PYPROJECT,
            "backend/app/alembic.ini": "[alembic]\nscript_location = alembic\n",
            "backend/app/alembic/env.py": env_py,
            "backend/app/alembic/__init__.py": "",
            "backend/app/app/__init__.py": "",
            "backend/app/app/core/__init__.py": "",
        },
    )
    assert _migrate_step(root) == ["(cd backend/app && PYTHONPATH=. ../../.venv/bin/alembic upgrade head)"]
    # NOTE: the folder Alembic runs in is the package itself: its imports start one folder up.
    shutil.rmtree(root / "backend/app/app")
    (root / "backend/app/__init__.py").write_text("")
    (root / "backend/app/core").mkdir()
    assert _migrate_step(root) == ["(cd backend/app && PYTHONPATH=.. ../../.venv/bin/alembic upgrade head)"]
    shutil.rmtree(root / "backend/app/core")
    (root / "backend/app/__init__.py").unlink()
    (root / "backend/app/app/core").mkdir(parents=True)
    (root / "backend/app/app/__init__.py").write_text("")
    # NOTE: with `prepend_sys_path` Alembic finds it itself; a module only of other libraries needs nothing.
    (root / "backend/app/alembic.ini").write_text(
        "[alembic]\nscript_location = alembic\nprepend_sys_path = .\n"
    )
    assert _migrate_step(root) == ["(cd backend/app && ../../.venv/bin/alembic upgrade head)"]
    (root / "backend/app/alembic.ini").write_text("[alembic]\nscript_location = alembic\n")
    (root / "backend/app/alembic/env.py").write_text("from alembic import context\nimport sqlalchemy\n")
    assert _migrate_step(root) == ["(cd backend/app && ../../.venv/bin/alembic upgrade head)"]


def test_an_ini_whose_default_section_sets_script_location_has_only_its_alembic_sections(
    tmp_path: Path,
) -> None:
    """`[DEFAULT] script_location` is inherited by every section, the logging and hook ones too: those are no
    Alembic configurations; `[alembic]` and a second tree's own section are."""
    ini = (
        "[DEFAULT]\nscript_location = alembic\nprepend_sys_path = .\n\n"
        "[post_write_hooks]\nhooks = black\n\n[loggers]\nkeys = root\n\n[handlers]\nkeys = console\n\n"
        "[formatters]\nkeys = generic\n\n[logger_root]\nlevel = INFO\nhandlers = console\n\n"
        "[handler_console]\nclass = StreamHandler\n\n[formatter_generic]\nformat = %(message)s\n\n"
        "[alembic]\nscript_location = alembic\n\n[schema_private]\nscript_location = alembic_tenants\n"
    )
    root = _tree(
        tmp_path / "repo",
        {
            "backend/alembic.ini": ini,
            "backend/alembic/env.py": "",
            "backend/alembic_tenants/env.py": "",
        },
    )
    found = init.detect(root)
    assert [(c.ini, c.section, c.script_location) for c in found.alembic] == [
        ("backend/alembic.ini", "alembic", "backend/alembic"),
        ("backend/alembic.ini", "schema_private", "backend/alembic_tenants"),
    ]
    from evidence_kit.collectors.alembic import sections

    assert sections(root / "backend/alembic.ini") == ["alembic", "schema_private"]
    # NOTE: a section that only inherits it, and is no logging one, is a configuration (`alembic -n dev`).
    (root / "backend/alembic.ini").write_text(ini + "\n[dev]\nsqlalchemy.url = sqlite://\n")
    assert sections(root / "backend/alembic.ini") == ["alembic", "schema_private", "dev"]


def test_a_tree_sharing_the_version_table_of_the_one_before_it_is_not_judged_against_the_database(
    tmp_path: Path,
) -> None:
    """`[alembic]` and a tenants' tree `[schema_private]` both keep `alembic_version` in no named schema:
    both cannot be applied to one schema, so the second is written `database: false` (read and checked,
    not gated, not migrated); one whose env.py picks its schema at run time may keep its own."""
    ini = "[alembic]\nscript_location = alembic\n\n[schema_private]\nscript_location = alembic_tenants\n"
    root = _tree(
        tmp_path / "svc",
        {
            "alembic.ini": ini,
            "alembic/env.py": "",
            "alembic_tenants/env.py": "",
            "alembic/versions/.keep": "",
        },
    )
    found = init.detect(root)
    assert [c.shares_table_with for c in found.alembic] == [None, "alembic.ini [alembic] (alembic_version)"]
    assert any(
        "it shares its version table with alembic.ini [alembic]" in line for line in init.report(found)
    )
    init.write(root, found)
    assert config.load(root / "evidence.yaml").collectors["alembic"]["configs"] == [
        {"ini": "alembic.ini"},
        {"ini": "alembic.ini", "name": "schema_private", "database": False},
    ]
    assert _migrate_step(root) == [".venv/bin/alembic upgrade head"]
    (root / "alembic_tenants/env.py").write_text(
        "def run(connection, schema):\n    connection.execute(f'SET search_path TO {schema}')\n"
    )
    assert [c.shares_table_with for c in init.detect(root).alembic] == [None, None]


def test_a_version_table_env_py_picks_at_run_time_is_said_to_be_named(tmp_path: Path) -> None:
    """`version_table=f"{settings.prefix}alembic_version"`: init cannot know the table; it says so, and the
    config it writes says where to name it (else the revision is not read and EK302 cannot judge)."""
    env = (
        "from alembic import context\nfrom app.settings import settings\n"
        'context.configure(url="x", version_table=f"{settings.prefix}alembic_version")\n'
    )
    root = _tree(
        tmp_path / "svc",
        {"alembic.ini": "[alembic]\nscript_location = migrations\n", "migrations/env.py": env},
    )
    found = init.detect(root)
    assert found.alembic[0].table_picked is not None
    assert any(
        line.startswith("  warning: its version table is picked at run time (env.py (migrations/env.py:3)")
        for line in init.report(found)
    )
    init.write(root, found)
    text = (root / "evidence.yaml").read_text("utf-8")
    assert "# env.py picks its version table at run time: env.py (migrations/env.py:3)" in text
    assert config.load(root / "evidence.yaml").collectors["alembic"]["configs"] == [{"ini": "alembic.ini"}]
    # NOTE: a table env.py names as a literal is known: nothing to say.
    (root / "migrations/env.py").write_text(
        env.replace('f"{settings.prefix}alembic_version"', '"app_versions"')
    )
    assert init.detect(root).alembic[0].table_picked is None


def test_a_member_of_a_uv_workspace_is_installed_by_uv_from_either_folder(tmp_path: Path) -> None:
    import subprocess

    root = _tree(
        tmp_path / "repo",
        {
            "pyproject.toml": "[tool.uv.workspace]\nmembers = ['backend']\n",
            "uv.lock": "version = 1\n",
            "backend/pyproject.toml": PYPROJECT,
            "backend/tests/test_api.py": "def test_ok():\n    pass\n",
        },
    )
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    for folder in (root, root / "backend"):
        assert init._install(folder, ".venv", True) == (
            "python -m pip install uv",
            "uv sync --all-extras --dev",
        )
    (root / "pyproject.toml").write_text("[project]\nname = 'top'\n")
    assert init._install(root / "backend", ".venv", True)[0] == "python -m venv .venv"


def test_the_workflow_installs_a_dependency_group_and_hatch_s_default_environment(tmp_path: Path) -> None:
    """pip installs neither from pyproject.toml: a suite whose `addopts` needs pytest-xdist (listed only in
    hatch's default environment) stopped at `unrecognized arguments: -n`."""
    pyproject = (
        PYPROJECT
        + '\n[dependency-groups]\ndev = ["pytest-asyncio", {include-group = "lint"}]\nlint = ["ruff"]\n'
        + "\n[tool.hatch.envs.default]\n"
        + 'dependencies = ["pytest-xdist", "pytest-cov>=4; python_version>\'3.9\'"]\n'
    )
    root = _tree(tmp_path / "svc", {"pyproject.toml": pyproject})
    assert init._install(root, ".venv", True) == (
        "python -m venv .venv",
        '.venv/bin/pip install -e ".[dev]"',
        ".venv/bin/pip install pytest-asyncio pytest-xdist 'pytest-cov>=4; python_version>'\"'\"'3.9'\"'\"''",
    )


def test_the_workflow_installs_pytest_only_where_nothing_it_installs_names_it(tmp_path: Path) -> None:
    """The tests collector runs pytest: the workflow installs it unless the extra, a dependency group or a
    requirements file it installs names pytest itself (a plugin such as pytest-cov does not)."""
    plugin_only = PYPROJECT.replace('dev = ["pytest"]', 'dev = ["pytest-cov", "pytest_mock"]')
    root = _tree(tmp_path / "plugins", {"pyproject.toml": plugin_only})
    assert init._install(root, ".venv", True)[-1] == ".venv/bin/pip install pytest"
    assert init._install(root, ".venv", False)[-1] == '.venv/bin/pip install -e ".[dev]"'
    for folder, files in (
        ("extra", {"pyproject.toml": PYPROJECT.replace('["pytest"]', '["pytest[testing]>=8", "httpx"]')}),
        ("group", {"pyproject.toml": plugin_only + '\n[dependency-groups]\ntest = ["PyTest ~= 8.2"]\n'}),
        (
            "requirements",
            {"requirements-dev.txt": "# tools\nruff\npytest==8.3.2 ; python_version >= '3.9'\n"},
        ),
    ):
        commands = init._install(_tree(tmp_path / folder, files), ".venv", True)
        assert not any(c.endswith("pip install pytest") for c in commands), (folder, commands)


def test_settings_a_committed_env_file_gives_are_not_required_and_placeholders_fit_their_type(
    tmp_path: Path,
) -> None:
    import subprocess

    settings = (
        "from pydantic import EmailStr, HttpUrl\n"
        "from pydantic_settings import BaseSettings, SettingsConfigDict\n\n\n"
        "class Settings(BaseSettings):\n"
        '    model_config = SettingsConfigDict(env_file="../.env")\n'
        "    PROJECT_NAME: str\n    FIRST_SUPERUSER: EmailStr\n"
        "    FRONTEND_HOST: HttpUrl\n    SECRET_KEY: str\n"
        # NOTE: collections are read from the environment as JSON: an empty one, not a URL or a word.
        "    CORS_ORIGINS: list[str] | list[AnyHttpUrl]\n    LIMITS: dict[str, int]\n"
    )
    root = _tree(
        tmp_path / "repo",
        {
            ".env": "PROJECT_NAME=Full Stack\nSECRET_KEY=\n",
            "backend/pyproject.toml": PYPROJECT,
            "backend/app/__init__.py": "",
            "backend/app/config.py": settings,
        },
    )
    # NOTE: untracked, the file is not in the workflow's checkout: nothing it gives counts.
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    assert dict(init.detect(root).required_env) == {
        "CORS_ORIGINS": "[]",
        "LIMITS": "{}",
        "FIRST_SUPERUSER": "admin@example.com",
        "FRONTEND_HOST": "http://localhost",
        "PROJECT_NAME": "change-me",
        "SECRET_KEY": "change-me",
    }
    subprocess.run(["git", "-C", str(root), "add", ".env"], check=True)
    # NOTE: an empty value gives nothing.
    assert "PROJECT_NAME" not in dict(init.detect(root).required_env)
    assert "SECRET_KEY" in dict(init.detect(root).required_env)


def test_a_migration_command_is_never_read_from_a_file_that_links_out_of_the_repository(
    service: Path, tmp_path: Path
) -> None:
    import subprocess

    subprocess.run(["git", "init", "-q", str(service)], check=True)
    outside = tmp_path / "outside.mk"
    outside.write_text("migrate:\n\tsvc db upgrade\n", encoding="utf-8")
    (service / "Makefile").symlink_to(outside)
    assert init.detect(service).migrate_command is None
    (service / "Makefile").unlink()
    (service / "Makefile").write_text(outside.read_text(), encoding="utf-8")
    assert init.detect(service).migrate_command == ("svc db upgrade", "Makefile")


# NOTE: a settings module of Python 3.12 syntax (PEP 695), which init's own Python may not parse.
NEWER_SETTINGS = """\
import os


def first[T](items: list[T]) -> T:
    return items[0]


type Pair[T] = tuple[T, T]

DB_URI = os.environ["SVC_DB_URI"]
HOST = os.getenv("SVC_HOST")
"""

NEWER_WORKER = """\
import os


class Box[T]:
    def label(self) -> str:
        names = {"a": "b"}
        return f"{names["a"]}"


TOKEN_NAME = os.environ.get("SVC_QUEUE_NAME", "jobs")
"""


def _newer_service(root: Path, venv: Path) -> Path:
    files = {
        "pyproject.toml": '[project]\nname = "svc"\n',
        "svc/__init__.py": "",
        "svc/settings.py": NEWER_SETTINGS,
        "svc/queue_names.py": NEWER_WORKER,
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    (root / ".venv").symlink_to(venv, target_is_directory=True)
    return root


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="init's own Python parses 3.12 syntax")
def test_files_of_newer_syntax_are_parsed_by_the_services_newer_interpreter_in_one_process(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    venv = pythons.venv(tmp_path_factory, "3.12", [], pip=False).parent.parent
    root = _newer_service(tmp_path / "svc", venv)
    calls: list[tuple[str, list[list[str]], float]] = []
    real = foreign.read

    def spy(python: object, kind: str, files: list[list[str]], **options: object) -> object:
        calls.append((kind, [f[0] for f in files], options["timeout"]))  # type: ignore[arg-type]
        return real(python, kind, files, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(foreign, "read", spy)
    found = init.detect(root)
    assert found.python_version == "3.12"
    assert {"SVC_DB_URI", "SVC_HOST", "SVC_QUEUE_NAME"} <= set(found.env_names)
    assert (found.database_env, found.database_env_source) == ("SVC_DB_URI", "svc/settings.py")
    assert calls == [("older", ["svc/queue_names.py", "svc/settings.py"], init.OLDER_TIMEOUT)]
    assert (found.parsed_by_service, found.unparsed) == (2, ())
    lines = init.report(found)
    assert "2 files of syntax newer than init's Python parsed by the service's interpreter" in lines
    assert not [line for line in lines if "could not be parsed" in line]

    # NOTE: an f-string of 3.12's form in such a file is still an f-string to init's readers.
    (root / "tests").mkdir()
    (root / "tests/test_jobs.py").write_text("def test_x():\n    pass\n", encoding="utf-8")
    setup = "def setup[E](engine: E, Base, cfg):\n{}    Base.metadata.create_all(engine)\n"
    (root / "tests/conftest.py").write_text(setup.format(""), encoding="utf-8")
    assert init.detect(root).tests_migrate == (("tests/conftest.py", "calls create_all"),)
    creates = '    engine.execute(f"CREATE DATABASE {cfg["name"]}")\n'
    (root / "tests/conftest.py").write_text(setup.format(creates), encoding="utf-8")
    assert init.detect(root).tests_migrate == ()
    shutil.rmtree(root / "tests")

    # NOTE: a file the service's interpreter cannot parse either is named, not dropped in silence.
    (root / "svc/broken.py").write_text('import os\nX = os.environ["SVC_LOST"]\ndef (:\n', encoding="utf-8")
    found = init.detect(root)
    assert "SVC_LOST" not in found.env_names and found.parsed_by_service == 2
    assert (
        "warning: 1 file could not be parsed: svc/broken.py, their environment reads are not listed "
        "(the service's Python 3.12 could not parse them either)"
    ) in init.report(found)


def test_an_interpreter_outside_the_repository_is_this_machines_not_the_configs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """evidence.yaml names the virtualenv the workflow makes; the one found elsewhere is named for
    EVIDENCE_PYTHON, in the report and in a comment."""
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "bin").mkdir(parents=True)
    (elsewhere / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    (elsewhere / "bin" / "python").symlink_to(sys.executable)
    root = tmp_path / "svc"
    (root / "svc").mkdir(parents=True)
    (root / "pyproject.toml").write_text('[project]\nname = "svc"\n', encoding="utf-8")
    (root / "svc" / "__init__.py").write_text("", encoding="utf-8")
    monkeypatch.setenv("VIRTUAL_ENV", str(elsewhere))
    found = init.detect(root)
    python = str(elsewhere / "bin" / "python")
    assert (found.python, found.python_elsewhere) == (".venv/bin/python", python)
    assert any(
        line.startswith(f"found the service's interpreter outside the repository: {python} ($VIRTUAL_ENV")
        and line.endswith(f"collect on this machine with EVIDENCE_PYTHON={python}, or make that virtualenv")
        for line in init.report(found)
    )
    init.write(root, found)
    text = (root / "evidence.yaml").read_text("utf-8")
    assert f"# EVIDENCE_PYTHON={python}\npython: .venv/bin/python\n" in text
    assert config.load(root / "evidence.yaml").python == ".venv/bin/python"


# NOTE: f-strings of 3.12's form (PEP 701): the same quote inside, nested, a format spec with a field.
NEWER_FSTRINGS = """\
import os
names = {"a": "b"}
width = 5
X = f"{names["a"]}"
Y = f'x{os.environ["SVC_A"]}y{width!r:>{width}}z{{literal}}'
U = f"postgresql://{os.environ['SVC_U']}:{os.getenv("SVC_P")}@h/{f"{names['a']}"}"
V = f\"\"\"tri{'"'}ple\"\"\"
N = f"{x if (x:=1) else 2}{(lambda q: q)(3)}"
S = f"a'b\\"c{width}\\t\\\\"
D = f"{width=}"
Z = f"{'\\n'.join(['a', 'b'])}"
"""


def test_f_strings_of_newer_syntax_are_written_again_in_the_older_form_with_the_same_value(
    tmp_path: Path,
) -> None:
    """The service's 3.12 rewrites; 3.10 parses the result and gets every f-string's value, except one with a
    backslash in its expression, which no older f-string can hold (a tuple of its parts)."""
    newer, older = pythons.python_for("3.12"), pythons.python_for("3.10")
    source = tmp_path / "fstrings.py"
    source.write_text(NEWER_FSTRINGS, encoding="utf-8")
    rewrite = (
        "import sys; sys.path.insert(0, sys.argv[1]); from evidence_kit.support.pyscan import older_source;"
        "print(older_source('fstrings.py', open(sys.argv[2], 'rb').read()), end='')"
    )
    done = subprocess.run(
        [str(newer), "-I", "-c", rewrite, str(ROOT), str(source)], capture_output=True, text=True, check=True
    )
    rewritten = tmp_path / "rewritten.py"
    rewritten.write_text(done.stdout, encoding="utf-8")
    show = (
        "import os, sys; os.environ.update(SVC_A='aa', SVC_U='uu', SVC_P='pp'); ns = {};"
        "exec(open(sys.argv[1]).read(), ns); print(repr({k: ns[k] for k in 'XYUVNSDZ'}))"
    )
    values = {}
    for python, path in ((newer, source), (older, rewritten)):
        out = subprocess.run([str(python), "-I", "-c", show, str(path)], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        values[python] = ast.literal_eval(out.stdout)
    expected = values[newer]
    assert expected["Y"] == "xaay    5z{literal}" and expected["U"] == "postgresql://uu:pp@h/b"
    assert values[older] == {**expected, "Z": ("a\nb",)}
    assert 'f"postgresql://' in done.stdout or 'f"""postgresql://' in done.stdout


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="init's own Python parses 3.12 syntax")
def test_files_init_cannot_parse_are_reported_when_the_service_python_is_not_newer(tmp_path: Path) -> None:
    own = f"{sys.version_info.major}.{sys.version_info.minor}"
    venv = tmp_path / "own-venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    (venv / "bin" / "python").symlink_to(sys.executable)
    root = _newer_service(tmp_path / "svc", venv)
    found = init.detect(root)
    assert found.python_version == own
    assert not {"SVC_DB_URI", "SVC_QUEUE_NAME"} & set(found.env_names)
    assert found.unparsed == ("svc/queue_names.py", "svc/settings.py")
    assert (
        "warning: 2 files could not be parsed: svc/queue_names.py, svc/settings.py, their environment reads "
        f"are not listed (the service's interpreter is Python {own}, no newer than init's Python {own})"
    ) in init.report(found)


GENERIC_NAMES = [
    *(f"AWS_{c}" for c in "ABCDEFGHIJ"),
    *("HOME", "PATH", "PYTHONPATH", "GITHUB_SHA", "RUNNER_OS", "LANG", "TMPDIR", "USER", "SHELL", "TERM"),
    *("XDG_CONFIG_HOME", "BUILD_ID"),
]


def test_the_workflow_comments_name_the_services_own_variables_first_and_say_how_many_are_left_out(
    tmp_path: Path,
) -> None:
    reads = "import os\n\n" + "".join(f'V{i} = os.getenv("{n}")\n' for i, n in enumerate(GENERIC_NAMES))
    own = "import os\n\n" + "".join(f'{n} = os.getenv("SVC__{n}")\n' for n in ("QUEUE", "REGION", "WORKERS"))
    own += (
        'MODE = os.getenv("ALPHA_MODE")\n'  # NOTE: the service's own, without its prefix: after those with it
        'SIGNING = os.getenv("ZULU_SIGNING_KEY")\n'  # NOTE: a secret name: first, and from the secrets
    )
    files = {
        "pyproject.toml": '[project]\nname = "svc"\n',
        "svc/__init__.py": "",
        "svc/config.py": own,
        "scripts/env_dump.py": reads + 'ROUNDS = os.getenv("BENCH_ROUNDS")\n',
    }
    root = tmp_path / "svc"
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    found = init.detect(root)
    assert found.env_own == ("ALPHA_MODE", "SVC__QUEUE", "SVC__REGION", "SVC__WORKERS", "ZULU_SIGNING_KEY")
    init.write(root, found)
    workflow = (root / init.WORKFLOW_FILE).read_text("utf-8")
    secret = re.findall(r"^ +# (\w+): \$\{\{ secrets\.(\w+) \}\}   # a secret the service", workflow, re.M)
    assert secret == [("ZULU_SIGNING_KEY", "ZULU_SIGNING_KEY")]
    assert workflow.index("# ZULU_SIGNING_KEY:") < workflow.index("# SVC__QUEUE:")
    commented = re.findall(r"^ +# ([A-Z][A-Z0-9_]*): \.\.\.   # read by the service$", workflow, re.MULTILINE)
    assert commented[:6] == [
        "SVC__QUEUE",
        "SVC__REGION",
        "SVC__WORKERS",
        "ALPHA_MODE",
        "BENCH_ROUNDS",
        "AWS_A",
    ]
    # NOTE: the secret is named beside the 20 others shown.
    assert len(commented) == 20
    assert "      # ... and 7 more read by the code (`evidence init` prints them all)\n" in workflow
    rest = sorted(set(GENERIC_NAMES) - set(commented))
    report = init.report(found)
    at = report.index(
        "the workflow names 21 of the other environment variables the code reads, in comments; the 7 more:"
    )
    # NOTE: six names a line, indented.
    assert report[at + 1 : at + 3] == ["  " + ", ".join(rest[:6]), "  " + ", ".join(rest[6:])]


def test_every_secret_the_service_reads_is_named_in_the_workflow_past_the_other_names_shown(
    tmp_path: Path,
) -> None:
    # NOTE: a cloud's variable the service's own package reads is its secret too; switches and counted
    # tokens are no secrets.
    secrets_read = [
        *(f"SVC_VENDOR{i:02d}_SECRET_KEY" for i in range(23)),
        "AZURE_CLIENT_SECRET",
        "SVC_API_TOKENS",
        "RATE_LIMIT_BYPASS_TOKEN",
        "SECRET_KEY_FOR_USE_IN_TESTS",
        "STRIPE_SECRET_KEY_HAS_LIVE",
    ]
    plain = [f"SVC_SETTING{i:02d}" for i in range(30)]
    switches = [
        "ENABLE_SECRET_MASKING",
        "LLM_MAX_TOKENS",
        "SVC_AUTH_PROVIDER_USE_ID_TOKEN",
        "MAX_OUTPUT_TOKENS",
        "SUMMARIZER_DESIRED_MEMORY_TOKEN_PRESSURE",
        "CONTEXT_WINDOW_TOKENS",
        "SVC_FORCE_RESET_DEFAULT_PASSWORD",
    ]
    reads = "import os\n\n" + "".join(
        f'V{i} = os.getenv("{n}")\n' for i, n in enumerate([*plain, *secrets_read, *switches])
    )
    root = _tree(
        tmp_path / "svc", {"pyproject.toml": PYPROJECT, "svc/__init__.py": "", "svc/config.py": reads}
    )
    found = init.detect(root)
    init.write(root, found)
    workflow = (root / init.WORKFLOW_FILE).read_text("utf-8")
    named = re.findall(r"^ +# (\w+): \$\{\{ secrets\.\w+ \}\}", workflow, re.M)
    assert sorted(named) == sorted(secrets_read)
    commented = re.findall(r"^ +# (\w+): \.\.\.   # read by the service$", workflow, re.M)
    assert commented == sorted([*plain, *switches])[: init.OTHER_ENV_SHOWN]
    assert f"# ... and {len(plain) + len(switches) - init.OTHER_ENV_SHOWN} more read by the code" in workflow


def test_tests_of_another_project_of_the_repository_are_left_out_of_the_roots_run(tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "svc",
        {
            "pyproject.toml": '[project]\nname = "svc"\n',
            "svc/__init__.py": "",
            "tests/unit/test_api.py": "def test_api():\n    pass\n",
            "packages/svc-bench/pyproject.toml": '[project]\nname = "svc-bench"\n',
            "packages/svc-bench/svc_bench/__init__.py": "",
            "packages/svc-bench/tests/test_bench.py": "import svc_bench\n",
        },
    )
    found = init.detect(root)
    assert (found.tests, found.tests_elsewhere) == (("tests",), ("packages/svc-bench/tests",))
    assert (
        "left out of the tests: packages/svc-bench/tests (each in another project of the repository, with a "
        "pyproject.toml or the like of its own: its tests import what that project installs, not the root's; "
        "run them from its folder)"
    ) in init.report(found)
    init.write(root, found)
    assert config.load(root / "evidence.yaml").collectors["tests"]["run"] == [
        "python",
        "-m",
        "pytest",
        "tests",
    ]
    # NOTE: a repository whose only tests are a project's own runs them from that project's folder.
    shutil.rmtree(root / "tests")
    found = init.detect(root)
    assert (found.tests, found.tests_elsewhere) == (("packages/svc-bench/tests",), ())


SKILL_SERVICE = """\
from sqlalchemy import text

PICK = text("SELECT id FROM skill_versions WHERE skill_id = :id LIMIT 1 FOR UPDATE SKIP LOCKED")


async def latest(session, skill_id):
    return await session.execute(PICK, {"id": skill_id})
"""

RUNNER = """\
import sys

CLAIM = "SELECT id FROM dispatches WHERE state = 'new' ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"


def main() -> None:
    while True:
        if "--once" in sys.argv:
            break


if __name__ == "__main__":
    main()
"""


def test_a_skip_locked_in_a_module_that_is_no_worker_is_not_written_as_one(tmp_path: Path) -> None:
    """A request-path module that locks one row with SKIP LOCKED, in a service with no queue table and no
    worker: EK308's `workers` is left out and the gate skips; a worker's claim is written and judged."""
    root = _tree(
        tmp_path / "svc",
        {
            "pyproject.toml": '[project]\nname = "svc"\n',
            "svc/__init__.py": "",
            "svc/agent/__init__.py": "",
            "svc/agent/skill/__init__.py": "",
            "svc/agent/skill/service.py": SKILL_SERVICE,
        },
    )
    found = init.detect(root)
    assert (found.claims, found.workers, found.queue) == (("svc/agent/skill/service.py",), (), None)
    lines = init.report(found)
    assert (
        "found FOR UPDATE SKIP LOCKED in svc/agent/skill/service.py, not taken for a job claim: no queue "
        "table was found and no worker lies in that file; EK308's `workers` is left unset (EK308 judges a "
        "bundle that shows a job queue); set it to the modules that claim jobs if the service has a queue"
    ) in lines
    assert not [line for line in lines if line.startswith("found job claims")]
    init.write(root, found)
    rules = yaml.safe_load((root / "evidence-rules.yaml").read_text("utf-8"))
    assert "EK308" not in (rules.get("checks") or {})
    assert _gates(root, [str(root / "evidence-rules.yaml")])["EK308"][0] == "skipped"
    # NOTE: a claim in a worker's module is one: it is written to `workers` and judged.
    (root / "svc/dispatch.py").write_text(RUNNER, encoding="utf-8")
    found = init.detect(root)
    assert [(w.source, w.kind) for w in found.workers] == [("svc/dispatch.py", "loop with --once")]
    assert "found job claims with SKIP LOCKED: svc/dispatch.py" in init.report(found)
    init.write(root, found, force=True)
    workers = yaml.safe_load((root / "evidence-rules.yaml").read_text("utf-8"))["checks"]["EK308"]["options"]
    assert workers == {"workers": [*init.DEFAULT_WORKERS, "svc/dispatch.py"]}
    shutil.rmtree(root.parent / "bundles")
    assert _gates(root, [str(root / "evidence-rules.yaml")])["EK308"] == ("passed", [])


def test_dramatiq_actors_are_decorated_functions_and_the_services_own_worker_command_wins(
    tmp_path: Path,
) -> None:
    """A module that only names the word (`actor_name`, a comment about actors) declares no actor; a command
    in the service's own files (a taskipy task) that names its modules replaces init's guesses."""
    files = {
        "pyproject.toml": PYPROJECT,
        "svc/__init__.py": "",
        "svc/worker/__init__.py": (
            "import dramatiq\n\ndef actor(**options):\n    return dramatiq.actor(**options)\n"
        ),
        "svc/worker/enqueue.py": "import dramatiq\n\ndef send(actor_name):\n    dramatiq.get_broker()\n",
        "svc/worker/run.py": "from svc.worker import actor\n",
        "svc/worker/scheduler.py": "def start(broker, worker):\n    pass\n",
        "svc/emails/tasks.py": (
            "from svc.worker import actor\n\n@actor(queue_name='low')\ndef send():\n    pass\n"
        ),
        "svc/legacy.py": "import dramatiq\n\n@dramatiq.actor\ndef old():\n    pass\n",
        "scripts/seed.py": "import dramatiq  # no actors here, the seeds only enqueue\n",
    }
    root = _tree(tmp_path / "svc", files)
    assert [(w.source, w.command, w.given_in) for w in init.detect(root).workers] == [
        ("svc/legacy.py", "dramatiq svc.legacy", None)
    ]
    # NOTE: `--watch svc` names a package to watch, not the worker's module.
    tasks = (
        '[tool.taskipy.tasks]\nworker = "dramatiq -p 1 -t 1 --watch svc '
        '-f svc.worker.scheduler:start svc.worker.run"\n'
    )
    (root / "pyproject.toml").write_text(PYPROJECT + "\n" + tasks, encoding="utf-8")
    found = init.detect(root)
    command = "dramatiq -p 1 -t 1 --watch svc -f svc.worker.scheduler:start svc.worker.run"
    assert [(w.source, w.kind, w.command, w.given_in) for w in found.workers] == [
        ("svc/worker/run.py", "dramatiq", command, "pyproject.toml")
    ]
    assert (
        f"found a dramatiq worker: svc/worker/run.py (pyproject.toml runs it as `{command}`)"
        in init.report(found)
    )
    init.write(root, found)
    text = (root / "evidence.yaml").read_text("utf-8")
    # NOTE: a worker runs until it is stopped: the suggestion runs it for a while, then stops it.
    assert (
        f"  #     - name: dramatiq-run\n  #       run: {command}\n  #       run_for: 15   # it runs" in text
    )


def test_from_the_repository_top_the_worker_command_of_the_app_s_project_folder_wins(tmp_path: Path) -> None:
    """The service in `server/` of a repository with other projects beside it: its `server/pyproject.toml`
    says how its worker runs; init run from the top reads it too (it guessed from the modules before)."""
    tasks = '[tool.taskipy.tasks]\nworker = "dramatiq -p 1 -t 1 svc.worker.run"\n'
    files = {
        "server/pyproject.toml": PYPROJECT + "\n" + tasks,
        "server/svc/__init__.py": "",
        "server/svc/main.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
        "server/svc/worker/__init__.py": "import dramatiq\n\nactor = dramatiq.actor\n",
        "server/svc/worker/run.py": "from svc.worker import actor\n",
        "server/svc/orders/tasks.py": "from dramatiq import Retry\n\n@actor\ndef ship():\n    raise Retry\n",
        "server/tests/test_main.py": "def test_ok():\n    pass\n",
        "clients/package.json": "{}\n",
    }
    root = _tree(tmp_path / "repo", files)
    found = init.detect(root)
    command = "dramatiq -p 1 -t 1 svc.worker.run"
    assert [(w.source, w.kind, w.command, w.cwd, w.given_in) for w in found.workers] == [
        ("server/svc/worker/run.py", "dramatiq", command, "server", "server/pyproject.toml")
    ]
    # NOTE: from the project folder, the same.
    assert [(w.command, w.given_in) for w in init.detect(root / "server").workers] == [
        (command, "pyproject.toml")
    ]
    # NOTE: the top names no project: the service is the one its app lies in, not the clone's folder.
    assert (found.service, found.service_from) == ("svc-api", "pyproject.toml of server")


def test_a_worker_in_a_sub_project_runs_from_its_folder_and_two_of_a_kind_have_two_names(
    tmp_path: Path,
) -> None:
    celery = "from celery import Celery\n\ncelery = Celery('app')\n"
    files = {
        "backend/app/pyproject.toml": PYPROJECT,
        "backend/app/app/__init__.py": "",
        "backend/app/app/core/__init__.py": "",
        "backend/app/app/core/celery.py": celery,
        "backend/app/app/core/beat.py": celery,
    }
    root = _tree(tmp_path / "svc", files)
    found = init.detect(root)
    assert [(w.command, w.cwd) for w in found.workers] == [
        ("celery -A app.core.beat worker --loglevel INFO", "backend/app"),
        ("celery -A app.core.celery worker --loglevel INFO", "backend/app"),
    ]
    init.write(root, found)
    text = (root / "evidence.yaml").read_text("utf-8")
    assert "  #     - name: celery-backend-app-app-core-beat-run\n" in text
    assert "  #       cwd: backend/app\n" in text
    # NOTE: the compose file's command is the service's own, run from the same folder.
    compose = (
        "services:\n  worker:\n    command: celery -A app.core.celery worker -l info\n"
        "  beat:\n    command: celery -A app.core.celery beat -l info\n"
    )
    (root / "docker-compose.yml").write_text(compose, encoding="utf-8")
    found = init.detect(root)
    assert [(w.kind, w.command, w.cwd, w.given_in) for w in found.workers] == [
        ("celery beat", "celery -A app.core.celery beat -l info", "backend/app", "docker-compose.yml"),
        ("celery", "celery -A app.core.celery worker -l info", "backend/app", "docker-compose.yml"),
    ]
    # NOTE: a health check, flower and a command holding a secret start no worker init would copy; a
    # Procfile's `exec` line does.
    password = "pw" + secrets.token_hex(8)
    (root / "docker-compose.yml").write_text(
        compose
        + '  check:\n    healthcheck:\n      test: ["CMD-SHELL", "celery -A app.core.celery inspect ping"]\n'
        + "  flower:\n    command: celery -A app.core.celery flower\n"
        + f"  other:\n    command: celery -A app.core.celery worker --broker=redis://:{password}@redis:6379/0\n",
        encoding="utf-8",
    )
    found = init.detect(root)
    assert [w.command for w in found.workers] == [
        "celery -A app.core.celery beat -l info",
        "celery -A app.core.celery worker -l info",
    ]
    init.write(root, found, force=True)
    assert password not in (root / "evidence.yaml").read_text("utf-8")
    (root / "backend/app/Procfile").write_text("worker: exec dramatiq app.core.celery\n", encoding="utf-8")
    (root / "Procfile").write_text(
        "worker: exec rq worker -u redis://redis app.core.beat\n", encoding="utf-8"
    )
    assert ("rq", "rq worker -u redis://redis app.core.beat") in [
        (w.kind, w.command) for w in init.detect(root).workers
    ]
    (root / "Procfile").unlink()
    # NOTE: two commands of one module, named apart; each suggestion loads once uncommented.
    (root / "backend/app/app/core/more.py").write_text("from celery import Celery\n\nC = Celery('x')\n")
    (root / "docker-compose.yml").write_text(
        compose + "  other:\n    command: celery -A app.core.celery worker -Q other\n", encoding="utf-8"
    )
    init.write(root, init.detect(root), force=True)
    names = re.findall(r"^  #     - name: (celery\S+)$", (root / "evidence.yaml").read_text("utf-8"), re.M)
    assert names == [
        "celery-beat-run",
        "celery-backend-app-app-core-celery-run",
        "celery-backend-app-app-core-celery-run-2",
    ]
    assert len(set(names)) == len(names)


def test_an_apscheduler_module_is_a_worker_only_when_it_runs_as_a_program(tmp_path: Path) -> None:
    schedule = (
        "from apscheduler.schedulers.blocking import BlockingScheduler\n\n"
        "def schedule():\n    scheduler = BlockingScheduler()\n    scheduler.start()\n"
    )
    root = _tree(
        tmp_path / "svc",
        {
            "pyproject.toml": PYPROJECT,
            "svc/__init__.py": "",
            "svc/scheduler.py": schedule,
            "svc/cron.py": schedule + '\n\nif __name__ == "__main__":\n    schedule()\n',
        },
    )
    found = init.detect(root)
    assert [(w.source, w.command) for w in found.workers] == [("svc/cron.py", "python -m svc.cron")]
    assert "found an APScheduler worker: svc/cron.py (runs as `python -m svc.cron`)" in init.report(found)


def test_the_tests_of_the_project_the_app_lies_in_are_the_service_s(tmp_path: Path) -> None:
    """The repository's top has a pyproject.toml, the service is `backend/` (its own uv.lock), a load-test
    tool beside it has tests too: run from the top, the tests are backend's, run from there."""
    root = _tree(
        tmp_path / "repo",
        {
            "pyproject.toml": PYPROJECT,
            "loadtest/tests/test_load.py": "def test_load():\n    pass\n",
            "backend/uv.lock": "",
            "backend/pytest.ini": "[pytest]\n",
            "backend/svc/__init__.py": "",
            "backend/svc/main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
            "backend/tests/test_api.py": "def test_api():\n    pass\n",
        },
    )
    found = init.detect(root)
    assert (found.tests, found.tests_elsewhere) == (("backend/tests",), ("loadtest/tests",))
    init.write(root, found)
    tests = yaml.safe_load((root / "evidence.yaml").read_text("utf-8"))["collectors"]["tests"]
    assert (tests["cwd"], tests["run"]) == ("backend", ["python", "-m", "pytest", "tests"])


def test_a_project_folder_that_is_a_package_too_is_where_imports_start_and_supervisord_starts_workers(
    tmp_path: Path,
) -> None:
    """`backend/` holds its own uv.lock and an `__init__.py`; its code imports `svc.x`: run from the top,
    the modules are `svc.x` run from `backend/`, and the workers are those supervisord.conf starts there."""
    celery = "from celery import Celery\n\napp = Celery('svc')\n"
    files = {
        "pyproject.toml": PYPROJECT,
        "backend/__init__.py": "",
        "backend/uv.lock": "",
        "backend/svc/__init__.py": "",
        "backend/svc/main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
        "backend/svc/apps/__init__.py": "",
        "backend/svc/apps/primary.py": celery,
        "backend/svc/versioned/__init__.py": "",
        "backend/svc/versioned/primary.py": "from svc.apps.primary import app\n",
        "backend/supervisord.conf": "[program:celery_primary]\n"
        "command=celery -A svc.versioned.primary worker --pool=threads -Q primary\n",
    }
    root = _tree(tmp_path / "repo", files)
    found = init.detect(root)
    assert (found.app, found.app_dir) == ("svc.main:app", "backend")
    assert [(w.command, w.cwd, w.given_in) for w in found.workers] == [
        (
            "celery -A svc.versioned.primary worker --pool=threads -Q primary",
            "backend",
            "backend/supervisord.conf",
        )
    ]


def test_a_front_end_s_env_file_in_the_compose_file_is_not_the_service_s(tmp_path: Path) -> None:
    compose = "services:\n  api:\n    env_file: .env\n  ui:\n    env_file: web/.env\n"
    root = _tree(
        tmp_path / "svc",
        {
            "pyproject.toml": PYPROJECT,
            "docker-compose.yml": compose,
            ".env": "",
            "web/.env": "",
            "web/package.json": "{}",
            "svc/__init__.py": "",
            "svc/main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
        },
    )
    assert init.detect(root).env_files == (".env",)


def test_a_backend_folder_of_a_uv_workspace_as_a_real_service_lays_it_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shape of a large service: `backend/` under a top pyproject.toml of a uv workspace; a package
    module named `setup.py`; packages without `__init__.py` between; two Alembic trees in one ini whose
    first picks its schema at run time and whose second keeps the default one."""
    celery = "from celery import Celery\n\napp = Celery('svc')\n"
    files = {
        "pyproject.toml": '[project]\nname = "onyxish"\nversion = "0"\n\n[tool.uv.workspace]\nmembers = []\n',
        "uv.lock": "",
        "backend/uv.lock": "",
        "backend/svc/__init__.py": "",
        "backend/svc/setup.py": "def setup_app():\n    pass\n",
        "backend/svc/main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
        "backend/svc/background/celery/apps/primary.py": celery,
        "backend/svc/background/celery/versioned/primary.py": (
            "from svc.background.celery.apps.primary import app\n"
        ),
        "backend/supervisord.conf": (
            "[program:primary]\ncommand=celery -A svc.background.celery.versioned.primary worker\n"
        ),
        "backend/alembic.ini": "[DEFAULT]\nscript_location = alembic\n\n"
        "[alembic]\nscript_location = alembic\n\n"
        "[schema_private]\nscript_location = alembic_tenants\n",
        "backend/alembic/env.py": "def run(connection, schema):\n"
        "    connection.execute(f'SET search_path TO {schema}')\n"
        "    context.configure(connection=connection, version_table_schema=schema)\n",
        "backend/alembic_tenants/env.py": "context.configure(connection=connection)\n",
    }
    top = _tree(tmp_path / "repo", files)
    (top / ".git").mkdir()
    found = init.detect(top)
    assert (found.app, found.app_dir) == ("svc.main:app", "backend")
    assert [(w.command, w.cwd) for w in found.workers] == [
        ("celery -A svc.background.celery.versioned.primary worker", "backend")
    ]
    assert [c.shares_table_with for c in found.alembic] == [
        None,
        "backend/alembic.ini [alembic] (alembic_version)",
    ]
    # NOTE: without supervisord's command, the guessed worker is named from where the app's imports start.
    (top / "backend/supervisord.conf").unlink()
    guessed = [(w.command, w.cwd) for w in init.detect(top).workers]
    assert guessed == [("celery -A svc.background.celery.apps.primary worker --loglevel INFO", "backend")]
    # NOTE: from backend/, its virtualenv is the one uv syncs above it, and its name the top project's.
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "bin").mkdir(parents=True)
    (elsewhere / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    (elsewhere / "bin" / "python").symlink_to(sys.executable)
    monkeypatch.setenv("VIRTUAL_ENV", str(elsewhere))
    backend = init.detect(top / "backend")
    assert (backend.python, backend.service) == ("../.venv/bin/python", "onyxish")


def test_a_tree_whose_schema_may_be_chosen_elsewhere_is_not_taken_for_one_sharing_a_table(
    tmp_path: Path,
) -> None:
    ini = "[alembic]\nscript_location = alembic\n\n[tenant]\nscript_location = tenant\n"
    root = _tree(tmp_path / "svc", {"alembic.ini": ini, "alembic/env.py": "", "tenant/env.py": ""})
    assert [c.shares_table_with for c in init.detect(root).alembic] == [
        None,
        "alembic.ini [alembic] (alembic_version)",
    ]
    # NOTE: keyword arguments built elsewhere, or a URL that sets the search path, may name its schema.
    (root / "tenant/env.py").write_text("context.configure(url='x', **tenant_options())\n")
    assert [c.shares_table_with for c in init.detect(root).alembic] == [None, None]
    (root / "tenant/env.py").write_text("")
    (root / "alembic.ini").write_text(
        ini + "sqlalchemy.url = postgresql://h/db?options=-csearch_path%3Dreports\n"
    )
    assert [c.shares_table_with for c in init.detect(root).alembic] == [None, None]


def test_a_service_folder_in_a_workspace_member_or_a_monorepo_gets_its_venv_and_name(tmp_path: Path) -> None:
    top = _tree(
        tmp_path / "repo",
        {
            "pyproject.toml": '[project]\nname = "platform-tools"\n\n'
            '[tool.uv.workspace]\nmembers = ["packages/*"]\n',
            "uv.lock": "",
            "packages/svc/pyproject.toml": '[project]\nname = "svc"\n',
            "packages/svc/service/app.py": "",
            "services/billing/api/app.py": "",
        },
    )
    (top / ".git").mkdir()
    assert init._uv_project_above(top / "packages/svc/service") == top.resolve()
    assert init._service(top / "services/billing/api") == ("billing", "folder name of ..")
    assert init._service(top / "packages/svc/service")[0] == "svc"


def test_a_nested_src_layouts_app_runs_from_its_project_folder(tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "repo",
        {
            "backend/pyproject.toml": PYPROJECT,
            "backend/src/svc/__init__.py": "",
            "backend/src/svc/main.py": MAIN,
        },
    )
    found = init.detect(root)
    assert (found.app, found.app_dir) == ("svc.main:app", "backend/src")
    init.write(root, found)
    text = (root / "evidence.yaml").read_text("utf-8")
    openapi = config.load(root / "evidence.yaml").collectors["openapi"]
    assert (openapi["app_dir"], openapi["cwd"]) == ("backend/src", "backend")
    # NOTE: the commented serve example runs where the import does, --app-dir relative to it.
    assert "uvicorn, --app-dir, src, svc.main:app," in text and "#     cwd: backend" in text


# NOTE: Flask-Migrate's files: an ini without `script_location` beside its env.py, which reads the app.
FLASK_MIGRATE_INI = """\
# A generic, single database configuration.

[alembic]
# template used to generate migration files
# file_template = %%(rev)s_%%(slug)s

[loggers]
keys = root

[handlers]
keys = console

[formatters]
keys = generic

[logger_root]
level = WARN
handlers = console

[handler_console]
class = StreamHandler
args = (sys.stderr,)
formatter = generic

[formatter_generic]
format = %(levelname)-5.5s [%(name)s] %(message)s
"""
FLASK_MIGRATE_ENV = """\
from alembic import context
from flask import current_app

config = context.config
config.set_main_option("sqlalchemy.url", current_app.config.get("SQLALCHEMY_DATABASE_URI"))
target_metadata = current_app.extensions["migrate"].db.metadata
"""
FLASK_REVISION = '''\
"""notes

Revision ID: 5a1f0c2d9e01
Revises:
"""
from alembic import op
import sqlalchemy as sa

revision = "5a1f0c2d9e01"
down_revision = None


def upgrade():
    op.create_table("notes", sa.Column("id", sa.Integer, primary_key=True))


def downgrade():
    op.drop_table("notes")
'''
FLASK_APP = """\
from flask import Flask


class ShopFlask(Flask):
    pass


def create_app():
    app = ShopFlask(__name__)
    return app
"""


def test_a_flask_migrate_folder_and_a_flask_app_are_found_as_flask_runs_them(tmp_path: Path) -> None:
    """Flask-Migrate's ini names no `script_location` (`flask db` sets its own folder at run time), and
    its env.py needs the app; a Flask app has no OpenAPI document: init neither says there is no Alembic
    config nor writes an `openapi` collector that cannot work."""
    import subprocess

    from evidence_kit.collectors.alembic import resolve_setup

    root = _tree(
        tmp_path / "shop",
        {
            "pyproject.toml": '[project]\nname = "shop"\ndependencies = ["flask", "flask-migrate"]\n',
            "migrations/alembic.ini": FLASK_MIGRATE_INI,
            "migrations/env.py": FLASK_MIGRATE_ENV,
            "migrations/versions/5a1f0c2d9e01_notes.py": FLASK_REVISION,
            "shop/__init__.py": FLASK_APP,
            "docker-entrypoint.sh": "#!/bin/sh\nflask db upgrade\nexec gunicorn 'shop:create_app()'\n",
        },
    )
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    found = init.detect(root)
    assert [(c.ini, c.section, c.script_location) for c in found.alembic] == [
        ("migrations/alembic.ini", "alembic", "migrations")
    ]
    assert "Flask's `current_app`" in (found.alembic[0].plain_problem or "")
    assert found.migrate_command == ("flask db upgrade", "docker-entrypoint.sh")
    assert (found.apps, found.flask_apps) == ((), ("shop:create_app",))
    lines = init.report(found)
    assert not [line for line in lines if line.startswith("no alembic.ini found")]
    assert any(line.startswith("found a Flask app: shop:create_app") for line in lines), lines
    init.write(root, found)
    loaded = config.load(root / "evidence.yaml")
    assert "openapi" not in loaded.collectors
    assert loaded.collectors["alembic"]["configs"] == [
        {"ini": "migrations/alembic.ini", "migrate_command": "flask db upgrade"}
    ]
    # NOTE: the collector reads the same folder from the same ini.
    setup = resolve_setup(root, {"ini": "migrations/alembic.ini"}, {})
    assert setup.script_location == root / "migrations"
    # NOTE: no virtualenv here: the workflow migrates and collects with the one its install step makes.
    steps = yaml.safe_load((root / init.WORKFLOW_FILE).read_text("utf-8"))["jobs"]["evidence"]["steps"]
    assert next(s for s in steps if s.get("name") == "Migrate")["run"].splitlines() == [
        ".venv/bin/flask db upgrade"
    ]
    assert next(s for s in steps if s.get("name") == "Evidence")["env"] == {
        "EVIDENCE_PYTHON": ".venv/bin/python"
    }
    # NOTE: served as `app = create_app()` in a module of its own, the factory imported from the package.
    (root / "wsgi.py").write_text("from shop import create_app\n\napp = create_app()\n", encoding="utf-8")
    (root / "docker-entrypoint.sh").write_text("#!/bin/sh\nflask db upgrade\nexec gunicorn wsgi:app\n")
    found = init.detect(root)
    assert (found.apps, found.flask_apps) == ((), ("wsgi:app",))


def _ci_job(service: str, image: str, prepare: str) -> str:
    return (
        "name: ci\non: push\njobs:\n  build:\n    runs-on: ubuntu-latest\n    services:\n"
        f"      {service}:\n        image: {image}\n"
        "    steps:\n      - uses: actions/checkout@v4\n"
        "      - uses: actions/setup-python@v5\n        with:\n          python-version: '3.12'\n"
        f"      - run: {prepare}\n      - name: Test\n        run: |\n          uv run make test\n"
    )


def test_the_own_ci_shown_is_the_postgresql_test_job_and_its_test_step_is_no_setup(tmp_path: Path) -> None:
    """Jobs that run the same suite on MariaDB and PostgreSQL: the PostgreSQL one is the service's CI for
    the workflow; a test step that calls a task runner's target (`uv run make test`) is the tests, not a
    command to run before them."""
    import subprocess

    root = _tree(
        tmp_path / "svc",
        {
            "pyproject.toml": '[project]\nname = "svc"\n',
            "Makefile": "test:\n\tpytest -rf tests\n",
            "tests/test_ok.py": "def test_ok():\n    pass\n",
            ".github/workflows/mariadb.yml": _ci_job(
                "mariadb", "mariadb:10.11", "./scripts/mariadb-ready.sh"
            ),
            ".github/workflows/postgres.yml": _ci_job(
                "postgres", "postgres:16", "./scripts/seed-postgres.sh"
            ),
        },
    )
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    workflows = [".github/workflows/mariadb.yml", ".github/workflows/postgres.yml"]
    own = init._own_ci(root, workflows, ["tests"])
    assert own.setup == (("./scripts/seed-postgres.sh",), (), ".github/workflows/postgres.yml")


def test_an_rq_worker_is_guessed_once_and_not_from_a_module_that_only_reads_its_state(tmp_path: Path) -> None:
    """Modules of one rq worker (the CLI that starts it, the class it runs) give one `rq worker`; a status
    page that lists the workers (`Worker.all(...)`) is none."""
    root = _tree(
        tmp_path / "svc",
        {
            "pyproject.toml": '[project]\nname = "svc"\n',
            "svc/__init__.py": "",
            "svc/cli.py": (
                "from rq import Worker\n\n\ndef run(queues, conn):\n"
                "    Worker(queues, connection=conn).work()\n"
            ),
            "svc/tasks/__init__.py": "",
            "svc/tasks/worker.py": "import rq\n\n\nclass Worker(rq.Worker):\n    pass\n",
            "svc/monitor.py": (
                "from rq import Worker\n\n\ndef status(conn):\n    return len(Worker.all(connection=conn))\n"
            ),
        },
    )
    workers = init.detect(root).workers
    assert [(w.kind, w.command, w.source) for w in workers] == [("rq", "rq worker", "svc/cli.py")]
    (root / "svc/cli.py").unlink()
    (root / "svc/tasks/worker.py").unlink()
    assert init.detect(root).workers == ()
