"""`evidence init`: find what a service's repository holds, statically, and write a starter configuration."""

from __future__ import annotations

import ast
import configparser
import fnmatch
import functools
import itertools
import json
import os
import posixpath
import re
import shlex
import sys
import tempfile
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from evidence_kit.checks.gate_ci_uploads_bundle import PLACEHOLDER_TEXT
from evidence_kit.checks.gate_skip_locked import DEFAULT_WORKERS
from evidence_kit.commands import Printer
from evidence_kit.errors import EXIT_OK, EvidenceError
from evidence_kit.support import interpreter, paths, tasks
from evidence_kit.support import toml as tomllib

if TYPE_CHECKING:
    from evidence_kit.config import Config

CONFIG_FILE = "evidence.yaml"
RULES_FILE = "evidence-rules.yaml"
WORKFLOW_FILE = ".github/workflows/evidence.yml"
DEFAULT_DATABASE_ENV = "DATABASE_URL"
# NOTE: the workflow names the action by a placeholder; the user pins the real repository and commit.
ACTION_PLACEHOLDER = PLACEHOLDER_TEXT
# NOTE: where the workflow's commented Migrate step wants the service's own command (see `plain_problem`).
# NOTE: the interpreter of the virtualenv the workflow makes (its install steps make `.venv`).
WORKFLOW_PYTHON = ".venv/bin/python"
MIGRATE_PLACEHOLDER = "SERVICE-MIGRATE-COMMAND"

_TEMPLATES = (
    (CONFIG_FILE, "evidence.yaml.j2"),
    (RULES_FILE, "evidence-rules.yaml.j2"),
    (WORKFLOW_FILE, "evidence-workflow.yml.j2"),
)
_SKIP_DIRS = frozenset(
    {"venv", "env", "site-packages", "node_modules", "__pycache__", "build", "dist", "htmlcov"}
)
_TEST_DIRS = frozenset({"tests", "test"})
_TEST_GLOBS = ("**/tests/**", "**/test_*.py", "**/*_test.py", "**/conftest.py")
_MAX_SOURCE_BYTES = 2 * 1024 * 1024
_SKIP_LOCKED = re.compile(r"FOR\s+UPDATE\s+SKIP\s+LOCKED|skip_locked\s*=\s*True", re.IGNORECASE)
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
# NOTE: the words of a variable that holds the database's own URL (`SUPABASE_URL` is an API's).
_DATABASE_URL_WORDS = re.compile(r"DATABASE|(^|_)DB(_|$)|POSTGRES|(^|_)PG|SQLALCHEMY|DSN")
_DB_WORDS = re.compile(r"DATABASE|(^|_)DB(_|$)|POSTGRES|(^|_)PG|SQL|DSN|TIMESCALE|COCKROACH|SUPABASE")
_NOT_DB_URL = re.compile(
    r"REDIS|BROKER|CELERY|AMQP|RABBIT|KAFKA|SENTRY|API|BASE_URL|WEBHOOK|CALLBACK|S3|AWS|HTTP|OAUTH|AUTH|"
    r"SITE|FRONTEND|PUBLIC|CACHE|SMTP|MAIL|OTEL|OTLP|ENDPOINT|(?:^|_)UI(?:_|$)"
)
_PLAIN = re.compile(r"^[A-Za-z0-9_./-][A-Za-z0-9_./:-]*$")
_TABLE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$")
_LABEL_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

# NOTE: the queue collector's column roles, each with the names services commonly give that column.
_QUEUE_ROLES: dict[str, tuple[str, ...]] = {
    "id": ("id", "job_id", "task_id"),
    "status": ("status", "state"),
    "attempts": ("attempt_count", "attempts", "attempt", "retries", "retry_count", "tries", "num_attempts"),
    "max_attempts": ("max_attempts", "max_retries", "max_tries"),
    "locked_at": ("locked_at", "claimed_at", "leased_at", "lease_started_at"),
    "locked_by": ("locked_by", "claimed_by", "leased_by", "worker_id", "worker"),
    "next_retry_at": (
        "next_retry_at",
        "retry_at",
        "next_attempt_at",
        "run_at",
        "scheduled_at",
        "available_at",
    ),
    "created_at": ("created_at", "enqueued_at", "queued_at", "inserted_at"),
}


@dataclass(frozen=True)
class AlembicConfig:
    """One Alembic configuration: an ini file and the section holding `script_location`."""

    ini: str
    section: str
    script_location: str | None = None
    # NOTE: the folder Alembic runs in for the ini's relative `script_location` to exist; None: the ini's.
    run_from: str | None = None
    # NOTE: why plain `alembic` cannot run its env.py (it reads a wrapper's configuration); None: it can.
    plain_problem: str | None = None
    # NOTE: where env.py's imports of the service's own code start, relative to the folder Alembic runs in,
    # when nothing else puts it on sys.path (no `prepend_sys_path`; a Dockerfile's PYTHONPATH): the
    # workflow runs Alembic with it as PYTHONPATH. None: nothing is needed.
    import_path: str | None = None
    # NOTE: the configuration listed before it whose version table it shares (same name, no schema named):
    # both cannot be applied to one schema, so this one is written with `database: false`. None: its own.
    shares_table_with: str | None = None
    # NOTE: how env.py picks its version table at run time (`version_table=f"{settings.prefix}…"`), when it
    # does: the table must be named in evidence.yaml for the database to be judged. None: it is known.
    table_picked: str | None = None

    @property
    def label(self) -> str:
        return _LABEL_UNSAFE.sub("_", self.section).strip("._-") or "alembic"


@dataclass(frozen=True)
class QueueTable:
    """A table that looks like a job queue; `columns` maps each queue role to its column (None: absent)."""

    table: str
    source: str
    columns: tuple[tuple[str, str | None], ...]


@dataclass(frozen=True)
class FastAPIApp:
    """A FastAPI or Litestar app as an import target: a module-level instance, or a factory (`factory=True`).

    `hidden` is an app built with `openapi_url=None` or `""`, or `openapi_config=None` (its OpenAPI lists
    nothing); `served` one that a start command (Dockerfile, Procfile, scripts, `uvicorn.run`) names;
    `mounted` one that another app mounts as a sub-app; `litestar` one built by `Litestar(...)` (it serves
    its OpenAPI document under `/schema`); `needs` a factory's parameters without a default.
    """

    target: str
    app_dir: str
    source: str
    factory: bool = False
    hidden: bool = False
    served: bool = False
    mounted: bool = False
    litestar: bool = False
    # NOTE: the parameters a factory must be given (no default): an import cannot call it.
    needs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Worker:
    """A worker the service runs: where, which kind (dramatiq, celery, ...), how it starts, from which
    folder, and the file whose command it is when the service's own files give it (else None: a guess)."""

    source: str
    kind: str
    command: str
    cwd: str = "."
    given_in: str | None = None


@dataclass(frozen=True)
class Detected:
    """What `detect` found in a service's repository; paths are POSIX and relative to `root`."""

    root: Path
    service: str
    service_from: str
    alembic: tuple[AlembicConfig, ...] = ()
    apps: tuple[FastAPIApp, ...] = ()
    # NOTE: apps a start command serves that are Flask's (WSGI): no OpenAPI document to read.
    flask_apps: tuple[str, ...] = ()
    tests: tuple[str, ...] = ()
    testpaths: bool = False
    # NOTE: test folders of another project of the repository, left out of the root's run.
    tests_elsewhere: tuple[str, ...] = ()
    workers: tuple[Worker, ...] = ()
    claims: tuple[str, ...] = ()
    workflows: tuple[str, ...] = ()
    database_env: str = DEFAULT_DATABASE_ENV
    database_env_source: str | None = None
    # NOTE: the other names the service reads the same URL by (its field's `AliasChoices`).
    database_env_aliases: tuple[str, ...] = ()
    # NOTE: the `database.url` template of the parts the service builds its URL of, when it reads no URL
    # variable; `database_override` the variable that replaces that URL when set (then `database_env`).
    database_url: str | None = None
    database_override: str | None = None
    # NOTE: URL variables left out for names that say nothing of a database (`BUILD_REPOSITORY_URI`).
    database_env_skipped: tuple[str, ...] = ()
    # NOTE: the variable choosing the service's database engine (`DB_ENGINE`) and its PostgreSQL value.
    database_engine: tuple[str, str] | None = None
    # NOTE: the PostgreSQL the service's own CI runs its tests against (user, password, database, the
    # workflow it is in), for the workflow to give the same; None: the official image's defaults.
    ci_postgres: tuple[str, str, str, str] | None = None
    # NOTE: the service's CI's PostgreSQL image with extensions at the workflow's version, and its file; the
    # extensions its CI creates before migrating (`CREATE EXTENSION vector`), for the workflow to create too.
    ci_postgres_image: tuple[str, str] | None = None
    ci_extensions: tuple[str, ...] = ()
    # NOTE: the options the service's own CI runs its whole suite with, and the workflow it is in.
    ci_pytest_options: tuple[tuple[str, ...], str] | None = None
    # NOTE: the URL variables the service's own CI runs its suite without (its tests then use their own
    # database, SQLite, say), and the workflow it is: the tests run without them too.
    tests_unset: tuple[tuple[str, ...], str] | None = None
    # NOTE: the apt-get lines and Python install commands of the service's own CI job that runs its tests,
    # and its workflow; None: none found, the install is made of the project's files.
    ci_install: tuple[tuple[str, ...], tuple[str, ...], str] | None = None
    ci_setup: tuple[tuple[str, ...], tuple[tuple[str, str], ...], str] | None = None
    ci_python: tuple[str, str] | None = None  # NOTE: the Python version the service's CI tests on, and where
    # NOTE: how many test files the test paths hold (see LONG_SUITE), and each conftest.py that migrates
    # the database the tests run against, with how.
    test_files: int = 0
    tests_migrate: tuple[tuple[str, str], ...] = ()
    # NOTE: each conftest.py that starts services in containers for the tests: what it starts, and how.
    tests_docker: tuple[tuple[str, tuple[str, ...], str], ...] = ()
    queue: QueueTable | None = None
    install: tuple[str, ...] = ()
    python: str | None = None
    python_how: str | None = None
    python_version: str | None = None
    # NOTE: the interpreter found outside the repository (an activated virtualenv elsewhere, Poetry's): this
    # machine's only; `python` then names the virtualenv the workflow makes.
    python_elsewhere: str | None = None
    # NOTE: the `.env` files the service's settings read, as written (relative to where it runs).
    env_files: tuple[str, ...] = ()
    # NOTE: the environment variables the service reads (never those only another project of the repository
    # or its tooling reads, nor those it only sets itself).
    env_names: tuple[str, ...] = ()
    # NOTE: those of `env_names` the service's own code reads: its package, its settings, its env.py.
    env_own: tuple[str, ...] = ()
    required_env: tuple[tuple[str, str], ...] = ()
    # NOTE: why each of `required_env` is needed, in words: a settings field, or a read with no default
    # (in a migration: the workflow runs the migrations).
    required_why: tuple[tuple[str, str], ...] = ()
    # NOTE: the SQLAlchemy driver the service's own PostgreSQL URLs name (`asyncpg` in
    # `postgresql+asyncpg://`), so the workflow's URL is one its engine accepts; None for plain URLs.
    database_driver: str | None = None
    # NOTE: the service's own migration command and the file that runs it, when it does not migrate with
    # plain `alembic upgrade` (`prefect server database upgrade --yes`); None: `alembic upgrade head`.
    migrate_command: tuple[str, str] | None = None
    repository: Path | None = None
    git: bool = False
    ignores_output: bool = False
    # NOTE: how many files init's own Python could not parse and the service's interpreter could, the files
    # neither could (their environment reads and settings are not known), and why, in words.
    parsed_by_service: int = 0
    unparsed: tuple[str, ...] = ()
    unparsed_why: str | None = None
    notes: tuple[str, ...] = ()

    @property
    def app(self) -> str | None:
        """The chosen app as `module.path:attr`, or None."""
        return self.apps[0].target if self.apps else None

    @property
    def app_dir(self) -> str:
        """The folder the chosen app is imported from (`.` for the root)."""
        return self.apps[0].app_dir if self.apps else "."

    def job_claim(self, path: str) -> bool:
        """True when a SKIP LOCKED in the file `path` is taken for a worker's job claim: a queue table was
        found, or the file is a worker's module. Elsewhere (a request handler locking one row) it is not."""
        return self.queue is not None or any(w.source == path for w in self.workers)

    @property
    def database_queue(self) -> bool:
        """True when the service shows a database job queue: a queue table or a SKIP LOCKED claim."""
        return bool(self.queue or self.claims)

    @property
    def uses_database(self) -> bool:
        """True when the service shows signs of a database: Alembic, a URL variable read, a table, or
        settings built from database parts (`POSTGRES_SERVER`, `DB_HOST`, ...)."""
        parts = any(re.match(r"^(POSTGRES|DATABASE|DB)_", name) for name in self.env_names) or bool(
            url_template(self.env_names)
        )
        return bool(self.alembic or self.database_env_source or self.queue or parts)


@dataclass
class _Scan:
    python: list[str] = field(default_factory=list)
    inis: list[str] = field(default_factory=list)
    test_dirs: list[str] = field(default_factory=list)
    test_files: list[str] = field(default_factory=list)
    # NOTE: compose files at any depth (`tools/deploy/docker/docker-compose.yml`): they may say how the
    # service migrates.
    compose: list[str] = field(default_factory=list)


def _rel(path: Path, root: Path) -> str:
    return path.relative_to(root).as_posix()


def _scan(root: Path) -> _Scan:
    """Walk the tree once, skipping virtualenvs, caches, hidden folders and vendored code."""
    found = _Scan()
    for current, dirs, files in os.walk(root):
        here = Path(current)
        keep = []
        for name in sorted(dirs):
            sub = here / name
            if name.startswith(".") or name in _SKIP_DIRS or name.endswith(".egg-info"):
                continue
            if (sub / "pyvenv.cfg").is_file() or sub.is_symlink():
                continue
            if name in _TEST_DIRS:
                # NOTE: only folders of Python tests go to pytest, never a JavaScript `tests/`.
                if _has_python_tests(sub):
                    found.test_dirs.append(_rel(sub, root))
                continue
            keep.append(name)
        dirs[:] = keep
        for name in sorted(files):
            rel = _rel(here / name, root)
            if name.endswith(".py"):
                if name.startswith("test_") or name.endswith("_test.py"):
                    found.test_files.append(rel)
                elif name != "conftest.py":
                    found.python.append(rel)
            elif name.endswith(".ini"):
                found.inis.append(rel)
            elif any(fnmatch.fnmatch(name, g) for g in _COMPOSE_GLOBS):
                found.compose.append(rel)
    return found


def _has_python_tests(folder: Path) -> bool:
    for _, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS]
        if any(f.endswith(".py") and (f.startswith("test_") or f.endswith("_test.py")) for f in files):
            return True
    return False


def _testpaths(root: Path) -> list[str] | None:
    """pytest's own `testpaths`, from pyproject.toml, pytest.ini, tox.ini or setup.cfg."""
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        try:
            options = _toml(pyproject).get("tool", {}).get("pytest", {}).get("ini_options", {})
        except AttributeError:
            options = {}
        value = options.get("testpaths") if isinstance(options, dict) else None
        if isinstance(value, list) and value:
            return [str(v) for v in value]
        if isinstance(value, str) and value.strip():
            return value.split()
    for name, section in (("pytest.ini", "pytest"), ("tox.ini", "pytest"), ("setup.cfg", "tool:pytest")):
        path = root / name
        if not path.is_file():
            continue
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read_string(path.read_text("utf-8", errors="replace"))
        except configparser.Error:
            continue
        if parser.has_option(section, "testpaths"):
            return parser.get(section, "testpaths").split()
    return None


def _toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _read(root: Path, rel: str) -> tuple[str, ast.Module | None, bool]:
    """The text and tree of a file; the tree None and True when init's own Python finds a syntax error."""
    path = root / rel
    try:
        if path.stat().st_size > _MAX_SOURCE_BYTES:
            return "", None, False
        data = path.read_bytes()
    except OSError:
        return "", None, False
    text = data.decode("utf-8", errors="replace")
    try:
        return text, ast.parse(data, filename=rel), False
    except SyntaxError:
        return text, None, True
    except ValueError:
        return text, None, False


def _parse(
    root: Path, rel: str, older: Mapping[str, ast.Module] | None = None
) -> tuple[str, ast.Module | None]:
    """The text and tree of a file; a file of newer syntax has the tree the service's interpreter gave, when
    `older` (see `_older_trees`) holds it."""
    text, tree, _ = _read(root, rel)
    return text, (tree if tree is not None or older is None else older.get(rel))


# NOTE: how long the service's interpreter gets to read every file init's own Python cannot parse.
OLDER_TIMEOUT = 60.0


def _older_trees(
    root: Path, rels: Sequence[str], found: interpreter.Found | None, version: tuple[int, int] | None
) -> tuple[dict[str, ast.Module], str | None]:
    """Trees of the files init's own Python cannot parse, read in the service's interpreter when it is newer
    (one process for them all, see `pyscan.older_source`); and, when some are left, why, in words."""
    if not rels:
        return {}, None
    own = f"{sys.version_info[0]}.{sys.version_info[1]}"
    if found is None:
        return {}, f"init runs on Python {own} and found no interpreter of the service to parse them with"
    if version is None or version <= sys.version_info[:2]:
        shown = f"Python {version[0]}.{version[1]}" if version else "an interpreter that could not be run"
        return {}, f"the service's interpreter is {shown}, no newer than init's Python {own}"
    from evidence_kit.errors import CollectorError
    from evidence_kit.support import foreign

    python = interpreter.Interpreter(str(found.path), found.how)
    items: list[list[Any]] = [[rel, str(root / rel)] for rel in rels]
    try:
        with tempfile.TemporaryDirectory(prefix="evidence-init-") as scratch:
            results = foreign.read(
                python, "older", items, scratch=Path(scratch), cwd=root, timeout=OLDER_TIMEOUT
            )
    except CollectorError as exc:
        return {}, f"the service's interpreter could not read them: {exc.message}"
    trees: dict[str, ast.Module] = {}
    for rel, result in zip(rels, results, strict=True):
        source = result.get("source")
        try:
            if isinstance(source, str):
                trees[rel] = ast.parse(source, filename=rel)
        except (SyntaxError, ValueError):
            continue
    why = f"the service's Python {version[0]}.{version[1]} could not parse them either"
    return trees, (why if len(trees) < len(rels) else None)


# NOTE: folder names that say what part of a repository a folder is, not which service.
_GENERIC_FOLDERS = frozenset({"backend", "server", "api", "app", "src", "service", "services", "python"})


def _service(root: Path) -> tuple[str, str]:
    """The service's name: its pyproject.toml's, else its folder's, unless that only says it is the back
    end (`backend/`): then the name the repository's top pyproject.toml gives."""
    named = tomllib.project_name(root / "pyproject.toml")
    if named:
        return named, "pyproject.toml"
    folder = root.resolve()
    if folder.name.lower() in _GENERIC_FOLDERS:
        top = paths.repository(root)
        for above in folder.parents:
            if not above.is_relative_to(top):
                break
            named = tomllib.project_name(above / "pyproject.toml")
            if named:
                return named, f"pyproject.toml of {os.path.relpath(above, folder)}"
            # NOTE: in a monorepo, `services/billing/api` is billing's.
            if above != top and above.name.lower() not in _GENERIC_FOLDERS:
                return above.name, f"folder name of {os.path.relpath(above, folder)}"
    return folder.name, "folder name"


def _alembic(root: Path, inis: Sequence[str]) -> tuple[list[AlembicConfig], list[str]]:
    from evidence_kit.collectors.alembic import config_sections, plain_alembic_problem

    configs: list[AlembicConfig] = []
    urls: dict[tuple[str, str], str] = {}
    notes: list[str] = []
    for rel in inis:
        parser = configparser.ConfigParser(interpolation=None, strict=False)
        try:
            parser.read_string((root / rel).read_text("utf-8", errors="replace"), source=rel)
        except configparser.Error as exc:
            if PurePosixPath(rel).name == "alembic.ini":
                notes.append(f"{rel} could not be read: {exc.message}")
            continue
        for section in config_sections(parser, (root / rel).parent):
            raw = parser.get(section, "script_location", fallback="").strip()
            # NOTE: Flask-Migrate's ini names no location: it is the ini's own folder, `flask db` runs there.
            location, base = (
                _script_location(root, rel, raw)
                if raw
                else (_rel((root / rel).parent.resolve(), root.resolve()), None)
            )
            problem = plain_alembic_problem(root / location / "env.py") if location else None
            prepend = parser.get(section, "prepend_sys_path", fallback="").strip()
            imports = None if prepend or not location else _env_import_path(root, location, base or rel)
            configs.append(AlembicConfig(rel, section, location, base, problem, imports))
            urls[(rel, section)] = parser.get(section, "sqlalchemy.url", fallback="")
    # NOTE: the conventional file and section first, as alembic itself would pick them.
    configs.sort(key=lambda c: (c.ini != "alembic.ini", c.ini, c.section != "alembic", c.section))
    return _sharing_tables(root, configs, urls), notes


# NOTE: what in env.py or the ini's URL may choose the schema a tree's version table lives in: named
# outright, by keyword arguments built elsewhere (`**options`), by a translate map or the search path.
_SCHEMA_CHOSEN = re.compile(r"version_table_schema|search_path|schema_translate_map|\*\*|options=")


def _sharing_tables(
    root: Path, configs: list[AlembicConfig], urls: Mapping[tuple[str, str], str]
) -> list[AlembicConfig]:
    """`configs`, each that shares the version table of one listed before it (the same table named, no
    schema named: `[alembic]` and a tenants' tree `[schema_private]` beside it) marked so; `urls` gives
    each one's `sqlalchemy.url` as its section writes it."""
    from evidence_kit.collectors.alembic import resolve_setup
    from evidence_kit.errors import CollectorError

    owners: dict[str, str] = {}
    out = []
    for c in configs:
        try:
            setup = resolve_setup(root, {"ini": c.ini, "name": c.section}, {})
        except CollectorError:
            out.append(c)
            continue
        try:
            env_py = (setup.script_location / "env.py").read_text("utf-8", errors="replace")
        except OSError:
            env_py = ""
        if setup.version_table_picked is not None:
            out.append(replace(c, table_picked=setup.version_table_picked))  # NOTE: which one is not known
            continue
        name = f"{c.ini} [{c.section}]"
        owner = owners.setdefault(setup.version_table, name)
        # NOTE: a tree whose schema is named, or chosen at run time (`version_table_schema=name`, `SET
        # search_path`), may keep its own table; one in the default schema shares the earlier one's (which
        # may choose its schema: its default one is the same).
        fixed = (
            setup.version_table_schema is None
            and not _SCHEMA_CHOSEN.search(env_py)
            and not _SCHEMA_CHOSEN.search(urls.get((c.ini, c.section), ""))
        )
        if owner != name and fixed:
            c = replace(c, shares_table_with=f"{owner} ({setup.version_table})")
        out.append(c)
    return out


def _env_import_path(root: Path, location: str, run_from: str) -> str | None:
    """The folder, relative to the one Alembic runs in (`run_from`: that folder, or the ini whose folder it
    is), from which the env.py in `location` imports the service's own modules (`from app.core import
    settings` with `app/__init__.py` there), the nearest above the migration folder within the repository;
    None when it imports none. (`alembic`, a console script, has its own folder on sys.path, not the one it
    runs in: `.` is needed too.)"""
    env_py = root / location / "env.py"
    try:
        tree = ast.parse(env_py.read_text("utf-8", errors="replace"), filename=str(env_py))
    except (OSError, SyntaxError, ValueError):
        return None
    names: dict[str, None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(dict.fromkeys(a.name.split(".")[0] for a in node.names))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names[node.module.split(".")[0]] = None
    top = paths.repository(root)
    migrations = (root / location).resolve()
    run_dir = root / run_from if (root / run_from).is_dir() else (root / run_from).parent
    for folder in migrations.parents:
        if not folder.is_relative_to(top):
            break
        for name in names:
            package = folder / name
            # NOTE: the migration folder itself (`alembic/`, named as the library) is not the service's.
            if package == migrations:
                continue
            if (package / "__init__.py").is_file() or (folder / f"{name}.py").is_file():
                return os.path.relpath(folder, run_dir.resolve()).replace(os.sep, "/")
    return None


def _script_location(root: Path, ini: str, raw: str) -> tuple[str | None, str | None]:
    """The migration folder relative to the root, when it is a folder that exists, and the folder Alembic
    runs in for it (None: the ini's own), found as the alembic collector finds them, without importing."""
    from evidence_kit.collectors.alembic import locate, run_from
    from evidence_kit.errors import CollectorError

    if not raw:
        return None, None
    ini_dir = (root / ini).parent
    value = raw.replace("%(here)s", str(ini_dir))
    try:
        found = locate(value, ini_dir, root).resolve()
    except CollectorError:
        return None, None
    if not (found.is_dir() and found.is_relative_to(root.resolve())):
        return None, None
    base = run_from(value, ini_dir, root)
    return _rel(found, root.resolve()), (None if base in (None, ini_dir) else _rel(base, root))


_APP_CLASSES = frozenset({"FastAPI", "Litestar"})


def _is_app_call(node: ast.expr | None) -> bool:
    """`FastAPI(...)` or `Litestar(...)`, also as `fastapi.FastAPI(...)` or `litestar.Litestar(...)`."""
    return _app_class(node) is not None


def _app_class(node: ast.expr | None) -> str | None:
    """`FastAPI` or `Litestar` for a call that builds that app, else None."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    return name if name in _APP_CLASSES else None


def _import_target(root: Path, rel: str) -> tuple[str, str] | None:
    """(module, app_dir) for a Python file: the package chain decides where imports start."""
    parts = list(PurePosixPath(rel).with_suffix("").parts)
    folder = (root / rel).parent
    depth = 0
    # NOTE: a project of its own (`backend/` with its uv.lock) is where imports start, even when it holds an
    # `__init__.py` (its code imports `onyx.x`, not `backend.onyx.x`).
    while folder != root and (folder / "__init__.py").is_file() and not _has_project(folder):
        folder = folder.parent
        depth += 1
    # NOTE: a namespace package (`keep/` without `__init__.py` above `keep/api/`) is where imports start when
    # the file imports itself by it (`from keep.api.core import db`).
    if folder != root and depth and not _has_project(folder):
        tree = _read(root, rel)[1]
        top = _imports(tree) if tree is not None else set()
        while folder != root and folder.name in top and not _has_project(folder):
            folder = folder.parent
            depth += 1
    if depth:
        module_parts = parts[-(depth + 1) :]
        app_dir = _rel(folder, root) if folder != root else "."
    elif parts[0] == "src" and len(parts) > 1:
        module_parts, app_dir = parts[1:], "src"
    else:
        module_parts, app_dir = parts, "."
    if module_parts and module_parts[-1] == "__init__":
        module_parts = module_parts[:-1]
    if not module_parts or not all(p.isidentifier() for p in module_parts):
        return None
    return ".".join(module_parts), app_dir


_WALKED: list[Any] = [None, []]


def _walk(tree: ast.Module) -> list[ast.AST]:
    """Every node of `tree`, listed once per file however many readers ask (a one-tree cache)."""
    if _WALKED[0] is not tree:
        _WALKED[0], _WALKED[1] = tree, list(ast.walk(tree))
    nodes: list[ast.AST] = _WALKED[1]
    return nodes


def _hides_openapi(call: ast.Call) -> bool:
    """`FastAPI(openapi_url=None)` or `openapi_url=""`, `Litestar(openapi_config=None)`: an app whose
    OpenAPI document is switched off."""
    for kw in call.keywords:
        if not isinstance(kw.value, ast.Constant):
            continue
        if (kw.arg == "openapi_url" and kw.value.value in (None, "")) or (
            kw.arg == "openapi_config" and kw.value.value is None
        ):
            return True
    return False


def _app_in(body: Sequence[ast.stmt]) -> tuple[bool, bool, bool]:
    """(builds an app, the app hides its OpenAPI, it is a Litestar app) for a function body."""
    builds = hidden = litestar = False
    for node in ast.walk(ast.Module(body=list(body), type_ignores=[])):
        if isinstance(node, ast.Call) and _is_app_call(node):
            builds = True
            hidden = hidden or _hides_openapi(node)
            litestar = litestar or _app_class(node) == "Litestar"
    return builds, hidden, litestar


def _required_parameters(function: ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, ...]:
    """The parameters a call of `function` must give (no default; not `*args`, `**kwargs`)."""
    args = function.args
    positional = [*args.posonlyargs, *args.args]
    plain = positional[: len(positional) - len(args.defaults)]
    keyword = [a for a, default in zip(args.kwonlyargs, args.kw_defaults, strict=True) if default is None]
    return tuple(a.arg for a in [*plain, *keyword])


def _returns_value(function: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """Whether a function returns a value itself (not in a function or class it defines)."""
    todo: list[ast.AST] = list(function.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Return) and node.value is not None:
            if not (isinstance(node.value, ast.Constant) and node.value.value is None):
                return True
        elif not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            todo.extend(ast.iter_child_nodes(node))
    return False


_FACTORY_NAMES = frozenset(
    {"create_app", "get_app", "make_app", "build_app", "get_application", "create_application"}
)


def _apps(root: Path, rel: str, tree: ast.Module) -> Iterator[FastAPIApp]:
    """Module-level apps, apps made by calling a factory, factories without an instance, mounted apps."""
    where = _import_target(root, rel)
    if where is None:
        return
    module, app_dir = where
    imported: dict[str, str] = {}
    factories: dict[str, tuple[bool, bool]] = {}
    needs: dict[str, tuple[str, ...]] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                imported[alias.asname or alias.name] = f"{node.module}:{alias.name}"
        elif isinstance(node, ast.ImportFrom) and node.level:
            base = module.split(".")[: -node.level] if node.level <= module.count(".") else []
            prefix = ".".join([*base, *([node.module] if node.module else [])])
            for alias in node.names:
                if prefix:
                    imported[alias.asname or alias.name] = f"{prefix}:{alias.name}"
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            builds, hidden, litestar = _app_in(node.body)
            # NOTE: a factory returns what it builds; a command that serves an app of its own for a moment
            # (a CLI's `login` with an OAuth callback) returns nothing.
            if builds and _returns_value(node):
                factories[node.name] = (hidden, litestar)
                needs[node.name] = _required_parameters(node)
    instances: dict[str, FastAPIApp] = {}
    made: set[str] = set()
    for node in tree.body:
        targets: list[ast.expr] = []
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign):
            targets = [node.target]
        if not isinstance(value, ast.Call):
            continue
        called = value.func.id if isinstance(value.func, ast.Name) else None
        for target in targets:
            if not isinstance(target, ast.Name):
                continue
            app: FastAPIApp | None = None
            if _is_app_call(value):
                litestar = _app_class(value) == "Litestar"
                app = FastAPIApp(
                    f"{module}:{target.id}", app_dir, rel, hidden=_hides_openapi(value), litestar=litestar
                )
            elif called is not None and called in factories:
                hidden, litestar = factories[called]
                app = FastAPIApp(f"{module}:{target.id}", app_dir, rel, hidden=hidden, litestar=litestar)
                made.add(called)
            elif called in _FACTORY_NAMES or imported.get(called or "", "").endswith(tuple(_FACTORY_NAMES)):
                app = FastAPIApp(f"{module}:{target.id}", app_dir, rel)
            if app is not None:
                instances[target.id] = app
    for name, (hidden, litestar) in factories.items():
        if name not in made:
            yield FastAPIApp(
                f"{module}:{name}",
                app_dir,
                rel,
                factory=True,
                hidden=hidden,
                litestar=litestar,
                needs=needs[name],
            )
    yield from instances.values()
    # NOTE: `app.mount("/api/v1", api)`: the mounted app is the one whose OpenAPI lists the routes.
    for call in _walk(tree):
        if not (
            isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "mount"
            and len(call.args) >= 2
            and isinstance(call.args[1], ast.Name)
        ):
            continue
        name = call.args[1].id
        if name in instances:
            sub = instances[name]
            yield FastAPIApp(sub.target, app_dir, rel, hidden=sub.hidden, mounted=True, litestar=sub.litestar)
        elif name in imported:
            yield FastAPIApp(imported[name], app_dir, rel, mounted=True)


_TEXT_APP = re.compile(
    r"^([A-Za-z_]\w*)\s*(?::[^=\n]+)?=\s*(?:(?:fastapi\.)?FastAPI|(?:litestar\.)?Litestar)\(([^\n]*)",
    re.MULTILINE,
)


def _apps_from_text(root: Path, rel: str, text: str) -> Iterator[FastAPIApp]:
    """Module-level apps of a file evidence-kit's own Python cannot parse (newer syntax), by their text."""
    where = _import_target(root, rel)
    if where is None:
        return
    for match in _TEXT_APP.finditer(text):
        hidden = bool(
            re.search(r"openapi_url\s*=\s*(None|\"\"|'')|openapi_config\s*=\s*None\b", match.group(2))
        )
        litestar = "Litestar(" in match.group(0)
        yield FastAPIApp(f"{where[0]}:{match.group(1)}", where[1], rel, hidden=hidden, litestar=litestar)


_SERVED = re.compile(
    r"(?:uvicorn|gunicorn|hypercorn|granian|fastapi\s+run)\b[^\n]*?[\s\"'\[,]([A-Za-z_][\w.]*:[A-Za-z_]\w*)"
)
_START_FILES = (
    "Dockerfile*",
    "Procfile",
    "*.sh",
    "Makefile",
    "justfile",
    "docker-compose*.y*ml",
    "compose*.y*ml",
)


def _served(root: Path, scan_python: Sequence[str], compose: Sequence[str] = ()) -> set[str]:
    """The app targets that start commands name: `uvicorn pkg.main:app`, `uvicorn.run("pkg.main:app")`;
    in the service's start files, its compose files at any depth (`compose`, see `_scan`), and, for a
    service in a folder of its repository, the start files up to two folders below the repository's top
    (`deployment/docker_compose/docker-compose.yml` starting `backend/`'s app)."""
    found: set[str] = set()
    top = paths.repository(root)
    bases = [root] if top == root.resolve() else [root, top]
    files = [p for base in bases for pattern in _START_FILES for p in base.glob(pattern)]
    files += [p for base in bases for pattern in _START_FILES for p in base.glob(f"*/{pattern}")]
    if len(bases) > 1:
        files += [
            p
            for pattern in _START_FILES
            for p in top.glob(f"*/*/{pattern}")
            if not any(part.startswith(".") or part in _SKIP_DIRS for part in p.relative_to(top).parts[:-1])
        ]
    files += [root / rel for rel in compose] + [root / "pyproject.toml"]
    for path in files:
        try:
            text = path.read_text("utf-8", errors="replace") if path.is_file() else ""
        except OSError:
            continue
        found.update(m.group(1) for m in _SERVED.finditer(text))
    for rel in scan_python:
        try:
            text = (root / rel).read_text("utf-8", errors="replace")
        except OSError:
            continue
        if "uvicorn" in text:
            found.update(re.findall(r"uvicorn\.run\(\s*[\"']([A-Za-z_][\w.]*:[A-Za-z_]\w*)", text))
    return found


_PLACES_NOT_SERVED = re.compile(
    r"(^|/)(cli|scripts?|examples?|docs?|tests?|benchmarks?|tools?)(/|$)|_utils?\.py$"
)


def _app_rank(app: FastAPIApp) -> tuple[bool, bool, bool, bool, bool, int, bool, int, str]:
    name = PurePosixPath(app.source).name
    entry = name in ("main.py", "app.py", "api.py", "asgi.py", "server.py", "application.py", "__init__.py")
    attr = app.target.rpartition(":")[2]
    named = 0 if attr in ("app", "api", "application") else 1 if attr in _FACTORY_NAMES else 2
    odd = bool(_PLACES_NOT_SERVED.search(app.source))
    return (
        bool(app.needs),
        app.hidden,
        not app.served,
        not app.mounted,
        odd,
        named,
        app.factory,
        app.source.count("/") - entry,
        app.source,
    )


def _served_apps(
    root: Path,
    scan_python: Sequence[str],
    served: set[str],
    apps: Sequence[FastAPIApp],
    flask: list[str] | None = None,
) -> list[FastAPIApp]:
    """The apps start commands serve whose definition init did not take for one (`app =
    fetch_implementation("pkg.main", "get_application")`): the module's file sets or defines that name at
    module level (a function: a factory, which uvicorn calls)."""
    known = {a.target for a in apps}
    found = []
    for target in sorted(served - known):
        module, _, attr = target.partition(":")
        tail = module.replace(".", "/")
        for rel in scan_python:
            if not (rel.endswith(f"{tail}.py") or rel.endswith(f"{tail}/__init__.py")):
                continue
            where = _import_target(root, rel)
            if where is None or where[0] != module:
                continue
            try:
                tree = ast.parse((root / rel).read_text("utf-8", errors="replace"))
            except (OSError, SyntaxError, ValueError):
                break
            imported = functools.partial(_imported_def, root, scan_python, tree)
            for node in tree.body:
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == attr:
                    if not _makes_flask_app(node, imported):
                        found.append(FastAPIApp(target, where[1], rel, factory=True))
                    elif flask is not None:
                        flask.append(target)
                    break
                targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
                if isinstance(node, ast.Assign | ast.AnnAssign) and any(
                    isinstance(t, ast.Name) and t.id == attr for t in targets
                ):
                    if not _makes_flask_app(node, imported):
                        found.append(FastAPIApp(target, where[1], rel))
                    elif flask is not None:
                        flask.append(target)
                    break
            break
    return found


# NOTE: a WSGI app has no OpenAPI document to read (`Flask(__name__)`, a subclass named so: `CTFdFlask`).
_FLASK_CLASS = re.compile(r"Flask$")


def _imported_def(root: Path, scan_python: Sequence[str], tree: ast.Module, name: str) -> ast.AST | None:
    """The function `name` that a module imports from another of the service (`from shop import
    create_app`), parsed from that module's file; None when it imports none so or it cannot be read."""
    module = next(
        (
            node.module
            for node in tree.body
            if isinstance(node, ast.ImportFrom) and node.module and not node.level
            for a in node.names
            if (a.asname or a.name) == name
        ),
        None,
    )
    if module is None:
        return None
    tail = module.replace(".", "/")
    for rel in scan_python:
        if (
            rel.endswith((f"{tail}.py", f"{tail}/__init__.py"))
            and (_import_target(root, rel) or ("",))[0] == module
        ):
            try:
                other = ast.parse((root / rel).read_text("utf-8", errors="replace"))
            except (OSError, SyntaxError, ValueError):
                return None
            return next(
                (
                    n
                    for n in other.body
                    if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.name == name
                ),
                None,
            )
    return None


def _makes_flask_app(node: ast.AST, imported: Callable[[str], ast.AST | None] = lambda name: None) -> bool:
    """Whether a served definition builds a Flask app: a call of such a class in it, or in the function
    of the service it calls to build it (`app = create_app()`, one hop: `imported` gives it by name)."""
    if isinstance(node, ast.Assign | ast.AnnAssign) and isinstance(node.value, ast.Call):
        func = node.value.func
        made = imported(func.id) if isinstance(func, ast.Name) else None
        if made is not None and _makes_flask_app(made):
            return True
    return any(isinstance(sub, ast.Call) and _FLASK_CLASS.search(_call_name(sub)) for sub in ast.walk(node))


def _choose_apps(apps: list[FastAPIApp], served: set[str]) -> list[FastAPIApp]:
    """One entry per target, best first: a served app, a sub-app mounted by a hidden one, then names."""
    merged: dict[str, FastAPIApp] = {}
    for app in apps:
        seen = merged.get(app.target)
        if seen is None:
            merged[app.target] = app
        else:
            merged[app.target] = FastAPIApp(
                app.target,
                seen.app_dir,
                seen.source if not seen.mounted else app.source,
                factory=seen.factory or app.factory,
                hidden=seen.hidden or app.hidden,
                mounted=seen.mounted or app.mounted,
                litestar=seen.litestar or app.litestar,
                needs=seen.needs or app.needs,
            )
    out = []
    for target, app in merged.items():
        is_served = target in served
        out.append(replace(app, served=is_served))
    # NOTE: only apps whose definition was seen are import targets; a mount of an unseen name is a hint.
    known = {a.target for a in apps if not a.mounted}
    return sorted((a for a in out if a.target in known), key=_app_rank)


_WORKER_WORDS = re.compile(
    r"dramatiq|celery|Celery|\barq\b|WorkerSettings|\brq\b|apscheduler|\bsaq\b|litestar_saq|--once"
)
# NOTE: litestar-saq's workers start from the Litestar CLI; detect names the app once it is chosen.
LITESTAR_SAQ = "litestar workers run"
_MIGRATION = re.compile(r"^\s*(revision|down_revision)\s*(:[^=]*)?=", re.MULTILINE)
_NOT_WORKERS = re.compile(r"(^|/)(tests?|migrations|alembic|versions|settings|schemas?|docs?|examples?)(/|$)")


def _imports(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in _walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    return names


def _has_once_loop(tree: ast.Module) -> bool:
    """A plain worker loop: a `--once` flag and a `while` loop."""
    once = any(isinstance(n, ast.Constant) and n.value == "--once" for n in _walk(tree))
    return once and any(isinstance(n, ast.While) for n in _walk(tree))


def _saq_settings(tree: ast.Module) -> str | None:
    """The module-level name of SAQ's worker settings: a `{...}` or `dict(...)` with a "functions" key."""
    for node in tree.body:
        if not (isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None):
            continue
        value = node.value
        keys = (
            {k.value for k in value.keys if isinstance(k, ast.Constant)}
            if isinstance(value, ast.Dict)
            else _literal_keys(value)
        )
        target = node.targets[0] if isinstance(node, ast.Assign) else node.target
        if "functions" in keys and isinstance(target, ast.Name):
            return target.id
    return None


def _runs_as_main(tree: ast.Module) -> bool:
    """True when the module does something when run as a program (`if __name__ == "__main__":`)."""
    return any(
        isinstance(node, ast.If)
        and "__main__" in ast.unparse(node.test)
        and "__name__" in ast.unparse(node.test)
        for node in tree.body
    )


def _calls_with(tree: ast.Module, callee: str, keyword: str) -> bool:
    """True when the module calls `callee(...)` (by name or attribute) with `keyword=`."""
    return any(
        isinstance(n, ast.Call) and _call_name(n) == callee and any(k.arg == keyword for k in n.keywords)
        for n in _walk(tree)
    )


def _workers(root: Path, rel: str, text: str, tree: ast.Module | None) -> Iterator[Worker]:
    """The workers a file starts: dramatiq actors, a Celery app, arq settings, rq, APScheduler, SAQ, loops."""
    if _NOT_WORKERS.search(rel) or _MIGRATION.search(text):
        return
    where = _import_target(root, rel)
    if where is None:
        return
    module, app_dir = where
    path_option = f" --path {app_dir}" if app_dir != "." else ""
    path = PurePosixPath(rel)
    if path.name == "__main__.py" and path.parent.name in ("worker", "workers"):
        package = module.removesuffix(".__main__")
        yield Worker(rel, "worker package", f"python -m {package}")
        return
    if tree is None:
        return
    used = _imports(tree)
    if "dramatiq" in used and "actor" in text and _declares_actors(tree):
        yield Worker(rel, "dramatiq", f"dramatiq {module}{path_option}")
    elif "celery" in used and re.search(r"\bCelery\(", text):
        yield Worker(rel, "celery", f"celery -A {module} worker --loglevel INFO", app_dir)
    elif "arq" in used and "WorkerSettings" in text:
        yield Worker(rel, "arq", f"arq {module}.WorkerSettings", app_dir)
    elif "rq" in used and _RQ_WORKER.search(text):
        yield Worker(rel, "rq", "rq worker", app_dir)
    elif "apscheduler" in used and ".start(" in text and _runs_as_main(tree):
        # NOTE: `python -m` runs the scheduler only from a `__main__` block; a module that only defines the
        # schedule is started by another command (a worker's `-f module:schedule`).
        yield Worker(rel, "APScheduler", f"python -m {module}")
    elif "litestar_saq" in used and _calls_with(tree, "QueueConfig", "tasks"):
        yield Worker(rel, "SAQ", LITESTAR_SAQ)
    elif "saq" in used and (settings := _saq_settings(tree)):
        yield Worker(rel, "SAQ", f"saq {module}.{settings}")
    elif "saq" in used and _calls_with(tree, "Worker", "functions"):
        yield Worker(rel, "SAQ", f"python -m {module}")
    elif _has_once_loop(tree):
        yield Worker(rel, "loop with --once", f"python -m {module} --once")


# NOTE: a module that makes or defines an rq worker (`Worker(queues).work()`, `class W(Worker)`), not one
# that only reads the workers' state (`Worker.all(connection=...)` in a status page).
_RQ_WORKER = re.compile(r"\bWorker\(|\(\s*(?:\w+\.)*Worker\s*[,)]|\.work\(")


def _declares_actors(tree: ast.Module) -> bool:
    """True when a module declares dramatiq actors: a function decorated with `actor` (`@dramatiq.actor`,
    `@actor(...)`), not one that only names the word (`actor_name`, a comment about actors)."""
    for node in _walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
                if name == "actor":
                    return True
    return False


# NOTE: a worker command in the service's own files, where a command starts (as `_CLI_UPGRADE`), also as a
# task's string (`worker = "dramatiq app.worker -p 1"`) or a deployment's `start_command`.
_WORKER_COMMAND = re.compile(
    r"(?:^(?:-[ \t]+|[\w-]+:)?|&&|\|\||[;|(\"'`=]|\bRUN[ \t]|\bexec[ \t]|\b(?:run|command|cmd|script|"
    r"entrypoint|start_command|startCommand):)[ \t]*"
    r"((?:(?:poetry|uv|pipenv|hatch|pdm|rye)[ \t]+run[ \t]+)?(?P<tool>dramatiq|celery|arq|rq|saq)"
    r"(?:[ \t]+[^\s\"'`;&|#]+)+)"
)
# NOTE: what Celery and rq start a worker with: a command without it (a health check's `inspect ping`,
# flower, a purge) starts none.
_WORKER_SUBCOMMANDS = {"celery": ("worker", "beat"), "rq": ("worker",)}


def _distinct_workers(workers: Iterable[Worker]) -> tuple[Worker, ...]:
    """Each worker command once (in the order of their files): several modules of one rq worker give the
    same `rq worker`, which runs it once."""
    found: dict[tuple[str, str, str], Worker] = {}
    for w in sorted(set(workers), key=lambda w: (w.source, w.command)):
        found.setdefault((w.kind, w.command, w.cwd), w)
    return tuple(found.values())


def _worker_commands(
    root: Path, sources: Sequence[str], listed: Callable[[], Mapping[str, tuple[str, str]]]
) -> list[Worker]:
    """The workers the service's own files start (task runners, scripts, compose files, deployments), each
    command once, nearest file first: those whose command names one of the service's modules (`listed`
    gives them, when a command is found: module -> (file, folder imports start from)), with the file and
    the folder it runs from."""
    from evidence_kit.redact.redactor import Redactor

    redactor = Redactor()
    found: dict[str, Worker] = {}
    modules: Mapping[str, tuple[str, str]] | None = None
    for rel in sources:
        text = _source_text(root, rel)
        for line in text.splitlines():
            if line.strip().startswith("#"):
                continue
            for match in _WORKER_COMMAND.finditer(line):
                command = _RUN_PREFIX.sub("", " ".join(match.group(1).split()))
                words = command.split()
                wanted = _WORKER_SUBCOMMANDS.get(match.group("tool"))
                # NOTE: a command holding a secret (`--broker=redis://:pw@...`) is never copied into a file.
                if (wanted and not set(wanted) & set(words)) or redactor.mask_text(command)[1]:
                    continue
                modules = listed() if modules is None else modules
                named = next((m for m in _named_modules(command) if m in modules), None)
                if named is None or command in found:
                    continue
                source, app_dir = modules[named]
                tool = match.group("tool")
                if tool == "celery" and "beat" in words and "worker" not in words:
                    tool = "celery beat"
                # NOTE: dramatiq's `--path` says where imports start; the others run from that folder.
                cwd = "." if tool == "dramatiq" and "--path" in words else app_dir
                found[command] = Worker(source, tool, command, cwd, rel)
    return list(found.values())


def _modules(root: Path, python: Sequence[str]) -> dict[str, tuple[str, str]]:
    """The service's modules by dotted name: (file, folder imports start from); the first file of a name."""
    found: dict[str, tuple[str, str]] = {}
    projects: dict[str, bool] = {}
    for rel in python:
        where = _import_target(root, rel)
        if where is None:
            continue
        found.setdefault(where[0], (rel, where[1]))
        first, _, rest = where[0].partition(".")
        # NOTE: in a project folder of its own (`backend/`, its packages without `__init__.py` between), a
        # module is imported from there too: `onyx.background.x` of `backend/onyx/background/x.py`.
        if where[1] == "." and rest and projects.setdefault(first, _has_project(root / first)):
            found.setdefault(rest, (rel, first))
    return found


def _named_modules(command: str) -> Iterator[str]:
    """The dotted names a worker command gives: modules (`-A app.celery`, `app.worker.run`), then those of
    a `module:attribute` (a fork function, `app.worker:broker`), dotted ones before bare ones, then each
    without its last part (arq's settings class, rq's function)."""
    words = [w.split("=", 1)[-1] for w in command.split()[1:]]
    words = [w for w in words if ":" not in w] + [w.split(":", 1)[0] for w in words if ":" in w]
    names = [w for w in words if re.fullmatch(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*", w)]
    # NOTE: a dotted name first: a bare one may be an option's folder or package (`--watch app`).
    names = [n for n in names if "." in n] + [n for n in names if "." not in n]
    yield from names
    yield from (n.rsplit(".", 1)[0] for n in names if "." in n)


def _source_text(root: Path, rel: str) -> str:
    """A runner file, script or workflow of the service as text; empty when it is too large to be one, links
    out of the repository, or cannot be read."""
    path = root / rel
    try:
        if path.stat().st_size > 1024 * 1024 or not path.resolve().is_relative_to(paths.repository(root)):
            return ""
        return path.read_text("utf-8", errors="replace")
    except OSError:
        return ""


def _with_app(worker: Worker, apps: Sequence[FastAPIApp]) -> Worker:
    """A litestar-saq worker with the chosen app in its command (see `_litestar_with_app`); a guessed one
    whose module lies below the app's import root (`backend.onyx.x` where the app is `onyx.main`, run from
    `backend/`, its packages without `__init__.py` between) named from there and run there."""
    if worker.command == LITESTAR_SAQ:
        return replace(worker, command=_litestar_with_app(worker.command, apps))
    home = apps[0].app_dir if apps else "."
    if worker.given_in or worker.cwd != "." or home == "." or "--path" in worker.command:
        return worker
    prefix = home.replace("/", ".") + "."
    words = worker.command.split(" ")
    if not any(w.startswith(prefix) for w in words):
        return worker
    named = " ".join(w.removeprefix(prefix) for w in words)
    return replace(worker, command=named, cwd=home)


def _app_in_command(found: tuple[str, str] | None, apps: Sequence[FastAPIApp]) -> tuple[str, str] | None:
    """The service's migration command and its file, with the chosen app when the Litestar CLI runs it."""
    return None if found is None else (_litestar_with_app(found[0], apps), found[1])


# NOTE: the Litestar CLI itself, bare or in a virtualenv's bin folder (a `scripts/litestar` wrapper is not).
_LITESTAR_CLI = re.compile(r"(?:\S*/bin/)?litestar")


def _litestar_with_app(command: str, apps: Sequence[FastAPIApp]) -> str:
    """A Litestar CLI command (`litestar database upgrade`, `litestar workers run`) with the chosen app
    (`--app-dir D --app module:attr`, a factory too): the commands of the app's plugins exist only once the
    CLI has the app. Unchanged when it names one already, is no Litestar command, or no Litestar app was
    chosen: the CLI then looks for the app itself (`LITESTAR_APP`, or its usual places)."""
    words = command.split()
    if not apps or not apps[0].litestar or not words or not _LITESTAR_CLI.fullmatch(words[0]):
        return command
    if any(w in ("--app", "--app-dir") or w.startswith(("--app=", "--app-dir=")) for w in words):
        return command
    app_dir = f"--app-dir {apps[0].app_dir} " if apps[0].app_dir != "." else ""
    return " ".join([words[0], f"{app_dir}--app {apps[0].target}", *words[1:]])


_SETTINGS_BASES = frozenset({"BaseSettings", "Settings"})
_ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def _settings_classes(bases: Mapping[str, set[str]]) -> set[str]:
    """The names of settings classes across the service: `BaseSettings` and every class deriving from one,
    in any module (`class DatabaseSettings(ServiceBaseSettings)`, its base defined elsewhere)."""
    found = set(_SETTINGS_BASES)
    grew = True
    while grew:
        grew = False
        for name, parents in bases.items():
            if name not in found and parents & found:
                found.add(name)
                grew = True
    return found


def _aliases(value: ast.expr | None) -> list[str]:
    """The environment names of a field's `Field(validation_alias=...)` or `alias=`: a string, or the string
    arguments of `AliasChoices(...)` (an `AliasPath` names a path in the data, no variable), upper-cased."""
    if not (isinstance(value, ast.Call) and _call_name(value) == "Field"):
        return []
    names: list[str] = []
    for kw in value.keywords:
        if kw.arg not in ("validation_alias", "alias"):
            continue
        items = (
            kw.value.args if isinstance(kw.value, ast.Call) and _call_name(kw.value) == "AliasChoices" else []
        )
        for item in items or [kw.value]:
            if (
                isinstance(item, ast.Constant)
                and isinstance(item.value, str)
                and _ALIAS.match(item.value)
                and item.value.upper() not in names
            ):
                names.append(item.value.upper())
        if names:
            break
    return names


def _settings_fields(
    tree: ast.Module,
    classes: frozenset[str] | set[str] = _SETTINGS_BASES,
    inherited: Mapping[str, str | None] | None = None,
) -> Iterator[tuple[str, str, str, str | None, bool, str | None]]:
    """Pydantic-settings fields (`class Settings(BaseSettings): POSTGRES_USER: str`): the class, the field,
    its environment name, a placeholder value when the field is required (no default), else None,
    whether its default is empty (`""` or None: a value the service fills in itself when it is not set),
    and a plain default (`5432`).
    `classes` names the settings classes of other modules, which a class here may derive from, and
    `inherited` their env prefixes. A field with aliases gives each alias, the first one with the
    placeholder; a field of a class whose env prefix cannot be read (`model_config = build_config(...)`)
    gives its aliases only."""
    settings = set(classes)
    prefixes: dict[str, str | None] = dict(inherited or {})
    for node in tree.body:
        if not isinstance(node, ast.ClassDef):
            continue
        if not _base_names(node) & settings:
            continue
        # NOTE: a subclass of a settings class of this module is one too (`AppSettings(LoggingSettings)`).
        settings.add(node.name)
        prefix = _env_prefix(node)
        if prefix == "":
            # NOTE: pydantic merges a class's configuration into its base's: one that sets no prefix keeps
            # the base's (of any module).
            prefix = next((prefixes[b] for b in sorted(_base_names(node)) if prefixes.get(b, "") != ""), "")
        prefixes[node.name] = prefix
        for stmt in node.body:
            if not (isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name)):
                continue
            if stmt.target.id.startswith("_") or stmt.target.id == "model_config":
                continue
            # NOTE: pydantic-settings reads a field with aliases by its aliases only, without the prefix.
            keywords = {kw.arg for kw in stmt.value.keywords} if isinstance(stmt.value, ast.Call) else set()
            required = stmt.value is None or (
                isinstance(stmt.value, ast.Call)
                and _call_name(stmt.value) == "Field"
                and not keywords & {"default", "default_factory"}
                and (
                    not stmt.value.args
                    or (isinstance(stmt.value.args[0], ast.Constant) and stmt.value.args[0].value is ...)
                )
            )
            placeholder = _placeholder(ast.unparse(stmt.annotation)) if required else None
            default = stmt.value
            if isinstance(default, ast.Call) and _call_name(default) == "Field":
                given = [kw.value for kw in default.keywords if kw.arg == "default"] or default.args[:1]
                default = given[0] if given else None
            empty = isinstance(default, ast.Constant) and default.value in ("", None)
            # NOTE: a prefix init cannot know (a helper builds the configuration) leaves the aliases only.
            own = [(prefix + stmt.target.id).upper()] if prefix is not None else []
            names = _aliases(stmt.value) or own
            for i, name in enumerate(names):
                if _ENV_NAME.match(name):
                    placed = placeholder if i == 0 else None
                    yield node.name, stmt.target.id, name, placed, empty, _plain_default(default)


def _inherited_prefix(name: str, own: Mapping[str, str | None], bases: Mapping[str, set[str]]) -> str | None:
    """The env prefix of a settings class: its own, else (pydantic merges a configuration into its base's)
    the nearest base's that sets one, across the service's modules."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop(0)
        if current in seen:
            continue
        seen.add(current)
        if own.get(current, "") != "":
            return own[current]
        todo.extend(sorted(bases.get(current, ())))
    return ""


def _env_prefix(node: ast.ClassDef) -> str | None:
    """The env prefix a settings class's own configuration sets: "" with none or one without a prefix, None
    when it cannot be read (a helper's call, a variable, `**options`): a literal `SettingsConfigDict(...)`,
    `ConfigDict(...)`, `dict(...)` or `{...}` as `model_config`, or pydantic v1's `class Config`."""
    for stmt in node.body:
        targets: list[ast.expr] = []
        if isinstance(stmt, ast.Assign):
            targets, value = stmt.targets, stmt.value
        elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
            targets, value = [stmt.target], stmt.value
        if any(isinstance(t, ast.Name) and t.id == "model_config" for t in targets):
            if isinstance(value, ast.Call) and _call_name(value) in (
                "SettingsConfigDict",
                "ConfigDict",
                "dict",
            ):
                if value.args:
                    return None
                return _prefix_of([(kw.arg, kw.value) for kw in value.keywords])
            if isinstance(value, ast.Dict):
                keys = [k.value if isinstance(k, ast.Constant) else None for k in value.keys]
                return _prefix_of(list(zip(keys, value.values, strict=True)))
            return None
        if isinstance(stmt, ast.ClassDef) and stmt.name == "Config":
            return _prefix_of(
                [
                    (t.id, s.value)
                    for s in stmt.body
                    if isinstance(s, ast.Assign)
                    for t in s.targets
                    if isinstance(t, ast.Name)
                ]
            )
    return ""


def _prefix_of(options: Sequence[tuple[Any, ast.expr]]) -> str | None:
    """The `env_prefix` among a configuration's (key, value) options: "" without one, None when a key or
    the prefix is not a literal."""
    prefix = ""
    for key, value in options:
        if not isinstance(key, str):
            return None
        if key == "env_prefix":
            if not (isinstance(value, ast.Constant) and isinstance(value.value, str)):
                return None
            prefix = value.value
    return prefix


def _placeholder(kind: str) -> str:
    """A value of the type a setting is declared or cast to, for the workflow to set until the user does;
    a collection is read from the environment as JSON (pydantic-settings), so it gets an empty one."""
    outer = re.match(r"\s*(?:typing\.)?(\w+)", kind)
    if outer is not None and outer.group(1) in (
        "list",
        "List",
        "set",
        "Set",
        "frozenset",
        "tuple",
        "Tuple",
        "Sequence",
    ):
        return "[]"
    if outer is not None and outer.group(1) in ("dict", "Dict", "Mapping"):
        return "{}"
    if kind == "bool":
        return "false"
    if kind in ("int", "float"):
        return "0"
    if "EmailStr" in kind:
        return "admin@example.com"
    if "PostgresDsn" in kind:
        return _CI_URL.format(**_CI_POSTGRES)
    if "Url" in kind:
        return "http://localhost"
    return "change-me"


def _env_files(tree: ast.Module) -> Iterator[str]:
    """The `env_file` a settings class reads (`model_config = SettingsConfigDict(env_file="../.env")`,
    pydantic v1's `class Config: env_file = ".env"`, Starlette's `Config(".env")`), each path as written;
    also through a module-level name (`env_file = ".env.testing" if testing else ".env"`, then
    `env_file=env_file`), where the files of a test run (a name with `test`) are left out when another is
    given."""
    assigned = {
        target.id: node.value
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    # NOTE: Starlette's settings read the file named first: `config = Config(".env")`.
    starlette = {
        a.asname or a.name
        for node in _walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == "starlette.config"
        for a in node.names
        if a.name == "Config"
    }
    found: list[str] = []
    for node in _walk(tree):
        values: list[ast.expr] = []
        if (isinstance(node, ast.keyword) and node.arg == "env_file") or (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == "env_file" for t in node.targets)
        ):
            values = [node.value]
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in starlette
            and node.args
        ):
            values = [node.args[0]]
        for value in values:
            if isinstance(value, ast.Name) and value.id in assigned:
                value = assigned[value.id]
            found += _paths_of(value)
    found = list(dict.fromkeys(found))
    yield from [f for f in found if "test" not in f.lower()] or found


def _paths_of(value: ast.expr) -> list[str]:
    """The file names an `env_file` value may be: a string, the items of a tuple or list, both branches of a
    condition (never what it tests), the default of `os.getenv(NAME, ".env")`, the last part of
    `folder / ".env"`."""
    if isinstance(value, ast.Constant):
        return [value.value] if isinstance(value.value, str) and value.value else []
    if isinstance(value, ast.Tuple | ast.List):
        return [p for item in value.elts for p in _paths_of(item)]
    if isinstance(value, ast.IfExp):
        return _paths_of(value.body) + _paths_of(value.orelse)
    if isinstance(value, ast.Call) and _call_name(value) in ("getenv", "get") and len(value.args) == 2:
        return _paths_of(value.args[1])
    if isinstance(value, ast.BinOp) and isinstance(value.op, ast.Div):
        return _paths_of(value.right)
    return []


_BASE_COMPOSE = frozenset({"docker-compose.yml", "docker-compose.yaml", "compose.yml", "compose.yaml"})


def _compose_env_files(root: Path, compose: Sequence[str]) -> list[str]:
    """The `env_file`s the services of a compose file at the service's top read (`env_file: .env`, a list,
    or `{path: ...}` items), relative to the service: where the service's settings come from when it runs."""
    import yaml

    found: list[str] = []
    for rel in compose:
        # NOTE: the base files only: `docker-compose.prod.yml` gives production's, not this machine's.
        if "/" in rel or rel not in _BASE_COMPOSE:
            continue
        try:
            data = yaml.safe_load(_source_text(root, rel) or "{}")
        except yaml.YAMLError:
            continue
        services = data.get("services") if isinstance(data, dict) else None
        for spec in services.values() if isinstance(services, dict) else []:
            value = spec.get("env_file") if isinstance(spec, dict) else None
            for item in value if isinstance(value, list) else [value]:
                path = item.get("path") if isinstance(item, dict) else item
                if isinstance(path, str) and path and _plain_path(path) and not path.startswith("/"):
                    found.append(PurePosixPath(path).as_posix().removeprefix("./"))
    # NOTE: a front end's file (`skyvern-frontend/.env`, beside its package.json) is not the service's.
    return [
        f
        for f in dict.fromkeys(found)
        if not (
            PurePosixPath(f).parent.as_posix() != "."
            and (root / PurePosixPath(f).parent / "package.json").is_file()
            and not _has_project(root / PurePosixPath(f).parent)
        )
    ]


def _env_file_at(root: Path, module: str, path: str) -> str | None:
    """An `env_file` a settings module names, relative to the service's root: pydantic-settings reads it
    from the folder the service runs in, the folder its imports start from (`backend/` for
    `backend/app/core/config.py`, the project's for a src layout) or the root, or, built from the module's
    own folder, that folder; the first of those where it is, else the first; never a file outside the
    repository."""
    if not _plain_path(path):
        return None
    where = _import_target(root, module)
    bases = [_runs_from(where[1] if where else "."), ".", PurePosixPath(module).parent.as_posix()]
    top = paths.repository(root)
    candidates = []
    for base in dict.fromkeys(bases):
        full = Path(os.path.normpath(root / base / path))
        if full.is_relative_to(top):
            candidates.append(full)
    chosen = next((c for c in candidates if c.is_file()), candidates[0] if candidates else None)
    return None if chosen is None else os.path.relpath(chosen, root).replace(os.sep, "/")


def _runs_from(app_dir: str) -> str:
    """The folder a service whose imports start at `app_dir` runs from, where its settings files are: a src
    layout's project folder, above `src`; else `app_dir`."""
    start = PurePosixPath(app_dir)
    return start.parent.as_posix() if start.name == "src" else app_dir


def _plain_path(path: str) -> bool:
    """True for a relative path as written, with no variable or home folder in it (`.env`, `../.env`)."""
    return not PurePosixPath(path).is_absolute() and not re.search(r"[$~{}%]", path)


def _committed_settings(root: Path, reads: Mapping[str, list[str]]) -> set[str]:
    """Names given a value by a committed env file that a settings module (`reads`: module -> its
    `env_file`s) reads: the workflow's checkout has the file. A path is taken from the module's folder or
    any folder above it up to `root` (the service may run in any of them); a file git does not track is
    not in a checkout, and gives none."""
    from evidence_kit.support.tree import git_files

    top = paths.repository(root)
    tracked = set(git_files(top, cached_only=True) or ()) if (top / ".git").exists() else set()
    names: set[str] = set()
    for rel, env_files in reads.items():
        module = root / PurePosixPath(rel).parent
        folders = [module, *(f for f in module.parents if f.is_relative_to(root))]
        for env_file in env_files:
            for folder in folders:
                path = Path(os.path.normpath(folder / env_file))
                if path.is_relative_to(top) and path.relative_to(top).as_posix() in tracked:
                    names.update(_assigned(path))
                    break
    return names


def _assigned(path: Path) -> set[str]:
    """The names a dotenv file gives a non-empty value."""
    names = set()
    for line in path.read_text("utf-8", errors="replace").splitlines():
        key, eq, value = line.strip().removeprefix("export ").partition("=")
        if eq and _ENV_NAME.match(key.strip()) and value.strip().strip("'\""):
            names.add(key.strip())
    return names


def _base_names(node: ast.ClassDef) -> set[str]:
    return {
        b.id if isinstance(b, ast.Name) else b.attr if isinstance(b, ast.Attribute) else ""
        for b in node.bases
    }


def _constructions(tree: ast.Module) -> Iterator[tuple[str, frozenset[str]]]:
    """(callee, the keywords it is given) for every call by name: `AppSettings(WORKERS=1)` gives WORKERS,
    and `AppSettings(**generated)` the keys of a dict of literal keys bound to `generated`."""
    dicts: dict[str, set[str]] = {}
    for node in _walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            dicts.setdefault(node.targets[0].id, set()).update(_literal_keys(node.value))
    for node in _walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        callee = (
            func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        )
        keys: set[str] = set()
        for kw in node.keywords:
            if kw.arg is not None:
                keys.add(kw.arg)
            elif isinstance(kw.value, ast.Name):
                keys.update(dicts.get(kw.value.id, ()))
            else:
                keys.update(_literal_keys(kw.value))
        yield callee, frozenset(keys)


def _filled_in(
    required: Mapping[tuple[str, str], str],
    bases: Mapping[str, set[str]],
    calls: Mapping[str, list[frozenset[str]]],
) -> set[str]:
    """The environment names of required settings fields ((class, field): name) that the service's own
    code passes to every call of the class and of its subclasses it makes, when it makes one: a secret
    it generates, a flag it computes, never read from the environment."""

    def family(cls: str) -> set[str]:
        found, todo = {cls}, [cls]
        while todo:
            parent = todo.pop()
            for child, parents in bases.items():
                if parent in parents and child not in found:
                    found.add(child)
                    todo.append(child)
        return found

    filled: set[str] = set()
    for (cls, attr), name in required.items():
        made = [keys for member in family(cls) for keys in calls.get(member, ())]
        if made and all(attr in keys for keys in made):
            filled.add(name)
    return filled


def _literal_keys(node: ast.expr) -> set[str]:
    """The keys of `{"A": ...}` or `dict(A=...)`, when all are plain strings."""
    if isinstance(node, ast.Dict):
        keys = [k.value for k in node.keys if isinstance(k, ast.Constant) and isinstance(k.value, str)]
        return set(keys) if len(keys) == len(node.keys) else set()
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "dict":
        return {kw.arg for kw in node.keywords if kw.arg is not None}
    return set()


def _environ(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def _reads_environ(func: ast.expr) -> bool:
    """`os.environ.get`, `environ.pop`, `os.getenv`, `getenv` and the like. A name the service only sets
    (`os.environ.setdefault`, `os.environ[NAME] = ...`, `os.putenv`) is none it needs from outside."""
    if isinstance(func, ast.Attribute):
        return func.attr == "getenv" or (func.attr in ("get", "pop") and _environ(func.value))
    return isinstance(func, ast.Name) and func.id == "getenv"


def _env_names(tree: ast.Module) -> Iterator[str]:
    """Names of environment variables the code reads, and `...DATABASE_URL` strings anywhere."""
    for node in _walk(tree):
        name: ast.expr | None = None
        if isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load) and _environ(node.value):
            name = node.slice
        elif isinstance(node, ast.Call) and node.args and _reads_environ(node.func):
            name = node.args[0]
        elif (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.endswith("DATABASE_URL")
            and _ENV_NAME.match(node.value)
        ):
            yield node.value
        if isinstance(name, ast.Constant) and isinstance(name.value, str) and _ENV_NAME.match(name.value):
            yield name.value


_PLAIN_DEFAULT = re.compile(r"[A-Za-z0-9._-]+")


def _plain_default(node: ast.expr | None) -> str | None:
    """A default a URL template may carry (`5432`, `"localhost"`, `"dispatch"`), as text; else None."""
    if isinstance(node, ast.Constant) and type(node.value) in (str, int):
        text = str(node.value)
        return text if _PLAIN_DEFAULT.fullmatch(text) else None
    return None


def _env_defaults(tree: ast.Module) -> Iterator[tuple[str, str]]:
    """(name, default) of the reads that give a plain default: `os.getenv("DB_PORT", "5432")`,
    `os.environ.get("DB_NAME", "svc")`."""
    for node in _walk(tree):
        if isinstance(node, ast.Call) and len(node.args) == 2 and _reads_environ(node.func):
            name, default = node.args[0], _plain_default(node.args[1])
            if isinstance(name, ast.Constant) and isinstance(name.value, str) and default is not None:
                yield name.value, default


def _env_fallbacks(tree: ast.Module) -> Iterator[tuple[str, str]]:
    """(fallback, first) of the reads whose default is another read: `os.environ.get("APP_DATABASE_URL",
    os.environ.get("DATABASE_URL"))` reads DATABASE_URL only where APP_DATABASE_URL is not set."""
    for node in _walk(tree):
        if isinstance(node, ast.Call) and len(node.args) == 2 and _reads_environ(node.func):
            first, inner = node.args
            if (
                isinstance(first, ast.Constant)
                and isinstance(first.value, str)
                and isinstance(inner, ast.Call)
                and inner.args
                and _reads_environ(inner.func)
                and isinstance(inner.args[0], ast.Constant)
                and isinstance(inner.args[0].value, str)
            ):
                yield inner.args[0].value, first.value


def _required_environ(tree: ast.Module) -> Iterator[str]:
    """Names read as `os.environ["NAME"]`, which fails when the variable is not set."""
    for node in _walk(tree):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and _environ(node.value)
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
            and _ENV_NAME.match(node.slice.value)
        ):
            yield node.slice.value


_DB_VALUE = re.compile(
    r"^(?:postgres(?:ql)?|sqlite|mysql|mariadb|cockroachdb)(?:\+\w+)?(?::|$)", re.IGNORECASE
)
_ENGINE_VALUE = re.compile(r"^(?:postgres(?:ql)?|pg|psql)$", re.IGNORECASE)
_ENGINE_SIDE = re.compile(r"engine|dialect|backend|provider|db_?type|database_?type", re.IGNORECASE)


def _read_name(node: ast.AST) -> str | None:
    """The variable a read of the environment names (`os.getenv("X")`, `os.environ["X"]`), or None."""
    key: ast.expr | None = None
    if isinstance(node, ast.Call) and node.args and _reads_environ(node.func):
        key = node.args[0]
    elif isinstance(node, ast.Subscript) and _environ(node.value):
        key = node.slice
    if isinstance(key, ast.Constant) and isinstance(key.value, str) and _ENV_NAME.match(key.value):
        return key.value
    return None


def _db_value(node: ast.expr | None) -> bool:
    """A literal that says database: `"postgresql://..."`, `"sqlite"`, or a tuple holding one."""
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return any(_db_value(item) for item in node.elts)
    return (
        isinstance(node, ast.Constant) and isinstance(node.value, str) and bool(_DB_VALUE.match(node.value))
    )


def _database_reads(tree: ast.Module) -> Iterator[str]:
    """Variables read from the environment whose value the code shows to be a database URL: a literal
    default (`os.getenv("STORE", "postgresql://...")`), or a comparison with one (`.startswith("postgres")`,
    `== "sqlite://"`) of the read or of the name it is bound to."""
    bound: dict[str, str] = {}
    for node in _walk(tree):
        if isinstance(node, ast.Call) and (name := _read_name(node)):
            default = node.args[1] if len(node.args) > 1 else None
            default = next((kw.value for kw in node.keywords if kw.arg == "default"), default)
            if _db_value(default):
                yield name
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value and (name := _read_name(node.value)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            bound.update((t.id, name) for t in targets if isinstance(t, ast.Name))

    def read(node: ast.expr) -> str | None:
        return bound.get(node.id) if isinstance(node, ast.Name) else _read_name(node)

    for node in _walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "startswith"
            and node.args
            and _db_value(node.args[0])
            and (name := read(node.func.value))
        ):
            yield name
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_db_value(side) for side in sides):
                yield from (name for side in sides if (name := read(side)))


def _engine_values(tree: ast.Module) -> Iterator[tuple[str, bool]]:
    """The PostgreSQL value a database engine selector is compared with (`provider_name == "postgres"`),
    or is typed to take (`DB_ENGINE: Literal["sqlite", "postgres"]`, `POSTGRESQL = "POSTGRESQL"` in `class
    DatabaseType(StrEnum)`); with whether it is typed (what the setting accepts, over any comparison)."""
    for node in _walk(tree):
        if isinstance(node, ast.ClassDef) and _ENGINE_SIDE.search(node.name):
            for member in node.body:
                if (
                    isinstance(member, ast.Assign)
                    and isinstance(member.value, ast.Constant)
                    and isinstance(member.value.value, str)
                    and _ENGINE_VALUE.match(member.value.value)
                ):
                    yield member.value.value, True
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            named = any(
                _ENGINE_SIDE.search(side.id if isinstance(side, ast.Name) else side.attr)
                for side in sides
                if isinstance(side, ast.Name | ast.Attribute)
            )
            for side in sides if named else ():
                if (
                    isinstance(side, ast.Constant)
                    and isinstance(side.value, str)
                    and _ENGINE_VALUE.match(side.value)
                ):
                    yield side.value, False
        elif (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and _ENGINE.search(node.target.id.upper())
            and isinstance(node.annotation, ast.Subscript)
            and "Literal" in ast.unparse(node.annotation.value)
        ):
            for item in ast.walk(node.annotation.slice):
                if (
                    isinstance(item, ast.Constant)
                    and isinstance(item.value, str)
                    and _ENGINE_VALUE.match(item.value)
                ):
                    yield item.value, True


# NOTE: the casts Starlette's `config("NAME", int)` takes second, where decouple's second is the default.
_CASTS = frozenset({"int", "float", "bool", "str", "Secret", "CommaSeparatedStrings", "URL", "DatabaseURL"})


def _config_reads(tree: ast.Module) -> Iterator[tuple[str, str | None, str | None]]:
    """Settings read through Starlette's `Config` (`config = Config(".env")`, then `config("NAME", cast=int)`)
    or python-decouple's `config("NAME", default=...)`: each name, with a placeholder value when the read
    has no default (the service cannot start without it), else None, and a plain default (`"5432"`)."""
    starlette: set[str] = set()
    decouple: set[str] = set()
    imported: set[str] = set()
    for node in _walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "decouple":
            decouple.update(a.asname or a.name for a in node.names if a.name == "config")
        elif isinstance(node, ast.ImportFrom) and (node.module or node.level):
            # NOTE: the service's own reader, made in its config module (`from app.core.config import
            # config`): Starlette's or decouple's, told apart by the call (see below).
            imported.update(a.asname or a.name for a in node.names if a.name == "config")
        elif (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and _call_name(node.value) in ("Config", "AutoConfig")
        ):
            readers = starlette if _call_name(node.value) == "Config" else decouple
            readers.update(t.id for t in node.targets if isinstance(t, ast.Name))
    if not starlette and not decouple and not imported:
        return
    for node in _walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args):
            continue
        reader = node.func.id
        key = node.args[0]
        if (
            reader not in starlette | decouple | imported
            or not isinstance(key, ast.Constant)
            or not isinstance(key.value, str)
        ):
            continue
        if not _ENV_NAME.match(key.value):
            continue
        keywords = {kw.arg: kw.value for kw in node.keywords if kw.arg}
        # NOTE: decouple's second argument is the default; Starlette's is the cast (a type), and its third the
        # default. An imported reader is decouple's when its second argument is no type.
        second = node.args[1] if len(node.args) > 1 else None
        by_decouple = reader in decouple or (
            reader in imported
            and second is not None
            and not (isinstance(second, ast.Name) and second.id in _CASTS)
        )
        has_default = "default" in keywords or len(node.args) > (1 if by_decouple else 2)
        cast = keywords.get("cast", second if not by_decouple else None)
        placeholder = _placeholder(cast.id if isinstance(cast, ast.Name) else "")
        at = 1 if by_decouple else 2
        default = keywords.get("default", node.args[at] if len(node.args) > at else None)
        yield key.value, (None if has_default else placeholder), _plain_default(default)


# NOTE: how a variable that holds a whole connection ends: `_URL`, `_URI`, `_DSN`, `_CONNECTION_STRING`.
_URL_SUFFIX = re.compile(r"_(?:URL|URI|DSN|CONN(?:ECTION)?_?STR(?:ING)?)$")


def _env_rank(name: str) -> int | None:
    """0 for a database URL name (`DATABASE_URL`, `..._DATABASE_CONNECTION_URL`,
    `DATABASE_CONNECTION_STRING`), 1 for a database-ish DSN, URL or connection string, 2 for another URL;
    None otherwise. A name of rank 2 says nothing of a database: it is the database's only when the code
    shows it (see `_database_reads`)."""
    if re.search(r"DATABASE_(?:CONNECTION_)?URL|DATABASE_CONNECTION_STRING$", name):
        return 0
    # NOTE: the words before the suffix must say database: `SENTRY_DSN` is Sentry's, not a database's.
    suffix = _URL_SUFFIX.search(name)
    if suffix and _DB_WORDS.search(name[: suffix.start()]) and not _NOT_DB_URL.search(name):
        return 1
    if name.endswith(("_URL", "_URI")) and not _NOT_DB_URL.search(name):
        return 2
    return None


def _own_packages(root: Path, service: str, apps: Sequence[FastAPIApp]) -> list[str]:
    """The folders of the service's own package: the chosen app's top package and the package named after
    the service (`tracecat` for `tracecat`, `src/svc_api` for `svc-api`), relative to the root."""
    folders = []
    if apps:
        top = apps[0].target.partition(":")[0].split(".")[0]
        folders.append(posixpath.normpath(posixpath.join(apps[0].app_dir, top)))
    name = re.sub(r"[-.]+", "_", service).lower()
    folders += [f for f in (name, f"src/{name}") if (root / f / "__init__.py").is_file()]
    return folders


# NOTE: folders of a repository's tooling, never run by the service nor by its tests (deployment scripts,
# the docs' build): what a file there reads is not the service's.
_TOOLING = re.compile(r"(^|/)(tools?|deploy(?:ments?)?|docs?|examples?|benchmarks?)/")


def _read_place(root: Path, rel: str, env_pys: Collection[str], own: Sequence[str]) -> int:
    """Whose a read of the environment in `rel` is: 0 the Alembic env.py's, 1 the service's own package's,
    2 another file's of the service, 3 a file's of another project of the repository (a folder with a
    pyproject.toml of its own, such as `packages/x`) or of its tooling (`tools/deploy/k8s/deploy.py`)."""
    if rel in env_pys:
        return 0
    if _under(rel, own) or rel in own:
        return 1
    if _other_package(root, ".", PurePosixPath(rel).parent.as_posix()) or _TOOLING.search(rel):
        return 3
    return 2


def _column_name(call: ast.Call, attribute: str | None) -> str | None:
    if call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
        return call.args[0].value
    return attribute


def _is_column(node: ast.expr | None) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
    return name in ("Column", "mapped_column", "Field")


def _call_name(node: ast.Call) -> str:
    func = node.func
    return func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""


def _tables(tree: ast.Module) -> Iterator[tuple[str, set[str]]]:
    """(table, columns) from ORM models, `Table(...)`, `op.create_table(...)` and `op.add_column(...)`."""
    for node in _walk(tree):
        if isinstance(node, ast.ClassDef):
            table = None
            columns: set[str] = set()
            sqlmodel = any(k.arg == "table" for k in node.keywords)
            for stmt in node.body:
                if isinstance(stmt, ast.Assign):
                    names = [t.id for t in stmt.targets if isinstance(t, ast.Name)]
                    if "__tablename__" in names:
                        value = stmt.value
                        if isinstance(value, ast.Constant) and isinstance(value.value, str):
                            table = value.value
                    elif names and isinstance(stmt.value, ast.Call) and _is_column(stmt.value):
                        col = _column_name(stmt.value, names[0])
                        if col:
                            columns.add(col)
                elif isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
                    if isinstance(stmt.value, ast.Call) and _is_column(stmt.value):
                        col = _column_name(stmt.value, stmt.target.id)
                        if col:
                            columns.add(col)
                    elif sqlmodel and not stmt.target.id.startswith("_"):
                        columns.add(stmt.target.id)
            if table is None and sqlmodel:
                table = node.name.lower()
            if table and columns:
                yield table, columns
        elif isinstance(node, ast.Call) and node.args:
            first = node.args[0]
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue
            kind = _call_name(node)
            if kind in ("create_table", "Table", "add_column"):
                columns = set()
                for arg in node.args[1:]:
                    if isinstance(arg, ast.Call) and _is_column(arg):
                        col = _column_name(arg, None)
                        if col:
                            columns.add(col)
                if columns:
                    yield first.value, columns


def _queue(tables: Mapping[str, tuple[str, set[str]]]) -> QueueTable | None:
    """The table that best looks like a job queue: status, attempts and a lock column."""
    best: tuple[tuple[int, bool, str], QueueTable] | None = None
    for table, (source, columns) in sorted(tables.items()):
        roles = {role: next((c for c in names if c in columns), None) for role, names in _QUEUE_ROLES.items()}
        if not (roles["status"] and roles["attempts"] and (roles["locked_at"] or roles["locked_by"])):
            continue
        if not _TABLE.match(table) or not all(c is None or _TABLE.match(c) for c in roles.values()):
            continue
        found = QueueTable(table, source, tuple(roles.items()))
        key = (-sum(v is not None for v in roles.values()), not re.search("job|queue|task", table), table)
        if best is None or key < best[0]:
            best = (key, found)
    return best[1] if best else None


def _uv_install(tool: Mapping[str, Any]) -> str:
    """How the workflow installs uv: the version `[tool.uv] required-version` asks for (`==0.12.1`), which
    uv refuses to run a project without."""
    uv = tool.get("uv")
    wanted = uv.get("required-version") if isinstance(uv, dict) else None
    if isinstance(wanted, str) and re.fullmatch(
        r"(?:==|>=|~=)?\s*\d+(?:\.\d+){0,2}(?:,\s*<\s*\d+(?:\.\d+)*)?", wanted
    ):
        spec = wanted.replace(" ", "")
        return f'python -m pip install "uv{spec if spec[0] in "=<>~" else "==" + spec}"'
    return "python -m pip install uv"


def _install(root: Path, venv: str = ".venv", tests: bool = False) -> tuple[str, ...]:
    """Install commands that make the service's virtualenv at `venv` (relative to the service) in CI."""
    data = _toml(root / "pyproject.toml")
    tool = data.get("tool", {}) if isinstance(data.get("tool"), dict) else {}
    if (root / "uv.lock").is_file():
        prefix = "" if venv == ".venv" else f"UV_PROJECT_ENVIRONMENT={venv} "
        return (_uv_install(tool), f"{prefix}uv sync --all-extras --dev")
    if _in_uv_workspace(root):
        # NOTE: a member of a uv workspace (`backend/` under a top with `[tool.uv.workspace]`): uv syncs it
        # into the workspace's own virtualenv, as a sync at the top does.
        return (_uv_install(tool), "uv sync --all-extras --dev")
    poetry = tool.get("poetry")
    if (root / "poetry.lock").is_file() or (isinstance(poetry, dict) and poetry.get("dependencies")):
        groups = sorted((poetry or {}).get("group", {}) or {}) if isinstance(poetry, dict) else []
        with_groups = f" --with {','.join(groups)}" if groups else ""
        return (
            "python -m pip install poetry",
            "poetry config virtualenvs.in-project true",
            f"poetry install --all-extras{with_groups}",
        )
    pip = f"{venv}/bin/pip"
    commands = [f"python -m venv {venv}"]
    required: list[str] = []  # NOTE: what these commands install by name, to tell whether pytest is among it
    if data:
        extras = data.get("project", {}).get("optional-dependencies", {})
        wanted = [e for e in ("dev", "test", "tests") if isinstance(extras, dict) and e in extras]
        commands.append(f'{pip} install -e ".[{wanted[0]}]"' if wanted else f"{pip} install -e .")
        if wanted:
            required += [r for r in extras[wanted[0]] or () if isinstance(r, str)]
        more = _development_requirements(data)
        if more:
            commands.append(f"{pip} install {' '.join(shlex.quote(r) for r in more)}")
            required += more
    for name in ("requirements.txt", "requirements-dev.txt", "dev-requirements.txt", "requirements-test.txt"):
        if (root / name).is_file():
            commands.append(f"{pip} install -r {name}")
            required += _source_text(root, name).splitlines()
    if tests and not any(_REQUIRES_PYTEST.match(r) for r in required):
        commands.append(f"{pip} install pytest")
    return tuple(commands)


# NOTE: a requirement naming pytest itself (`pytest>=8`, `pytest[testing]`), not a plugin (`pytest-cov`).
_REQUIRES_PYTEST = re.compile(r"\s*pytest\s*(?:$|[\[<>=!~;@ ])", re.I)


def _development_requirements(data: Mapping[str, Any]) -> list[str]:
    """What a pyproject.toml lists for development beside its extras, which pip does not install from it: a
    `dev`/`test`/`tests` dependency group (PEP 735), hatch's default environment (`pytest-xdist` for an
    `addopts = "-n auto"`)."""
    found: list[str] = []
    groups = data.get("dependency-groups")
    if isinstance(groups, dict):
        for name in ("dev", "test", "tests"):
            found += [r for r in groups.get(name) or () if isinstance(r, str)]
    hatch = data.get("tool", {}).get("hatch", {}) if isinstance(data.get("tool"), dict) else {}
    default = hatch.get("envs", {}).get("default", {}) if isinstance(hatch, dict) else {}
    if isinstance(default, dict):
        for key in ("dependencies", "extra-dependencies"):
            found += [r for r in default.get(key) or () if isinstance(r, str)]
    return list(dict.fromkeys(r.strip() for r in found if r.strip()))


_CI_VALUES = (
    (re.compile(r"(SERVER|HOST|HOSTNAME|ENDPOINT)$"), "127.0.0.1"),
    (re.compile(r"PORT$"), "5432"),
    (re.compile(r"(USER|USERNAME)$"), "{user}"),
    (re.compile(r"(PASSWORD|PASSWD|PASS|PWD)$"), "{password}"),
    (re.compile(r"(DB|NAME|DATABASE)$"), "{db}"),
    (re.compile(r"CREDENTIALS$"), "{user}:{password}"),
)
_CI_URL = "postgresql://{user}:{password}@127.0.0.1:5432/{db}"
# NOTE: the official image's superuser, when the service's own CI shows no PostgreSQL container.
_CI_POSTGRES = {"user": "postgres", "password": "postgres", "db": "postgres"}
_DRIVER = re.compile(r"postgresql\+(\w+)://")
_ENGINE = re.compile(r"(ENGINE|DIALECT|BACKEND)$|^(?:DB|DATABASE)_?TYPE$")


def _ci_postgres(d: Detected) -> dict[str, str]:
    """The user, password and database of the workflow's PostgreSQL: those of the service's own CI."""
    if d.ci_postgres is None:
        return dict(_CI_POSTGRES)
    user, password, db, _ = d.ci_postgres
    return {"user": user, "password": password, "db": db}


def _ci_env(d: Detected) -> dict[str, str]:
    """Values for the workflow's service container: the URL variable and the service's own database parts."""
    pg = _ci_postgres(d)
    url = _CI_URL.format(**pg)
    if d.database_driver:
        url = url.replace("postgresql://", f"postgresql+{d.database_driver}://")
    # NOTE: a service that builds its URL of parts reads no URL variable: the workflow sets the parts, and
    # leaves the override unset so that the service builds its URL as evidence.yaml's template does.
    env = {d.database_env: url} if d.uses_database and not d.database_url else {}
    # NOTE: parts named after the service (`TRACECAT__DB_USER`) are set too, those of the one prefix only.
    prefix = _best_parts(d.env_names)[0]
    own = prefix if prefix and prefix not in _PART_PREFIXES else None
    for name in d.env_names:
        part = re.match(r"^(POSTGRES|PG|DB|DATABASE)_?", name) or (own and name.startswith(own))
        if not part or name in env or name == d.database_override:
            continue
        if d.database_engine and name == d.database_engine[0]:
            env[name] = d.database_engine[1]
            continue
        if _env_rank(name) is not None:
            env[name] = url
            continue
        value = next((v.format(**pg) for pattern, v in _CI_VALUES if pattern.search(name)), None)
        if value is None and _ENGINE.search(name):
            value = "postgres"
        if value is not None:
            env[name] = value
    env.update(_redis_env(d))
    return env


# NOTE: the variables that point a service at Redis (`REDIS_URL`, `REDASH_REDIS_URL`, `CACHE_REDIS_HOST`):
# the workflow starts a Redis beside PostgreSQL and sets them, as the service's tests need one running.
_REDIS_VARIABLES = ((re.compile(r"(?:^|_)REDIS_URL$"), "redis://127.0.0.1:6379/0"),)
_REDIS_PARTS = ((re.compile(r"(?:^|_)REDIS_HOST$"), "127.0.0.1"), (re.compile(r"(?:^|_)REDIS_PORT$"), "6379"))


def _redis_env(d: Detected) -> dict[str, str]:
    """Values for the variables the code reads that point it at Redis; none when it reads none."""
    env: dict[str, str] = {}
    for name in d.env_names:
        for pattern, value in (*_REDIS_VARIABLES, *_REDIS_PARTS):
            if pattern.search(name):
                env[name] = value
    # NOTE: a port alone points at nothing: a URL or a host is what says the service uses a Redis.
    return env if any(not n.endswith("REDIS_PORT") for n in env) else {}


# NOTE: the parts a service builds its database URL of: a prefix, then a word for the part
# (`POSTGRES_SERVER`, `DB_USERNAME`, `DATABASE_PASS`), or libpq's own names (`PGHOST`).
_PART_PREFIXES = ("POSTGRES_", "POSTGRESQL_", "PG_", "DB_", "DATABASE_")
_PART_WORDS = {
    "user": ("USER", "USERNAME"),
    "password": ("PASSWORD", "PASSWD", "PASS", "PWD"),
    "host": ("SERVER", "HOST", "HOSTNAME", "ENDPOINT"),
    "port": ("PORT",),
    "name": ("DB", "NAME", "DATABASE"),
    # NOTE: `user:password` in one variable, as some services keep their database credentials.
    "credentials": ("CREDENTIALS",),
}
_LIBPQ = {
    "user": "PGUSER",
    "password": "PGPASSWORD",
    "host": "PGHOST",
    "port": "PGPORT",
    "name": "PGDATABASE",
}
# NOTE: a variable that, when set, replaces the URL the service builds of its parts.
_OVERRIDE = re.compile(r"_URL_OVERRIDE$")


def _part_prefixes(names: Iterable[str]) -> list[str]:
    """The prefixes part variables are named with: `_PART_PREFIXES` first, then each of them after a
    service's own prefix that the names show (`TRACECAT__DB_` of `TRACECAT__DB_USER`, `APP_POSTGRES_`)."""
    words = [w for group in _PART_WORDS.values() for w in group]
    found = {
        name[: -len(word)]
        for name in names
        for prefix in _PART_PREFIXES
        for word in words
        if name.endswith("_" + prefix + word)
    }
    return [*_PART_PREFIXES, *sorted(found)]


def _db_db(prefix: str, word: str) -> bool:
    return word == "DB" and prefix.endswith("DB_")


def _best_parts(names: Sequence[str]) -> tuple[str | None, dict[str, str | None]]:
    """The prefix that names the most parts (the first on a tie; None for libpq's), and its part variables."""
    best: tuple[str | None, dict[str, str | None]] = (None, {})
    for prefix in _part_prefixes(names):
        found = {
            part: next((prefix + w for w in words if prefix + w in names and not _db_db(prefix, w)), None)
            for part, words in _PART_WORDS.items()
        }
        if sum(v is not None for v in found.values()) > sum(v is not None for v in best[1].values()):
            best = (prefix, found)
    libpq = {part: (name if name in names else None) for part, name in _LIBPQ.items()}
    if sum(v is not None for v in libpq.values()) > sum(v is not None for v in best[1].values()):
        best = (None, {**libpq, "credentials": None})
    return best


def _parts(names: Sequence[str]) -> dict[str, str | None]:
    """The part variables of one prefix, the prefix that names the most parts (the first on a tie)."""
    return _best_parts(names)[1]


_SQLITE_FILE = re.compile(r"\.(?:db|sqlite3?)$", re.IGNORECASE)


def url_template(names: Sequence[str], defaults: Mapping[str, str] | None = None) -> str | None:
    """A `database.url` template from the parts a service builds its URL of (`POSTGRES_SERVER`, ...), each
    with the default the service gives it (`${POSTGRES_PORT:-5432}`), but the password."""
    found = _parts(names)
    if not found:
        return None
    user, password, host, port, name = (found[k] for k in ("user", "password", "host", "port", "name"))
    credentials = found["credentials"]
    if not ((user or credentials) and host and name):
        return None

    def ref(variable: str) -> str:
        default = (defaults or {}).get(variable)
        if variable == name and default is not None and _SQLITE_FILE.search(default):
            default = None  # NOTE: the file a SQLite default names is no PostgreSQL database's name
        return f"${{{variable}:-{default}}}" if default is not None else f"${{{variable}}}"

    userinfo = ref(user) + (f":${{{password}}}" if password else "") if user else f"${{{credentials}}}"
    at = ref(host) + (f":{ref(port)}" if port else "")
    return f"postgresql://{userinfo}@{at}/{ref(name)}"


def _required_env(d: Detected) -> dict[str, str]:
    """Settings the service cannot start without (no default) and the workflow does not set yet."""
    given = _ci_env(d)
    # NOTE: a secret's value comes from the repository's secrets, never from the workflow file.
    return {
        name: "${{ secrets." + name + " }}" if _secret_name(name) else value
        for name, value in d.required_env
        if name not in given
    }


def detect(root: Path) -> Detected:
    """Read the repository at `root` without importing any of it and say what it holds."""
    if not root.is_dir():
        raise EvidenceError(f"{root} is not a folder", hint="run `evidence init` in the service's repository")
    root = root.resolve()
    scan = _scan(root)
    service, service_from = _service(root)
    configs, notes = _alembic(root, scan.inis)

    apps: list[FastAPIApp] = []
    workers: list[Worker] = []
    claims: list[str] = []
    env_hits: dict[str, list[str]] = {}
    # NOTE: the plain defaults the code gives the variables it reads; its settings classes' come first.
    defaults: dict[str, str] = {}
    fallbacks: dict[str, str] = {}  # NOTE: a variable read where another is not set: that other
    settings_defaults: dict[str, str] = {}
    required: dict[str, str] = {}
    why: dict[str, str] = {}
    from_settings: set[str] = set()
    declared: dict[tuple[str, str], str] = {}
    bases: dict[str, set[str]] = {}
    own_prefixes: dict[str, str | None] = {}
    settings_modules: list[tuple[str, ast.Module]] = []
    db_reads: set[str] = set()
    # NOTE: the values a selector is typed to take, then those it is compared with (a migration's
    # `dialect == "postgresql"` says nothing of what the setting accepts).
    engine_values: tuple[Counter[str], Counter[str]] = (Counter(), Counter())
    fields: set[tuple[str, str]] = set()
    field_names: dict[tuple[str, str], list[str]] = {}
    calls: dict[str, list[frozenset[str]]] = {}
    env_files: dict[str, list[str]] = {}
    tables: dict[str, tuple[str, set[str]]] = {}
    drivers: Counter[str] = Counter()
    migrations = [c.script_location for c in configs if c.script_location]
    top = paths.repository(root)
    repository = top if (top / ".git").exists() else None
    found = interpreter.discover(root, repository)
    python = python_how = python_version = python_elsewhere = None
    version: tuple[int, int] | None = None
    if found is not None:
        python_how = found.how
        inside = found.path.absolute().is_relative_to(root) or (
            repository is not None and found.path.absolute().is_relative_to(repository)
        )
        python = os.path.relpath(found.path, root) if inside else WORKFLOW_PYTHON
        python_elsewhere = None if inside else str(found.path)
        version = interpreter.version(interpreter.Interpreter(str(found.path), found.how))
        python_version = f"{version[0]}.{version[1]}" if version else None

    def visit(rel: str, text: str, tree: ast.Module | None) -> None:
        # NOTE: env.py and the revisions run in the workflow (it upgrades the database): what they cannot
        # run without is needed there too.
        migration = any(_under(rel, [folder]) for folder in migrations)
        if _SKIP_LOCKED.search(text) and not _MIGRATION.search(text):
            claims.append(rel)
        if tree is not None and re.search(r"[\"']postgres", text, re.IGNORECASE):
            for value, typed in _engine_values(tree):
                engine_values[not typed][value] += 1
        if "postgresql+" in text:
            # NOTE: the service's own code names the driver its engine needs; tests only when it does not.
            weight = 1 if _TEST_DIRS & set(PurePosixPath(rel).parts[:-1]) else 1000
            drivers.update({m.group(1): weight for m in _DRIVER.finditer(text)})
        # NOTE: cheap text tests first: most files of a large service hold none of these things.
        if _WORKER_WORDS.search(text) or PurePosixPath(rel).name == "__main__.py":
            workers.extend(_workers(root, rel, text, tree))
        if tree is None:
            apps.extend(_apps_from_text(root, rel, text))
            return
        if "FastAPI" in text or "Litestar" in text or ".mount(" in text:
            apps.extend(_apps(root, rel, tree))
        if "environ" in text or "getenv" in text or "DATABASE_URL" in text:
            for name in _env_names(tree):
                env_hits.setdefault(name, []).append(rel)
            for name, given in _env_defaults(tree):
                defaults.setdefault(name, given)
            for fallback, first in _env_fallbacks(tree):
                fallbacks.setdefault(fallback, first)
            db_reads.update(_database_reads(tree))
            for name in _required_environ(tree) if migration else ():
                if name not in required:
                    required[name], why[name] = _placeholder(""), f"read by the migration {rel}"
        if "starlette.config" in text and "Settings" not in text:
            env_files[rel] = list(_env_files(tree))
        # NOTE: a reader made here (`Config(".env")`), decouple's, or the service's own, imported.
        if "Config" in text or "decouple" in text or "import config" in text:
            for name, placeholder, read_default in _config_reads(tree):
                env_hits.setdefault(name, []).append(rel)
                if read_default is not None:
                    defaults.setdefault(name, read_default)
                if placeholder is not None and name not in required:
                    required[name] = placeholder
                    why[name] = (
                        f"read with no default by the migration {rel}"
                        if migration
                        else (f"read with no default in {rel}")
                    )
        if "Settings" in text:
            settings_modules.append((rel, tree))
            for n in tree.body:
                if isinstance(n, ast.ClassDef):
                    bases.setdefault(n.name, set()).update(_base_names(n))
                    prefix = _env_prefix(n)
                    own_prefixes[n.name] = None if own_prefixes.get(n.name, "") is None else prefix
            env_files[rel] = list(_env_files(tree))
            for callee, keys in _constructions(tree):
                calls.setdefault(callee, []).append(keys)
        if "Column" in text or "column" in text or "Table(" in text or "Field(" in text:
            for table, columns in _tables(tree):
                tables.setdefault(table, (rel, set()))[1].update(columns)

    # NOTE: a file init's own Python cannot parse (newer syntax) is read after the others, its newer syntax
    # rewritten away by the service's interpreter, all in one process; the tests' conftest.py files too.
    retry: list[tuple[str, str]] = []
    for rel in scan.python:
        text, tree, syntax = _read(root, rel)
        if syntax:
            retry.append((rel, text))
        else:
            visit(rel, text, tree)
    served = _served(root, scan.python, scan.compose)
    # NOTE: the app as the files init's Python parses show it, for where the tests are; chosen again below.
    first_apps = _choose_apps([*apps, *_served_apps(root, scan.python, served, apps)], served)
    testpaths = _testpaths(root)
    tests_elsewhere: list[str] = []
    # NOTE: the project of its own (`backend/`, its uv.lock) the service's app lies in: its tests are the
    # service's, the others' (a load-test tool's beside it) are not.
    app_project = _project_of(root, PurePosixPath(first_apps[0].source).parent) if first_apps else "."
    if service_from == "folder name" and app_project != ".":
        # NOTE: a repository whose top names no project: the service is the project its app lies in.
        named = tomllib.project_name(root / app_project / "pyproject.toml")
        if named:
            service, service_from = named, f"pyproject.toml of {app_project}"
    if testpaths is not None:
        tests: tuple[str, ...] = tuple(testpaths)
    else:
        loose = [f for f in scan.test_files if not _under(f, scan.test_dirs)]
        # NOTE: the tests of another project of the repository (`packages/x/tests`, with its own
        # pyproject.toml) import what only its own environment installs: the root's run leaves them out,
        # when the root has tests of its own (else they are the service's, run from their folder).
        tests_elsewhere = [t for t in scan.test_dirs if _other_package(root, ".", t)]
        if len(tests_elsewhere) == len(scan.test_dirs):
            tests_elsewhere = []
        if app_project != "." and any(_under(t, [app_project]) for t in scan.test_dirs):
            tests_elsewhere = [t for t in scan.test_dirs if not _under(t, [app_project])]
        dirs = [t for t in scan.test_dirs if t not in tests_elsewhere]
        # NOTE: a `*_test.py` script outside any test folder is rarely a test (stress scripts, tools).
        tests = (*sorted(dirs), *(sorted(loose) if not dirs else ()))
    if python_elsewhere is not None:
        # NOTE: the workflow makes the virtualenv where it installs: a sub-project's own folder, when only it
        # has a project file (`backend/app/pyproject.toml`).
        project, _ = _sub_project(root, tests, testpaths is not None)
        if project is not None and not _has_project(root) and _has_project(root / project):
            python = f"{project}/{WORKFLOW_PYTHON}"
        above = _uv_project_above(root)
        if above is not None and python == WORKFLOW_PYTHON:
            # NOTE: uv syncs the project above (no pyproject.toml here): its virtualenv is there.
            python = os.path.relpath(above / WORKFLOW_PYTHON, root).replace(os.sep, "/")
    newer_conftests = [rel for rel in _conftests(root, tests) if _read(root, rel)[2]]
    older, unparsed_why = _older_trees(root, [*(rel for rel, _ in retry), *newer_conftests], found, version)
    for rel, text in retry:
        visit(rel, text, older.get(rel))
    unparsed = tuple(rel for rel, _ in retry if rel not in older)

    classes = _settings_classes(bases)
    later_aliases: set[str] = set()
    filled_in: set[str] = set()
    prefixes = {name: _inherited_prefix(name, own_prefixes, bases) for name in classes}
    for rel, tree in settings_modules:
        for cls, attr, name, placeholder, empty, field_default in _settings_fields(tree, classes, prefixes):
            env_hits.setdefault(name, []).append(rel)
            if field_default is not None:
                settings_defaults.setdefault(name, field_default)
            if empty:
                filled_in.add(name)
            if (cls, attr) in fields:
                later_aliases.add(name)
            fields.add((cls, attr))
            field_names.setdefault((cls, attr), []).append(name)
            from_settings.add(name)
            if placeholder is not None:
                if name not in required:
                    required[name], why[name] = placeholder, f"required by the service's settings ({rel})"
                declared[(cls, attr)] = name

    committed = _committed_settings(root, {k: v for k, v in env_files.items() if v}) if required else set()
    for name in _filled_in(declared, bases, calls) | committed:
        required.pop(name, None)

    # NOTE: a URL variable whose name says nothing of a database (a CI build's `BUILD_REPOSITORY_URI`, an
    # `APP_URL`) is never taken for the database's, unless the code shows it holds one; with none left,
    # the config names the default variable and the report says so.
    names = sorted(env_hits)
    # NOTE: whose read comes before its name: the URL the migrations' env.py reads is the database's, and
    # a side package's `DATABASE_URL` (packages/x, a project of its own) is not the service's.
    flask_apps: list[str] = []
    chosen_apps = _choose_apps([*apps, *_served_apps(root, scan.python, served, apps, flask_apps)], served)
    env_pys = {f"{c.script_location}/env.py" for c in configs if c.script_location}
    own_packages = _own_packages(root, service, chosen_apps)
    place_of = {
        rel: _read_place(root, rel, env_pys, own_packages) for rels in env_hits.values() for rel in rels
    }
    places = {name: min((place_of[rel], rel) for rel in rels) for name, rels in env_hits.items()}
    # NOTE: the names the service reads: a name only another project or the repository's tooling reads
    # (a deployment script's `DATABASE_PASSWORD`) is neither set nor named by the workflow.
    service_names = [n for n in names if places[n][0] < 3 or n in from_settings]
    defaults.update(settings_defaults)
    template = url_template(service_names, defaults)
    # NOTE: a URL setting whose default is empty is filled in by the service (a validator builds it of the
    # parts) when it is not set: the parts make the template, and the URL replaces it only when set.
    override = (
        next(
            (
                n
                for n in service_names
                if (_OVERRIDE.search(n) and _DB_WORDS.search(n))
                or (n in filled_in and _env_rank(n) is not None and _DATABASE_URL_WORDS.search(n))
            ),
            None,
        )
        if template
        else None
    )
    ranks = {name: _env_rank(name) for name in names if name != override}
    ranks.update((name, 2) for name in db_reads if ranks.get(name, 2) is None)
    ranked = sorted(
        (places[name][0], rank, name in later_aliases, name)
        for name, rank in ranks.items()
        if rank is not None and (rank < 2 or name in db_reads)
    )
    skipped = tuple(n for n, rank in ranks.items() if rank == 2 and n not in db_reads)
    if ranked and min(r[1] for r in ranked) == 2 and template is not None:
        # NOTE: a URL of no database word loses to the parts a database URL is built of (DISPATCH_UI_URL
        # beside DATABASE_HOSTNAME, DATABASE_CREDENTIALS, ...).
        ranked = []
    if ranked and template is not None:
        # NOTE: a URL only a script reads (`scripts/tenant_cleanup/check.py`) loses to the parts the service's
        # own code builds its URL of (`POSTGRES_HOST`, ... in its settings module).
        parts_place = min((places[n][0] for n in _parts(service_names).values() if n in places), default=3)
        if ranked[0][0] >= 2 and parts_place < ranked[0][0]:
            ranked = []
    database_env, database_source = (ranked[0][3], places[ranked[0][3]][1]) if ranked else (None, None)
    database_aliases = next(
        (
            tuple(n for n in names if n != database_env)
            for names in field_names.values()
            if database_env in names
        ),
        (),
    )
    first = fallbacks.get(database_env or "")
    if (
        database_env
        and first
        and ranks.get(first) is not None
        and not database_aliases
        and places[first][0] <= places[database_env][0]
    ):
        # NOTE: the service reads its own variable first and the conventional one where it is not set
        # (`get("REDASH_DATABASE_URL", get("DATABASE_URL"))`): both, its own first, as it reads them.
        database_env, database_aliases = first, (database_env,)
        database_source = places[first][1]
    engine = next(
        (n for n in service_names if re.match(r"^(POSTGRES|PG|DB|DATABASE)_?", n) and _ENGINE.search(n)), None
    )

    # NOTE: GitHub reads workflows at the repository's top only, whatever folder the service is in.
    workflows_dir = top / ".github" / "workflows"
    listed = sorted(workflows_dir.iterdir()) if workflows_dir.is_dir() else []
    workflows = [
        os.path.relpath(p, root).replace(os.sep, "/")
        for p in listed
        if p.suffix in (".yml", ".yaml") and p.is_file()
    ]
    own = _own_ci(root, workflows, tests)
    # NOTE: the worker commands the service's own files give replace init's guesses of their kind.
    given = _worker_commands(
        root, _runner_sources(root, workflows, scan.compose, app_project), lambda: _modules(root, scan.python)
    )
    workers = [w for w in workers if w.kind not in {g.kind for g in given}] + given
    migrating = _tests_migrate(root, tests, chosen_apps[0].app_dir if chosen_apps else ".", older)
    # NOTE: the variables that name the database the collect reads, with the defaults the service gives them.
    naming = {
        n: defaults.get(n)
        for n in (database_env, override, DEFAULT_DATABASE_ENV, _parts(service_names).get("name"))
        if n
    }
    own_database = {conftest for conftest, _ in migrating if _creates_database(root, conftest, older, naming)}
    return Detected(
        root=root,
        service=service,
        service_from=service_from,
        alembic=tuple(configs),
        apps=tuple(chosen_apps),
        tests=tests,
        testpaths=testpaths is not None,
        tests_elsewhere=tuple(sorted(tests_elsewhere)),
        workers=_distinct_workers(_with_app(w, chosen_apps) for w in workers),
        claims=tuple(sorted(claims)),
        workflows=tuple(workflows),
        database_env=database_env or override or DEFAULT_DATABASE_ENV,
        database_env_source=database_source,
        database_env_aliases=database_aliases,
        database_url=None if database_source else template,
        database_override=None if database_source else override,
        database_env_skipped=() if database_source else skipped,
        database_engine=(engine, next((c.most_common(1)[0][0] for c in engine_values if c), "postgres"))
        if engine
        else None,
        queue=_queue(tables),
        install=_install(root),
        python=python,
        python_how=python_how,
        python_elsewhere=python_elsewhere,
        env_files=tuple(
            dict.fromkeys(
                [
                    *(
                        p
                        for rel, files in env_files.items()
                        for f in files
                        if (p := _env_file_at(root, rel, f))
                    ),
                    *_compose_env_files(root, scan.compose),
                ]
            )
        ),
        python_version=python_version or _requires_python(root),
        env_names=tuple(service_names),
        env_own=tuple(sorted(n for n in env_hits if places[n][0] <= 1 or n in from_settings)),
        required_env=tuple(sorted(required.items())),
        required_why=tuple(sorted((name, why[name]) for name in required)),
        database_driver=drivers.most_common(1)[0][0] if drivers else None,
        migrate_command=_app_in_command(
            _migrate_command(root, workflows, scan.compose, app_project), chosen_apps
        )
        if configs
        else None,
        ci_postgres=own.postgres,
        ci_postgres_image=own.image,
        ci_extensions=own.extensions,
        tests_unset=_tests_unset(own.test_job, database_env, database_aliases),
        ci_python=own.python,
        ci_pytest_options=own.pytest_options,
        ci_install=own.install if top == root else None,
        ci_setup=own.setup,
        test_files=_count_tests(root, tests),
        tests_migrate=tuple(m for m in migrating if m[0] not in own_database),
        tests_docker=tuple(_tests_docker(root, tests, older)),
        repository=repository,
        git=repository is not None,
        ignores_output=_ignores_output(root),
        parsed_by_service=len(older),
        unparsed=unparsed,
        unparsed_why=unparsed_why,
        flask_apps=tuple(flask_apps),
        notes=tuple(
            notes
            + [
                f"{conftest} {what}, in a database of its own: the tests leave the "
                "database the collect reads as it is"
                for conftest, what in migrating
                if conftest in own_database
            ]
        ),
    )


# NOTE: where a service says how it migrates: its CI, task runners, containers and scripts.
_RUNNER_FILES = (
    "Taskfile.yml",
    "Taskfile.yaml",
    "Makefile",
    "justfile",
    "tox.ini",
    "noxfile.py",
    "Procfile",
    "pyproject.toml",
    "render.yaml",
    "fly.toml",
)
_RUNNER_GLOBS = (
    "Dockerfile*",
    "*.sh",
    "scripts/*.sh",
    "bin/*.sh",
    "supervisord*.conf",
    "*/supervisord*.conf",
)
_COMPOSE_GLOBS = ("docker-compose*.y*ml", "compose*.y*ml")
_ALEMBIC_UPGRADE = re.compile(r"\balembic(?:\s+(?:-c|--config|-n|--name|-x)\s+\S+)*\s+upgrade\b")
# NOTE: `<cli> [up to three words] database|db upgrade [flags]`, as `prefect server database upgrade --yes`
# or `flask db upgrade`, only where a command starts: a line (or a `- ` list item), after `&&`, `||`, `;`,
# `|`, `(`, a quote, a Dockerfile `RUN`, or a YAML `run:`/`command:`/`cmd:`/`script:`/`entrypoint:` key.
# A line that sets variables first (`FLASK_APP=app flask db upgrade`) or wraps the command (`docker
# compose run ...`) gives none: its command cannot be copied as it is. `downgrade` is not `upgrade`.
_CLI_UPGRADE = re.compile(
    r"(?:^(?:-[ \t]+)?|&&|\|\||[;|(\"'`]|\bRUN[ \t]|\b(?:run|command|cmd|script|entrypoint):)[ \t]*"
    r"((?:(?:poetry|uv|pipenv|hatch|pdm|rye)[ \t]+run[ \t]+)?"
    r"(?:[\w.-]+/)*[a-z][\w.-]*(?:[ \t]+[\w:.-]+){0,3}?[ \t]+(?:database|db)[ \t]+upgrade\b"
    r"(?:[ \t]+--?[\w-]+(?:=[\w.:-]+)?)*)"
)
# NOTE: first words that are prose or wrap another command, never the service's own.
_NOT_COMMANDS = frozenset(
    {
        "echo",
        "printf",
        "print",
        "log",
        "run",
        "running",
        "the",
        "then",
        "and",
        "to",
        "we",
        "apply",
        "exec",
        "timeout",
        "sudo",
        "env",
        "rm",
        "docker",
        "docker-compose",
        "kubectl",
        "nohup",
        "time",
        "xargs",
        "sh",
        "bash",
        "task",
        "make",
        "just",
        "python",
        "python3",
    }
)
_RUN_PREFIX = re.compile(r"^(?:poetry|uv|pipenv|hatch|pdm|rye)\s+run\s+")


def _runner_sources(
    root: Path, workflows: Sequence[str], compose: Sequence[str], project: str = "."
) -> list[str]:
    """Where a service says how it runs: its task runners and scripts first (those of the project folder its
    app lies in, `server/`, before the root's), then its compose files (those nearest the root first:
    `docker-compose.yml` before `tools/deploy/...`), then the workflows (in a monorepo, some are other
    services'), never the workflow init writes, which runs what an earlier init found."""
    sources: list[str] = []
    for base in dict.fromkeys([root / project, root]):
        sources += [_rel(base / n, root) for n in _RUNNER_FILES if (base / n).is_file()]
        sources += sorted({_rel(p, root) for g in _RUNNER_GLOBS for p in base.glob(g) if p.is_file()})
    sources += sorted(compose, key=lambda rel: (rel.count("/"), rel))
    return sources + [w for w in workflows if not w.endswith(WORKFLOW_FILE)]


def _migrate_command(
    root: Path, workflows: Sequence[str], compose: Sequence[str] = (), project: str = "."
) -> tuple[str, str] | None:
    """The command the service's own files run to upgrade its database, and the file, when it is not plain
    `alembic upgrade` (which the workflow runs anyway); None when they run plain Alembic or say nothing.
    `compose` lists the compose files found at any depth (see `_scan`)."""
    from evidence_kit.redact.redactor import Redactor

    redactor = Redactor()
    found: tuple[str, str] | None = None
    for rel in _runner_sources(root, workflows, compose, project):
        for line in _source_text(root, rel).splitlines():
            code = line.strip()
            if code.startswith("#"):
                continue
            if _ALEMBIC_UPGRADE.search(code):
                return None
            if found is None:
                for match in _CLI_UPGRADE.finditer(code):
                    # NOTE: `poetry run x` runs x of the virtualenv the workflow makes, whatever makes it.
                    command = _RUN_PREFIX.sub("", " ".join(match.group(1).split()))
                    # NOTE: a command holding a secret (`--password=...`) is never copied into a file.
                    if (
                        command.split()[0].rsplit("/", 1)[-1] in _NOT_COMMANDS
                        or redactor.mask_text(command)[1]
                    ):
                        continue
                    found = (command, rel)
                    break
    return found


_PYTEST_WORD = re.compile(r"^(?:\S*/)?(?:pytest|py\.test)$")
_EXPRESSION = re.compile(r"\$\{\{.*?\}\}")
_INSTALL_COMMAND = re.compile(
    r"^(?:(?P<uv>uv\s+(?:sync|pip\s+install))|(?P<poetry>poetry\s+install)|"
    r"(?P<pip>(?:python3?\s+-m\s+)?pip3?\s+install))(?:\s|$)"
)
_APT = re.compile(r"^(?:sudo\s+)?apt(?:-get)?\s+(?:-\S+\s+)*(?P<verb>update|install)(?:\s|$)")
# NOTE: the Python of a matrix is the workflow's own (setup-python sets it): dropped with its option.
_MATRIX_PYTHON = re.compile(r"\s*(?:(?:--python|-p)(?:=|\s+))?\$\{\{\s*matrix\.python[\w.-]*\s*\}\}")
# NOTE: characters the shell acts on: outside quotes all of these; inside double quotes expansion and
# escapes (`$`, backtick, backslash) only; inside single quotes none.
_SHELL = frozenset(";&|<>`$\\")
_SHELL_QUOTED = frozenset("`$\\")
_SAFE_VALUE = re.compile(r"^[A-Za-z0-9_.-]{1,63}$")


@dataclass(frozen=True)
class _OwnCI:
    """What the service's own CI shows: the PostgreSQL its tests run against (user, password, database,
    file), the commands its test job installs with (apt lines, Python installs, file), and the other
    commands it runs before its tests and the plain variables it sets (commands, variables, file)."""

    postgres: tuple[str, str, str, str] | None = None
    install: tuple[tuple[str, ...], tuple[str, ...], str] | None = None
    setup: tuple[tuple[str, ...], tuple[tuple[str, str], ...], str] | None = None
    python: tuple[str, str] | None = None
    # NOTE: a PostgreSQL image with extensions (the CI's, at the workflow's major version) and its file;
    # the extensions a job with a PostgreSQL container creates before it migrates.
    image: tuple[str, str] | None = None
    extensions: tuple[str, ...] = ()
    # NOTE: the workflow file of the job that runs the suite or a folder of it, and its text.
    test_job: tuple[str, str] | None = None
    # NOTE: the options its pytest runs the whole suite with (`-n auto`, `--ignore=tests/e2e`), and where.
    pytest_options: tuple[tuple[str, ...], str] | None = None


def _own_workflows(root: Path, workflows: Sequence[str]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(file, job) of each job of the service's own workflows (never the one init writes); a file over 1 MiB
    or linking out of the repository is not read."""
    import yaml

    top = paths.repository(root)
    for rel in workflows:
        if rel.endswith(WORKFLOW_FILE):
            continue
        path = root / rel
        try:
            if path.stat().st_size > 1024 * 1024 or not path.resolve().is_relative_to(top):
                continue
            data = yaml.safe_load(path.read_text("utf-8", errors="replace"))
        except (OSError, yaml.YAMLError):
            continue
        jobs = data.get("jobs") if isinstance(data, dict) else None
        for job in jobs.values() if isinstance(jobs, dict) else ():
            if isinstance(job, dict):
                yield PurePosixPath(os.path.normpath(rel)).as_posix(), job


def _steps(job: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    steps = job.get("steps")
    return [s for s in steps if isinstance(s, dict)] if isinstance(steps, list) else []


def _folder(value: Any, at: str | None) -> str | None:
    """The folder, relative to the repository's top, that `working-directory` or `cd` names from `at`: None
    when it is an expression or a variable, or leads out of the repository."""
    if value is None:
        return at
    text = str(value)
    if at is None or not text or re.search(r"[$`~{}*?]", text) or text.startswith(("/", "-")):
        return None
    folder = posixpath.normpath(posixpath.join(at, text))
    return None if folder == ".." or folder.startswith("../") else folder


def _pytest_runs(
    top: Path, folder: str | None, lines: Sequence[str], reader: tasks.Reader, expand: bool = True
) -> Iterator[tuple[str | None, list[str]]]:
    """(folder, words after `pytest`) of each pytest the lines run, the folder relative to the repository's
    top (None when unknown), followed through a `cd` and through the task runner targets and scripts of
    the repository (support/tasks.py, read through `reader`) that a line calls."""
    for line in lines:
        for segment in tasks.SEGMENTS.split(_EXPRESSION.sub("${{}}", line)):
            try:
                words = shlex.split(segment.strip().lstrip("("))
            except ValueError:
                words = segment.strip().lstrip("(").split()
            if words[:1] == ["cd"]:
                folder = _folder(words[1] if len(words) > 1 else "~", folder)
                continue
            at = next((i for i, w in enumerate(words) if _PYTEST_WORD.match(w)), None)
            if at is not None and not {"install", "add"} & set(words[:at]):
                yield folder, words[at + 1 :]
                continue
            called = tasks.call(segment) if expand and folder is not None else None
            place = top / (folder or ".")
            if called is not None and place.resolve().is_relative_to(top.resolve()):
                found = [command for _, command in reader.commands(place, *called)]
                yield from _pytest_runs(top, folder, found, reader, expand=False)


def _job_folder(job: Mapping[str, Any]) -> str | None:
    """The folder a job's steps run in, relative to the repository's top (its `defaults.run`)."""
    defaults = job.get("defaults")
    run = defaults.get("run") if isinstance(defaults, dict) else None
    return _folder(run.get("working-directory") if isinstance(run, dict) else None, ".")


def _test_rank(
    top: Path, home: str, job: Mapping[str, Any], tests: Sequence[str], reader: tasks.Reader
) -> int | None:
    """How surely, and how much of them, a job runs the service's own tests: 0 when a pytest of it names one
    of the test paths init found, 1 when one runs from the service's folder with no path (both the whole
    suite), 2 when one names a folder inside a test path, 3 only files in one (`tests/unit/test_x.py`), 4
    when one runs from the service's folder with other paths; None when it runs none of these (no pytest,
    or only another package's: one run in a project folder of its own below the service's)."""
    own = [posixpath.normpath(posixpath.join(home, t)) for t in tests]
    base = _job_folder(job)
    ranks = []
    for step in _steps(job):
        if not isinstance(step.get("run"), str):
            continue
        start = _folder(step.get("working-directory"), base)
        for folder, words in _pytest_runs(top, start, tasks.script_lines(step["run"]), reader):
            if folder is None or (folder != home and _other_package(top, home, folder)):
                continue
            named = [w for w in words if not w.startswith("-") and _path_word(top / folder, w)]
            paths_named = [posixpath.normpath(posixpath.join(folder, w.split("::")[0])) for w in named]
            if any(p in own for p in paths_named):
                ranks.append(0)
            elif inside := [p for p in paths_named if _under(p, own)]:
                ranks.append(2 if any((top / p).is_dir() for p in inside) else 3)
            elif folder == home:
                ranks.append(1 if not named else 4)
    return min(ranks, default=None)


def _other_package(top: Path, home: str, folder: str) -> bool:
    """True when `folder` is, or is in, a project of its own (its own pyproject.toml or the like) below the
    service's, when the service has one too: another package of the repository (`src/integrations/x`)."""
    if not _has_project(top / home):
        return False
    inner = PurePosixPath(folder)
    while inner.as_posix() not in (home, "."):
        if _has_project(top / inner):
            return True
        inner = inner.parent
    return False


def _path_word(folder: Path, word: str) -> bool:
    """True when a word after `pytest` is a path (not an option's value such as `-m "not slow"`): it holds a
    slash or an expression, ends in `.py`, or is a file or folder there."""
    if "/" in word or "${{" in word or word.endswith(".py") or "::" in word:
        return True
    try:
        return (folder / word).exists()
    except (OSError, ValueError):
        return False


def _has_postgres(job: Mapping[str, Any]) -> bool:
    """Whether a job has a PostgreSQL service container (its image or its id says postgres, or its image is
    one of PostgreSQL with extensions: `db:` running `postgis/postgis`)."""
    services = job.get("services")
    return any(
        isinstance(service, dict) and _is_postgres(str(name), str(service.get("image", "")))
        for name, service in (services.items() if isinstance(services, dict) else ())
    )


def _is_postgres(name: str, image: str) -> bool:
    return "postgres" in f"{name} {image}".lower() or _image_at_workflows(image) is not None


def _postgres_of(job: Mapping[str, Any]) -> tuple[str, str, str] | None:
    """The user, password and database of a job's PostgreSQL service container (its image or its id says
    postgres), when each is a plain word (never an expression such as a secret's, never a secret-looking
    value)."""
    from evidence_kit.redact.redactor import Redactor

    services = job.get("services")
    for name, service in services.items() if isinstance(services, dict) else ():
        # NOTE: a matrix image (`image: ${{ matrix.database }}`) is named by its service's id.
        if not isinstance(service, dict) or not _is_postgres(str(name), str(service.get("image", ""))):
            continue
        env = service.get("env")
        if not isinstance(env, dict):
            env = {}
        # NOTE: `POSTGRES_USER: null` leaves the variable unset for the container: the image's default.
        given = {k: str(v) for k, v in env.items() if v is not None}
        user = given.get("POSTGRES_USER", "postgres")
        password, db = given.get("POSTGRES_PASSWORD", ""), given.get("POSTGRES_DB", user)
        values = (user, password, db)
        if all(_SAFE_VALUE.match(v) for v in values) and not Redactor().mask_text(" ".join(values))[1]:
            return values
    return None


def _commands_of(job: Mapping[str, Any], top: Path, reader: tasks.Reader) -> tuple[list[str], list[str]]:
    """The apt-get lines and Python install commands a job runs, itself or through a task runner target or
    script of the repository's top (`make install`), each a whole line that can be copied as it is: no
    variables set first, no wrapper, no shell operators, no expression but a matrix Python (dropped),
    nothing secret; an install only when it installs the project or its requirements where init's
    workflow does (`_installs_here`)."""
    from evidence_kit.redact.redactor import Redactor

    redactor = Redactor()
    apt: list[str] = []
    installs: list[str] = []
    folder = (job.get("defaults") or {}).get("run", {}) if isinstance(job.get("defaults"), dict) else {}
    if isinstance(folder, dict) and folder.get("working-directory") not in (None, ".", "./"):
        return [], []

    def plain(line: str) -> str | None:
        # NOTE: a line run in the background (`uv sync --frozen &`, while services start) installs the same.
        command = " ".join(_MATRIX_PYTHON.sub("", line).split()).removesuffix(" &")
        if (
            not command
            or "${{" in command
            or _operators(command)
            or _credential(command)
            or redactor.mask_text(command)[1]
        ):
            return None
        return command

    for step in _steps(job):
        run = step.get("run")
        if not isinstance(run, str) or step.get("working-directory") not in (None, ".", "./"):
            continue
        for line in run.splitlines():
            command = plain(line)
            if command is None:
                continue
            called = tasks.call(command)
            found = [command] if called is None else [c for _, c in reader.commands(top, *called)]
            for command in filter(None, map(plain, found)):
                if _APT.match(command) and command not in apt:
                    apt.append(command)
                elif _INSTALL_COMMAND.match(command) and _installs_here(command) and command not in installs:
                    installs.append(command)
    return apt, installs


_USERINFO = re.compile(r"[A-Za-z][\w+.-]*://[^\s/?#'\"]*@")
_RANDOM_RUN = re.compile(r"[A-Za-z0-9]{20,}")


def _credential(command: str) -> bool:
    """True when a line may carry a credential: a URL with user-info (`https://TOKEN@host`,
    `https://u:p@host`), or a long run of letters and digits mixed, in a URL's path
    (`https://pypi.fury.io/TOKEN/acme/`) or anywhere else."""
    if _USERINFO.search(command):
        return True
    runs = _RANDOM_RUN.findall(command)
    return any(re.search("[A-Za-z]", run) and re.search("[0-9]", run) for run in runs)


# NOTE: options that install somewhere else than the virtualenv init's workflow makes (pip's and uv
# pip's), and those that run uv or poetry on another folder's project.
_ELSEWHERE_OPTIONS = frozenset({"--user", "--target", "-t", "--prefix", "--root", "--system"})
_PROJECT_OPTIONS = frozenset({"--project", "--directory", "-C"})
_LOCAL_PROJECT = re.compile(r"^\.(?:/)?(?:\[[^\]]*\])?$")


def _installs_here(command: str) -> bool:
    """True when an install line installs the project or its requirements into the environment init's
    workflow uses: `uv sync` and `poetry install` of the service's own folder; a pip or `uv pip install` of
    `.`, `-e .`, `.[extras]`, `-r file` or `-c file`, with no `--user`, `--target`, `--prefix`, `--root`
    or `--system` (`pip install --upgrade pip` alone installs no project)."""
    words = shlex.split(command)
    options = {w.split("=", 1)[0]: i for i, w in enumerate(words) if w.startswith("-")}
    if words[:2] in (["uv", "sync"], ["poetry", "install"]):
        for option in _PROJECT_OPTIONS & options.keys():
            at = options[option]
            word = words[at]
            value = word.split("=", 1)[1] if "=" in word else (words[at + 1] if at + 1 < len(words) else "")
            if posixpath.normpath(value or "/") != ".":
                return False
        return True
    if _ELSEWHERE_OPTIONS & options.keys():
        return False
    for at, word in enumerate(words):
        following = words[at + 1] if at + 1 < len(words) else ""
        if _LOCAL_PROJECT.match(word):
            return True
        if word in ("-e", "--editable") and _LOCAL_PROJECT.match(following):
            return True
        if word.startswith("--editable=") and _LOCAL_PROJECT.match(word.split("=", 1)[1]):
            return True
        if re.match(r"^(?:-[rc]\S|--(?:requirement|constraint)=\S)", word):
            return True
        if word in ("-r", "-c", "--requirement", "--constraint") and following:
            return True
    return False


def _operators(command: str) -> bool:
    """True when the shell would do more with a line than run one command with its words: an operator,
    a redirection, an expansion or an escape, or a quote left open (`"pydantic>=2.4,<3"` is a word)."""
    quote = ""
    for char in command:
        if quote == "'":
            quote = "" if char == "'" else quote
        elif quote == '"':
            if char in _SHELL_QUOTED:
                return True
            quote = "" if char == '"' else quote
        elif char in "'\"":
            quote = char
        elif char in _SHELL:
            return True
    return bool(quote)


def _own_ci(root: Path, workflows: Sequence[str], tests: Sequence[str]) -> _OwnCI:
    """The PostgreSQL and install commands of the service's own CI job that runs its tests (a pytest, also
    behind a task runner or script, from the service's folder), the job that runs the most of the suite
    first (see `_test_rank`); a PostgreSQL of another job when no test job has one. A job that runs its
    tests in another package's folder (`working-directory`, `cd`) is not the service's."""
    top = paths.repository(root)
    home = PurePosixPath(os.path.relpath(root.resolve(), top)).as_posix()
    # NOTE: tests that all live in a project of their own below (`backend/` of a workspace) are that
    # project's: its jobs (`working-directory: backend`) are the service's.
    projects = {_project_of(root, PurePosixPath(t)) for t in tests}
    if len(projects) == 1 and (project := next(iter(projects))) != ".":
        home = posixpath.normpath(posixpath.join(home, project))
        tests = [posixpath.relpath(t, project) for t in tests]
    ranked: list[tuple[int, tuple[bool, bool], int, str, dict[str, Any]]] = []
    others: list[tuple[str, dict[str, Any]]] = []
    # NOTE: one reader for every job: a task file many steps call is read and parsed once.
    reader = tasks.Reader()
    for rel, job in _own_workflows(root, workflows):
        rank = _test_rank(top, home, job, tests, reader)
        if rank is not None:
            # NOTE: of jobs that run as much of the suite, one on PostgreSQL first (not its MySQL twin), then
            # a unit job before an integration or end-to-end one (its services, a browser).
            side = bool(_SIDE_SUITE.search(f"{rel} {job.get('name', '')}"))
            ranked.append((rank, (not _has_postgres(job), side), len(ranked), rel, job))
        elif not _elsewhere(top, home, job, reader):
            others.append((rel, job))
    ranked.sort(key=lambda r: r[:3])
    test_jobs = [(rel, job) for *_, rel, job in ranked]
    postgres = next(
        (
            (user, password, db, rel)
            for rel, job in [*test_jobs, *others]
            if (pg := _postgres_of(job))
            for user, password, db in [pg]
        ),
        None,
    )
    install = None
    for rel, job in test_jobs:
        apt, installs = _commands_of(job, top, reader)
        if installs or apt:
            install = (tuple(apt), tuple(installs), rel)
            break
    setup = None
    if test_jobs:
        rel, job = test_jobs[0]
        commands, variables = _setup_of(job, top, reader)
        setup = (tuple(commands), tuple(variables), rel) if commands or variables else None
    # NOTE: the Python of a job that runs the whole suite or a folder of it; a side job that runs a file or
    # two (a Docker test on another Python) does not choose it: the service's own files say which then.
    python = next(
        ((version, rel) for rank, _, _, rel, job in ranked if rank <= 2 and (version := _python_of(job))),
        None,
    )
    suite = next(((rel, job) for rank, _, _, rel, job in ranked if rank <= 2), None)
    test_job = None
    # NOTE: only a job that runs pytest itself (a script or a task runner may set the variable) and, when it
    # has a PostgreSQL container, gives the tests another URL of it (`TESTING_DATABASE_URL: postgresql://…`):
    # else the tests would reach that container by the code's own default URL.
    if suite is not None and _runs_pytest_itself(suite[1]):
        try:
            text = (root / suite[0]).read_text("utf-8", errors="replace")
        except OSError:
            text = None
        if text is not None and (not _has_postgres(suite[1]) or _OTHER_PG_URL.search(text)):
            test_job = (suite[0], text)
    pg_jobs = [(rel, job) for rel, job in [*test_jobs, *others] if _has_postgres(job)]
    image = next(
        ((at, rel) for rel, job in pg_jobs for at in [_image_at_workflows(_postgres_image(job))] if at), None
    )
    extensions = dict.fromkeys(name for _, job in pg_jobs for name in _extensions_created(job))
    whole = next(((rel, job) for rank, _, _, rel, job in ranked if rank <= 1), None)
    found = _suite_options(top, home, whole[1], reader, _dependencies(root)) if whole else ()
    options = (found, whole[0]) if whole and found else None
    return _OwnCI(postgres, install, setup, python, image, tuple(extensions), test_job, options)


# NOTE: pytest options that take the next word as their value (when not given with `=`).
_VALUED_OPTIONS = frozenset(
    {
        "-n",
        "--numprocesses",
        "--timeout",
        "-m",
        "-k",
        "-p",
        "--ignore",
        "--ignore-glob",
        "--deselect",
        "-W",
        "--dist",
        "--maxfail",
        "--reruns",
        "--reruns-delay",
        "--durations",
        "--tb",
        "--cov",
        "--cov-report",
        "--cov-config",
        "--color",
        "-c",
        "--rootdir",
        "--confcutdir",
        "--log-level",
        "-o",
        "--junitxml",
        "--junit-xml",
        "-r",
        "--basetemp",
        "--import-mode",
        "--splits",
        "--group",
        "--capture",
    }
)
# NOTE: options that only change what pytest prints or reports, or where it writes (`--basetemp`, which pytest
# empties), or that run a part of the suite (`--group` of `--splits`, the last failures): never copied.
_NOT_COPIED = re.compile(
    r"^(?:-v+|-q+|-s|-r\w*|-l|--tb|--color|--durations|--cov|--no-cov|--junit-?xml|--html|--self-contained"
    r"|--capture|--showlocals|--verbose|--quiet|--log-cli-level|--basetemp|--splits|--group|--lf|--ff"
    r"|--last-failed|--failed-first|--sw|--stepwise|--result-log|--json-report)$"
)
# NOTE: a pytest run that runs no test (a sanity step before the suite).
_NO_RUN = frozenset({"--version", "-V", "--co", "--collect-only", "--fixtures", "--markers", "-h", "--help"})
# NOTE: the plugins an option needs, named in the service's dependency files for the option to be kept.
_PLUGIN_OF = {
    "-n": "xdist",
    "--numprocesses": "xdist",
    "--dist": "xdist",
    "--timeout": "timeout",
    "--reruns": "rerunfailures",
    "--reruns-delay": "rerunfailures",
}
_SIDE_SUITE = re.compile(r"(?i)(?<!continuous-)integration|e2e|end-to-end|smoke|nightly|benchmark|load-test")


def _suite_options(
    top: Path, home: str, job: Mapping[str, Any], reader: tasks.Reader, deps: str
) -> tuple[str, ...]:
    """The options of the job's pytest run from the service's folder (its paths left: init names them),
    without those `_NOT_COPIED` names, one holding an expression or a shell's (`${{ matrix.x }}`,
    `$(nproc)`), a plugin enabled by `-p` (only `-p no:…` is kept), and an option init does not know with the
    word after it unless that word is a path (its value, maybe), and a plugin's option when the service's
    dependency files (`deps`) do not name the plugin (`-n` needs pytest-xdist: a virtualenv without it would
    stop pytest before any test ran); none of a run that runs no test."""
    base = _job_folder(job)
    for step in _steps(job):
        if not isinstance(step.get("run"), str):
            continue
        start = _folder(step.get("working-directory"), base)
        for folder, words in _pytest_runs(top, start, tasks.script_lines(step["run"]), reader):
            if folder != home or _NO_RUN & set(words):
                continue
            return tuple(_copied_options(top / home, words, deps))
    return ()


def _copied_options(folder: Path, words: Sequence[str], deps: str) -> list[str]:
    """The options of a pytest run's words that `_suite_options` copies (see there)."""
    kept: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        following = words[i + 1] if i + 1 < len(words) else None
        i += 1
        if not word.startswith("-"):
            continue
        name = word.split("=", 1)[0]
        valued = "=" not in word and following is not None and not following.startswith("-")
        taken = [word]
        if (
            valued
            and following is not None
            and (name in _VALUED_OPTIONS or not _path_word(folder, following))
        ):
            taken.append(following)
            i += 1
            if name not in _VALUED_OPTIONS:
                continue  # NOTE: an option init does not know, with what may be its value: left out
        if any("$" in w or "`" in w for w in taken) or _NOT_COPIED.match(name):
            continue
        if name.startswith("-p") and not taken[-1].removeprefix("-p").lstrip("=").startswith("no:"):
            continue
        plugin = _PLUGIN_OF.get(name)
        if plugin is not None and f"pytest-{plugin}" not in deps:
            continue
        kept += taken
    return kept


# NOTE: PostgreSQL images with extensions, by their repository, and the tag of each at the workflow's
# PostgreSQL (16: the runner's pg_dump must be as new as the server).
_EXTENSION_IMAGES = {
    "pgvector/pgvector": "pgvector/pgvector:pg16",
    "ankane/pgvector": "pgvector/pgvector:pg16",
    "postgis/postgis": "postgis/postgis:16-3.4",
    "timescale/timescaledb": "timescale/timescaledb:latest-pg16",
    "timescale/timescaledb-ha": "timescale/timescaledb-ha:pg16",
}
_CREATE_EXTENSION = re.compile(r"(?i)\bcreate\s+extension\s+(?:if\s+not\s+exists\s+)?\"?([a-z_][\w-]*)\"?")


def _dependencies(root: Path) -> str:
    """The text of the service's dependency files, where a pytest plugin it installs is named."""
    files = (
        "pyproject.toml",
        "poetry.lock",
        "uv.lock",
        "requirements-dev.txt",
        "requirements.txt",
        "setup.cfg",
    )
    text = ""
    for name in files:
        try:
            text += (root / name).read_text("utf-8", errors="replace")[:2_000_000]
        except OSError:
            continue
    return text


# NOTE: a variable of a workflow set to a PostgreSQL URL (`TESTING_DATABASE_URL: postgresql://…`).
_OTHER_PG_URL = re.compile(r"\b\w+:[ \t]*['\"]?postgres(?:ql)?(?:\+\w+)?://")


def _runs_pytest_itself(job: Mapping[str, Any]) -> bool:
    """Whether a step of the job runs pytest in its own lines (not through a script or a task runner)."""
    return any(
        isinstance(step.get("run"), str)
        and any(_PYTEST_WORD.match(word) for line in step["run"].splitlines() for word in line.split())
        for step in _steps(job)
    )


def _tests_unset(
    test_job: tuple[str, str] | None, database_env: str | None, aliases: Sequence[str]
) -> tuple[tuple[str, ...], str] | None:
    """The service's URL variables its own CI's suite runs without: its workflow names none of them (no
    job or step sets it) and writes no `.env` (which could): set for the collect, they would point the
    tests at the database the collect reads, where the service's CI gives them their own."""
    if test_job is None or not database_env:
        return None
    rel, text = test_job
    if ".env" in text:
        return None
    names = [n for n in (database_env, *aliases) if not re.search(rf"\b{re.escape(n)}\b", text)]
    return (tuple(names), rel) if len(names) == len((database_env, *aliases)) else None


def _postgres_image(job: Mapping[str, Any]) -> str:
    """The image of a job's PostgreSQL service container ("" when it has none or names none)."""
    services = job.get("services")
    for name, service in services.items() if isinstance(services, dict) else ():
        if isinstance(service, dict) and _is_postgres(str(name), str(service.get("image", ""))):
            return str(service.get("image") or "")
    return ""


def _image_at_workflows(image: str) -> str | None:
    """The image of the same extensions at the workflow's PostgreSQL, for a CI's image with extensions
    (`pgvector/pgvector:pg17` gives `pgvector/pgvector:pg16`); None for the official image or one unknown."""
    repository = image.split("@", 1)[0].rsplit(":", 1)[0] if "/" in image else ""
    repository = repository.removeprefix("docker.io/")
    return _EXTENSION_IMAGES.get(repository)


def _extensions_created(job: Mapping[str, Any]) -> list[str]:
    """The extensions a job's steps create (`psql -c 'CREATE EXTENSION vector'`)."""
    return [
        m.group(1).lower()
        for step in _steps(job)
        if isinstance(step.get("run"), str)
        for m in _CREATE_EXTENSION.finditer(step["run"])
    ]


_PYTHON_VERSION = re.compile(r"3\.\d{1,2}")
# NOTE: the workflow installs evidence-kit into the Python it sets up: never one older than it supports.
_OLDEST_PYTHON = (3, 10)


def _python_at_least(version: str) -> str:
    """`version`, or evidence-kit's oldest Python when it is older."""
    major, minor = (int(p) for p in version.split(".")[:2])
    return version if (major, minor) >= _OLDEST_PYTHON else "{}.{}".format(*_OLDEST_PYTHON)


def _python_of(job: Mapping[str, Any]) -> str | None:
    """The Python version a job sets up (`actions/setup-python` or `astral-sh/setup-uv`, `python-version:
    "3.10"`; of a matrix, its first that evidence-kit runs on), when it is a plain `3.x`."""
    matrix = job.get("strategy", {}).get("matrix", {}) if isinstance(job.get("strategy"), dict) else {}
    for step in job.get("steps") or []:
        if not isinstance(step, dict) or not re.match(
            r"(actions/setup-python|astral-sh/setup-uv)@", str(step.get("uses", ""))
        ):
            continue
        given = (step.get("with") or {}).get("python-version") if isinstance(step.get("with"), dict) else None
        named = re.fullmatch(r"\$\{\{\s*matrix\.([\w-]+)\s*\}\}", str(given or "").strip())
        if named and isinstance(matrix, dict) and isinstance(matrix.get(named.group(1)), list):
            # NOTE: the first the workflow can run evidence-kit on.
            plain = [str(v) for v in matrix[named.group(1)] if _PYTHON_VERSION.fullmatch(str(v))]
            given = next((v for v in plain if _python_at_least(v) == v), None)
        # NOTE: unquoted, YAML reads `python-version: 3.10` as the number 3.1.
        text = "3.10" if given == 3.1 else str(given).strip() if isinstance(given, str | float | int) else ""
        if _PYTHON_VERSION.fullmatch(text):
            return text
    return None


# NOTE: variables the workflow sets itself (the database's) or that belong to the runner, never copied.
_OWN_DB_VARIABLE = re.compile(r"(^|_)(POSTGRES|PG|DB|DATABASE)(_|$)|^(CI|GITHUB_\w+|RUNNER_\w+|PYTHON\w*)$")
_SETUP_SHOWN = 8
# NOTE: the one expression a copied variable may hold: the checkout's folder, the same in any workflow.
_WORKSPACE = re.compile(r"\$\{\{\s*github\.workspace\s*\}\}")
_VARIABLES_FIRST = re.compile(r"^[A-Za-z_]\w*=")
_SHELL_WORDS = frozenset(
    {
        "printf",
        "cd",
        "export",
        "set",
        "ls",
        "cat",
        "sleep",
        "if",
        "then",
        "else",
        "elif",
        "fi",
        "wait",
        "for",
        "while",
        "do",
        "done",
        "break",
        "continue",
        "exit",
        "case",
        "esac",
    }
)
# NOTE: the Python tooling the workflow's own install step sets up (installs, syncs, locks, configures).
_PYTHON_TOOLING = re.compile(
    r"^(?:sudo\s+)?(?:python3?\s+-m\s+)?(?:pip3?|uv|poetry|pipx|pipenv|pdm|hatch|rye|conda|mamba|virtualenv|venv|"
    r"apt-get|apt)\b(?!\s+run\b)"
)


def _setup_of(
    job: Mapping[str, Any], top: Path, reader: tasks.Reader
) -> tuple[list[str], list[tuple[str, str]]]:
    """The commands a test job runs before its tests besides installs, migrations and messages (each a
    whole line that can be copied as it is), and the plain variables it sets (no expression, no secret, no
    database part), for the workflow to show in comments."""
    from evidence_kit.redact.redactor import Redactor

    redactor = Redactor()
    env = job.get("env")
    variables = [
        (str(name), str(value))
        for name, value in (env.items() if isinstance(env, dict) else [])
        if isinstance(value, str | int | float)
        and not isinstance(value, bool)
        and "${{" not in _WORKSPACE.sub("", str(value))
        and not _OWN_DB_VARIABLE.search(str(name))
        and not _secret_name(str(name))
        and not redactor.mask_text(f"{name}={value}")[1]
    ]
    commands: list[str] = []
    base = _job_folder(job)
    for step in _steps(job):
        run = step.get("run")
        if not isinstance(run, str):
            continue
        lines = tasks.script_lines(run)
        # NOTE: from the step's folder, so that a task runner's target (`uv run make test`) counts too.
        if any(_pytest_runs(top, _folder(step.get("working-directory"), base), lines, reader)):
            break
        folder = step.get("working-directory")
        where = f"   (in {folder})" if isinstance(folder, str) and folder.strip("./") else ""
        # NOTE: each command of a line on its own (`pnpm install && pnpm build`), with the step's folder.
        for command in (" ".join(part.split()) for line in lines for part in tasks.SEGMENTS.split(line)):
            first = command.split()[0] if command else ""
            if (
                not command
                or first in _NOT_COMMANDS
                or first in _SHELL_WORDS
                or _VARIABLES_FIRST.match(command)
                or _PYTHON_TOOLING.match(command)
                or "${{" in command
                or _operators(command)
                or _credential(command)
                or redactor.mask_text(command)[1]
                or _INSTALL_COMMAND.match(command)
                or _APT.match(command)
                or _ALEMBIC_UPGRADE.search(command)
                or _CLI_UPGRADE.search(command)
                or command + where in commands
            ):
                continue
            commands.append(command + where)
    return commands[:_SETUP_SHOWN], variables[:_SETUP_SHOWN]


def _elsewhere(top: Path, home: str, job: Mapping[str, Any], reader: tasks.Reader) -> bool:
    """True when a job, or a step of it, sets a `working-directory` other than the service's folder, or
    runs a pytest in another folder (`cd`): another package's job."""
    base = _job_folder(job)
    if _has_folder(job.get("defaults")) and base != home:
        return True
    for step in _steps(job):
        start = _folder(step.get("working-directory"), base)
        if step.get("working-directory") is not None and start != home:
            return True
        if isinstance(step.get("run"), str) and any(
            folder != home for folder, _ in _pytest_runs(top, start, tasks.script_lines(step["run"]), reader)
        ):
            return True
    return False


def _has_folder(defaults: Any) -> bool:
    run = defaults.get("run") if isinstance(defaults, dict) else None
    return isinstance(run, dict) and run.get("working-directory") is not None


_PIP = re.compile(r"^(?:python3?\s+-m\s+)?pip3?\b")


def _tool(command: str) -> str | None:
    """The installer a command runs: uv, poetry or pip (also `.venv/bin/pip`), else None."""
    bare = re.sub(r"^[\w./-]*/bin/", "", re.sub(r"^UV_PROJECT_ENVIRONMENT=\S+\s+", "", command))
    match = _INSTALL_COMMAND.match(bare)
    return next((tool for tool in ("uv", "poetry", "pip") if match and match.group(tool)), None)


def _with_ci(
    commands: Sequence[str], ci: tuple[tuple[str, ...], tuple[str, ...], str] | None, venv: str
) -> list[str]:
    """Today's install commands, with the service's own CI's in place of those of the same tool (its
    `uv sync --locked` for `uv sync --all-extras --dev`), after its apt-get lines."""
    if ci is None:
        return list(commands)
    apt, installs, _ = ci
    verbs = {m.group("verb") for a in apt if (m := _APT.match(a))}
    if "install" in verbs and "update" not in verbs:
        # NOTE: a fresh runner's package lists may be stale: an install without an update can fail.
        apt = ("sudo apt-get update", *apt)
    out = list(commands)
    for tool in ("uv", "poetry", "pip"):
        theirs = [c for c in installs if _tool(c) == tool]
        # NOTE: ours of pip are those into the service's virtualenv, not `python -m pip install uv`; our
        # `pip install pytest` stays, as the tests collector runs pytest whatever the CI installs.
        ours = [
            i
            for i, c in enumerate(out)
            if _tool(c) == tool
            and (tool != "pip" or c.startswith(f"{venv}/bin/"))
            and not c.endswith(" install pytest")
        ]
        if not theirs or not ours:
            continue
        prefix = out[ours[0]].split(" ", 1)[0] + " " if out[ours[0]].startswith("UV_") else ""
        if tool == "pip":
            theirs = [_PIP.sub(f"{venv}/bin/python -m pip", c, count=1) for c in theirs]
        # NOTE: `uv pip install` needs the virtualenv our `uv sync` makes: without a sync of theirs, ours
        # stays and theirs follow it.
        kept = (
            out[ours[0] : ours[-1] + 1]
            if tool == "uv" and not any(c.split()[:2] == ["uv", "sync"] for c in theirs)
            else []
        )
        out[ours[0] : ours[-1] + 1] = [*kept, *(prefix + c for c in theirs)]
    return [*apt, *out]


# NOTE: past this many test files a suite runs for longer than a collect can wait on a CI runner (at
# a few seconds a file, 300 files is a quarter of an hour, near the collector's 1800 s timeout), and
# a phase proves a part of it: init says so rather than silently picking a subset.
LONG_SUITE = 300


def _count_tests(root: Path, tests: Sequence[str]) -> int:
    """The test files (`test_*.py`, `*_test.py`) of the test paths."""
    count = 0
    for rel in tests:
        path = root / rel
        if path.is_file():
            count += 1
            continue
        for _, dirs, files in os.walk(path):
            dirs[:] = [d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS]
            count += sum(
                f.endswith(".py") and (f.startswith("test_") or f.endswith("_test.py")) for f in files
            )
    return count


def _migrates(node: ast.AST) -> str | None:
    """What a call does to a database's schema: alembic's `command.upgrade`/`command.downgrade`, or
    SQLAlchemy's `create_all`/`drop_all`; None for any other call."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
        return None
    func = node.func
    receiver = func.value
    named = (
        receiver.id
        if isinstance(receiver, ast.Name)
        else receiver.attr
        if isinstance(receiver, ast.Attribute)
        else ""
    )
    if func.attr in ("upgrade", "downgrade") and named == "command":
        return f"alembic's command.{func.attr}"
    if func.attr in ("create_all", "drop_all"):
        return func.attr
    return None


def _dotted(node: ast.expr, imported: Mapping[str, str]) -> str | None:
    """The full import name of a called function (`init_db.main` -> `svc.db.init_db.main`)."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.insert(0, node.attr)
        node = node.value
    if not isinstance(node, ast.Name) or node.id not in imported:
        return None
    return ".".join([imported[node.id], *parts])


def _conftests(root: Path, tests: Sequence[str]) -> list[str]:
    """The conftest.py files of the test paths and the root's, each once; and the `__init__.py` of each test
    path, where a unittest-style suite keeps its base class (its `setUp` resets the database)."""
    conftests = [c for c in ["conftest.py", *(f"{t}/conftest.py" for t in tests)] if (root / c).is_file()]
    for rel in tests:
        if (root / rel).is_dir():
            conftests += sorted(_rel(p, root) for p in (root / rel).rglob("*/conftest.py") if p.is_file())
    conftests += [f"{t}/__init__.py" for t in tests if (root / t / "__init__.py").is_file()]
    return list(dict.fromkeys(conftests))


# NOTE: a statement, as a call's string starts with it; in capitals, as SQL in code is written.
_CREATE_DATABASE = re.compile(r"\s*CREATE\s+DATABASE\b")


def _creates_database(
    root: Path, conftest: str, older: Mapping[str, ast.Module], naming: Mapping[str, str | None]
) -> bool:
    """True when a conftest.py makes a database of its own: it runs `CREATE DATABASE` (a string passed to a
    call says it, an f-string too; a docstring or a comment that mentions it does not), calls
    sqlalchemy-utils' `create_database(url)`, or, at its top, sets a variable of `naming` (those that name
    the database the collect reads, with their defaults) to a value other than its default
    (`environ["DATABASE_NAME"] = "dispatch-test"`)."""
    _, tree = _parse(root, conftest, older)
    if tree is None:
        return False
    if any(isinstance(node, ast.Call) and _call_name(node) == "create_database" for node in ast.walk(tree)):
        return True
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant) and node.value.value:
            for target in node.targets:
                name = target.slice if isinstance(target, ast.Subscript) and _environ(target.value) else None
                key = name.value if isinstance(name, ast.Constant) and isinstance(name.value, str) else None
                if key is not None and key in naming and naming[key] != str(node.value.value):
                    return True
    return any(
        _CREATE_DATABASE.match(first.value)
        for call in ast.walk(tree)
        if isinstance(call, ast.Call)
        for arg in [*call.args, *(kw.value for kw in call.keywords)]
        # NOTE: a string, or an f-string's first part (`f'CREATE DATABASE "{name}"'`).
        for first in [arg.values[0] if isinstance(arg, ast.JoinedStr) and arg.values else arg]
        if isinstance(first, ast.Constant) and isinstance(first.value, str)
    )


def _tests_migrate(
    root: Path, tests: Sequence[str], app_dir: str, older: Mapping[str, ast.Module]
) -> list[tuple[str, str]]:
    """(conftest, what) for each conftest.py of the test paths (and the root's) that migrates a database:
    it calls alembic's command.upgrade/downgrade or create_all, itself or in a function of the service it
    imports and calls (one hop, by import name)."""
    found: list[tuple[str, str]] = []
    for rel in _conftests(root, tests):
        _, tree = _parse(root, rel, older)
        if tree is None:
            continue
        imported: dict[str, str] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported.update((a.asname or a.name, f"{node.module}.{a.name}") for a in node.names)
            elif isinstance(node, ast.Import):
                # NOTE: `import a.b as x` binds x to a.b; `import a.b` binds a to a.
                imported.update(
                    (a.asname, a.name) if a.asname else (a.name.split(".")[0], a.name.split(".")[0])
                    for a in node.names
                )
        for node in ast.walk(tree):
            what = _migrates(node)
            if what is not None and not _on_own_sqlite(tree, node):
                found.append((rel, f"calls {what}"))
                break
            if not isinstance(node, ast.Call):
                continue
            target = _dotted(node.func, imported) if isinstance(node.func, ast.Attribute | ast.Name) else None
            inner = _function_migrates(root, target, app_dir, older) if target else None
            if inner is not None:
                found.append((rel, f"calls {target}, which runs {inner}"))
                break
    return found


def _on_own_sqlite(tree: ast.Module, node: ast.AST) -> bool:
    """True when the function around `node` makes an engine of a SQLite URL of its own
    (`create_engine(f"sqlite:///{tmp}")`): what it migrates is a throw-away file, not the service's
    database."""
    line = getattr(node, "lineno", 0)
    around = [
        f
        for f in ast.walk(tree)
        if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef) and f.lineno <= line <= (f.end_lineno or 0)
    ]
    if not around:
        return False
    inner = max(around, key=lambda f: f.lineno)
    for call in ast.walk(inner):
        if (
            isinstance(call, ast.Call)
            and _call_name(call) in ("create_engine", "create_async_engine")
            and call.args
        ):
            first = call.args[0]
            head = first.values[0] if isinstance(first, ast.JoinedStr) and first.values else first
            if (
                isinstance(head, ast.Constant)
                and isinstance(head.value, str)
                and head.value.startswith("sqlite")
            ):
                return True
    return False


# NOTE: modules that start a service in a container for the tests (pytest-databases' docker plugins,
# testcontainers): no variable points them at the workflow's database. The word after the prefix names it.
_CONTAINER_MODULE = re.compile(r"^(?:pytest_databases\.docker|testcontainers)(?:\.(\w+))?")
_CONTAINED = {
    "postgres": "PostgreSQL",
    "postgresql": "PostgreSQL",
    "cockroachdb": "CockroachDB",
    "redis": "Redis",
    "valkey": "Valkey",
    "mysql": "MySQL",
    "mariadb": "MariaDB",
    "mongodb": "MongoDB",
    "elastic_search": "Elasticsearch",
    "elasticsearch": "Elasticsearch",
    "kafka": "Kafka",
    "rabbitmq": "RabbitMQ",
    "minio": "MinIO",
}


def _contained(module: str) -> str | None:
    """What a module of `_CONTAINER_MODULE` starts: a service's name, `services` for a generic one
    (`testcontainers.core`, the `pytest_databases.docker` base), None for any other module."""
    match = _CONTAINER_MODULE.match(module)
    if match is None:
        return None
    word = match.group(1) or ""
    return _CONTAINED.get(word, "services" if word in ("", "core", "compose", "general") else word)


def _tests_docker(
    root: Path, tests: Sequence[str], older: Mapping[str, ast.Module]
) -> list[tuple[str, tuple[str, ...], str]]:
    """(conftest, what it starts, how) for each conftest.py of the test paths (and the root's) that starts
    services in containers: it loads pytest-databases' docker plugins (`pytest_plugins`), imports
    testcontainers, or takes pytest-docker's `docker_services` fixture."""
    found: list[tuple[str, tuple[str, ...], str]] = []
    for rel in _conftests(root, tests):
        text, tree = _parse(root, rel, older)
        if tree is None or not re.search(r"pytest_databases|testcontainers|docker_services", text):
            continue
        loaded: list[str] = []
        imported: list[str] = []
        fixture = False
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "pytest_plugins" for t in node.targets
            ):
                loaded += [
                    n.value
                    for n in ast.walk(node.value)
                    if isinstance(n, ast.Constant) and isinstance(n.value, str) and _contained(n.value)
                ]
            elif isinstance(node, ast.Import):
                imported += [a.name for a in node.names if _contained(a.name)]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                imported += [node.module] if _contained(node.module) else []
            elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                fixture = fixture or any(a.arg == "docker_services" for a in node.args.args)
        # NOTE: a plugin the conftest loads and imports from too is said once, as loaded.
        loaded = list(dict.fromkeys(loaded))
        imported = [m for m in dict.fromkeys(imported) if m not in loaded]
        hows = [f"loads {', '.join(loaded)}"] if loaded else []
        hows += [f"imports {', '.join(imported)}"] if imported else []
        hows += ["takes pytest-docker's docker_services"] if fixture else []
        if not hows:
            continue
        named = [s for m in [*loaded, *imported] if (s := _contained(m))]
        services = [s for s in dict.fromkeys(named) if s != "services"] or ["services"]
        found.append((rel, tuple(services), " and ".join(hows)))
    return found


def _docker_note(d: Detected) -> str | None:
    """What init says of tests that start their own services in containers, or None."""
    if not d.tests_docker:
        return None
    services = list(dict.fromkeys(s for _, started, _ in d.tests_docker for s in started))
    if len(services) > 1 and "services" in services:
        services.remove("services")
    what = services[0] if len(services) == 1 else ", ".join(services[:-1]) + " and " + services[-1]
    how = "; ".join(f"{conftest} {how}" for conftest, _, how in d.tests_docker)
    return f"the tests start their own {what} in Docker ({how}): the CI runner needs Docker, or run a subset"


def _function_migrates(root: Path, dotted: str, app_dir: str, older: Mapping[str, ast.Module]) -> str | None:
    """What the service's function `module.function` does to a database's schema (see `_migrates`)."""
    module, _, name = dotted.rpartition(".")
    if not module:
        return None
    folder = module.replace(".", "/")
    for base in dict.fromkeys((".", "src", app_dir)):
        for candidate in (f"{folder}.py", f"{folder}/__init__.py"):
            rel = PurePosixPath(base, candidate).as_posix()
            if not (root / rel).is_file():
                continue
            _, tree = _parse(root, rel, older)
            for node in tree.body if tree is not None else ():
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == name:
                    return next((what for sub in ast.walk(node) if (what := _migrates(sub))), None)
            return None
    return None


def _requires_python(root: Path) -> str | None:
    """The oldest Python the service supports: `.python-version`, else `requires-python`'s lower bound."""
    pinned = root / ".python-version"
    if pinned.is_file():
        match = re.match(r"\s*(3\.\d+)", pinned.read_text("utf-8", errors="replace"))
        if match:
            return match.group(1)
    data = _toml(root / "pyproject.toml")
    spec = data.get("project", {}).get("requires-python") or (
        data.get("tool", {}).get("poetry", {}).get("dependencies", {}).get("python")
    )
    match = re.search(r"(?:>=|\^|~=|==)\s*(3\.\d+)", str(spec or ""))
    return match.group(1) if match else None


def _ignores_output(root: Path) -> bool:
    try:
        lines = (root / ".gitignore").read_text("utf-8", errors="replace").splitlines()
    except OSError:
        return False
    return any(line.strip().strip("/") in (".evidence", ".evidence/*", "*") for line in lines)


def _under(path: str, folders: Sequence[str]) -> bool:
    return any(path.startswith(folder + "/") for folder in folders)


def report(detected: Detected) -> list[str]:
    """One line per thing looked for: what was found, or what could not be and what to do."""
    d = detected
    lines = [f"found service name: {d.service} (from the {d.service_from})"]
    if d.alembic:
        for c in d.alembic:
            where = f" -> {c.script_location}" if c.script_location else ""
            lines.append(f"found Alembic config: {c.ini} [{c.section}]{where}")
            if c.shares_table_with:
                lines.append(
                    f"  it shares its version table with {c.shares_table_with}: both cannot be applied to "
                    "one schema, so it is read and checked, not judged against the database "
                    "(`database: false`) and not migrated by the workflow"
                )
            if c.table_picked:
                lines.append(
                    f"  warning: its version table is picked at run time ({c.table_picked}): name the table "
                    "with `version_table:` on its entry in evidence.yaml, or the database's revision is not "
                    "read and EK302 cannot judge it"
                )
        if d.migrate_command:
            command, source = d.migrate_command
            lines.append(
                f"found the service's own migration command in {source}: `{command}`; the workflow runs it "
                "instead of `alembic upgrade head`"
            )
        else:
            lines.extend(
                f"warning: plain `alembic` cannot run {c.ini} ({c.plain_problem}), and no file of the "
                "service says how it migrates: the workflow's Migrate step is commented out; put the "
                "service's own migration command (as its README or deploy files give it, e.g. "
                f"`app database upgrade`) in place of {MIGRATE_PLACEHOLDER} and uncomment the step"
                for c in d.alembic
                if c.plain_problem
            )
    else:
        lines.append("no alembic.ini found: list your Alembic configs under collectors.alembic by hand")
    if d.python_elsewhere:
        version = f", Python {d.python_version}" if d.python_version else ""
        lines.append(
            f"found the service's interpreter outside the repository: {d.python_elsewhere} ({d.python_how}"
            f"{version}); evidence.yaml names {d.python}, the virtualenv the workflow makes: collect on this "
            f"machine with EVIDENCE_PYTHON={shlex.quote(d.python_elsewhere)}, or make that virtualenv"
        )
    elif d.python:
        version = f", Python {d.python_version}" if d.python_version else ""
        lines.append(f"found the service's interpreter: {d.python} ({d.python_how}{version})")
    else:
        lines.append(
            "no virtualenv of the service found (.venv, venv, Poetry, pipenv, Hatch, $VIRTUAL_ENV): "
            "create it and set `python:` in evidence.yaml"
        )
    if d.ci_python and d.ci_python[0] != d.python_version:
        lines.append(
            f"the workflow sets up Python {_python_at_least(d.ci_python[0])}, as the service's own CI tests "
            f"on {d.ci_python[0]} ({d.ci_python[1]})"
        )
    if d.env_files:
        lines.append(
            f"found the files the service's settings read: {', '.join(d.env_files)} (env_file: their "
            "variables fill in the database URL's where the environment does not set them)"
        )
    if d.parsed_by_service:
        lines.append(
            f"{d.parsed_by_service} file{'s' if d.parsed_by_service != 1 else ''} of syntax newer than "
            "init's Python parsed by the service's interpreter"
        )
    if d.unparsed:
        shown = ", ".join(d.unparsed[:5]) + (
            f" and {len(d.unparsed) - 5} more" if len(d.unparsed) > 5 else ""
        )
        lines.append(
            f"warning: {len(d.unparsed)} file{'s' if len(d.unparsed) != 1 else ''} could not be parsed: "
            f"{shown}, their environment reads are not listed ({d.unparsed_why})"
        )
    if d.apps:
        first = d.apps[0]
        where = f", app_dir {first.app_dir}" if first.app_dir != "." else ""
        kind = "an app factory" if first.factory else "app"
        if first.needs:
            kind = f"an app factory that needs {', '.join(first.needs)}"
        why = (
            "; served by a start command"
            if first.served
            else ("; mounted by an app whose OpenAPI is off" if first.mounted else "")
        )
        lines.append(f"found {kind}: {first.target} (in {first.source}{where}{why})")
        if first.needs:
            lines.append(
                "an import cannot call a factory that needs arguments: collectors.openapi is left commented "
                "out (serve the app and read its document by `url:`, or name an app that needs none)"
            )
        if len(d.apps) > 1:
            others = ", ".join(a.target for a in d.apps[1:])
            lines.append(f"found other apps: {others} (change collectors.openapi.app to use one)")
    elif d.flask_apps:
        lines.append(
            f"found a Flask app: {', '.join(d.flask_apps)} (served by a start command); a WSGI app has no "
            "OpenAPI document to read, so collectors.openapi is left commented out"
        )
    else:
        lines.append("no app found: set collectors.openapi.app by hand")
    if d.testpaths:
        lines.append(f"found pytest's testpaths: {', '.join(d.tests)} (the tests run `python -m pytest`)")
    elif d.tests:
        lines.append(f"found tests: {', '.join(d.tests)}")
    else:
        lines.append("no tests found: set collectors.tests.run by hand")
    if d.tests_elsewhere:
        lines.append(
            f"left out of the tests: {', '.join(d.tests_elsewhere)} (each in another project of the "
            "repository, with a pyproject.toml or the like of its own: its tests import what that project "
            "installs, not the root's; run them from its folder)"
        )
    if d.test_files > LONG_SUITE:
        lines.append(
            f"the tests hold {d.test_files} test files: the whole suite is long; list the subset this phase "
            "proves in collectors.tests.run of evidence.yaml"
        )
    for conftest, what in d.tests_migrate:
        lines.append(
            f"warning: {conftest} {what}: the tests migrate the database they run against; point them at a "
            "database of their own (collectors.tests.env in evidence.yaml)"
        )
    if docker := _docker_note(d):
        lines.append(f"warning: {docker} (collectors.tests.run in evidence.yaml)")
    if d.workers:
        for worker in d.workers:
            article = "an" if worker.kind[:1].upper() in "AEIOU" else "a"
            how = f"{worker.given_in} runs it as" if worker.given_in else "runs as"
            where = f", from {worker.cwd}" if worker.cwd != "." else ""
            lines.append(
                f"found {article} {worker.kind} worker: {worker.source} ({how} `{worker.command}`{where})"
            )
    else:
        lines.append(
            "no worker found (dramatiq, celery, arq, rq, APScheduler, SAQ, a `--once` loop, "
            "a worker/ package)"
        )
    job_claims = [c for c in d.claims if d.job_claim(c)]
    if job_claims:
        lines.append(f"found job claims with SKIP LOCKED: {', '.join(job_claims)}")
    if stray := [c for c in d.claims if not d.job_claim(c)]:
        lines.append(
            f"found FOR UPDATE SKIP LOCKED in {', '.join(stray)}, not taken for a job claim: no queue table "
            "was found and no worker lies in "
            + ("that file" if len(stray) == 1 else "those files")
            + "; EK308's `workers` is left unset (EK308 judges a bundle that shows a job queue); set it to "
            "the modules that claim jobs if the service has a queue"
        )
    if not d.database_queue:
        lines.append(
            "no database job queue found: EK308 (claims use SKIP LOCKED) is turned off in the rule pack"
        )
    if d.workflows:
        lines.append(f"found GitHub workflows: {', '.join(d.workflows)}")
    else:
        lines.append(f"no GitHub workflows found: {WORKFLOW_FILE} will be the first")
    if d.database_env_source:
        also = f", also by {', '.join(d.database_env_aliases)}" if d.database_env_aliases else ""
        lines.append(f"found database URL variable: {d.database_env} (read in {d.database_env_source}{also})")
    elif d.database_url and d.database_override:
        lines.append(
            f"found the parts the service builds its database URL of: database.url is {d.database_url}; "
            f"{d.database_override} replaces that URL when set, and so it does for evidence "
            f"(database.url_env); every variable the template names must be set for a collect"
        )
    elif d.database_url:
        lines.append(
            f"found the parts the service builds its database URL of: database.url is {d.database_url} "
            "(no database.url_env: the service reads no URL variable); every variable it names must be set "
            "for a collect"
        )
    else:
        skipped = (
            f" ({', '.join(d.database_env_skipped[:5])} read, but their names say nothing of a database)"
            if d.database_env_skipped
            else ""
        )
        lines.append(
            f"no database URL variable found in the code{skipped}: database.url_env in evidence.yaml is "
            f"{d.database_env}; set it to the variable the service reads its database URL from"
        )
    if d.database_engine:
        name, value = d.database_engine
        lines.append(
            f"found {name}, which chooses the service's database engine: the workflow sets it to {value} "
            "(the value the code compares with for PostgreSQL)"
        )
    if d.ci_postgres:
        user, _, db, source = d.ci_postgres
        lines.append(
            f"found the PostgreSQL container of the service's own CI in {source}: the workflow's container "
            f"and variables use its user {user} and database {db}"
        )
    if d.ci_postgres_image:
        image, source = d.ci_postgres_image
        lines.append(f"found a PostgreSQL image with extensions in {source}: the workflow runs {image}")
    if d.ci_extensions:
        lines.append(
            "found extensions the service's own CI creates before migrating: the workflow creates "
            + ", ".join(d.ci_extensions)
        )
    if d.queue:
        lines.append(f"found queue table: {d.queue.table} (in {d.queue.source})")
    else:
        lines.append(
            "no queue table found (a table with status, attempts and locked_at columns): "
            "collectors.queue is left commented out"
        )
    commented, rest = _other_env(d)
    if rest:
        lines.append(
            f"the workflow names {len(commented)} of the other environment variables the code reads, in "
            f"comments; the {len(rest)} more:"
        )
        # NOTE: a few names a line, indented, not hundreds on one line.
        lines += ["  " + ", ".join(rest[i : i + _NAMES_A_LINE]) for i in range(0, len(rest), _NAMES_A_LINE)]
    if not d.git:
        lines.append("no git repository found: the git collector needs one (`git init`)")
    lines += d.notes
    return lines


def _workflow_base(root: Path, detected: Detected | None) -> Path:
    """Where `.github/workflows` goes: the repository's top folder (GitHub reads no other)."""
    top = detected.repository if detected is not None else None
    if top is None:
        top = next((f for f in (root.resolve(), *root.resolve().parents) if (f / ".git").exists()), None)
    if top is None:
        return root
    return root / os.path.relpath(top, root.resolve()) if top != root.resolve() else root


def targets(root: Path, detected: Detected | None = None) -> tuple[Path, ...]:
    """The files `write` creates, in order: the config, the rule pack, the workflow."""
    base = _workflow_base(root, detected)
    return tuple((base if name == WORKFLOW_FILE else root) / name for name, _ in _TEMPLATES)


def _scalar(value: str) -> str:
    """A YAML scalar: plain when that reads back as the same string, else JSON-quoted."""
    import yaml

    if _PLAIN.match(value):
        try:
            if all(
                yaml.safe_load(doc) == want
                for doc, want in ((f"k: {value}", {"k": value}), (f"[{value}]", [value]))
            ):
                return value
        except yaml.YAMLError:
            pass
    return json.dumps(value, ensure_ascii=False)


def _flow(value: Mapping[str, Any] | Sequence[Any]) -> str:
    """A one-line YAML flow mapping or sequence of strings, None and numbers."""

    def one(item: Any) -> str:
        if item is None:
            return "null"
        if isinstance(item, bool | int | float):
            return json.dumps(item)
        return _scalar(str(item))

    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k}: {one(v)}" for k, v in value.items()) + "}"
    return "[" + ", ".join(one(v) for v in value) + "]"


def _context(d: Detected) -> dict[str, Any]:
    """The plain values the templates use."""
    alembic = []
    for c in d.alembic:
        entry: dict[str, str | bool] = {"ini": c.ini}
        if c.section != "alembic":
            entry["name"] = c.section
        if d.migrate_command and (c.plain_problem or len(d.alembic) == 1):
            # NOTE: the service migrates with its own command (plain Alembic may not run its env.py at all,
            # as when env.py needs the service's event loop): the docs give that command.
            entry["migrate_command"] = d.migrate_command[0]
        if c.shares_table_with:
            entry["database"] = False
        alembic.append(entry)
    labels = [c.label for c in d.alembic]
    if len(d.alembic) > 1 and len(set(labels)) < len(labels):
        for entry, c in zip(alembic, d.alembic, strict=True):
            folder = PurePosixPath(c.ini).parent.as_posix().replace("/", "-")
            stem = "" if folder == "." else folder + "-"
            entry["label"] = _LABEL_UNSAFE.sub("_", f"{stem}{PurePosixPath(c.ini).stem}-{c.label}")
    queue: dict[str, Any] | None = None
    if d.queue:
        roles = dict(d.queue.columns)
        from evidence_kit.collectors.queue import DEFAULT_COLUMNS

        columns = {r: roles[r] for r in DEFAULT_COLUMNS if roles.get(r) != DEFAULT_COLUMNS[r]}
        if roles.get("id") is None:
            columns.pop("id", None)
        queue = {
            "name": _LABEL_UNSAFE.sub("-", d.queue.table).strip("-.") or "jobs",
            "table": d.queue.table,
            "status": roles["status"],
            "columns": columns,
        }
    required = ["git/head.json"]
    if d.alembic:
        required += ["alembic/*heads.txt", "alembic/*current.txt"]
    if d.uses_database:
        required.append("schema/schema.json")
    if d.apps:
        required.append("openapi/routes.txt")
    if d.tests:
        required.append("tests/tests.json")
    if queue:
        required.append(f"queue/{queue['name']}.json")
    tests_cwd, tests = _tests_folder(d)
    options = list(d.ci_pytest_options[0]) if d.ci_pytest_options else []
    tests_run = (
        ["python", "-m", "pytest", *options]
        if d.testpaths or tests is None
        else ["python", "-m", "pytest", *options, *tests]
    )
    venv = ".venv"
    if d.python and not os.path.isabs(d.python) and PurePosixPath(d.python).parent.name in ("bin", "Scripts"):
        venv = PurePosixPath(d.python).parent.parent.as_posix()
    # NOTE: with no virtualenv found here, the workflow's install step still makes `.venv` (pip's venv, uv's,
    # Poetry's in the project): the migrate step and the collect run the service's Python from it.
    made_here = not d.python and bool(d.install) and tests_cwd is None
    bin_prefix = f"{venv}/bin/" if d.python or made_here else ""
    repository = d.repository or d.root
    working = os.path.relpath(d.root, repository) if d.root != repository else "."
    standard_tests = all(PurePosixPath(t).name != "test" for t in d.tests)
    own = d.migrate_command[0] if d.migrate_command else None
    if own is not None and "/" not in own.split()[0]:
        own = bin_prefix + own
    # NOTE: a configuration that shares another's version table is applied elsewhere (other schemas).
    applied = [c for c in d.alembic if not c.shares_table_with]
    migrate = [own] if own is not None else [_upgrade(c, bin_prefix) for c in applied]
    # NOTE: plain Alembic fails on an env.py that reads a wrapper's configuration: the step is written
    # commented out, the service's own command to be put in its place.
    blocked = [] if own is not None else [c for c in applied if c.plain_problem]
    if blocked:
        migrate = [MIGRATE_PLACEHOLDER if c.plain_problem else _upgrade(c, bin_prefix) for c in applied]
    install, install_from = (
        _install_steps(d, venv, tests_cwd) if d.python or d.install else (list(d.install), None)
    )
    commented_env, more_env = _other_env(d)
    ci_env = _ci_env(d)
    return {
        "service": d.service,
        "database_env": d.database_env,
        "database_url": d.database_url,
        "database_url_env": d.database_env if not d.database_url or d.database_override else None,
        "postgres": _ci_postgres(d),
        "postgres_from": d.ci_postgres[3] if d.ci_postgres else None,
        "postgres_image": d.ci_postgres_image[0] if d.ci_postgres_image else "postgres:16-alpine",
        "postgres_image_from": d.ci_postgres_image[1] if d.ci_postgres_image else None,
        "extensions": d.ci_extensions if d.uses_database else (),
        "database_env_source": d.database_env_source,
        "database_env_aliases": list(d.database_env_aliases),
        "uses_database": d.uses_database,
        "alembic": alembic,
        "alembic_apart": {i: c.shares_table_with for i, c in enumerate(d.alembic) if c.shares_table_with},
        "alembic_picked": {i: c.table_picked for i, c in enumerate(d.alembic) if c.table_picked},
        "app": d.app,
        "app_dir": d.app_dir,
        "app_cwd": runs_from if (runs_from := _runs_from(d.app_dir)) != d.app_dir else None,
        # NOTE: uvicorn's --app-dir is relative to the folder it runs in.
        "app_dir_from_cwd": PurePosixPath(d.app_dir).name,
        "app_factory": bool(d.apps and d.apps[0].factory),
        "app_needs": list(d.apps[0].needs) if d.apps else [],
        "flask_app": d.flask_apps[0] if d.flask_apps and not d.apps else None,
        "app_litestar": bool(d.apps and d.apps[0].litestar),
        "python": d.python,
        "python_how": d.python_how,
        "python_elsewhere": d.python_elsewhere,
        "evidence_python": f"{venv}/bin/python" if made_here else None,
        "env_files": list(d.env_files),
        "ci_setup": list(d.ci_setup[0]) if d.ci_setup else [],
        "ci_setup_env": [
            (name, value) for name, value in (d.ci_setup[1] if d.ci_setup else ()) if name not in ci_env
        ],
        "ci_setup_from": d.ci_setup[2] if d.ci_setup else None,
        # NOTE: the version the service's own CI tests on, else its interpreter's, else its oldest.
        "python_version": _python_at_least(
            (d.ci_python[0] if d.ci_python else None) or d.python_version or "3.12"
        ),
        "working_directory": PurePosixPath(working).as_posix(),
        "ci_path": (PurePosixPath(os.path.relpath(repository, d.root)) / ".github/workflows").as_posix(),
        "ci_env": ci_env,
        "redis_service": bool(_redis_env(d)),
        "required_env": _required_env(d),
        "required_why": dict(d.required_why),
        "other_env": commented_env,
        "secret_env": [n for n in commented_env if _secret_setting(n)],
        "other_env_more": len(more_env),
        "database_queue": d.database_queue,
        "claims": list(d.claims),
        "default_workers": DEFAULT_WORKERS,
        "claim_workers": [],
        "create_all": [],
        "other_apps": [a.target for a in d.apps[1:]],
        "tests": list(d.tests),
        "tests_run": tests_run,
        "tests_options_from": d.ci_pytest_options[1] if d.ci_pytest_options else None,
        "tests_cwd": tests_cwd,
        "tests_long": d.test_files if d.test_files > LONG_SUITE else None,
        "tests_migrate": [f"{conftest} {what}" for conftest, what in d.tests_migrate],
        "tests_docker": _docker_note(d),
        "tests_env": _tests_env(d),
        "tests_unset": list(d.tests_unset[0]) if d.tests_unset and d.uses_database else [],
        "tests_unset_from": d.tests_unset[1] if d.tests_unset else None,
        "tests_unset_env": dict.fromkeys(d.tests_unset[0]) if d.tests_unset else {},
        "codefacts_tests": None if standard_tests else [*_TEST_GLOBS, "**/test/**"],
        "workers": _worker_entries(d.workers),
        "workflows": list(d.workflows),
        "queue": queue,
        "required": required,
        "install": install,
        "migrate": migrate,
        "migrate_from": d.migrate_command[1] if d.migrate_command else None,
        "migrate_blocked": [{"ini": c.ini, "problem": c.plain_problem} for c in blocked],
        "install_from": install_from,
        "action": ACTION_PLACEHOLDER,
        "migrate_placeholder": MIGRATE_PLACEHOLDER,
        "baseline": None,
        "baselined": BASELINED,
    }


# NOTE: names any program may read (the shell's, Python's, a CI's, a cloud SDK's): listed after the service's.
_GENERIC_ENV = re.compile(
    r"^(HOME|PATH|USER|USERNAME|LOGNAME|SHELL|TERM|PWD|LANG|LANGUAGE|TZ|TMPDIR|TEMP|TMP|HOSTNAME|EDITOR|PAGER"
    r"|APPDATA|LOCALAPPDATA|PROGRAMDATA|PROGRAMFILES\w*|USERPROFILE|SYSTEMROOT|WINDIR|COMSPEC"
    r"|NO_COLOR|FORCE_COLOR|COLUMNS|LINES|VIRTUAL_ENV|PYTHON\w*|PIP_\w+|UV_\w+|CONDA_\w+|LC_\w+|XDG_\w+"
    r"|GITHUB_\w+|RUNNER_\w+|GITLAB_\w+|BUILDKITE\w*|CIRCLE\w*|TRAVIS\w*|JENKINS_\w+|BUILD_\w+|TF_BUILD"
    r"|AWS_\w+|AZURE_\w+|GOOGLE_\w+|GCLOUD_\w+|KUBERNETES_\w+|DOCKER_\w+|OTEL_\w+"
    r"|HTTPS?_PROXY|NO_PROXY|SSL_CERT_\w+|REQUESTS_CA_BUNDLE|CURL_CA_BUNDLE)$"
)
OTHER_ENV_SHOWN = 20
SECRETS_SHOWN = 60


_NAMES_A_LINE = 6
# NOTE: a service's own prefix: what its names start with up to the first `_` or `__` (`TRACKER__`, `APP_`).
_NAME_PREFIX = re.compile(r"^[A-Z][A-Z0-9]*__?")


# NOTE: how long a suggested worker run lasts before it is stopped (a worker runs until it is stopped).
WORKER_RUN_FOR = 15


def _worker_entries(workers: Sequence[Worker]) -> list[dict[str, Any]]:
    """The workers as evidence.yaml suggests commands of them: a name of each (its kind, and its module's
    when two of a kind), and whether it ends by itself (a `--once` loop) or runs until stopped (`run_for`)."""
    kinds = Counter(w.kind for w in workers)
    entries = []
    taken: set[str] = set()
    for w in workers:
        name = re.sub(r"[^\w.-]+", "-", w.kind) + "-run"
        if kinds[w.kind] > 1:
            name = re.sub(
                r"[^\w.-]+", "-", f"{w.kind}-{PurePosixPath(w.source).with_suffix('').as_posix()}-run"
            )
        # NOTE: two commands of one module (its worker and its scheduler) get two names.
        name = next(c for n in itertools.count(1) if (c := name if n == 1 else f"{name}-{n}") not in taken)
        taken.add(name)
        entries.append(
            {
                "source": w.source,
                "kind": w.kind,
                "command": w.command,
                "cwd": w.cwd,
                "given_in": w.given_in,
                "name": name,
                "run_for": None if "--once" in w.command.split() else WORKER_RUN_FOR,
            }
        )
    return entries


def _other_env(d: Detected) -> tuple[list[str], list[str]]:
    """The variables the workflow names in comments only (the service's own first, those with secret names
    before the rest, then those with its own prefix, then others, then names any program reads): every
    secret (up to `SECRETS_SHOWN`) and `OTHER_ENV_SHOWN` others; and those left out."""
    # NOTE: the URL variable is evidence.yaml's, which the summary names already (a service that builds its
    # URL of parts reads it as an override the workflow leaves unset).
    given = {*_ci_env(d), *_required_env(d), d.database_env, d.database_override, *d.database_env_aliases}
    own = set(d.env_own)
    prefixes = Counter(m.group() for n in own if (m := _NAME_PREFIX.match(n)))
    prefix = next((p for p, count in prefixes.most_common(1) if count >= 3), None)
    names = sorted(
        (n for n in d.env_names if n not in given and not n.startswith(("PYTEST", "CI"))),
        key=lambda n: (
            bool(_GENERIC_ENV.match(n)) and n not in own,
            n not in own,
            not _secret_setting(n),
            prefix is None or not n.startswith(prefix),
            n,
        ),
    )
    # NOTE: every secret the service reads is named (up to SECRETS_SHOWN): the workflow must take each from
    # the repository's secrets; the other names up to OTHER_ENV_SHOWN.
    # NOTE: a cloud's variable the service's code reads (`AZURE_CLIENT_SECRET`) is a secret it needs too,
    # named after its own.
    secret = [n for n in names if _secret_setting(n)][:SECRETS_SHOWN]
    others = [n for n in names if n not in secret]
    shown = [*secret, *others[:OTHER_ENV_SHOWN]]
    return [n for n in names if n in shown], [n for n in names if n not in shown]


# NOTE: names the redactor masks by (their values are judged one by one) that the workflow need not take
# from the repository's secrets: switches (`ENABLE_SECRET_MASKING`), a model's counted tokens
# (`LLM_MAX_TOKENS`, `TOKEN_BUDGET`) and a hash's iterations.
_SWITCH_WORDS = frozenset(
    {
        "enable",
        "enabled",
        "disable",
        "disabled",
        "is",
        "has",
        "allow",
        "should",
        "use",
        "force",
        "require",
        "skip",
    }
)
_COUNT_WORDS = frozenset({"max", "min", "len", "num", "count", "total", "limit", "budget", "usage"})
_TOKEN_MEASURES = frozenset(
    {
        "pressure",
        "threshold",
        "ratio",
        "rate",
        "per",
        "multiplier",
        "factor",
        "estimate",
        "overhead",
        "reserve",
    }
)
_MODEL_TEXT = frozenset(
    {
        "output",
        "prompt",
        "completion",
        "response",
        "context",
        "window",
        "reasoning",
        "thinking",
        "embedding",
        "chunk",
        "summary",
        "memory",
        "message",
        "messages",
    }
)


def _secret_name(name: str) -> bool:
    """True when the redactor takes a variable of this name for a secret (its value is masked)."""
    from evidence_kit.redact.redactor import SECRET_NAME

    return SECRET_NAME.search(name)


def _secret_setting(name: str) -> bool:
    """True when the workflow should take a variable of this name from the repository's secrets: a secret
    name that is no switch, count of tokens or hash iterations."""
    from evidence_kit.redact.names import parts

    split = parts(name)
    # NOTE: a count of a model's tokens, not a token: a count word beside it, or anywhere for the plural
    # (`MAX_OUTPUT_TOKENS`; `RATE_LIMIT_BYPASS_TOKEN` is a secret), a measure
    # after it (`MEMORY_TOKEN_PRESSURE`), or what a model reads or writes before the plural
    # (`CONTEXT_WINDOW_TOKENS`, `PROMPT_TOKENS`; `API_TOKENS` stays a secret).
    counted = any(
        p in ("token", "tokens")
        and (
            (p == "tokens" and bool(set(split) & _COUNT_WORDS))
            or bool({split[i - 1] if i else "", split[i + 1] if i + 1 < len(split) else ""} & _COUNT_WORDS)
            or (i + 1 < len(split) and split[i + 1] in _TOKEN_MEASURES)
            or (p == "tokens" and i > 0 and split[i - 1] in _MODEL_TEXT)
        )
        for i, p in enumerate(split)
    )
    # NOTE: a switch word before the word that makes the name a secret's (`ENABLE_SECRET_MASKING`,
    # `PROVIDER_USE_ID_TOKEN`; not `SECRET_KEY_FOR_USE_IN_TESTS`).
    secret_at = next((i for i in range(len(split)) if _secret_name("_".join(split[: i + 1]))), len(split))
    switch = any(p in _SWITCH_WORDS for p in split[:secret_at])
    return _secret_name(name) and not (counted or switch or split[-1:] == ("iterations",))


def _tests_env(d: Detected) -> dict[str, str]:
    """An example of `tests.env` that points the tests at a database of their own."""
    if d.database_url:
        name = _parts(d.env_names).get("name")
        if name:
            return {name: f"{_ci_postgres(d)['db']}_test"}
    return {d.database_env: "${TEST_DATABASE_URL}"}


# NOTE: files that make a folder a project of its own: its tests and migrations run from it.
_PROJECT_FILES = ("pyproject.toml", "setup.py", "setup.cfg", "pytest.ini", "tox.ini", "alembic.ini")


def _tests_folder(d: Detected) -> tuple[str | None, list[str] | None]:
    """Where the tests run and the paths they take there (see `_sub_project`)."""
    return _sub_project(d.root, d.tests, d.testpaths)


def _sub_project(root: Path, tests: Sequence[str], testpaths: bool) -> tuple[str | None, list[str] | None]:
    """Where the tests run and the paths they take there: the deepest sub-project folder (`backend/`,
    `backend/app/`, with its own pyproject.toml or alembic.ini) that holds every test path runs them
    itself, with its own `testpaths` (paths None) if it has them; else the service folder (None) and the
    paths as found."""
    parts = [PurePosixPath(t).parts for t in tests]
    if testpaths or not parts or not all(len(p) > 1 for p in parts):
        return None, list(tests)
    common: list[str] = []
    for names in zip(*(p[:-1] for p in parts), strict=False):
        if len(set(names)) != 1:
            break
        common.append(names[0])
    for depth in range(len(common), 0, -1):
        folder = "/".join(common[:depth])
        if any((root / folder / name).is_file() for name in _PROJECT_FILES):
            inner = [PurePosixPath(*p[depth:]).as_posix() for p in parts]
            return folder, (None if _testpaths(root / folder) is not None else inner)
    return None, list(tests)


def _upgrade(c: AlembicConfig, bin_prefix: str) -> str:
    """The command that upgrades one Alembic configuration, from the folder of its ini."""
    from evidence_kit.evidence.alembic import invocation

    folder, words = invocation(c.ini, c.section, c.run_from)
    command = " ".join(words) + " upgrade head"
    # NOTE: a console script puts its own folder on sys.path, not the one it runs in.
    env = f"PYTHONPATH={shlex.quote(c.import_path)} " if c.import_path else ""
    if folder == ".":
        return env + bin_prefix + command
    prefix = bin_prefix
    if bin_prefix and not PurePosixPath(bin_prefix).is_absolute():
        prefix = os.path.relpath(bin_prefix, folder).replace(os.sep, "/") + "/"
    return f"(cd {shlex.quote(folder)} && {env}{prefix}{command})"


def _uv_project_above(root: Path) -> Path | None:
    """The project folder above `root` that `uv sync` run in `root` syncs, and so where it makes the
    virtualenv: when `root` has no pyproject.toml of its own but uv installs it (a uv.lock here, or a
    workspace above), the nearest folder above within the repository that has one; else None."""
    if (root / "pyproject.toml").is_file() or not ((root / "uv.lock").is_file() or _in_uv_workspace(root)):
        return None
    top = paths.repository(root)
    if _in_uv_workspace(root):
        # NOTE: a workspace syncs every member into the one virtualenv at its root (beside its uv.lock).
        return next(f for f in root.resolve().parents if (f / "uv.lock").is_file())
    for folder in root.resolve().parents:
        if not folder.is_relative_to(top):
            break
        if (folder / "pyproject.toml").is_file():
            return folder
    return None


def _in_uv_workspace(root: Path) -> bool:
    """True when a folder above `root`, within its repository, holds a uv workspace with its lock file."""
    top = paths.repository(root)
    for folder in root.resolve().parents:
        if not folder.is_relative_to(top):
            break
        if (folder / "uv.lock").is_file():
            tool = _toml(folder / "pyproject.toml").get("tool")
            uv = tool.get("uv") if isinstance(tool, dict) else None
            return isinstance(uv, dict) and isinstance(uv.get("workspace"), dict)
    return False


def _install_steps(d: Detected, venv: str, tests_cwd: str | None) -> tuple[list[str], str | None]:
    """The install commands, run where the service's own project is: the service folder, or a sub-project
    folder (`backend/`, holding the tests or the virtualenv) when only it has a project file; and the
    workflow file of the service's own CI when some of them are its."""
    project = tests_cwd or (PurePosixPath(venv).parts[0] if len(PurePosixPath(venv).parts) > 1 else None)
    if project is None or _has_project(d.root) or not _has_project(d.root / project):
        ours = list(_install(d.root, venv, bool(d.tests)))
        commands = _with_ci(ours, d.ci_install, venv)
        return commands, (d.ci_install[2] if d.ci_install and commands != ours else None)
    inner = os.path.relpath(venv, project).replace(os.sep, "/")
    return [
        f"(cd {shlex.quote(project)} && {c})" for c in _install(d.root / project, inner, bool(d.tests))
    ], None


def _project_of(root: Path, folder: PurePosixPath) -> str:
    """The nearest folder at or above `folder` (relative to `root`) that is a project of its own, "." when
    none below the root is."""
    inner = folder
    while inner.as_posix() not in (".", ""):
        if _has_project(root / inner):
            return inner.as_posix()
        inner = inner.parent
    return "."


def _has_project(folder: Path) -> bool:
    names = ("pyproject.toml", "setup.cfg", "requirements.txt", "uv.lock", "poetry.lock")
    if any((folder / name).is_file() for name in names):
        return True
    # NOTE: in a package, `setup.py` is one of its modules (`onyx/setup.py`), not a project's build script.
    return (folder / "setup.py").is_file() and not (folder / "__init__.py").is_file()


def _environment() -> Any:
    import jinja2

    from evidence_kit.support.resources import shipped

    folder = Path(str(shipped("templates"))) / "init"
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["q"] = _scalar
    env.filters["flow"] = _flow
    return env


def render(detected: Detected) -> dict[str, str]:
    """The text of each file `write` creates, keyed by its path relative to the root."""
    import yaml

    from evidence_kit import config

    env = _environment()
    context = _context(detected)
    made = env.get_template(dict(_TEMPLATES)[CONFIG_FILE]).render(context)
    problems = config.validate(yaml.safe_load(made), CONFIG_FILE)
    if problems:
        raise EvidenceError(
            f"the generated {CONFIG_FILE} does not validate",
            hint="this is a bug in evidence-kit's init templates: please report it with this message",
            details=problems,
        )
    parsed = config.parse(made.encode(), detected.root / CONFIG_FILE)
    context["baseline"] = _baseline(parsed)
    claims, context["create_all"] = _code_baseline(parsed)
    # NOTE: EK308's `workers` makes it judge the service as one with a queue: only a worker's claims set it.
    context["claim_workers"] = [c for c in claims if detected.job_claim(c)]
    return {name: env.get_template(template).render(context) for name, template in _TEMPLATES}


# NOTE: the checks that judge each revision on its own; a revision already applied is history.
BASELINED = ("EK201", "EK203", "EK205")


def _baseline(cfg: Config) -> dict[str, Any] | None:
    """When the migration history already fails a check of BASELINED, what the rules' `baseline` is:
    the heads of every configuration read, the findings per check, and the revisions they hold."""
    from evidence_kit.checks import _migrations
    from evidence_kit.policy.engine import run as run_checks
    from evidence_kit.policy.packs import Policy, Rule
    from evidence_kit.policy.target import Skipped, Target

    target = Target(root=cfg.root, configs=(cfg,))
    rules = tuple(Rule(check, "error") for check in BASELINED)
    found = {
        o.check: len(o.findings) for o in run_checks(Policy(("init",), rules), target).outcomes if o.findings
    }
    if not found:
        return None
    try:
        graphs = list(_migrations.graphs(target, rules[0]))
    except Skipped:
        return None
    heads = [head for _, graph in graphs for head in graph.heads]
    revisions = sum(len(graph.scripts) for _, graph in graphs)
    counted = f"{revisions} revision{'s' if revisions != 1 else ''}"
    if len(graphs) > 1:
        # NOTE: a configuration whose env.py picks a version folder per dialect (its label names the
        # folder) holds one history per dialect: one database gets only one of them, so each is counted.
        counted += (
            " ("
            + ", ".join(f"{len(g.scripts)} in {label.partition(', ')[2] or label}" for label, g in graphs)
            + ")"
        )
    return {"heads": heads, "found": found, "revisions": revisions, "counted": counted}


def _code_baseline(cfg: Config) -> tuple[list[str], list[str]]:
    """What the service's code already does that EK308 and EK307 would fail on, from the scan the codefacts
    collector makes: the files of its SKIP LOCKED claims that EK308's default `workers` globs miss, and
    the calls of SQLAlchemy's create_all/drop_all its application code makes, as EK307's `allow` takes
    them."""
    from evidence_kit.checks.gate_no_create_all import OWN_METHOD, fingerprint
    from evidence_kit.collectors import codefacts

    options = cfg.collectors.get(codefacts.NAME)
    if options is None:
        return [], []
    report = codefacts.gather_with(cfg.root, options)
    locks = report["row_locks"]
    claims = {
        str(lock["path"]) for kind in ("sql", "orm") for lock in locks[kind]["app"] if lock.get("skip_locked")
    }
    outside = sorted(c for c in claims if not any(fnmatch.fnmatch(c, g) for g in DEFAULT_WORKERS))
    from evidence_kit.redact.redactor import Redactor

    # NOTE: masked as a collect masks the code facts: a password in the code never reaches the rules file.
    redactor = Redactor.for_config(cfg, os.environ)
    # NOTE: one entry per call: EK307 allows one call per entry, so two identical calls need two.
    calls = [
        redactor.mask_text(fingerprint(c))[0]
        for c in report["schema_calls"]["app"]
        if c.get("receiver_kind") != OWN_METHOD
    ]
    # NOTE: when one claim already lies in a default worker module, EK308 passes as it is.
    return (outside if len(outside) == len(claims) else []), sorted(calls)


def write(root: Path, detected: Detected, force: bool = False) -> list[Path]:
    """Write the starter files that do not exist yet (all of them with `force`); return those written."""
    texts = render(detected)
    written: list[Path] = []
    for path, (name, _) in zip(targets(root, detected), _TEMPLATES, strict=True):
        text = texts[name]
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if force:
                tmp = path.with_name(f".{path.name}.tmp")
                try:
                    tmp.write_text(text, encoding="utf-8")
                    os.replace(tmp, path)
                finally:
                    tmp.unlink(missing_ok=True)
            else:
                with path.open("x", encoding="utf-8") as handle:
                    handle.write(text)
        except FileExistsError:
            continue
        except OSError as exc:
            raise EvidenceError(
                f"cannot write {path}: {exc.strerror or exc}",
                hint="check the folder's permissions, or run `evidence init` where you can write",
            ) from exc
        written.append(path)
    return written


def run(printer: Printer, path: Path = Path("."), *, force: bool = False) -> int:
    """`evidence init`: print what PATH holds, write the starter files, and say which were written."""
    found = detect(path)
    for line in report(found):
        printer.out(line)
    written = write(path, found, force=force)
    for target in targets(path, found):
        printer.out(
            f"wrote {target}" if target in written else f"skipped {target} (exists; --force overwrites)"
        )
    if written and found.git:
        # NOTE: EK301 reads the tree a collect records: uncommitted starter files would fail it.
        shown = " ".join(os.path.relpath(p, Path.cwd()) for p in written)
        printer.out(
            f"next: commit them (`git add {shown} && git commit`), then `evidence collect` and "
            "`evidence check --bundle <the bundle>`; uncommitted, they leave the tree dirty and EK301 fails"
        )
    return EXIT_OK
