"""`evidence init` finds a Litestar app as it finds a FastAPI one: an instance, a factory, by its text."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from evidence_kit import config
from evidence_kit.commands import init
from tests.test_init import _tree

HANDLERS = """\
from litestar import Litestar, get


@get("/books")
async def list_books() -> list[str]:
    return []


"""


def test_a_litestar_app_is_found_and_named_an_app(tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "shelf",
        {
            "shelf/__init__.py": "",
            "shelf/main.py": HANDLERS + "app = Litestar(route_handlers=[list_books])\n",
            "shelf/admin.py": "import litestar\n\nadmin: litestar.Litestar = litestar.Litestar()\n",
        },
    )
    found = init.detect(root)
    assert [(a.target, a.factory, a.hidden) for a in found.apps] == [
        ("shelf.main:app", False, False),
        ("shelf.admin:admin", False, False),
    ]
    lines = init.report(found)
    assert "found app: shelf.main:app (in shelf/main.py)" in lines
    assert "found other apps: shelf.admin:admin (change collectors.openapi.app to use one)" in lines
    init.write(root, found)
    assert config.load(root / "evidence.yaml").collectors["openapi"]["app"] == "shelf.main:app"


def test_a_factory_that_returns_a_litestar_app_is_found_as_a_factory(tmp_path: Path) -> None:
    factory = HANDLERS + "def create_app() -> Litestar:\n    return Litestar(route_handlers=[list_books])\n"
    root = _tree(tmp_path / "shelf", {"src/shelf/__init__.py": "", "src/shelf/app.py": factory})
    found = init.detect(root)
    assert [(a.target, a.app_dir, a.factory) for a in found.apps] == [("shelf.app:create_app", "src", True)]
    assert "found an app factory: shelf.app:create_app (in src/shelf/app.py, app_dir src)" in init.report(
        found
    )
    init.write(root, found)
    options = config.load(root / "evidence.yaml").collectors["openapi"]
    assert (options["app"], options["factory"], options["app_dir"]) == ("shelf.app:create_app", True, "src")


def test_a_litestar_app_without_its_openapi_ranks_last(tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "shelf",
        {
            "shelf/__init__.py": "",
            "shelf/bare.py": "from litestar import Litestar\n\napp = Litestar(openapi_config=None)\n",
            "shelf/main.py": HANDLERS + "app = Litestar(route_handlers=[list_books])\n",
        },
    )
    found = init.detect(root)
    assert [(a.target, a.hidden) for a in found.apps] == [("shelf.main:app", False), ("shelf.bare:app", True)]


def test_a_litestar_app_in_a_file_python_cannot_parse_is_found_by_its_text(tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "shelf",
        {
            "shelf/__init__.py": "",
            "shelf/main.py": HANDLERS + "app = Litestar(route_handlers=[list_books])\nnot python (\n",
            "shelf/bare.py": "import litestar\napp = litestar.Litestar(openapi_config=None)\nnot python (\n",
        },
    )
    found = init.detect(root)
    assert [(a.target, a.hidden) for a in found.apps] == [("shelf.main:app", False), ("shelf.bare:app", True)]


def test_a_class_named_like_neither_is_no_app(tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "shelf",
        {"shelf/__init__.py": "", "shelf/main.py": "from litestar import Router\n\nrouter = Router('/x')\n"},
    )
    found = init.detect(root)
    assert found.apps == ()
    assert "no app found: set collectors.openapi.app by hand" in init.report(found)


CONFTEST_DOCKER = """\
from pytest_databases.docker.postgres import PostgresService

pytest_plugins = [
    "tests.data_fixtures",
    "pytest_databases.docker",
    "pytest_databases.docker.postgres",
]
"""


def test_tests_that_start_their_own_database_in_docker_are_said_and_their_command_kept(
    tmp_path: Path,
) -> None:
    root = _tree(
        tmp_path / "shelf",
        {
            "shelf/__init__.py": "",
            "shelf/main.py": HANDLERS + "app = Litestar(route_handlers=[list_books])\n",
            "tests/__init__.py": "",
            "tests/conftest.py": CONFTEST_DOCKER,
            "tests/test_books.py": "def test_books():\n    pass\n",
            "tests/integration/conftest.py": (
                "from testcontainers.redis import RedisContainer\n\n\n"
                "def redis_url(docker_ip, docker_services):\n    return RedisContainer\n"
            ),
        },
    )
    found = init.detect(root)
    assert found.tests_docker == (
        (
            "tests/conftest.py",
            ("PostgreSQL",),
            "loads pytest_databases.docker, pytest_databases.docker.postgres",
        ),
        (
            "tests/integration/conftest.py",
            ("Redis",),
            "imports testcontainers.redis and takes pytest-docker's docker_services",
        ),
    )
    note = (
        "the tests start their own PostgreSQL and Redis in Docker (tests/conftest.py loads "
        "pytest_databases.docker, pytest_databases.docker.postgres; tests/integration/conftest.py imports "
        "testcontainers.redis and takes pytest-docker's docker_services): the CI runner needs Docker, or run "
        "a subset"
    )
    assert f"warning: {note} (collectors.tests.run in evidence.yaml)" in init.report(found)
    init.write(root, found)
    text = (root / "evidence.yaml").read_text("utf-8")
    assert f"  # T{note[1:]}.\n  tests:\n" in text
    assert config.load(root / "evidence.yaml").collectors["tests"]["run"] == [
        "python",
        "-m",
        "pytest",
        "tests",
    ]


def test_tests_that_start_nothing_in_docker_are_not_said_to(tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "shelf",
        {
            "shelf/__init__.py": "",
            "tests/conftest.py": 'pytest_plugins = ["tests.data_fixtures"]\n\n\ndef docker_ip():\n    pass\n',
            "tests/test_books.py": "def test_books():\n    pass\n",
        },
    )
    found = init.detect(root)
    assert found.tests_docker == ()
    assert not [line for line in init.report(found) if "Docker" in line]


SAQ_CONFIG = """\
from litestar_saq import CronJob, QueueConfig, SAQConfig

saq = SAQConfig(
    queue_configs=[
        QueueConfig(
            name="system-tasks",
            tasks=["app.domain.system.tasks.system_task"],
            scheduled_tasks=[CronJob(function="app.domain.system.tasks.system_task", cron="0 * * * *")],
        ),
    ],
)
"""


def test_saq_workers_are_found_with_the_command_that_starts_them(tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "shelf",
        {
            "src/app/__init__.py": "",
            "src/app/asgi.py": HANDLERS + "def create_app() -> Litestar:\n    return Litestar()\n",
            "src/app/config/__init__.py": "",
            "src/app/config/app.py": SAQ_CONFIG,
            # NOTE: the plugin alone, and a queue no worker serves, start no worker.
            "src/app/server/__init__.py": "",
            "src/app/server/plugins.py": "from litestar_saq import SAQPlugin\n\nplugin = SAQPlugin()\n",
            "src/app/lib/__init__.py": "",
            "src/app/lib/queues.py": 'from litestar_saq import QueueConfig\n\nQ = QueueConfig(name="x")\n',
            "src/app/domain/__init__.py": "",
            "src/app/domain/system/__init__.py": "",
            "src/app/domain/system/tasks.py": "async def system_task(ctx, *, n: int) -> None:\n    pass\n",
            "jobs/__init__.py": "",
            "jobs/plain.py": (
                "from saq import Queue\n\nqueue = Queue.from_url('redis://localhost')\n\n\n"
                "async def job(ctx, *, n: int) -> int:\n    return n\n\n\n"
                'settings = {"queue": queue, "functions": [job], "concurrency": 2}\n'
            ),
            "jobs/own.py": (
                "import saq\n\n\nasync def job(ctx):\n    pass\n\n\n"
                "worker = saq.Worker(saq.Queue.from_url('redis://localhost'), functions=[job])\n"
            ),
        },
    )
    found = init.detect(root)
    assert [(w.source, w.kind, w.command) for w in found.workers] == [
        ("jobs/own.py", "SAQ", "python -m jobs.own"),
        ("jobs/plain.py", "SAQ", "saq jobs.plain.settings"),
        ("src/app/config/app.py", "SAQ", "litestar --app-dir src --app app.asgi:create_app workers run"),
    ]
    lines = init.report(found)
    assert (
        "found a SAQ worker: src/app/config/app.py (runs as `litestar --app-dir src --app "
        "app.asgi:create_app workers run`)"
    ) in lines
    assert not [line for line in lines if line.startswith("no worker found")]
    init.write(root, found)
    text = (root / "evidence.yaml").read_text("utf-8")
    assert "  # SAQ worker found in src/app/config/app.py; to keep a run of it" in text
    config.load(root / "evidence.yaml")


SERVER_ENV = """\
import os


def setup_litestar_env() -> None:
    app_url = os.getenv("APP_URL") or "http://localhost:8000"
    os.environ.setdefault("APP_URL", app_url)
    os.environ.setdefault("LITESTAR_APP", "app.server.asgi:create_app")
    os.environ.setdefault("LITESTAR_GRANIAN_IN_SUBPROCESS", "false")
    os.environ["LITESTAR_APP_NAME"] = "app"
    os.putenv("LITESTAR_GRANIAN_USE_LITESTAR_LOGGER", "true")
    del os.environ["LITESTAR_DEBUG"]


DATABASE_URL = os.environ.get("DATABASE_URL", "postgresql+asyncpg://app@127.0.0.1:5432/app")
"""

MIGRATIONS_ENV = """\
import os

os.environ["ALEMBIC_MODE"] = "online"
URL = os.environ.get("DATABASE_URL")
"""


def test_variables_the_service_only_sets_or_its_tooling_reads_are_neither_listed_nor_set(
    tmp_path: Path,
) -> None:
    root = _tree(
        tmp_path / "shelf",
        {
            "pyproject.toml": '[project]\nname = "shelf"\n',
            "alembic.ini": "[alembic]\nscript_location = migrations\n",
            "migrations/env.py": MIGRATIONS_ENV,
            "src/app/__init__.py": "",
            "src/app/asgi.py": HANDLERS + "def create_app() -> Litestar:\n    return Litestar()\n",
            "src/app/config.py": SERVER_ENV,
            # NOTE: deployment tooling of the repository, never run by the service or its tests.
            "tools/__init__.py": "",
            "tools/post_builds.py": 'import os\n\nENV = {"PATH": os.environ["PATH"]}\n',
            "tools/deploy/k8s/deploy.py": (
                'import os\n\nPASSWORD = os.environ["DATABASE_PASSWORD"]\nUSER = os.getenv("DATABASE_USER")\n'
            ),
        },
    )
    found = init.detect(root)
    assert found.env_names == ("APP_URL", "DATABASE_URL")
    assert (found.required_env, found.database_env, found.database_url) == ((), "DATABASE_URL", None)
    init.write(root, found)
    workflow = (root / init.WORKFLOW_FILE).read_text("utf-8")
    env = yaml.safe_load(workflow)["jobs"]["evidence"]["env"]
    assert env == {"DATABASE_URL": "postgresql+asyncpg://postgres:postgres@127.0.0.1:5432/postgres"}
    commented = re.findall(r"^ +# ([A-Z][A-Z0-9_]*): \.\.\.   # read by the service$", workflow, re.MULTILINE)
    assert commented == ["APP_URL"]


WRAPPED_ENV = """\
from advanced_alchemy.alembic.commands import AlembicCommandConfig
from alembic import context

config: AlembicCommandConfig = context.config


def run_migrations_online() -> None:
    url = config.db_url
    context.configure(url=url)
"""

MIGRATOR = """\
services:
  worker:
    command: litestar workers run
  migrator:
    restart: "no"
    command: litestar database upgrade --no-prompt
"""


def _wrapped(root: Path, files: dict[str, str]) -> Path:
    """A Litestar service whose env.py reads advanced-alchemy's own configuration (`config.db_url`)."""
    return _tree(
        root,
        {
            "pyproject.toml": '[project]\nname = "app"\n',
            "src/py/app/__init__.py": "",
            "src/py/app/asgi.py": HANDLERS + "def create_app() -> Litestar:\n    return Litestar()\n",
            "src/py/app/db/__init__.py": "",
            "src/py/app/db/migrations/alembic.ini": "[alembic]\nscript_location = migrations\n",
            "src/py/app/db/migrations/env.py": WRAPPED_ENV,
            "src/py/app/db/migrations/versions/.keep": "",
            **files,
        },
    )


def _steps(root: Path) -> list[dict[str, str]]:
    workflow = yaml.safe_load((root / init.WORKFLOW_FILE).read_text("utf-8"))
    steps: list[dict[str, str]] = workflow["jobs"]["evidence"]["steps"]
    return steps


def test_a_compose_file_deep_in_the_repository_gives_the_service_s_own_migration_command(
    tmp_path: Path,
) -> None:
    root = _wrapped(
        tmp_path / "shelf",
        {
            "tools/deploy/docker/docker-compose.yml": MIGRATOR,
            # NOTE: vendored and hidden folders are never read.
            "node_modules/pkg/docker-compose.yml": "services:\n  m:\n    command: pkg db upgrade\n",
        },
    )
    found = init.detect(root)
    # NOTE: the commands of the app's plugins (`database`) exist only once the Litestar CLI has the app.
    command = "litestar --app-dir src/py --app app.asgi:create_app database upgrade --no-prompt"
    assert found.migrate_command == (command, "tools/deploy/docker/docker-compose.yml")
    assert not [line for line in init.report(found) if "plain `alembic`" in line]
    init.write(root, found)
    migrate = next(s for s in _steps(root) if s.get("name") == "Migrate")
    # NOTE: with the virtualenv the workflow makes (none was found here).
    assert migrate["run"].splitlines() == [".venv/bin/" + command]
    # NOTE: plain Alembic cannot run its env.py: evidence.yaml names the command, for the docs.
    configs = config.load(root / "evidence.yaml").collectors["alembic"]["configs"]
    assert configs == [{"ini": "src/py/app/db/migrations/alembic.ini", "migrate_command": command}]
    # NOTE: a command that names its app already is kept as written.
    named = MIGRATOR.replace("litestar database", "litestar --app app.asgi:create_app database")
    (root / "tools/deploy/docker/docker-compose.yml").write_text(named, encoding="utf-8")
    assert init.detect(root).migrate_command == (
        "litestar --app app.asgi:create_app database upgrade --no-prompt",
        "tools/deploy/docker/docker-compose.yml",
    )
    # NOTE: a command that names its app's folder, or a wrapper script of that name, is left as written.
    for command in ("litestar --app-dir src database upgrade", "./scripts/litestar database upgrade"):
        (root / "tools/deploy/docker/docker-compose.yml").write_text(
            MIGRATOR.replace("litestar database upgrade --no-prompt", command), encoding="utf-8"
        )
        assert init.detect(root).migrate_command[0] == command
    # NOTE: with a FastAPI app chosen, a `litestar` command is left as written.
    fastapi_app = "from fastapi import FastAPI\n\napp = FastAPI()\n"
    (root / "src/py/app/asgi.py").write_text(fastapi_app, encoding="utf-8")
    (root / "tools/deploy/docker/docker-compose.yml").write_text(MIGRATOR, encoding="utf-8")
    assert init.detect(root).migrate_command[0] == "litestar database upgrade --no-prompt"


def test_no_plain_alembic_step_is_written_for_an_env_py_only_the_service_s_command_runs(
    tmp_path: Path,
) -> None:
    root = _wrapped(tmp_path / "shelf", {})
    found = init.detect(root)
    (config,) = found.alembic
    assert (config.ini, config.run_from) == ("src/py/app/db/migrations/alembic.ini", "src/py/app/db")
    assert config.plain_problem is not None and "`config.db_url`" in config.plain_problem
    assert found.migrate_command is None
    warning = next(line for line in init.report(found) if "plain `alembic`" in line)
    assert warning.startswith(
        "warning: plain `alembic` cannot run src/py/app/db/migrations/alembic.ini (env.py reads "
        "`config.db_url` (line 8)"
    )
    assert init.MIGRATE_PLACEHOLDER in warning and "uncomment" in warning
    init.write(root, found)
    assert not [s for s in _steps(root) if s.get("name") == "Migrate"]
    text = (root / init.WORKFLOW_FILE).read_text("utf-8")
    assert "      # Plain `alembic` cannot run src/py/app/db/migrations/alembic.ini: env.py reads" in text
    assert f"      # - name: Migrate\n      #   run: |\n      #     {init.MIGRATE_PLACEHOLDER}\n" in text
    assert "alembic upgrade" not in text


def test_the_http_example_of_a_litestar_app_waits_for_and_reads_its_document_under_schema(
    tmp_path: Path,
) -> None:
    root = _tree(
        tmp_path / "shelf", {"shelf/__init__.py": "", "shelf/main.py": HANDLERS + "app = Litestar()\n"}
    )
    found = init.detect(root)
    assert [(a.target, a.litestar) for a in found.apps] == [("shelf.main:app", True)]
    init.write(root, found)
    text = (root / "evidence.yaml").read_text("utf-8")
    assert "/docs" not in text
    # NOTE: the example works once uncommented: the service is ready when its document answers, and the
    # openapi collector reads the document where Litestar serves it.
    lines = text.splitlines()
    first = lines.index("  # http:")
    last = lines.index("", first)
    served = lines.index("    # served_at: /schema/openapi.json")
    uncommented = [
        line.replace("# ", "", 1) if first <= i < last or i == served else line
        for i, line in enumerate(lines)
    ]
    (root / "evidence.yaml").write_text("\n".join(uncommented) + "\n", encoding="utf-8")
    loaded = config.load(root / "evidence.yaml")
    assert loaded.collectors["http"]["serve"]["ready_url"] == "/schema/openapi.json"
    assert loaded.collectors["openapi"]["served_at"] == "/schema/openapi.json"
    # NOTE: a factory is told apart by the app its body builds; a FastAPI app keeps /docs.
    (root / "shelf/main.py").write_text(
        HANDLERS + "def create_app() -> Litestar:\n    return Litestar()\n", encoding="utf-8"
    )
    assert [(a.target, a.litestar) for a in init.detect(root).apps] == [("shelf.main:create_app", True)]
    (root / "shelf/main.py").write_text("from fastapi import FastAPI\n\napp = FastAPI()\n", encoding="utf-8")
    found = init.detect(root)
    assert [(a.target, a.litestar) for a in found.apps] == [("shelf.main:app", False)]
    init.write(root, found, force=True)
    text = (root / "evidence.yaml").read_text("utf-8")
    assert "  #     ready_url: /docs\n" in text and "/schema" not in text
