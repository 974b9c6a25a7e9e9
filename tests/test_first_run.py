"""First run on three service shapes: `evidence init`, then `collect`, then `check`, green with no edits.

The services under `tests/services/` are modeled on real ones (written here): a template with the API
in `backend/` whose settings are built from POSTGRES_* parts; a `src/` service with two Alembic
configurations in one ini, version tables in two schemas, a branch and a merge, and a top-level app
with OpenAPI off that mounts the API app; a `server/` service in a monorepo written for Python 3.12
(PEP 695 generics, PEP 701 f-strings) with a worker that runs until stopped and logs in colour, and
an Alembic 1.13 ini. Each runs in its own virtualenv of a Python other than the tool's (pyenv's 3.10
or 3.12, made once per session), against a database of its own; evidence-kit runs as a new user
would run it, from its own interpreter, with nothing of it on the service's PATH.

The steps, as a user takes them: make the service's virtualenv and migrate its database with its
own tools, `evidence init`, commit what init wrote, `evidence collect`, `evidence check`.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import pg, pythons

pytestmark = pytest.mark.slow

SERVICES = Path(__file__).resolve().parent / "services"
PACKAGES = [
    "fastapi>=0.110",
    "sqlalchemy>=2.0",
    "alembic>=1.13",
    "psycopg[binary]>=3.1",
    "pytest>=7",
    "httpx>=0.27",
]
TOOL_BIN = str(Path(sys.executable).parent)


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def _repository(tmp_path: Path, name: str) -> Path:
    repo = tmp_path / name
    shutil.copytree(SERVICES / name, repo, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "the service")
    return repo


def _env(extra: dict[str, str]) -> dict[str, str]:
    """The user's environment: no virtualenv active, evidence-kit's own bin folder not on PATH."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "DATABASE_URL")}
    env["PATH"] = os.pathsep.join(p for p in env.get("PATH", "").split(os.pathsep) if p != TOOL_BIN)
    env.update(extra)
    return env


def _run(argv: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False)


def _evidence(service: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return _run([sys.executable, "-m", "evidence_kit", *args], service, env)


def _first_run(service: Path, env: dict[str, str]) -> tuple[str, dict[str, object], Path]:
    """init, commit, collect, check: each must succeed. Returns init's output, the manifest, the bundle."""
    init = _evidence(service, env, "init")
    assert init.returncode == 0, init.stdout + init.stderr
    _git(service, "add", "-A")
    _git(service, "commit", "-q", "-m", "evidence-kit configuration written by evidence init")
    collected = _evidence(service, env, "collect")
    bundles = sorted(p for p in (service / ".evidence").iterdir() if p.is_dir())
    assert collected.returncode == 0 and bundles, collected.stdout + collected.stderr
    manifest = json.loads((bundles[-1] / "manifest.json").read_text())
    statuses = {c["name"]: (c["status"], c.get("error")) for c in manifest["collectors"]}
    assert all(status == "ok" for status, _ in statuses.values()), statuses
    checked = _evidence(service, env, "check", ".", "--bundle", str(bundles[-1]))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    status = _run(["git", "status", "--porcelain"], service, env)
    assert status.stdout == "", "the first run left the tree dirty:\n" + status.stdout
    return init.stdout, manifest, bundles[-1]


def _alembic(venv_python: Path, cwd: Path, env: dict[str, str], *args: str) -> str:
    done = _run([str(venv_python.parent / "alembic"), *args], cwd, env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def py310(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pythons.venv(tmp_path_factory, "3.10", [*PACKAGES, "pydantic-settings>=2"])


@pytest.fixture(scope="module")
def py312(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return pythons.venv(tmp_path_factory, "3.12", PACKAGES)


@pytest.fixture()
def database(pg_admin_url: str) -> object:
    with pg.database(pg_admin_url) as url:
        yield url


def test_backend_service_with_postgres_parts(tmp_path: Path, py310: Path, database: str) -> None:
    from urllib.parse import urlsplit

    repo = _repository(tmp_path, "backend_repo")
    # NOTE: the service's virtualenv beside the service folder, at the repository's top.
    (repo / ".venv").symlink_to(py310.parent.parent)
    parts = urlsplit(database)
    password = "pw-" + "first-run"
    env = _env(
        {
            "POSTGRES_SERVER": parts.hostname or "127.0.0.1",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": parts.username or "postgres",
            "POSTGRES_PASSWORD": password,
            "POSTGRES_DB": parts.path.lstrip("/"),
        }
    )
    service = repo / "backend"
    _alembic(py310, service, env, "upgrade", "head")
    said, _, bundle = _first_run(service, env)
    assert "found the service's interpreter: ../.venv/bin/python (../.venv, Python 3.10)" in said
    assert "found app: app.main:app (in app/main.py)" in said
    # NOTE: no DATABASE_URL anywhere: the URL is built from the service's own POSTGRES_* settings.
    template = "postgresql://${POSTGRES_USER}:${POSTGRES_PASSWORD}@${POSTGRES_SERVER}:${POSTGRES_PORT:-5432}/${POSTGRES_DB}"
    assert f"url: {json.dumps(template)}" in (service / "evidence.yaml").read_text()
    assert "found tests: tests" in said and "frontend" not in said.split("found tests:")[1].splitlines()[0]
    workflow = repo / ".github" / "workflows" / "evidence.yml"
    assert workflow.is_file() and not (service / ".github").exists()
    text = workflow.read_text()
    assert 'python-version: "3.10"' in text and "working-directory: backend" in text
    for name in ("POSTGRES_SERVER", "POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB"):
        assert f"{name}:" in text
    environment = json.loads((bundle / "data" / "environment" / "environment.json").read_text())
    assert environment["python"]["version"].startswith("3.10.")
    routes = (bundle / "data" / "openapi" / "routes.txt").read_text()
    assert "GET /api/v1/items/" in routes
    heads = (bundle / "data" / "alembic" / "heads.txt").read_text()
    assert heads == _alembic(py310, service, env, "heads")
    assert password not in "".join(p.read_text(errors="replace") for p in bundle.rglob("*") if p.is_file())


def test_src_service_with_two_alembic_configurations(tmp_path: Path, py312: Path, database: str) -> None:
    repo = _repository(tmp_path, "src_repo")
    (repo / ".venv").symlink_to(py312.parent.parent)
    env = _env({"DATABASE_URL": database})
    _alembic(py312, repo, env, "upgrade", "head")
    _alembic(py312, repo, env, "-n", "tenant", "upgrade", "head")
    said, _, bundle = _first_run(repo, env)
    assert "found app: tenancy.api.app:api_app (in src/tenancy/api/app.py, app_dir src" in said
    assert "found pytest's testpaths: tests" in said
    data = bundle / "data"
    assert (data / "alembic" / "alembic" / "heads.txt").read_text() == _alembic(py312, repo, env, "heads")
    assert (data / "alembic" / "tenant" / "heads.txt").read_text() == _alembic(
        py312, repo, env, "-n", "tenant", "heads"
    )
    graph = json.loads((data / "alembic" / "alembic" / "history.json").read_text())
    assert graph["branch_points"] == ["1a2b3c4d5e6f"] and graph["merge_points"] == ["4d5e6f708192"]
    tenant = json.loads((data / "alembic" / "tenant" / "current.json").read_text())
    assert list(tenant["schemas"]) == ["tenant"] and tenant["up_to_date"]
    routes = (data / "openapi" / "routes.txt").read_text()
    assert routes == "GET /organisations\nGET /organisations/{org_id}/members\n"


def test_server_service_in_python_312(tmp_path: Path, py312: Path, database: str) -> None:
    if sys.version_info >= (3, 12):
        pytest.skip("needs a tool Python older than the service's 3.12 syntax")
    repo = _repository(tmp_path, "server_repo")
    service = repo / "server"
    (service / "venv").symlink_to(py312.parent.parent)
    env = _env({"DATABASE_URL": database})
    _alembic(py312, service, env, "upgrade", "head")
    said, _, bundle = _first_run(service, env)
    assert "found the service's interpreter: venv/bin/python (venv, Python 3.12)" in said
    assert "found a loop with --once worker: jobs/worker.py (runs as `python -m jobs.worker --once`)" in said
    facts = json.loads((bundle / "data" / "codefacts" / "codefacts.json").read_text())
    assert facts["files"]["unparsable"] == 0 and facts["files"]["parsed_by_service_python"] >= 3
    graph = json.loads((bundle / "data" / "alembic" / "history.json").read_text())
    assert graph["count"] == 2
    assert (bundle / "data" / "alembic" / "heads.txt").read_text() == _alembic(py312, service, env, "heads")
    assert "GET /jobs/summary" in (bundle / "data" / "openapi" / "routes.txt").read_text()
    assert (repo / ".github" / "workflows" / "evidence.yml").is_file()
    workflows = json.loads((bundle / "data" / "ci" / "workflows.json").read_text())
    assert [w["file"] for w in workflows["workflows"]] == ["../.github/workflows/evidence.yml"]
