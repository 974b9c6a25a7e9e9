"""One import of the app per collect: the openapi collector reads the document from the service the http
collector started, byte-equal to what importing the app gives, and imports only when that cannot be."""

from __future__ import annotations

import json
import os
import sys
import textwrap
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from evidence_kit import config
from evidence_kit.cli import app
from evidence_kit.collectors import openapi
from evidence_kit.commands.collect import collect
from evidence_kit.plan import plan
from tests.collectors.test_http import free_port

# NOTE: every import of the module adds a line to the file named by IMPORTS_LOG, so a test can count them.
APP = """
import os

from fastapi import FastAPI

with open(os.environ["IMPORTS_LOG"], "a") as log:
    log.write(f"{os.getpid()}\\n")

app = FastAPI(title="Ledger", version="3.1.0")


@app.get("/health", operation_id="health")
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.get("/accounts/{account_id}", operation_id="getAccount", tags=["accounts"])
def get_account(account_id: int, verbose: bool = False) -> dict[str, int]:
    \"\"\"One account, with its balance in cents (Ünïcode stays as written).\"\"\"
    return {"id": account_id}


@app.post("/accounts", operation_id="openAccount", status_code=201, deprecated=True)
def open_account(name: str, limit: float = 2.5) -> dict[str, str]:
    return {"name": name}


def create_app() -> FastAPI:
    return app
"""


def uvicorn(app: str, port: int, *extra: str) -> list[str]:
    return [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port), *extra]


def service(
    tmp_path: Path,
    *,
    openapi_extra: str = "",
    http_extra: str = "",
    serve: Callable[[int], list[str]] = lambda port: uvicorn("ledger.main:app", port),
) -> tuple[Path, Path]:
    """A tiny service whose imports are counted, and its evidence.yaml with http.serve and openapi.app."""
    root = tmp_path / "svc"
    (root / "ledger").mkdir(parents=True)
    (root / "ledger" / "__init__.py").write_text("")
    (root / "ledger" / "main.py").write_text(APP)
    port = free_port()
    argv = serve(port)
    cfg = root / "evidence.yaml"
    cfg.write_text(
        textwrap.dedent(
            f"""\
            service: ledger
            output: out
            collectors:
              http:
                base_url: http://127.0.0.1:{port}
                captures: [{{name: health, path: /health}}]
                serve: {{command: {json.dumps(argv)}, ready_url: /health, start_timeout: 60}}
            """
        )
        + textwrap.indent(http_extra, "    ")
        + "  openapi:\n    app: ledger.main:app\n"
        + textwrap.indent(openapi_extra, "    ")
    )
    return root, cfg


def run(root: Path, cfg: Path, out: str) -> tuple[dict[str, Any], dict[str, bytes], int]:
    """Collect; (manifest, artifact bytes by bundle path, imports of the app)."""
    log = root / f"{out}.imports"
    log.write_text("")
    env = {**os.environ, "IMPORTS_LOG": str(log), "PYTHONDONTWRITEBYTECODE": "1"}
    summary = collect(config.load(cfg), out=root / out, env=env)
    files = {
        rec["path"]: (summary.bundle / rec["path"]).read_bytes() for rec in summary.manifest["artifacts"]
    }
    return summary.manifest, files, len(log.read_text().split())


def record(manifest: dict[str, Any], path: str) -> dict[str, Any]:
    return next(rec for rec in manifest["artifacts"] if rec["path"] == path)


DOC = "data/openapi/openapi.json"
ROUTES = ("data/openapi/routes.json", "data/openapi/routes.txt")


def test_the_app_is_imported_once_and_the_served_document_equals_the_imported_one(tmp_path: Path) -> None:
    root, cfg = service(tmp_path)
    manifest, files, imports = run(root, cfg, "served")
    assert imports == 1, "the serve command imports the app; the openapi collector must not import it again"
    assert all(r["status"] == "ok" for r in manifest["artifacts"]), manifest["artifacts"]
    doc = record(manifest, DOC)
    assert "served at http://127.0.0.1:" in doc["title"] and doc["title"].endswith("/openapi.json)")
    assert doc["argv"] is None, "nothing was started to read it"

    cfg.write_text(cfg.read_text() + "    served_at: false\n")
    imported, again, imports = run(root, cfg, "imported")
    assert imports == 2, "with served_at: false the app is imported beside the service"
    assert "served at" not in record(imported, DOC)["title"]
    for path in (DOC, *ROUTES):
        assert files[path] == again[path], f"{path} differs between the served and the imported document"
    assert json.loads(files[DOC])["paths"]["/accounts"]["post"]["deprecated"] is True


def test_the_plan_shows_the_openapi_collector_waiting_for_the_service(tmp_path: Path) -> None:
    _root, cfg = service(tmp_path)
    steps = {s.collector: s for s in plan(config.load(cfg)).steps}
    assert steps["openapi"].waits_for == ("http",)
    assert steps["openapi"].intent.runs == ()
    (read,) = steps["openapi"].intent.reads
    assert read.startswith("the OpenAPI document of ledger.main:app at http://127.0.0.1:")
    assert read.endswith(
        "/openapi.json, read by the http collector (`serve.command` runs ledger.main:app);"
        " imported if that fails"
    )
    assert (
        steps["http"]
        .intent.reads[-1]
        .endswith("/openapi.json: the OpenAPI document, for the openapi collector")
    )


def test_a_document_the_service_does_not_serve_is_imported_with_the_reason(tmp_path: Path) -> None:
    root, cfg = service(tmp_path, openapi_extra="served_at: /docs/missing.json\n")
    manifest, files, imports = run(root, cfg, "out")
    assert imports == 2
    doc = record(manifest, DOC)
    assert doc["status"] == "ok" and "served at" not in doc["title"]
    assert "/docs/missing.json: HTTP 404" in doc["message"] and doc["message"].endswith("; imported")
    assert json.loads(files[DOC])["info"]["title"] == "Ledger"
    # NOTE: the console says it too, under the collector's line, though the collector is ok; masked.
    token = "tok" + "Zq81" * 4
    served_at = "served_at: /docs/missing.json"
    cfg.write_text(cfg.read_text().replace(served_at, f"{served_at}?key={token}"))
    env = {"IMPORTS_LOG": str(root / "cli.imports"), "PYTHONDONTWRITEBYTECODE": "1", "LEDGER_TOKEN": token}
    res = CliRunner().invoke(app, ["collect", "-c", str(cfg), "--out", str(root / "cli")], env=env)
    assert res.exit_code == 0, res.output
    lines = res.output.splitlines()
    line = next(i for i, text in enumerate(lines) if text.split()[:2] == ["ok", "openapi"])
    assert lines[line + 1].strip().startswith("not read from the service the http collector started (GET ")
    assert lines[line + 1].endswith("HTTP 404); imported") and "/docs/missing.json?key=" in lines[line + 1]
    assert token not in res.output


def test_a_service_that_never_gets_ready_leaves_the_import(tmp_path: Path) -> None:
    root, cfg = service(
        tmp_path, openapi_extra="served_at: /openapi.json\n", serve=lambda port: ["sh", "-c", "exit 4"]
    )
    cfg.write_text(cfg.read_text().replace("start_timeout: 60", "start_timeout: 5"))
    manifest, _files, imports = run(root, cfg, "out")
    doc = record(manifest, DOC)
    assert doc["status"] == "ok" and "did not start or did not get ready" in doc["message"]
    assert imports == 1, "only the openapi collector's import"
    assert record(manifest, "data/http/server.log")["status"] == "error"


def test_an_http_collector_that_waits_for_openapi_keeps_the_import(tmp_path: Path) -> None:
    root, cfg = service(tmp_path, http_extra="after: [openapi]\n")
    steps = {s.collector: s for s in plan(config.load(cfg)).steps}
    assert steps["http"].waits_for == ("openapi",) and steps["openapi"].waits_for == ()
    assert steps["openapi"].intent.reads == (
        "the OpenAPI document of ledger.main:app, imported, not read from the service: "
        "the http collector waits for the openapi one (`after:`)",
    )
    assert steps["openapi"].intent.runs[0].line.startswith("python -c")
    manifest, _, imports = run(root, cfg, "out")
    assert imports == 2
    assert "served at" not in record(manifest, DOC)["title"]


def test_a_factory_served_by_uvicorn_is_read_from_the_service(tmp_path: Path) -> None:
    root, cfg = service(
        tmp_path,
        openapi_extra="factory: true\n",
        serve=lambda port: uvicorn("ledger.main:create_app", port, "--factory"),
    )
    cfg.write_text(cfg.read_text().replace("app: ledger.main:app", "app: ledger.main:create_app"))
    manifest, files, imports = run(root, cfg, "out")
    assert imports == 1 and "served at" in record(manifest, DOC)["title"]
    assert json.loads(files[DOC])["info"]["version"] == "3.1.0"


def options(command: Any, **serve: Any) -> dict[str, Any]:
    return {"base_url": "http://127.0.0.1:8000", "captures": [], "serve": {"command": command, **serve}}


UVICORN = "uvicorn ledger.main:app --port 8000"


SERVED = "/openapi.json"


@pytest.mark.parametrize(
    ("app", "http", "expected", "why"),
    [
        ({}, options(UVICORN), SERVED, "`serve.command` runs ledger.main:app"),
        ({}, options(UVICORN.split()), SERVED, "runs"),
        ({}, options(f"exec {UVICORN} --workers 2"), SERVED, "runs"),
        ({}, options("gunicorn -k uvicorn.workers.UvicornWorker ledger.main:app"), SERVED, "runs"),
        ({"app_dir": "backend"}, options(UVICORN, cwd="backend"), SERVED, "runs"),
        ({"app_dir": "backend"}, options(f"{UVICORN} --app-dir backend"), None, "runs in another folder"),
        ({"app_dir": "backend"}, options(f"{UVICORN} --app-dir .", cwd="backend"), SERVED, "runs"),
        ({"app_dir": "src", "cwd": "."}, options(f"{UVICORN} --app-dir src"), SERVED, "runs"),
        ({"app_dir": "src", "cwd": "."}, options(UVICORN), None, "imports from another folder"),
        ({"app_dir": "src", "cwd": "."}, options(UVICORN, cwd="src"), None, "runs in another folder"),
        ({}, options(f"FEATURE_ADMIN=1 {UVICORN}"), None, "sets environment variables"),
        ({}, options(f"env FEATURE_ADMIN=1 {UVICORN}"), None, "chains shell commands"),
        ({}, options(f"export FEATURE_ADMIN=1\n{UVICORN}"), None, "chains shell commands"),
        ({}, options(f"{UVICORN} --env-file .env.admin"), None, "sets environment variables"),
        ({}, options(f"{UVICORN} --env-file=.env.admin"), None, "sets environment variables"),
        ({}, options("gunicorn -e FEATURE_ADMIN=1 ledger.main:app"), None, "sets environment variables"),
        ({}, options(f"docker compose run api {UVICORN}"), None, "starts docker, not python"),
        ({}, options(f"/usr/bin/python3 -m {UVICORN}"), None, "starts /usr/bin/python3, not python"),
        ({}, options(f"other/bin/python -m {UVICORN}"), None, "starts other/bin/python, not python"),
        ({}, options("hypercorn ledger.main:app"), None, "starts hypercorn, not python"),
        ({"python": ".venv"}, {**options(f".venv/bin/{UVICORN}"), "python": ".venv"}, SERVED, "runs"),
        ({}, options(f"python3.12 -m {UVICORN}"), SERVED, "runs"),
        ({"app_dir": "backend"}, options("gunicorn --chdir=backend ledger.main:app"), SERVED, "runs"),
        ({}, options(UVICORN, env={"PYTHONPATH": ".", "PORT": "8000"}), SERVED, "runs"),
        ({"python": ".venv"}, {**options(UVICORN), "python": ".venv/bin/python"}, SERVED, "runs"),
        ({"served_at": "/v2/openapi.json"}, options("svc-server start"), "/v2/openapi.json", "names it"),
        ({"served_at": False}, options(UVICORN), None, "`served_at: false`"),
        ({}, options("uvicorn ledger.main:api"), None, "does not name ledger.main:app"),
        ({}, options("uvicorn ledger.main:app.sub"), None, "does not name"),
        ({}, options(f"{UVICORN} --root-path /v1"), None, "sets --root-path"),
        ({}, options(f"{UVICORN} --root-path=/v1"), None, "sets --root-path"),
        ({}, options(f"{UVICORN} --factory"), None, "disagree on calling a factory"),
        ({"factory": True}, options(UVICORN), None, "disagree on calling a factory"),
        ({"python": "other/bin/python"}, options(UVICORN), None, "other interpreters"),
        ({}, {**options(UVICORN), "python": "other"}, None, "other interpreters"),
        ({"python": "no/such/python"}, options(UVICORN), None, "cannot tell the interpreters apart"),
        ({"app_dir": "backend"}, options(UVICORN), None, "another folder"),
        ({}, options(f"cd backend && {UVICORN}"), None, "chains shell commands"),
        ({}, options(f"alembic upgrade head; {UVICORN}"), None, "chains shell commands"),
        ({}, options("uvicorn 'ledger.main:app"), None, "cannot be split into words"),
        ({}, options(UVICORN, env={"LEDGER_METRICS": "true"}), None, "`serve.env` sets LEDGER_METRICS"),
    ],
)
def test_when_the_served_document_is_the_apps(
    tmp_path: Path, app: dict[str, Any], http: dict[str, Any], expected: str | None, why: str
) -> None:
    for venv in (".venv", "other"):
        for name in ("python", "python3.12", "uvicorn", "gunicorn"):
            program = tmp_path / venv / "bin" / name
            program.parent.mkdir(parents=True, exist_ok=True)
            program.write_text("#!/bin/sh\n")
            program.chmod(0o755)
    chosen = {"app": "ledger.main:app", **app}
    path, reason = openapi.served(chosen, http, tmp_path, ".venv/bin/python", {"PATH": "/usr/bin:/bin"})
    assert (path, why in reason) == (expected, True), reason


def test_the_top_level_python_stands_for_a_collector_without_one(tmp_path: Path) -> None:
    for name in ("python", "uvicorn"):
        program = tmp_path / ".venv" / "bin" / name
        program.parent.mkdir(parents=True, exist_ok=True)
        program.write_text("#!/bin/sh\n")
        program.chmod(0o755)
    http, path = options(UVICORN), {"PATH": "/usr/bin:/bin"}
    app = {"app": "ledger.main:app", "python": ".venv"}
    assert openapi.served(app, http, tmp_path, ".venv/bin/python", path)[0] == SERVED
    assert openapi.served(app, http, tmp_path, None, path)[0] is None


def test_a_root_path_from_the_environment_keeps_the_import(tmp_path: Path) -> None:
    app = {"app": "ledger.main:app"}
    # NOTE: no `python` anywhere: the import runs in evidence-kit's interpreter, uvicorn must be beside it.
    bindir = str(Path(sys.executable).parent)
    assert openapi.served(app, options(UVICORN), tmp_path, env={"PATH": bindir})[0] == SERVED
    assert openapi.served(app, options(UVICORN), tmp_path, env={"PATH": "/usr/bin:/bin"})[0] is None
    root_path = {"PATH": bindir, "UVICORN_ROOT_PATH": "/ledger"}
    path, why = openapi.served(app, options(UVICORN), tmp_path, env=root_path)
    assert path is None and why == "the environment sets UVICORN_ROOT_PATH for the server"


def test_without_serve_or_without_app_nothing_is_served(tmp_path: Path) -> None:
    running = {"base_url": "http://127.0.0.1:8000", "captures": []}
    assert openapi.served({"app": "ledger.main:app"}, running, tmp_path) == (
        None,
        "the http collector starts no service (no `serve:`)",
    )
    assert openapi.served({"app": "ledger.main:app"}, None, tmp_path)[0] is None
    assert (
        openapi.served({"url": "http://127.0.0.1:8000/openapi.json"}, options(UVICORN), tmp_path)[0] is None
    )


def test_a_served_document_with_servers_is_not_taken_for_the_imported_one(tmp_path: Path) -> None:
    root, cfg = service(
        tmp_path,
        openapi_extra="served_at: /openapi.json\n",
        serve=lambda port: uvicorn("ledger.main:app", port, "--root-path", "/ledger"),
    )
    manifest, files, imports = run(root, cfg, "out")
    doc = record(manifest, DOC)
    assert imports == 2 and "served at" not in doc["title"]
    assert "/openapi.json lists `servers`, which an import may not); imported" in doc["message"]
    assert "servers" not in json.loads(files[DOC])


def test_a_document_that_cannot_be_kept_costs_only_the_import(tmp_path: Path) -> None:
    from evidence_kit.collectors import http
    from evidence_kit.model import Handoff

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b'{"openapi": "3.1.0", "paths": {}}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        blocker = tmp_path / "blocker"
        blocker.write_text("a file where a folder should be")
        base = f"http://127.0.0.1:{server.server_address[1]}"
        http.fetch(base, Handoff("/openapi.json", blocker / "doc.json", tmp_path / "meta.json", 5), {})
        fetched = json.loads((tmp_path / "meta.json").read_text())
        assert fetched["status"] == 200 and fetched["error"].startswith("cannot keep the document:")
        assert "cannot keep the document" in openapi._from_served(
            Handoff("/openapi.json", blocker / "doc.json", tmp_path / "meta.json", 5)
        )
        http.fetch(base, Handoff("/openapi.json", blocker / "doc.json", blocker / "meta.json", 5), {})
    finally:
        server.shutdown()
        server.server_close()


def test_a_served_page_that_is_no_document_is_named_by_its_status_and_type(tmp_path: Path) -> None:
    """An SPA's catch-all answers every path with its HTML page and 200; a missing path answers 404."""
    from evidence_kit.collectors import http
    from evidence_kit.model import Handoff

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/openapi.json"
            body = b"<!doctype html><html></html>" if found else b'{"status_code": 404}'
            self.send_response(200 if found else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8" if found else "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        page = Handoff("/openapi.json", tmp_path / "page.json", tmp_path / "page.meta.json", 5)
        http.fetch(base, page, {})
        assert openapi._from_served(page) == (
            f"GET {base}/openapi.json answered HTTP 200 with Content-Type text/html; charset=utf-8, not JSON "
            "(starts with '<!doctype html><html></html>')"
        )
        missing = Handoff("/schema/openapi.json", tmp_path / "doc.json", tmp_path / "doc.meta.json", 5)
        http.fetch(base, missing, {})
        assert openapi._from_served(missing) == f"GET {base}/schema/openapi.json: HTTP 404"
    finally:
        server.shutdown()
        server.server_close()
