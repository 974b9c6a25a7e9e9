"""`evidence init`: which database URL a service reads, or the parts it builds it of, and the PostgreSQL
its own CI gives its tests."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from evidence_kit import config
from evidence_kit.commands import init
from evidence_kit.support.db import from_template


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    return root


def _workflow(root: Path) -> dict:  # type: ignore[type-arg]
    data: dict = yaml.safe_load((root / init.WORKFLOW_FILE).read_text("utf-8"))  # type: ignore[type-arg]
    return data


# NOTE: settings whose base class is defined in another module, whose prefix a helper builds (unknown
# without running it), and whose URL field is read by its aliases.
SETTINGS_BASE = """\
from pydantic_settings import BaseSettings


class ServiceBaseSettings(BaseSettings):
    pass
"""

DATABASE_SETTINGS = """\
from typing import Optional

from pydantic import AliasChoices, AliasPath, Field, SecretStr, SettingsConfigDict

from svc.settings.base import ServiceBaseSettings, build_settings_config


class DatabaseSettings(ServiceBaseSettings):
    model_config = build_settings_config(("server", "database"))

    connection_url: Optional[SecretStr] = Field(
        default=None,
        validation_alias=AliasChoices(
            AliasPath("connection_url"),
            "svc_server_database_connection_url",
            "svc_api_database_connection_url",
        ),
    )
    echo: bool = Field(default=False, validation_alias="svc_server_database_echo")
    database: str = "svc"
    timeout: int = 10


class ServerDatabaseSettings(DatabaseSettings):
    api: str = "api"


class LegacySettings(ServiceBaseSettings):
    class Config:
        env_prefix = PREFIX

    db: str = "svc"


class LoggingSettings(ServiceBaseSettings):
    model_config = SettingsConfigDict(env_prefix="SVC_LOGGING_", env_file=".env")

    level: str = "INFO"


class FileLoggingSettings(LoggingSettings):
    model_config: SettingsConfigDict = {"env_file": ".env.files"}

    path: str = "svc.log"
"""

SERVER_SETTINGS = """\
from svc.settings.database import FileLoggingSettings, ServerDatabaseSettings


class PoolSettings(ServerDatabaseSettings):
    size: int = 5


class RotatingLogSettings(FileLoggingSettings):
    keep: int = 3
"""

VERSIONING = """\
import os

REPOSITORY = os.getenv("BUILD_REPOSITORY_URI")
"""


def test_settings_aliases_name_the_variables_and_a_connection_url_is_the_database_url(tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "svc",
        {
            "src/svc/__init__.py": "",
            "src/svc/_versioning.py": VERSIONING,
            "src/svc/settings/__init__.py": "",
            "src/svc/settings/base.py": SETTINGS_BASE,
            "src/svc/settings/database.py": DATABASE_SETTINGS,
            "src/svc/settings/server.py": SERVER_SETTINGS,
        },
    )
    found = init.detect(root)
    assert {
        "SVC_SERVER_DATABASE_CONNECTION_URL",
        "SVC_API_DATABASE_CONNECTION_URL",
        "SVC_SERVER_DATABASE_ECHO",
        "SVC_LOGGING_LEVEL",
        "SVC_LOGGING_PATH",
        "SVC_LOGGING_KEEP",
    } <= set(found.env_names)
    # NOTE: a prefix a helper builds cannot be known: plain fields name no variable (their own name
    # is not one), in the class or in a subclass of it.
    assert not {"DATABASE", "TIMEOUT", "API", "DB", "PATH", "SIZE", "KEEP"} & set(found.env_names)
    # NOTE: neither the CI build's URL nor the field's later, older alias: its first alias.
    assert (found.database_env, found.database_env_source) == (
        "SVC_SERVER_DATABASE_CONNECTION_URL",
        "src/svc/settings/database.py",
    )
    assert found.database_env_aliases == ("SVC_API_DATABASE_CONNECTION_URL",)
    assert (
        "found database URL variable: SVC_SERVER_DATABASE_CONNECTION_URL (read in "
        "src/svc/settings/database.py, also by SVC_API_DATABASE_CONNECTION_URL)"
    ) in init.report(found)
    init.write(root, found)
    loaded = config.load(root / "evidence.yaml")
    # NOTE: a user who sets only the older alias still gets the database.
    assert loaded.database_envs == ("SVC_SERVER_DATABASE_CONNECTION_URL", "SVC_API_DATABASE_CONNECTION_URL")
    target = loaded.database({"SVC_API_DATABASE_CONNECTION_URL": "postgresql://svc@db/svc"})
    assert target is not None and target.source == "environment variable SVC_API_DATABASE_CONNECTION_URL"
    assert (
        "# The service reads its URL by each of these names (aliases)" in (root / "evidence.yaml").read_text()
    )


def test_a_connection_string_variable_is_the_database_url_over_an_integrations_parts(tmp_path: Path) -> None:
    """The service reads its database by `DATABASE_CONNECTION_STRING`; an integration of it (a Postgres
    provider) reads `POSTGRES_USER`, `POSTGRES_PASSWORD`, `POSTGRES_HOST`: the variable is the URL, not a URL
    built of the integration's parts."""
    # NOTE: the reader is made in the service's config module and imported where the engine is.
    db = (
        "from svc.core.config import config\n\n\ndef get_engine():\n"
        '    url = config("DATABASE_CONNECTION_STRING", default=None)\n'
        '    size = config("DATABASE_POOL_SIZE", int, 5)\n    return create_engine(url, pool_size=size)\n'
    )
    provider = (
        "import os\n\n\ndef connect():\n    return psycopg2.connect(user=os.environ['POSTGRES_USER'], "
        "password=os.environ['POSTGRES_PASSWORD'], host=os.environ['POSTGRES_HOST'], "
        "dbname=os.environ['POSTGRES_DATABASE'])\n"
    )
    root = _tree(
        tmp_path / "svc",
        {
            "pyproject.toml": "[project]\nname = 'svc'\n",
            "svc/__init__.py": "",
            "svc/core/__init__.py": "",
            "svc/core/db.py": db,
            "svc/core/config.py": "from starlette.config import Config\n\nconfig = Config('.env')\n",
            "svc/providers/__init__.py": "",
            "svc/providers/postgres.py": provider,
        },
    )
    found = init.detect(root)
    assert (found.database_env, found.database_url) == ("DATABASE_CONNECTION_STRING", None)
    assert "DATABASE_POOL_SIZE" in found.env_names


def test_a_url_whose_name_says_nothing_of_a_database_is_never_the_database_url(tmp_path: Path) -> None:
    reads = 'import os\n\nREPO = os.getenv("BUILD_REPOSITORY_URI")\nAPP = os.environ.get("APP_URL")\n'
    settings = (
        "from pydantic_settings import BaseSettings\n\n\nclass S(BaseSettings):\n    SENTRY_DSN: str = ''\n"
    )
    root = _tree(
        tmp_path / "svc", {"svc/__init__.py": "", "svc/reads.py": reads, "svc/settings.py": settings}
    )
    found = init.detect(root)
    assert (found.database_env, found.database_env_source) == ("DATABASE_URL", None)
    line = next(x for x in init.report(found) if x.startswith("no database URL variable found"))
    assert line == (
        "no database URL variable found in the code (APP_URL, BUILD_REPOSITORY_URI read, but their names say "
        "nothing of a database): database.url_env in evidence.yaml is DATABASE_URL; set it to the variable "
        "the service reads its database URL from"
    )
    # NOTE: a literal default, or a comparison with a database URL, shows that one holds a database's.
    (root / "svc/reads.py").write_text(reads.replace('"APP_URL"', '"APP_URL", "postgresql://app@db/app"'))
    assert init.detect(root).database_env == "APP_URL"
    compared = reads + '\nif REPO.startswith(("postgresql://", "sqlite://")):\n    pass\n'
    (root / "svc/reads.py").write_text(compared)
    assert init.detect(root).database_env == "BUILD_REPOSITORY_URI"
    (root / "svc/reads.py").write_text(reads + '\nIS_PG = os.environ.get("APP_URL", "") == "postgres"\n')
    assert init.detect(root).database_env == "APP_URL"


# NOTE: settings of the shape that builds its URL of parts, an engine selector and an override.
PARTS_SETTINGS = """\
from pydantic_settings import BaseSettings


class AppSettings(BaseSettings):
    DB_ENGINE: str = "sqlite"
    POSTGRES_USER: str = "app"
    POSTGRES_PASSWORD: str = "app"
    POSTGRES_SERVER: str = "localhost"
    POSTGRES_PORT: int = 5432
    POSTGRES_DB: str = "app"
    POSTGRES_URL_OVERRIDE: str | None = None
"""

PROVIDERS = """\
def provider_factory(provider_name: str):
    if provider_name == "postgres":
        return "pg"
    return "lite"
"""


def test_a_url_built_of_parts_is_the_template_and_the_override_wins_when_set(tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "svc",
        {"svc/__init__.py": "", "svc/settings.py": PARTS_SETTINGS, "svc/providers.py": PROVIDERS},
    )
    found = init.detect(root)
    # NOTE: each part with the default the settings give it, but the password (its default is a secret).
    template = (
        "postgresql://${POSTGRES_USER:-app}:${POSTGRES_PASSWORD}@${POSTGRES_SERVER:-localhost}:"
        "${POSTGRES_PORT:-5432}/${POSTGRES_DB:-app}"
    )
    assert (found.database_url, found.database_override) == (template, "POSTGRES_URL_OVERRIDE")
    # NOTE: a collect then needs only what the service itself cannot do without.
    url = from_template(template, {"POSTGRES_PASSWORD": "pw", "POSTGRES_SERVER": "db.internal"}).url
    assert url == "postgresql://app:pw@db.internal:5432/app"
    assert found.database_engine == ("DB_ENGINE", "postgres")
    init.write(root, found)
    loaded = config.load(root / "evidence.yaml")
    assert (loaded.database_env, loaded.database_template) == ("POSTGRES_URL_OVERRIDE", template)
    parts = {
        "POSTGRES_USER": "u",
        "POSTGRES_PASSWORD": "p" + "w",
        "POSTGRES_SERVER": "h",
        "POSTGRES_PORT": "5433",
        "POSTGRES_DB": "d",
    }
    assert loaded.database_url(parts) == "postgresql://u:pw@h:5433/d"
    assert (
        loaded.database_url({**parts, "POSTGRES_URL_OVERRIDE": "postgresql://o@x/y"}) == "postgresql://o@x/y"
    )
    env = _workflow(root)["jobs"]["evidence"]["env"]
    # NOTE: the override is left unset, so that the service builds its URL as the template does.
    assert env == {
        "DB_ENGINE": "postgres",
        "POSTGRES_DB": "postgres",
        "POSTGRES_PASSWORD": "postgres",
        "POSTGRES_PORT": "5432",
        "POSTGRES_SERVER": "127.0.0.1",
        "POSTGRES_USER": "postgres",
    }
    # NOTE: nor is it among the other variables the code reads: the summary names it already.
    workflow = (root / init.WORKFLOW_FILE).read_text("utf-8")
    assert "POSTGRES_URL_OVERRIDE" not in workflow
    lines = init.report(found)
    assert not [line for line in lines if "POSTGRES_URL_OVERRIDE" in line and "replaces" not in line]
    assert (
        f"found the parts the service builds its database URL of: database.url is {template}; "
        "POSTGRES_URL_OVERRIDE replaces that URL when set, and so it does for evidence (database.url_env); "
        "every variable the template names must be set for a collect"
    ) in lines
    assert (
        "found DB_ENGINE, which chooses the service's database engine: the workflow sets it to postgres "
        "(the value the code compares with for PostgreSQL)"
    ) in lines
    # NOTE: the value is the one the code compares the selector with.
    (root / "svc/providers.py").write_text(PROVIDERS.replace('"postgres"', '"postgresql"'), encoding="utf-8")
    assert init.detect(root).database_engine == ("DB_ENGINE", "postgresql")


# NOTE: a URL setting with an empty default, which a validator builds of the parts when it is not set.
FILLED_IN_SETTINGS = """\
from pydantic import PostgresDsn, field_validator
from pydantic_settings import BaseSettings


class Settings(BaseSettings):
    DATABASE_USER: str
    DATABASE_PASSWORD: str
    DATABASE_HOST: str
    DATABASE_PORT: int = 5432
    DATABASE_NAME: str
    ASYNC_DATABASE_URI: PostgresDsn | str = ""

    @field_validator("ASYNC_DATABASE_URI", mode="after")
    def assemble(cls, value, info):
        if value == "":
            return PostgresDsn.build(scheme="postgresql+asyncpg", host=info.data["DATABASE_HOST"])
        return value
"""


def test_a_url_setting_the_service_fills_in_when_empty_is_the_override_of_the_parts(tmp_path: Path) -> None:
    root = _tree(tmp_path / "svc", {"svc/__init__.py": "", "svc/settings.py": FILLED_IN_SETTINGS})
    found = init.detect(root)
    template = "postgresql://${DATABASE_USER}:${DATABASE_PASSWORD}@${DATABASE_HOST}:${DATABASE_PORT:-5432}/${DATABASE_NAME}"
    assert (found.database_url, found.database_override) == (template, "ASYNC_DATABASE_URI")
    init.write(root, found)
    loaded = config.load(root / "evidence.yaml")
    assert (loaded.database_env, loaded.database_template) == ("ASYNC_DATABASE_URI", template)
    # NOTE: the workflow sets the parts and leaves the URL unset: the service builds it with its own driver.
    env = _workflow(root)["jobs"]["evidence"]["env"]
    assert "ASYNC_DATABASE_URI" not in env and env["DATABASE_HOST"] == "127.0.0.1"
    # NOTE: an API's URL with an empty default (`SUPABASE_URL`) is no override of the database's.
    (root / "svc/settings.py").write_text(
        FILLED_IN_SETTINGS.replace("ASYNC_DATABASE_URI", "SUPABASE_URL"), encoding="utf-8"
    )
    assert init.detect(root).database_override is None
    # NOTE: with a URL default that is not empty, the URL is the service's database setting, as before.
    (root / "svc/settings.py").write_text(
        FILLED_IN_SETTINGS.replace(
            'ASYNC_DATABASE_URI: PostgresDsn | str = ""', 'ASYNC_DATABASE_URI: str = "x"'
        )
    )
    assert init.detect(root).database_override is None


def test_the_env_file_the_settings_read_fills_in_the_parts_for_a_collect(tmp_path: Path) -> None:
    settings = PARTS_SETTINGS.replace(
        "class AppSettings(BaseSettings):\n",
        'class AppSettings(BaseSettings):\n    model_config = SettingsConfigDict(env_file=".env")\n',
    ).replace(
        "from pydantic_settings import BaseSettings",
        "from pydantic_settings import BaseSettings, SettingsConfigDict",
    )
    root = _tree(tmp_path / "svc", {"svc/__init__.py": "", "svc/settings.py": settings})
    password = secrets.token_urlsafe(12)
    (root / ".env").write_text(
        f"POSTGRES_USER=svc\nPOSTGRES_PASSWORD={password}\nPOSTGRES_SERVER=127.0.0.1\nPOSTGRES_DB=svc\n",
        encoding="utf-8",
    )
    found = init.detect(root)
    assert found.env_files == (".env",)
    assert (
        "found the files the service's settings read: .env (env_file: their variables fill in the database "
        "URL's where the environment does not set them)"
    ) in init.report(found)
    # NOTE: through a module-level name, the test run's file left out when another is given.
    (root / "svc/settings.py").write_text(
        settings.replace('env_file=".env"', "env_file=env_file").replace(
            "class AppSettings", 'env_file = ".env.testing" if TESTING else ".env"\n\n\nclass AppSettings'
        ),
        encoding="utf-8",
    )
    assert init.detect(root).env_files == (".env",)
    # NOTE: only file names: what a condition tests, or a variable's name, is none.
    (root / "svc/settings.py").write_text(
        settings.replace(
            'env_file=".env"',
            'env_file=(".env.prod" if os.getenv("APP_ENV") == "production" '
            'else os.getenv("ENV_FILE", ".env"))',
        ),
        encoding="utf-8",
    )
    assert init.detect(root).env_files == (".env.prod", ".env")
    # NOTE: a path relative to where the service runs (the folder its imports start from), written relative
    # to evidence.yaml; never one outside the repository.
    (root / "svc/settings.py").unlink()
    nested = root / "backend" / "app" / "core"
    nested.mkdir(parents=True)
    for folder in (root / "backend" / "app", nested):
        (folder / "__init__.py").write_text("", encoding="utf-8")
    (nested / "config.py").write_text(
        settings.replace('env_file=".env"', 'env_file="../.env"'), encoding="utf-8"
    )
    assert init.detect(root).env_files == (".env",)
    (nested / "config.py").write_text(settings.replace('env_file=".env"', 'env_file="../../../../x.env"'))
    assert init.detect(root).env_files == ()
    shutil.rmtree(root / "backend")
    (root / "svc/settings.py").write_text(settings, encoding="utf-8")
    # NOTE: the files a compose file at the top gives its services count too.
    compose = "services:\n  api:\n    env_file: .env\n  worker:\n    env_file: [./.env, {path: .env.local}]\n"
    (root / "docker-compose.yml").write_text(compose, encoding="utf-8")
    assert init.detect(root).env_files == (".env", ".env.local")
    (root / "docker-compose.yml").unlink()
    init.write(root, found)
    assert "\nenv_file: [.env]\n" in (root / "evidence.yaml").read_text("utf-8")
    loaded = config.load(root / "evidence.yaml")
    target = loaded.database(loaded.with_env_files({"POSTGRES_PORT": "5433"}))
    assert target is not None and target.url == f"postgresql://svc:{password}@127.0.0.1:5433/svc"


SETUP_CI = """\
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    env:
      APP_ENV: testing
      APP_POSTGRES_USER: app
      APP_SIGNING_SECRET: not-for-the-workflow
      APP_RUN: ${{ github.run_id }}
      APP_RENDERER: ${{ github.workspace }}/emails/bin/render
    steps:
      - uses: actions/checkout@v4
      - run: uv sync --frozen
      - run: |
          uv run task generate_dev_keys
          echo "keys made"
          APP_X=1 uv run task other
      - working-directory: emails
        run: pnpm install && pnpm build
      - run: |
          for attempt in 1 2 3
          do
            sleep 1
          done
      - run: uv run alembic upgrade head
      - run: uv run pytest tests
      - run: uv run coverage xml
"""


def test_the_workflow_shows_the_setup_commands_and_variables_of_the_services_own_test_job(
    tmp_path: Path,
) -> None:
    root = _tree(
        tmp_path / "svc",
        {
            "pyproject.toml": '[project]\nname = "svc"\n',
            "svc/__init__.py": "",
            "tests/test_a.py": "def test_a():\n    pass\n",
            ".github/workflows/test.yml": SETUP_CI,
        },
    )
    (root / ".git").mkdir()
    found = init.detect(root)
    # NOTE: each command of a line on its own, with the folder its step runs in; the checkout's folder is
    # the one expression a variable may hold.
    assert found.ci_setup == (
        ("uv run task generate_dev_keys", "pnpm install   (in emails)", "pnpm build   (in emails)"),
        (("APP_ENV", "testing"), ("APP_RENDERER", "${{ github.workspace }}/emails/bin/render")),
        ".github/workflows/test.yml",
    )
    init.write(root, found)
    text = (root / init.WORKFLOW_FILE).read_text("utf-8")
    assert (
        "      # Set by the service's own CI (.github/workflows/test.yml) for its tests; uncomment what the "
        "service needs:\n      # APP_ENV: testing\n"
    ) in text
    assert "      #     uv run task generate_dev_keys\n" in text
    assert "not-for-the-workflow" not in text and "coverage" not in text and "keys made" not in text


def test_part_names_of_each_prefix_make_a_template() -> None:
    assert init.url_template(["DB_USERNAME", "DB_PASS", "DB_HOSTNAME", "DB_NAME"]) == (
        "postgresql://${DB_USERNAME}:${DB_PASS}@${DB_HOSTNAME}/${DB_NAME}"
    )
    assert init.url_template(["PG_USER", "PG_HOST", "PG_DATABASE", "PG_PORT"]) == (
        "postgresql://${PG_USER}@${PG_HOST}:${PG_PORT}/${PG_DATABASE}"
    )
    assert (
        init.url_template(["PGUSER", "PGHOST", "PGDATABASE"])
        == "postgresql://${PGUSER}@${PGHOST}/${PGDATABASE}"
    )
    # NOTE: the parts of one prefix, not a mix: a host alone is no URL.
    assert init.url_template(["DB_HOST", "POSTGRES_USER"]) is None
    # NOTE: a password may be named PWD or PASSWD, after a service's own prefix too.
    names = ["ACME_POSTGRES_USER", "ACME_POSTGRES_PWD", "ACME_POSTGRES_HOST", "ACME_POSTGRES_DATABASE"]
    assert init.url_template(names) == (
        "postgresql://${ACME_POSTGRES_USER}:${ACME_POSTGRES_PWD}@${ACME_POSTGRES_HOST}/${ACME_POSTGRES_DATABASE}"
    )
    assert init.url_template(["DB_USER", "DB_PASSWD", "DB_HOST", "DB_NAME"]) == (
        "postgresql://${DB_USER}:${DB_PASSWD}@${DB_HOST}/${DB_NAME}"
    )


def test_a_password_part_named_pwd_is_in_the_template_and_set_by_the_workflow(tmp_path: Path) -> None:
    names = ["ACME_POSTGRES_USER", "ACME_POSTGRES_PWD", "ACME_POSTGRES_HOST", "ACME_POSTGRES_DATABASE"]
    reads = "import os\n\n" + "".join(f'{n[5:]} = os.environ["{n}"]\n' for n in names)
    root = _tree(tmp_path / "svc", {"svc/__init__.py": "", "svc/settings.py": reads})
    found = init.detect(root)
    assert found.database_url is not None and ":${ACME_POSTGRES_PWD}@" in found.database_url
    init.write(root, found)
    env = _workflow(root)["jobs"]["evidence"]["env"]
    assert (env["ACME_POSTGRES_PWD"], env["ACME_POSTGRES_USER"]) == ("postgres", "postgres")


BACKEND_CI = """\
name: backend
on: pull_request
jobs:
  lint:
    runs-on: ubuntu-latest
    services:
      postgres:
        image: postgres:15
        env: {POSTGRES_USER: lint, POSTGRES_PASSWORD: lint, POSTGRES_DB: lint}
    steps:
      - run: pip install ruff
  tests:
    runs-on: ubuntu-latest
    services:
      postgres:
        image: postgres:15
        env:
          POSTGRES_USER: app
          POSTGRES_PASSWORD: app
          POSTGRES_DB: app_db
    steps:
      - uses: actions/checkout@v4
      - name: Install libraries python-ldap builds against
        run: |
          sudo apt-get install -y libldap2-dev libsasl2-dev
      - run: poetry config virtualenvs.in-project true
      - run: |
          poetry install --with main,dev,postgres
          EXTRA=1 poetry install --with extra
          docker compose run api poetry install
          poetry install --with main && echo done
          poetry install --token ${{ secrets.TOKEN }}
      - run: poetry run pytest tests
"""


def test_the_workflow_gives_the_tests_the_postgresql_and_the_install_of_the_services_own_ci(
    tmp_path: Path,
) -> None:
    root = _tree(
        tmp_path / "svc",
        {
            "pyproject.toml": "[tool.poetry]\nname = 'svc'\n[tool.poetry.dependencies]\npython = '^3.12'\n",
            "svc/__init__.py": "",
            "svc/settings.py": PARTS_SETTINGS,
            "tests/test_a.py": "def test_a():\n    pass\n",
            ".github/workflows/backend.yml": BACKEND_CI,
        },
    )
    (root / ".git").mkdir()
    found = init.detect(root)
    assert found.ci_postgres == ("app", "app", "app_db", ".github/workflows/backend.yml")
    assert found.ci_install == (
        ("sudo apt-get install -y libldap2-dev libsasl2-dev",),
        ("poetry install --with main,dev,postgres",),
        ".github/workflows/backend.yml",
    )
    init.write(root, found)
    job = _workflow(root)["jobs"]["evidence"]
    postgres = job["services"]["postgres"]
    # NOTE: the major stays the one the runner's pg_dump matches; the credentials are the CI's own.
    assert postgres["image"] == "postgres:16-alpine"
    assert postgres["env"] == {"POSTGRES_USER": "app", "POSTGRES_PASSWORD": "app", "POSTGRES_DB": "app_db"}
    assert "pg_isready -U app" in postgres["options"]
    assert {k: v for k, v in job["env"].items() if k.startswith("POSTGRES_")} == {
        "POSTGRES_DB": "app_db",
        "POSTGRES_PASSWORD": "app",
        "POSTGRES_PORT": "5432",
        "POSTGRES_SERVER": "127.0.0.1",
        "POSTGRES_USER": "app",
    }
    install = next(s for s in job["steps"] if s.get("name") == "Install the service")["run"].splitlines()
    assert install == [
        "sudo apt-get update",
        "sudo apt-get install -y libldap2-dev libsasl2-dev",
        "python -m pip install poetry",
        "poetry config virtualenvs.in-project true",
        "poetry install --with main,dev,postgres",
    ]
    text = (root / init.WORKFLOW_FILE).read_text("utf-8")
    assert (
        "# The install commands of the job of .github/workflows/backend.yml that runs the service's" in text
    )
    assert "secrets.TOKEN" not in text and "EXTRA" not in text
    assert (
        "found the PostgreSQL container of the service's own CI in .github/workflows/backend.yml"
        in "\n".join(init.report(found))
    )


def test_the_ci_install_drops_a_matrix_python_and_keeps_uv_s_own_options(tmp_path: Path) -> None:
    ci = (
        "jobs:\n  test:\n    steps:\n      - run: |\n"
        "          uv sync --locked --group tests --python ${{ matrix.python-version }}\n"
        "          uv run pytest\n"
    )
    root = _tree(
        tmp_path / "svc",
        {
            "pyproject.toml": "[project]\nname = 'svc'\n",
            "uv.lock": "",
            "tests/test_a.py": "def test_a():\n    pass\n",
            ".github/workflows/ci.yml": ci,
        },
    )
    (root / ".git").mkdir()
    found = init.detect(root)
    init.write(root, found)
    steps = _workflow(root)["jobs"]["evidence"]["steps"]
    install = next(s for s in steps if s.get("name") == "Install the service")["run"].splitlines()
    assert install == ["python -m pip install uv", "uv sync --locked --group tests"]
    # NOTE: an install run in the background while the job starts its services installs the same.
    (root / ".github/workflows/ci.yml").write_text(
        "jobs:\n  test:\n    steps:\n      - run: |\n          uv sync --frozen &\n          uv run pytest\n"
    )
    assert init.detect(root).ci_install == ((), ("uv sync --frozen",), ".github/workflows/ci.yml")
    # NOTE: a password that is an expression (a secret's) is never copied: the image's defaults are used.
    secret_ci = BACKEND_CI.replace("POSTGRES_PASSWORD: app\n", "POSTGRES_PASSWORD: ${{ secrets.PG }}\n")
    (root / ".github/workflows/ci.yml").write_text(secret_ci, encoding="utf-8")
    found = init.detect(root)
    assert found.ci_postgres == ("lint", "lint", "lint", ".github/workflows/ci.yml")
    lint_secret = secret_ci.replace("POSTGRES_PASSWORD: lint", 'POSTGRES_PASSWORD: "${{ secrets.L }}"')
    (root / ".github/workflows/ci.yml").write_text(lint_secret, encoding="utf-8")
    found = init.detect(root)
    assert found.ci_postgres is None
    init.write(root, found, force=True)
    text = (root / init.WORKFLOW_FILE).read_text("utf-8")
    assert "secrets.PG" not in text and "secrets.L" not in text
    # NOTE: the CI installs with another tool than the project's lock file names: today's install stays;
    # with no apt-get line of theirs either, the workflow does not say it holds the CI's commands.
    steps = _workflow(root)["jobs"]["evidence"]["steps"]
    install = next(s for s in steps if s.get("name") == "Install the service")["run"].splitlines()
    assert install[-2:] == ["python -m pip install uv", "uv sync --all-extras --dev"]
    assert "# The install commands of the job of .github/workflows/ci.yml" in text
    pip_ci = "jobs:\n  test:\n    steps:\n      - run: pip install -r requirements.txt\n      - run: pytest\n"
    (root / ".github/workflows/ci.yml").write_text(pip_ci, encoding="utf-8")
    found = init.detect(root)
    assert found.ci_install == ((), ("pip install -r requirements.txt",), ".github/workflows/ci.yml")
    init.write(root, found, force=True)
    text = (root / init.WORKFLOW_FILE).read_text("utf-8")
    assert "uv sync --all-extras --dev" in text and "The install commands of" not in text


TASK_CI = """\
jobs:
  lint:
    runs-on: ubuntu-latest
    services:
      postgres:
        image: postgres:15
        env: {POSTGRES_USER: lint, POSTGRES_PASSWORD: lint, POSTGRES_DB: lint}
    steps:
      - run: pip install ruff pytest
      - run: task py:lint
  backend:
    runs-on: ubuntu-latest
    services:
      postgres:
        image: postgres
        env: {POSTGRES_USER: app, POSTGRES_PASSWORD: app, POSTGRES_DB: app}
    steps:
      - run: |
          sudo apt-get update
          sudo apt-get install libsasl2-dev libldap2-dev libssl-dev
          poetry install
      - run: task py:test
"""

TASKFILE = """\
version: "3"
tasks:
  py:lint:
    cmds:
      - poetry run ruff check .
  py:test:
    desc: runs the tests
    cmds:
      - poetry run pytest {{ .CLI_ARGS }}
"""


def test_a_test_job_that_runs_pytest_through_a_task_runner_or_a_script_gives_its_install(
    tmp_path: Path,
) -> None:
    root = _tree(
        tmp_path / "svc",
        {
            "pyproject.toml": "[tool.poetry]\nname = 'svc'\n",
            "poetry.lock": "",
            "svc/__init__.py": "",
            "tests/test_a.py": "def test_a():\n    pass\n",
            "Taskfile.yml": TASKFILE,
            ".github/workflows/backend.yml": TASK_CI,
        },
    )
    (root / ".git").mkdir()
    found = init.detect(root)
    assert found.ci_postgres == ("app", "app", "app", ".github/workflows/backend.yml")
    assert found.ci_install == (
        ("sudo apt-get update", "sudo apt-get install libsasl2-dev libldap2-dev libssl-dev"),
        ("poetry install",),
        ".github/workflows/backend.yml",
    )
    init.write(root, found)
    install = next(
        s for s in _workflow(root)["jobs"]["evidence"]["steps"] if s.get("name") == "Install the service"
    )["run"].splitlines()
    assert install[:2] == ["sudo apt-get update", "sudo apt-get install libsasl2-dev libldap2-dev libssl-dev"]
    assert install[-1] == "poetry install"
    # NOTE: a script of the repository is read as the task is, from the folder the step runs in.
    (root / "scripts").mkdir()
    (root / "scripts/test.sh").write_text("#!/bin/sh\nset -e\npoetry run pytest -x\n", encoding="utf-8")
    ci = TASK_CI.replace("task py:test", "bash scripts/test.sh")
    (root / ".github/workflows/backend.yml").write_text(ci, encoding="utf-8")
    assert init.detect(root).ci_postgres == ("app", "app", "app", ".github/workflows/backend.yml")
    # NOTE: a script that is a link out of the repository is not read: no job runs the tests.
    outside = tmp_path / "outside.sh"
    outside.write_text("pytest\n", encoding="utf-8")
    (root / "scripts/test.sh").unlink()
    (root / "scripts/test.sh").symlink_to(outside)
    found = init.detect(root)
    assert found.ci_install is None
    assert found.ci_postgres == ("lint", "lint", "lint", ".github/workflows/backend.yml")


PACKAGES_CI = """\
jobs:
  package:
    strategy:
      matrix:
        package: [svc-dbt, svc-aws]
    services:
      postgres:
        image: postgres:16
        env: {POSTGRES_USER: svc, POSTGRES_PASSWORD: svc, POSTGRES_DB: dbt_test}
    steps:
      - run: uv sync
        working-directory: src/integrations/${{ matrix.package }}
      - run: uv run pytest tests
        working-directory: src/integrations/${{ matrix.package }}
  dbt:
    services:
      postgres:
        image: postgres:16
        env: {POSTGRES_USER: svc, POSTGRES_PASSWORD: svc, POSTGRES_DB: dbt_other}
    steps:
      - run: |
          uv pip install --system pytest
          cd src/integrations/svc-dbt && uv run pytest tests
"""

PYTHON_CI = """\
jobs:
  benchmarks:
    services:
      postgres:
        image: postgres:16
        env: {POSTGRES_USER: svc, POSTGRES_PASSWORD: svc, POSTGRES_DB: bench}
    steps:
      - run: uv sync --locked --group perf
      - run: uv run pytest benches/ --benchmark-only
  shards:
    steps:
      - run: uv sync --locked --group shard
      - run: uv run pytest -m "not slow" -n 4
  tests:
    strategy:
      matrix:
        database: ["postgres:14", "postgres:16"]
    services:
      postgres:
        image: ${{ matrix.database }}
        env: {POSTGRES_USER: svc, POSTGRES_PASSWORD: svc, POSTGRES_DB: svc}
    steps:
      - run: uv sync --locked
      - run: |
          uv run pytest tests --ignore=tests/typesafety \\
            --numprocesses auto
"""


def test_the_job_that_runs_the_services_own_test_paths_gives_the_postgresql_and_the_install(
    tmp_path: Path,
) -> None:
    root = _tree(
        tmp_path / "svc",
        {
            "pyproject.toml": "[project]\nname = 'svc'\n",
            "uv.lock": "",
            "src/svc/__init__.py": "",
            "tests/test_a.py": "def test_a():\n    pass\n",
            "benches/test_b.py": "def test_b():\n    pass\n",
            "src/integrations/svc-dbt/pyproject.toml": "[project]\nname = 'svc-dbt'\n",
            "src/integrations/svc-dbt/tests/test_c.py": "def test_c():\n    pass\n",
            ".github/workflows/a-packages.yaml": PACKAGES_CI,
            ".github/workflows/python-tests.yaml": PYTHON_CI,
        },
    )
    (root / ".git").mkdir()
    found = init.detect(root)
    assert "tests" in found.tests
    assert found.ci_postgres == ("svc", "svc", "svc", ".github/workflows/python-tests.yaml")
    assert found.ci_install == ((), ("uv sync --locked",), ".github/workflows/python-tests.yaml")
    # NOTE: without a job naming the test paths, those running pytest with no path from the top come before
    # one naming other paths, of these one on PostgreSQL first; another package's jobs never count, even
    # for a PostgreSQL.
    ci = PYTHON_CI.replace("uv run pytest tests --ignore", "uv run pytest --ignore")
    (root / ".github/workflows/python-tests.yaml").write_text(ci, encoding="utf-8")
    found = init.detect(root)
    assert found.ci_install is not None and found.ci_install[1] == ("uv sync --locked",)
    without = ci.replace(
        "    services:\n      postgres:\n        image: ${{ matrix.database }}\n", "    services:\n"
    )
    (root / ".github/workflows/python-tests.yaml").write_text(without, encoding="utf-8")
    assert init.detect(root).ci_install[1] == ("uv sync --locked --group shard",)  # type: ignore[index]
    (root / ".github/workflows/python-tests.yaml").write_text(ci, encoding="utf-8")
    found = init.detect(root)
    assert found.ci_postgres == ("svc", "svc", "svc", ".github/workflows/python-tests.yaml")
    ci = PYTHON_CI.replace("uv run pytest tests --ignore", "uv run pytest benches --ignore")
    (root / ".github/workflows/python-tests.yaml").write_text(ci, encoding="utf-8")
    assert init.detect(root).ci_postgres == ("svc", "svc", "bench", ".github/workflows/python-tests.yaml")
    (root / ".github/workflows/python-tests.yaml").unlink()
    found = init.detect(root)
    assert found.ci_install is None and found.ci_postgres is None


def test_a_ci_install_line_may_quote_shell_characters_but_never_expand(tmp_path: Path) -> None:
    lines = [
        """uv pip install -e ".[dev]" 'pydantic>=2.4,<3'""",
        "uv pip install -e '.[a|b]' 'x;y' '$HOME' 'a&b'",
        'uv pip install "x$HOME"',
        'uv pip install "x`id`"',
        "uv pip install 'open",
        "uv pip install x > log",
        "uv pip install x | tee log",
    ]
    ci = "jobs:\n  test:\n    steps:\n      - run: |\n" + "".join(f"          {line}\n" for line in lines)
    ci += "      - run: uv run pytest\n"
    root = _tree(
        tmp_path / "svc",
        {
            "pyproject.toml": "[project]\nname = 'svc'\n",
            "uv.lock": "",
            "tests/test_a.py": "def test_a():\n    pass\n",
            ".github/workflows/ci.yml": ci,
        },
    )
    (root / ".git").mkdir()
    assert init.detect(root).ci_install == ((), tuple(lines[:2]), ".github/workflows/ci.yml")


INIT_DB = """\
from alembic import command
from alembic.config import Config


def main() -> None:
    command.upgrade(Config("alembic.ini"), "head")


def helper() -> None:
    pass
"""


def test_tests_whose_conftest_migrates_the_database_get_a_warning_and_a_commented_env(tmp_path: Path) -> None:
    root = _tree(
        tmp_path / "svc",
        {
            "svc/__init__.py": "",
            "svc/settings.py": PARTS_SETTINGS,
            "svc/db/__init__.py": "",
            "svc/db/init_db.py": INIT_DB,
            "tests/conftest.py": "from svc.db.init_db import main\n\nmain()\n",
            "tests/test_a.py": "def test_a():\n    pass\n",
        },
    )
    found = init.detect(root)
    assert found.tests_migrate == (
        ("tests/conftest.py", "calls svc.db.init_db.main, which runs alembic's command.upgrade"),
    )
    assert (
        "warning: tests/conftest.py calls svc.db.init_db.main, which runs alembic's command.upgrade: "
        "the tests migrate the database they run against; point them at a database of their own "
        "(collectors.tests.env in evidence.yaml)"
    ) in init.report(found)
    init.write(root, found)
    text = (root / "evidence.yaml").read_text("utf-8")
    assert "# The tests migrate the database they run against (tests/conftest.py calls svc.db" in text
    assert "    # env: {POSTGRES_DB: postgres_test}\n" in text
    # NOTE: the commented example, uncommented, is a valid config.
    uncommented = text.replace("# env: {POSTGRES_DB", "env: {POSTGRES_DB")
    (root / "evidence.yaml").write_text(uncommented, encoding="utf-8")
    assert config.load(root / "evidence.yaml").collectors["tests"]["env"] == {"POSTGRES_DB": "postgres_test"}
    # NOTE: by a module import too, and create_all in the conftest itself; a harmless function is none.
    (root / "tests/conftest.py").write_text("from svc.db import init_db\n\ninit_db.helper()\n")
    assert init.detect(root).tests_migrate == ()
    (root / "tests/conftest.py").write_text("import svc.db.init_db as i\n\ni.main()\n")
    assert init.detect(root).tests_migrate[0][1].startswith("calls svc.db.init_db.main")
    (root / "tests/conftest.py").write_text(
        "def setup(engine, Base):\n    Base.metadata.create_all(engine)\n"
    )
    assert init.detect(root).tests_migrate == (("tests/conftest.py", "calls create_all"),)
    # NOTE: a unittest-style base class in the test package's __init__.py that resets the tables.
    (root / "tests/conftest.py").unlink()
    (root / "tests/__init__.py").write_text(
        "import unittest\n\n\nclass BaseTest(unittest.TestCase):\n    def setUp(self):\n"
        "        db.drop_all()\n        db.create_all()\n"
    )
    assert init.detect(root).tests_migrate == (("tests/__init__.py", "calls drop_all"),)
    (root / "tests/__init__.py").unlink()
    # NOTE: a conftest that creates its own database first migrates that one: a note, no warning.
    (root / "tests/conftest.py").write_text(
        "from sqlalchemy import text\n\n"
        "def setup(engine, Base, name):\n"
        "    engine.execute(text(f'CREATE DATABASE \"{name}\"'))\n"
        "    Base.metadata.create_all(engine)\n"
    )
    found = init.detect(root)
    assert found.tests_migrate == ()
    assert (
        "tests/conftest.py calls create_all, in a database of its own: the tests "
        "leave the database the collect reads as it is"
    ) in init.report(found)
    assert not [line for line in init.report(found) if "migrate the database they run against" in line]
    # NOTE: sqlalchemy-utils' create_database(url) makes one too.
    (root / "tests/conftest.py").write_text(
        "from sqlalchemy_utils import create_database\n\n"
        "def setup(engine, Base, url):\n    create_database(url)\n    Base.metadata.create_all(engine)\n"
    )
    assert init.detect(root).tests_migrate == ()
    # NOTE: so does one that first points the service at a database of its own: by the variable of the
    # database's name, of its URL, or the default URL variable, to another value than the default.
    own = (
        'POSTGRES_DB"] = "app_test"',
        'POSTGRES_URL_OVERRIDE"] = "postgresql:///t"',
        'DATABASE_URL"] = "x"',
    )
    for sets in own:
        (root / "tests/conftest.py").write_text(
            f'from os import environ\n\nenviron["{sets}\n\n'
            "def setup(engine, Base):\n    Base.metadata.create_all(engine)\n"
        )
        assert init.detect(root).tests_migrate == (), sets
    # NOTE: setting another variable, or the database's name to the one the collect reads, is not that.
    others = ("DATABASE_HOSTNAME", "SENTRY_DSN", "PG_APPLICATION_NAME", "DB_USER_NAME")
    (root / "tests/conftest.py").write_text(
        "import os\n\n"
        + "".join(f'os.environ["{name}"] = "x"\n' for name in others)
        + 'os.environ["POSTGRES_DB"] = "app"\n\n'
        + "def setup(engine, Base):\n    Base.metadata.create_all(engine)\n"
    )
    assert init.detect(root).tests_migrate == (("tests/conftest.py", "calls create_all"),)
    # NOTE: a SQLite file of the fixture's own (a schema template in a temporary folder) is no database the
    # tests run against; in a function beside it, create_all still is.
    template = (
        "from sqlalchemy import create_engine\n\n"
        "def template(path, Base):\n    engine = create_engine(f'sqlite:///{path}')\n"
        "    Base.metadata.create_all(engine)\n"
    )
    (root / "tests/conftest.py").write_text(template)
    assert init.detect(root).tests_migrate == ()
    (root / "tests/conftest.py").write_text(
        template + "\n\ndef setup(engine, Base):\n    Base.metadata.create_all(engine)\n"
    )
    assert init.detect(root).tests_migrate == (("tests/conftest.py", "calls create_all"),)
    # NOTE: a docstring that only mentions it creates nothing, and neither does a message about it.
    for said in (
        '"""No CREATE DATABASE here: the tests use the one they are given."""\n\n',
        'import pytest\n\npytest.skip("needs the CREATE DATABASE privilege", allow_module_level=True)\n',
        '"""Fixtures that create database sessions for the tests."""\n\n',
    ):
        (root / "tests/conftest.py").write_text(
            said + "def setup(engine, Base):\n    Base.metadata.create_all(engine)\n"
        )
        assert init.detect(root).tests_migrate == (("tests/conftest.py", "calls create_all"),), said


def test_a_long_suite_is_said_and_still_run_whole(tmp_path: Path) -> None:
    files = {f"tests/unit/test_{n}.py": "def test_x():\n    pass\n" for n in range(init.LONG_SUITE + 1)}
    root = _tree(tmp_path / "svc", {"svc/__init__.py": "", **files})
    found = init.detect(root)
    assert found.test_files == init.LONG_SUITE + 1
    assert (
        f"the tests hold {init.LONG_SUITE + 1} test files: the whole suite is long; list the subset "
        "this phase proves in collectors.tests.run of evidence.yaml"
    ) in init.report(found)
    init.write(root, found)
    text = (root / "evidence.yaml").read_text("utf-8")
    assert f"# The whole suite is long ({init.LONG_SUITE + 1} test files): list the subset" in text
    assert config.load(root / "evidence.yaml").collectors["tests"]["run"] == [
        "python",
        "-m",
        "pytest",
        "tests",
    ]
    (root / f"tests/unit/test_{init.LONG_SUITE}.py").unlink()
    found = init.detect(root)
    assert not any("the whole suite is long" in line for line in init.report(found))


def test_a_baseline_counts_the_revisions_of_each_dialect_folder(tmp_path: Path) -> None:
    from tests.collectors.test_alembic import _dialect_service

    root = _dialect_service(tmp_path / "svc", "context.script.version_locations = [db.orm.versions_dir]")
    init.write(root, init.detect(root))
    rules = " ".join((root / "evidence-rules.yaml").read_text("utf-8").replace("\n  #", "").split())
    assert (
        "in 3 revisions (2 in src/svc/db/_migrations/versions/postgresql, 1 in "
        "src/svc/db/_migrations/versions/sqlite))"
    ) in rules


def test_a_task_file_many_ci_steps_call_is_parsed_once_and_the_expansion_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from evidence_kit.support import tasks

    taskfile = ["version: '3'", "tasks:"]
    taskfile += [line for i in range(200) for line in (f"  t{i}:", "    cmds:", f"      - echo {i}")]
    taskfile += ["  test:", "    cmds:", "      - pytest tests"]
    ci = ["jobs:"]
    for j in range(10):
        ci += [f"  j{j}:", "    steps:", f"      - run: task t{j}", "      - run: task test"]
    root = _tree(
        tmp_path / "svc",
        {
            "pyproject.toml": "[project]\nname = 'svc'\n",
            "tests/test_a.py": "def test_a():\n    pass\n",
            "Taskfile.yml": "\n".join(taskfile) + "\n",
            ".github/workflows/ci.yml": "\n".join(ci) + "\n",
        },
    )
    (root / ".git").mkdir()
    parsed: list[str] = []
    real = tasks._taskfile

    def counted(text: str) -> Any:
        parsed.append(text)
        return real(text)

    monkeypatch.setattr(tasks, "_taskfile", counted)
    init.detect(root)
    assert len(parsed) == 1
    # NOTE: a reader whose budget is spent expands nothing more, whatever the files hold.
    reader = tasks.Reader()
    assert reader.commands(root, "task", "test") == [("Taskfile.yml", "pytest tests")]
    reader.budget = 0
    assert reader.commands(root, "task", "t1") == []


PIP_PROJECT = {"pyproject.toml": "[project]\nname = 'svc'\n", "requirements.txt": "fastapi\n"}
UV_PROJECT = {**PIP_PROJECT, "uv.lock": ""}
OURS_PIP = [
    "python -m venv .venv",
    ".venv/bin/pip install -e .",
    ".venv/bin/pip install -r requirements.txt",
    ".venv/bin/pip install pytest",
]
OURS_UV = ["python -m pip install uv", "uv sync --all-extras --dev"]


@pytest.mark.parametrize(
    ("files", "lines", "install"),
    [
        # NOTE: none of these installs the project where init's workflow runs it: init's own install stays.
        (PIP_PROJECT, ["python -m pip install --upgrade pip"], OURS_PIP),
        (PIP_PROJECT, ["pip install --user -r requirements.txt"], OURS_PIP),
        (PIP_PROJECT, ["pip install --target /opt/lib -r requirements.txt"], OURS_PIP),
        (PIP_PROJECT, ["pip install --prefix=/opt -e ."], OURS_PIP),
        (PIP_PROJECT, ["pip install ruff pytest"], OURS_PIP),
        (UV_PROJECT, ["uv pip install --system -r requirements.txt"], OURS_UV),
        (UV_PROJECT, ["uv sync --project backend"], OURS_UV),
        (UV_PROJECT, ["uv sync --directory=../other --locked"], OURS_UV),
        # NOTE: these do; an upgrade of pip beside them is dropped; a sync of the same folder is theirs.
        (
            PIP_PROJECT,
            ["python -m pip install --upgrade pip", 'pip install -e ".[dev]"'],
            [
                "python -m venv .venv",
                '.venv/bin/python -m pip install -e ".[dev]"',
                ".venv/bin/pip install pytest",
            ],
        ),
        (
            UV_PROJECT,
            ["uv sync --project . --locked"],
            ["python -m pip install uv", "uv sync --project . --locked"],
        ),
        # NOTE: `uv pip install` needs the virtualenv init's `uv sync` makes: it follows it.
        (
            UV_PROJECT,
            ["uv pip install -r requirements.txt"],
            [*OURS_UV, "uv pip install -r requirements.txt"],
        ),
        (
            {**PIP_PROJECT, "poetry.lock": "", "pyproject.toml": "[tool.poetry]\nname = 'svc'\n"},
            ["poetry install --only main"],
            [
                "python -m pip install poetry",
                "poetry config virtualenvs.in-project true",
                "poetry install --only main",
            ],
        ),
        # NOTE: a task runner target's lines count as the job's, under the same rules.
        (
            {
                **PIP_PROJECT,
                "Makefile": "install:\n\tpip install --upgrade pip\n\tpip install -r requirements.txt\n",
            },
            ["python -m pip install --upgrade pip", "make install"],
            [
                "python -m venv .venv",
                ".venv/bin/python -m pip install -r requirements.txt",
                ".venv/bin/pip install pytest",
            ],
        ),
    ],
)
def test_only_a_ci_install_of_the_project_into_the_workflows_environment_replaces_inits_own(
    tmp_path: Path, files: dict[str, str], lines: list[str], install: list[str]
) -> None:
    ci = "jobs:\n  test:\n    steps:\n" + "".join(f"      - run: {line}\n" for line in lines)
    ci += "      - run: pytest tests\n"
    root = _tree(
        tmp_path / "svc",
        {**files, "tests/test_a.py": "def test_a():\n    pass\n", ".github/workflows/ci.yml": ci},
    )
    (root / ".git").mkdir()
    found = init.detect(root)
    init.write(root, found)
    steps = _workflow(root)["jobs"]["evidence"]["steps"]
    assert next(s for s in steps if s.get("name") == "Install the service")["run"].splitlines() == install
    text = (root / init.WORKFLOW_FILE).read_text("utf-8")
    assert ("# The install commands of the job of .github/workflows/ci.yml" in text) == (
        found.ci_install is not None
    )
    assert (found.ci_install is None) == (install in (OURS_PIP, OURS_UV))


# NOTE: a token-like value built at run time (letters and digits mixed), so none is written in this file.
TOKEN = "".join(chr(ord("a") + i % 26) + str(i % 10) for i in range(7, 23))


@pytest.mark.parametrize(
    "line",
    [
        f"pip install --extra-index-url https://{TOKEN}@pypi.fury.io/acme/ -r requirements.txt",
        f"pip install --index-url=https://{TOKEN}:@pypi.acme.io/simple -e .",
        f"pip install -i 'https://ci:{TOKEN[:8]}@pypi.acme.io/simple' -r requirements.txt",
        f"pip install --extra-index-url https://pypi.fury.io/{TOKEN}/acme/ -r requirements.txt",
        "pip install -e . git+https://git@github.com/acme/lib.git",
    ],
)
def test_a_ci_install_line_that_may_carry_a_credential_is_never_copied(tmp_path: Path, line: str) -> None:
    ci = f"jobs:\n  test:\n    steps:\n      - run: {line}\n      - run: pytest tests\n"
    root = _tree(
        tmp_path / "svc",
        {**PIP_PROJECT, "tests/test_a.py": "def test_a():\n    pass\n", ".github/workflows/ci.yml": ci},
    )
    (root / ".git").mkdir()
    found = init.detect(root)
    assert found.ci_install is None
    init.write(root, found)
    written = [p for p in root.rglob("*") if p.is_file() and p.name != "ci.yml"]
    assert written and not any(
        TOKEN[:8] in p.read_text("utf-8") or "git@" in p.read_text("utf-8") for p in written
    )
    steps = _workflow(root)["jobs"]["evidence"]["steps"]
    assert next(s for s in steps if s.get("name") == "Install the service")["run"].splitlines() == OURS_PIP


def test_a_null_in_the_ci_postgresql_environment_is_unset_and_the_images_default_applies(
    tmp_path: Path,
) -> None:
    ci = (
        "jobs:\n  test:\n    services:\n      postgres:\n        image: postgres:16\n"
        "        env: {POSTGRES_USER: null, POSTGRES_PASSWORD: pw, POSTGRES_DB: null}\n"
        "    steps:\n      - run: pytest tests\n"
    )
    root = _tree(
        tmp_path / "svc",
        {**PIP_PROJECT, "tests/test_a.py": "def test_a():\n    pass\n", ".github/workflows/ci.yml": ci},
    )
    (root / ".git").mkdir()
    assert init.detect(root).ci_postgres == ("postgres", "pw", "postgres", ".github/workflows/ci.yml")
    (root / ".github/workflows/ci.yml").write_text(
        ci.replace("POSTGRES_PASSWORD: pw", "POSTGRES_PASSWORD: null")
    )
    assert init.detect(root).ci_postgres is None


# NOTE: the shape of a service whose env.py and settings read a URL variable named after the service, or
# build the URL of parts named so, beside a side package (a project of its own) that reads DATABASE_URL.
RELAY_CONFIG = """\
import os

RELAY__DB_URI = os.environ.get("RELAY__DB_URI")
RELAY__DB_USER = os.environ.get("RELAY__DB_USER", "postgres")
RELAY__DB_PASS = os.environ.get("RELAY__DB_PASS")
RELAY__DB_ENDPOINT = os.environ.get("RELAY__DB_ENDPOINT")
RELAY__DB_PORT = os.environ.get("RELAY__DB_PORT", "5432")
RELAY__DB_NAME = os.environ.get("RELAY__DB_NAME", "postgres")
RELAY__DB_SSLMODE = os.environ.get("RELAY__DB_SSLMODE", "disable")
"""


SIDE_READ = 'import os\n\nURL = os.environ["DATABASE_URL"]\n'


def _relay(root: Path) -> Path:
    return _tree(
        root,
        {
            "pyproject.toml": '[project]\nname = "relay"\n',
            "alembic.ini": "[alembic]\nscript_location = alembic\n",
            "alembic/env.py": 'import os\n\nURL = os.environ.get("RELAY__DB_URI")\n',
            "alembic/versions/.keep": "",
            "relay/__init__.py": "",
            "relay/config.py": RELAY_CONFIG,
            "relay/api/__init__.py": "",
            "relay/api/app.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
            "packages/relay-bench/pyproject.toml": '[project]\nname = "relay-bench"\n',
            "packages/relay-bench/relay_bench/__init__.py": "",
            "packages/relay-bench/relay_bench/collector.py": SIDE_READ,
        },
    )


def test_the_url_the_migrations_env_py_reads_beats_a_side_packages_database_url(tmp_path: Path) -> None:
    root = _relay(tmp_path / "relay")
    found = init.detect(root)
    assert (found.database_env, found.database_env_source) == ("RELAY__DB_URI", "alembic/env.py")
    assert "found database URL variable: RELAY__DB_URI (read in alembic/env.py)" in init.report(found)
    init.write(root, found)
    env = _workflow(root)["jobs"]["evidence"]["env"]
    # NOTE: the service's own parts, of its one prefix, are set beside its URL.
    assert {k: v for k, v in env.items() if k.startswith("RELAY__")} == {
        "RELAY__DB_URI": "postgresql://postgres:postgres@127.0.0.1:5432/postgres",
        "RELAY__DB_USER": "postgres",
        "RELAY__DB_PASS": "postgres",
        "RELAY__DB_ENDPOINT": "127.0.0.1",
        "RELAY__DB_PORT": "5432",
        "RELAY__DB_NAME": "postgres",
    }


def test_the_service_package_read_beats_a_side_packages_without_env_py(tmp_path: Path) -> None:
    root = _relay(tmp_path / "relay")
    (root / "alembic/env.py").write_text("", encoding="utf-8")
    found = init.detect(root)
    assert (found.database_env, found.database_env_source) == ("RELAY__DB_URI", "relay/config.py")
    # NOTE: a side package's read ranks last, but it is still taken when it is the only one.
    (root / "relay/config.py").write_text("", encoding="utf-8")
    found = init.detect(root)
    assert (found.database_env, found.database_env_source) == (
        "DATABASE_URL",
        "packages/relay-bench/relay_bench/collector.py",
    )


def test_part_names_after_a_service_prefix_make_a_template() -> None:
    names = ["RELAY__DB_USER", "RELAY__DB_PASS", "RELAY__DB_ENDPOINT", "RELAY__DB_PORT", "RELAY__DB_NAME"]
    assert init.url_template(names) == (
        "postgresql://${RELAY__DB_USER}:${RELAY__DB_PASS}@${RELAY__DB_ENDPOINT}:${RELAY__DB_PORT}"
        "/${RELAY__DB_NAME}"
    )
    assert init.url_template(["APP_POSTGRES_USER", "APP_POSTGRES_HOST", "APP_POSTGRES_DB"]) == (
        "postgresql://${APP_POSTGRES_USER}@${APP_POSTGRES_HOST}/${APP_POSTGRES_DB}"
    )
    # NOTE: the parts of one prefix, not a mix of the service's and another's.
    assert init.url_template(["APP_POSTGRES_USER", "OTHER_DB_HOST", "APP_POSTGRES_DB"]) is None


DOC_LINKS_CI = """\
jobs:
  doc-links:
    steps:
      - run: uv sync --group docs
      - run: uv run pytest tests/unit/test_doc_links.py
"""

SUITE_CI = """\
jobs:
  test:
    steps:
      - run: uv sync --locked
      - run: uv run pytest tests -x
"""


@pytest.mark.parametrize(
    "suite",
    ["uv run pytest tests -x", "uv run pytest -x", "uv run pytest tests/unit -x"],
    ids=["test-path", "bare", "folder"],
)
def test_the_job_that_runs_the_most_of_the_suite_gives_the_install(tmp_path: Path, suite: str) -> None:
    root = _tree(
        tmp_path / "svc",
        {
            "pyproject.toml": "[project]\nname = 'svc'\n",
            "uv.lock": "",
            "svc/__init__.py": "",
            "tests/unit/test_doc_links.py": "def test_a():\n    pass\n",
            "tests/unit/test_b.py": "def test_b():\n    pass\n",
            # NOTE: the workflow that runs one test file comes first by name.
            ".github/workflows/test-action-doc-links.yml": DOC_LINKS_CI,
            ".github/workflows/test-python.yml": SUITE_CI.replace("uv run pytest tests -x", suite),
        },
    )
    (root / ".git").mkdir()
    found = init.detect(root)
    assert found.ci_install == ((), ("uv sync --locked",), ".github/workflows/test-python.yml")


def test_the_parts_the_service_package_reads_beat_a_url_only_a_script_reads(tmp_path: Path) -> None:
    """The service's settings module builds its URL of `POSTGRES_*` parts (`os.environ.get(...) or ...`);
    `DATABASE_URL` is read by an operations script alone: the parts make the template."""
    root = tmp_path / "svc"
    files = {
        "pyproject.toml": '[project]\nname = "svc"\nversion = "0"\n',
        "svc/__init__.py": "",
        "svc/main.py": "from fastapi import FastAPI\napp = FastAPI()\n",
        "svc/configs/__init__.py": "",
        "svc/configs/app_configs.py": "import os\n"
        + "".join(
            f'POSTGRES_{part} = os.environ.get("POSTGRES_{part}") or "x"\n'
            for part in ("USER", "PASSWORD", "HOST", "PORT", "DB")
        ),
        "scripts/tenant_cleanup/check_setup.py": "import os\nURL = os.environ['DATABASE_URL']\n",
    }
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text, encoding="utf-8")
    found = init.detect(root)
    assert found.database_env_source is None
    assert found.database_url == (
        "postgresql://${POSTGRES_USER}:${POSTGRES_PASSWORD}@${POSTGRES_HOST}:${POSTGRES_PORT}/${POSTGRES_DB}"
    )
    # NOTE: read by the service's own package too, the URL is the database's.
    (root / "svc/db.py").write_text("import os\nURL = os.environ['DATABASE_URL']\n", encoding="utf-8")
    assert init.detect(root).database_env == "DATABASE_URL"


def test_the_env_file_starlettes_config_reads_is_the_services(tmp_path: Path) -> None:
    # NOTE: no `Settings` class: Starlette's settings read the file named first, from the folder the
    # service runs in (the project's, above `src`); alembic's own `Config("alembic.ini")` is no env file.
    config = (
        "from starlette.config import Config\nfrom alembic.config import Config as AlembicConfig\n\n"
        'config = Config(".env")\nDATABASE_HOSTNAME = config("DATABASE_HOSTNAME", default="localhost")\n'
        'ALEMBIC = AlembicConfig("alembic.ini")\n'
    )
    root = _tree(tmp_path / "svc", {"src/svc/__init__.py": "", "src/svc/config.py": config})
    (root / ".env").write_text("DATABASE_HOSTNAME=127.0.0.1\n", encoding="utf-8")
    assert init.detect(root).env_files == (".env",)
    (root / ".env").unlink()
    assert init.detect(root).env_files == (".env",)
    (root / "src/svc/config.py").write_text(config.replace('Config(".env")', "Config()"), encoding="utf-8")
    assert init.detect(root).env_files == ()


def test_the_workflow_sets_up_the_python_the_services_own_ci_tests_on(tmp_path: Path) -> None:
    ci = (
        "jobs:\n  test:\n    strategy:\n      matrix:\n        python-version: ['3.10', '3.13']\n"
        "    steps:\n      - uses: actions/setup-python@v5\n"
        "        with:\n          python-version: ${{ matrix.python-version }}\n"
        "      - run: pytest tests\n"
    )
    root = _tree(
        tmp_path / "svc",
        {
            "pyproject.toml": "[project]\nname = 'svc'\nrequires-python = '>=3.11'\n",
            "svc/__init__.py": "",
            "tests/test_a.py": "def test_a():\n    pass\n",
            ".github/workflows/tests.yml": ci,
        },
    )
    (root / ".git").mkdir()
    found = init.detect(root)
    assert found.ci_python == ("3.10", ".github/workflows/tests.yml")
    init.write(root, found)
    setup = next(
        s for s in _workflow(root)["jobs"]["evidence"]["steps"] if "setup-python" in str(s.get("uses"))
    )
    assert setup["with"]["python-version"] == "3.10"
    assert (
        "the workflow sets up Python 3.10, as the service's own CI tests on 3.10 "
        "(.github/workflows/tests.yml)"
    ) in init.report(found)
    # NOTE: unquoted, `python-version: 3.10` is a number to YAML.
    (root / ".github/workflows/tests.yml").write_text(
        ci.replace("${{ matrix.python-version }}", "3.10").replace("['3.10', '3.13']", "[x]")
    )
    assert init.detect(root).ci_python == ("3.10", ".github/workflows/tests.yml")
    (root / ".github/workflows/tests.yml").write_text(ci)
    # NOTE: without a plain version there, the oldest the project supports.
    (root / ".github/workflows/tests.yml").write_text(ci.replace("['3.10', '3.13']", "${{ fromJSON(x) }}"))
    found = init.detect(root)
    assert found.ci_python is None and found.python_version == "3.11"
    # NOTE: never one older than evidence-kit runs on: of a matrix the first it runs on, else its oldest.
    (root / ".github/workflows/tests.yml").write_text(ci.replace("'3.10', '3.13'", "'3.8', '3.9', '3.12'"))
    assert init.detect(root).ci_python == ("3.12", ".github/workflows/tests.yml")
    (root / ".github/workflows/tests.yml").unlink()
    (root / "pyproject.toml").write_text("[project]\nname = 'svc'\nrequires-python = '>=3.8'\n")
    init.write(root, init.detect(root), force=True)
    setup = next(
        s for s in _workflow(root)["jobs"]["evidence"]["steps"] if "setup-python" in str(s.get("uses"))
    )
    assert setup["with"]["python-version"] == "3.10"


def test_a_side_job_that_tests_one_file_does_not_choose_the_workflows_python(tmp_path: Path) -> None:
    """The one CI job init reads as the service's tests runs one file, on 3.11, in Docker (the suite runs in a
    reusable workflow init does not follow); the project pins 3.12: the workflow sets up 3.12."""
    ci = (
        "jobs:\n  docker-tests:\n    steps:\n      - uses: actions/setup-python@v5\n"
        "        with:\n          python-version: 3.11\n"
        "      - run: uv run pytest -s tests/test_client.py\n"
    )
    root = _tree(
        tmp_path / "svc",
        {
            "pyproject.toml": "[project]\nname = 'svc'\nrequires-python = '>=3.11,<3.14'\n",
            ".python-version": "3.12\n",
            "svc/__init__.py": "",
            "tests/test_client.py": "def test_a():\n    pass\n",
            "tests/test_b.py": "def test_b():\n    pass\n",
            ".github/workflows/docker-tests.yml": ci,
        },
    )
    (root / ".git").mkdir()
    found = init.detect(root)
    assert found.ci_python is None
    # NOTE: a job that runs the suite's folder does choose it.
    (root / ".github/workflows/docker-tests.yml").write_text(ci.replace("tests/test_client.py", "tests"))
    assert init.detect(root).ci_python == ("3.11", ".github/workflows/docker-tests.yml")


def test_the_workflow_runs_the_cis_postgresql_extensions_at_its_own_version(tmp_path: Path) -> None:
    """The service's CI runs `pgvector/pgvector:pg17` and creates the extension before migrating (its
    migrations need the `vector` type): the workflow runs pgvector at PostgreSQL 16, the runner's pg_dump,
    and creates the extension before its Migrate step."""
    ci = (
        "jobs:\n  unit:\n    services:\n      postgres:\n        image: pgvector/pgvector:pg17\n"
        "        env:\n          POSTGRES_PASSWORD: postgres\n"
        "    steps:\n      - run: psql -h localhost -U postgres -c 'CREATE EXTENSION vector'\n"
        "      - run: uv run alembic upgrade head\n      - run: uv run pytest tests\n"
    )
    root = _tree(
        tmp_path / "svc",
        {
            "pyproject.toml": "[project]\nname = 'svc'\n",
            "svc/__init__.py": "",
            "svc/db.py": 'import os\n\nURL = os.environ["DATABASE_URL"]\n',
            "alembic.ini": "[alembic]\nscript_location = alembic\n",
            "alembic/env.py": "",
            "alembic/versions/.keep": "",
            "tests/test_a.py": "def test_a():\n    pass\n",
            ".github/workflows/tests.yml": ci,
        },
    )
    (root / ".git").mkdir()
    found = init.detect(root)
    assert found.ci_postgres_image == ("pgvector/pgvector:pg16", ".github/workflows/tests.yml")
    assert found.ci_extensions == ("vector",)
    init.write(root, found)
    job = _workflow(root)["jobs"]["evidence"]
    assert job["services"]["postgres"]["image"] == "pgvector/pgvector:pg16"
    names = [s.get("name") for s in job["steps"]]
    assert names.index("Extensions") + 1 == names.index("Migrate")
    step = job["steps"][names.index("Extensions")]
    assert step["run"].strip() == (
        "psql -h 127.0.0.1 -U postgres -d postgres -c 'CREATE EXTENSION IF NOT EXISTS \"vector\"'"
    )
    assert step["env"] == {"PGPASSWORD": "postgres"}
    # NOTE: the official image at any version stays the workflow's own; an unknown one too.
    for image in ("postgres:15", "ghcr.io/acme/pg:1"):
        (root / ".github/workflows/tests.yml").write_text(ci.replace("pgvector/pgvector:pg17", image))
        assert init.detect(root).ci_postgres_image is None
    init.write(root, init.detect(root), force=True)
    assert _workflow(root)["jobs"]["evidence"]["services"]["postgres"]["image"] == "postgres:16-alpine"
    # NOTE: a container named for its role (`db:`) is PostgreSQL by its image.
    (root / ".github/workflows/tests.yml").write_text(
        ci.replace("      postgres:\n", "      db:\n").replace(
            "pgvector/pgvector:pg17", "postgis/postgis:15-3.4"
        )
    )
    found = init.detect(root)
    assert found.ci_postgres_image == ("postgis/postgis:16-3.4", ".github/workflows/tests.yml")
    assert found.ci_extensions == ("vector",)


def test_the_tests_run_without_the_url_variable_the_services_ci_runs_them_without(tmp_path: Path) -> None:
    """The service's CI runs its suite with no `DATABASE_URL` (its tests use SQLite of their own): set for
    the collect, it sent the tests into the collect's database (rows written, 665 failures on a suite
    whose SQLite engine got PostgreSQL's pool options). The tests run without it; not when the CI sets it,
    nor when it writes a `.env` that may."""
    ci = "jobs:\n  test:\n    steps:\n      - run: pip install -e .\n      - run: pytest tests\n"
    root = _tree(
        tmp_path / "svc",
        {
            "pyproject.toml": "[project]\nname = 'svc'\n",
            "svc/__init__.py": "",
            "svc/db.py": 'import os\n\nURL = os.environ.get("DATABASE_URL", "sqlite://")\n',
            "tests/test_a.py": "def test_a():\n    pass\n",
            ".github/workflows/tests.yml": ci,
        },
    )
    (root / ".git").mkdir()
    found = init.detect(root)
    assert found.tests_unset == (("DATABASE_URL",), ".github/workflows/tests.yml")
    init.write(root, found)
    loaded = config.load(root / "evidence.yaml")
    assert loaded.collectors["tests"]["env"] == {"DATABASE_URL": None}
    for given in ("        env:\n          DATABASE_URL: postgresql://postgres@localhost/t\n", ""):
        text = ci.replace("      - run: pytest tests\n", "      - run: pytest tests\n" + given)
        if not given:
            text = text.replace("pip install -e .", "cp .env.example .env")
        (root / ".github/workflows/tests.yml").write_text(text)
        assert init.detect(root).tests_unset is None
    # NOTE: nor when a script runs the tests (it may export it), nor beside a PostgreSQL container the code's
    # default URL reaches; but with another URL of that container given to the tests, it is.
    (root / ".github/workflows/tests.yml").write_text(ci.replace("pytest tests", "./scripts/test.sh"))
    (root / "scripts").mkdir()
    (root / "scripts/test.sh").write_text("export DATABASE_URL=postgresql://localhost/t\npytest tests\n")
    assert init.detect(root).tests_unset is None
    container = "    services:\n      postgres:\n        image: postgres:16\n"
    (root / ".github/workflows/tests.yml").write_text(ci.replace("    steps:\n", container + "    steps:\n"))
    assert init.detect(root).tests_unset is None
    testing = "    env:\n      TESTING_DATABASE_URL: postgresql://postgres@localhost/ctfd\n"
    (root / ".github/workflows/tests.yml").write_text(
        ci.replace("    steps:\n", container + testing + "    steps:\n")
    )
    assert init.detect(root).tests_unset == (("DATABASE_URL",), ".github/workflows/tests.yml")


def test_the_tests_run_with_the_options_the_services_unit_job_runs_its_suite_with(tmp_path: Path) -> None:
    """The CI's unit job runs `pytest --timeout 20 -n auto --non-integration --ignore=tests/e2e_tests/`;
    init's bare `pytest tests` ran the browser and Docker tests too (975 s, 122 errors). The options are
    kept, but those that only change the output, and one whose plugin the project does not depend on
    (a virtualenv without it stops pytest before any test); the integration job's are not taken."""
    unit = (
        "jobs:\n  tests:\n    steps:\n      - run: poetry install --with dev\n"
        '      - run: poetry run coverage run --omit="*/test*" --branch -m pytest --timeout 20 -n auto '
        "--non-integration --ignore=tests/e2e_tests/ -v --cov=svc --group=${{ matrix.group }}\n"
    )
    integration = "jobs:\n  it:\n    steps:\n      - run: poetry run pytest --integration\n"
    root = _tree(
        tmp_path / "svc",
        {
            "pyproject.toml": "[project]\nname = 'svc'\n[tool.poetry.group.dev.dependencies]\n"
            'pytest-xdist = "^3"\n',
            "svc/__init__.py": "",
            "tests/test_a.py": "def test_a():\n    pass\n",
            ".github/workflows/test-pr-integrations.yml": integration,
            ".github/workflows/test-pr-ut.yml": unit,
        },
    )
    (root / ".git").mkdir()
    found = init.detect(root)
    assert found.ci_pytest_options == (
        ("-n", "auto", "--non-integration", "--ignore=tests/e2e_tests/"),
        ".github/workflows/test-pr-ut.yml",
    )
    init.write(root, found)
    loaded = config.load(root / "evidence.yaml")
    assert loaded.collectors["tests"]["run"] == [
        "python",
        "-m",
        "pytest",
        "-n",
        "auto",
        "--non-integration",
        "--ignore=tests/e2e_tests/",
        "tests",
    ]
    # NOTE: never where pytest writes (it empties `--basetemp`), a part of the suite, a shell's expression, a
    # plugin enabled, an unknown option's value, nor a run that runs no test.
    odd = (
        "jobs:\n  tests:\n    steps:\n      - run: pytest --version\n"
        "      - run: pytest --basetemp /tmp/pt --splits 4 --group 2 -n $(nproc) -p cov "
        "--import-mode importlib --custom value -p no:randomly --reruns 2 tests\n"
    )
    (root / ".github/workflows/test-pr-ut.yml").write_text(odd)
    assert init.detect(root).ci_pytest_options == (
        ("--import-mode", "importlib", "-p", "no:randomly"),
        ".github/workflows/test-pr-ut.yml",
    )


def test_the_url_variable_is_unset_for_the_tests_of_a_service_below_the_repositorys_top(
    tmp_path: Path,
) -> None:
    """The service lives in `services/api`, its CI's workflow at the repository's top: read from there."""
    ci = (
        "jobs:\n  test:\n    defaults:\n      run:\n        working-directory: services/api\n"
        "    steps:\n      - run: pip install -e .\n      - run: pytest tests\n"
    )
    top = _tree(
        tmp_path / "repo",
        {
            "services/api/pyproject.toml": "[project]\nname = 'api'\n",
            "services/api/api/__init__.py": "",
            "services/api/api/db.py": 'import os\n\nURL = os.environ.get("DATABASE_URL", "sqlite://")\n',
            "services/api/tests/test_a.py": "def test_a():\n    pass\n",
            ".github/workflows/tests.yml": ci,
        },
    )
    (top / ".git").mkdir()
    found = init.detect(top / "services/api")
    assert found.tests_unset is not None and found.tests_unset[0] == ("DATABASE_URL",)


def test_the_workflow_installs_the_uv_the_project_requires(tmp_path: Path) -> None:
    """`[tool.uv] required-version = "==0.12.1"`: the newest uv refuses to sync the project."""
    root = _tree(
        tmp_path / "svc",
        {
            "pyproject.toml": '[project]\nname = "svc"\n\n[tool.uv]\nrequired-version = "==0.12.1"\n',
            "uv.lock": "version = 1\n",
            "svc/__init__.py": "",
            "tests/test_a.py": "def test_a():\n    pass\n",
        },
    )
    (root / ".git").mkdir()
    init.write(root, init.detect(root))
    steps = _workflow(root)["jobs"]["evidence"]["steps"]
    install = next(s for s in steps if s.get("name") == "Install the service")["run"].splitlines()
    assert 'python -m pip install "uv==0.12.1"' in install


def test_the_settings_default_of_a_part_beats_a_scripts(tmp_path: Path) -> None:
    seed = (
        'import os\n\nPORT = os.getenv("POSTGRES_PORT", "6543")\nHOST = os.getenv("POSTGRES_SERVER", "db")\n'
    )
    root = _tree(
        tmp_path / "svc",
        {"svc/__init__.py": "", "svc/settings.py": PARTS_SETTINGS, "aaa_scripts/seed.py": seed},
    )
    template = init.detect(root).database_url or ""
    assert "${POSTGRES_PORT:-5432}" in template and "${POSTGRES_SERVER:-localhost}" in template


def test_from_a_workspaces_top_the_ci_job_of_the_services_project_is_its_own(tmp_path: Path) -> None:
    ci = (
        "jobs:\n  test-backend:\n    steps:\n      - uses: actions/setup-python@v5\n"
        "        with:\n          python-version: '3.10'\n"
        "      - run: uv run bash scripts/prestart.sh\n        working-directory: backend\n"
        "      - run: uv run pytest tests\n        working-directory: backend\n"
    )
    root = _tree(
        tmp_path / "repo",
        {
            "pyproject.toml": "[tool.uv.workspace]\nmembers = ['backend']\n",
            "backend/pyproject.toml": "[project]\nname = 'app'\nrequires-python = '>=3.10'\n",
            "backend/app/__init__.py": "",
            "backend/tests/test_a.py": "def test_a():\n    pass\n",
            ".github/workflows/test-backend.yml": ci,
        },
    )
    (root / ".git").mkdir()
    for where, source in ((root, ".github"), (root / "backend", "../.github")):
        found = init.detect(where)
        assert found.ci_python == ("3.10", f"{source}/workflows/test-backend.yml"), where
        assert (
            found.ci_setup is not None
            and "uv run bash scripts/prestart.sh   (in backend)" in found.ci_setup[0]
        )


ENUM_SETTINGS = """\
from enum import StrEnum

from pydantic_settings import BaseSettings


class DatabaseType(StrEnum):
    POSTGRESQL = "POSTGRESQL"
    SQLITE = "SQLITE"


class Settings(BaseSettings):
    database_type: DatabaseType = DatabaseType.SQLITE
    database_host: str | None = None
    database_port: int | None = None
    database_username: str | None = None
    database_password: str | None = None
    database_name: str = "svc.db"
"""


def test_an_engine_chosen_by_an_enum_setting_is_set_to_postgresql_and_a_sqlite_file_is_no_default(
    tmp_path: Path,
) -> None:
    """A service on SQLite unless `DATABASE_TYPE` says otherwise: the workflow sets it to the enum's
    PostgreSQL value; the SQLite file name the settings default to is not the PostgreSQL database's."""
    # NOTE: a migration's `dialect == "postgresql"` (said twice) is no value the setting accepts.
    dialect = "def upgrade(dialect):\n" + '    if dialect == "postgresql":\n        pass\n' * 2
    # NOTE: a pool's type is no engine's.
    settings = ENUM_SETTINGS + "    database_pool_type: str = 'queue'\n"
    files = {"svc/__init__.py": "", "svc/settings.py": settings, "svc/migrations/one.py": dialect}
    root = _tree(tmp_path / "svc", files)
    found = init.detect(root)
    assert found.database_engine == ("DATABASE_TYPE", "POSTGRESQL")
    assert found.database_url is not None and found.database_url.endswith("/${DATABASE_NAME}")
    init.write(root, found)
    assert _workflow(root)["jobs"]["evidence"]["env"]["DATABASE_TYPE"] == "POSTGRESQL"


def test_a_url_variable_read_first_with_the_conventional_one_as_its_fallback_is_the_first(
    tmp_path: Path,
) -> None:
    """`get("SHOP_DATABASE_URL", get("DATABASE_URL"))`: the service reads its own first; url_env names both,
    in its order (DATABASE_URL alone missed the service's own, which its compose file sets)."""
    settings = (
        "import os\n\n"
        'DATABASE_URL = os.environ.get("SHOP_DATABASE_URL", os.environ.get("DATABASE_URL", "postgresql:///shop"))\n'
    )
    root = _tree(tmp_path / "svc", {"shop/__init__.py": "", "shop/settings.py": settings})
    found = init.detect(root)
    assert (found.database_env, found.database_env_aliases) == ("SHOP_DATABASE_URL", ("DATABASE_URL",))
    assert (
        "found database URL variable: SHOP_DATABASE_URL (read in shop/settings.py, also by DATABASE_URL)"
        in (init.report(found))
    )
    init.write(root, found)
    assert config.load(root / "evidence.yaml").database_envs == ("SHOP_DATABASE_URL", "DATABASE_URL")


def test_a_service_that_reads_a_redis_url_gets_a_redis_beside_postgresql_in_the_workflow(
    tmp_path: Path,
) -> None:
    """Its tests need a Redis running (most of a queue's tests failed without one): the workflow starts one
    and points the service's own variables at it; a service that reads none gets none."""
    settings = (
        "import os\n\n"
        'DATABASE_URL = os.environ["SHOP_DATABASE_URL"]\n'
        'REDIS = os.environ.get("SHOP_REDIS_URL", "redis://localhost:6379/0")\n'
        'CACHE_HOST = os.environ.get("CACHE_REDIS_HOST", "localhost")\n'
        'CACHE_PORT = os.environ.get("CACHE_REDIS_PORT", "6379")\n'
    )
    root = _tree(tmp_path / "svc", {"shop/__init__.py": "", "shop/settings.py": settings})
    init.write(root, init.detect(root))
    job = _workflow(root)["jobs"]["evidence"]
    assert sorted(job["services"]) == ["postgres", "redis"]
    assert job["services"]["redis"]["ports"] == ["6379:6379"]
    assert {k: v for k, v in job["env"].items() if "REDIS" in k} == {
        "SHOP_REDIS_URL": "redis://127.0.0.1:6379/0",
        "CACHE_REDIS_HOST": "127.0.0.1",
        "CACHE_REDIS_PORT": "6379",
    }
    plain = _tree(
        tmp_path / "plain", {"shop/__init__.py": "", "shop/settings.py": settings.split("REDIS =")[0]}
    )
    init.write(plain, init.detect(plain))
    assert sorted(_workflow(plain)["jobs"]["evidence"]["services"]) == ["postgres"]
