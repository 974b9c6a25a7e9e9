"""The openapi collector: from a FastAPI app in a subprocess, from a file and from a live URL."""

from __future__ import annotations

import http.server
import importlib.util
import json
import os
import re
import secrets
import socket
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.collectors import openapi
from evidence_kit.errors import CollectorError
from evidence_kit.model import Context, Output

APP = """
from fastapi import FastAPI

print("chatter on stdout while importing")

app = FastAPI(title="Research", version="1.2.0")
helper = 3


@app.get("/company-research/runs", operation_id="listRuns")
def list_runs() -> list[int]:
    return []


@app.post("/company-research/runs", operation_id="createRun")
def create_run() -> dict[str, int]:
    return {"id": 1}


@app.get("/company-research/runs/{run_id}", operation_id="getRun")
def get_run(run_id: int) -> dict[str, int]:
    return {"id": run_id}


@app.delete("/company-research/runs/{run_id}", operation_id="deleteRun")
def delete_run(run_id: int) -> None:
    return None


@app.put("/company-research/runs/{run_id}", operation_id="replaceRun")
def replace_run(run_id: int) -> dict[str, int]:
    return {"id": run_id}


@app.get("/health", operation_id="health")
def health() -> dict[str, str]:
    return {"status": "ok"}
"""

ROUTES_TXT = "GET,POST /company-research/runs\nDELETE,GET,PUT /company-research/runs/{run_id}\nGET /health\n"
ROUTES_JSON = [
    {
        "path": "/company-research/runs",
        "methods": ["GET", "POST"],
        "operation_ids": ["listRuns", "createRun"],
    },
    {
        "path": "/company-research/runs/{run_id}",
        "methods": ["DELETE", "GET", "PUT"],
        "operation_ids": ["deleteRun", "getRun", "replaceRun"],
    },
    {"path": "/health", "methods": ["GET"], "operation_ids": ["health"]},
]


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return folder


@pytest.fixture()
def service(tmp_path: Path) -> Path:
    """A service folder holding a FastAPI app in a package: `research.main:app`."""
    return write(tmp_path / "service", {"research/__init__.py": "", "research/main.py": APP})


def collect(root: Path, **options: Any) -> dict[str, Output]:
    ctx = Context(root=root, scratch=root.parent / "scratch")
    return {o.name: o for o in openapi.collect(ctx, options)}


def data(output: Output) -> bytes:
    assert output.data is not None
    return output.data


def alive(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie waiting to be reaped counts as dead)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture()
def served_app(service: Path) -> Iterator[str]:
    """The app served by uvicorn on a free 127.0.0.1 port; yields its OpenAPI URL."""
    import uvicorn

    spec = importlib.util.spec_from_file_location("served_research_main", service / "research" / "main.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(module.app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}/openapi.json"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


@pytest.fixture()
def html_server() -> Iterator[str]:
    """A plain http.server that answers every GET with an HTML page, and 404 under /missing."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.startswith("/missing"):
                self.send_error(404, "Not Found")
                return
            body = b"<html><body>Welcome</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_from_app(service: Path) -> None:
    out = collect(service, app="research.main:app")
    assert list(out) == ["openapi.json", "routes.json", "routes.txt"]
    raw = data(out["openapi.json"])
    spec = json.loads(raw)
    assert raw == (json.dumps(spec, sort_keys=True, indent=2) + "\n").encode()
    assert spec["info"] == {"title": "Research", "version": "1.2.0"}
    assert data(out["routes.txt"]).decode() == ROUTES_TXT
    assert json.loads(data(out["routes.json"])) == ROUTES_JSON
    meta = out["openapi.json"]
    assert meta.exit_code == 0 and meta.argv is not None and meta.argv[1] == "-c"
    assert meta.started is not None and meta.finished is not None
    # NOTE: the import must not leave bytecode caches in the service's checkout.
    assert not list(service.rglob("__pycache__"))


def test_app_dir_and_dotted_attribute(tmp_path: Path) -> None:
    write(tmp_path / "service" / "src", {"research/main.py": APP + "\nclass Holder:\n    api = app\n"})
    out = collect(tmp_path / "service", app="research.main:Holder.api", app_dir="src")
    assert data(out["routes.txt"]).decode() == ROUTES_TXT


def test_a_src_layouts_app_reads_its_settings_from_the_folder_it_runs_in(tmp_path: Path) -> None:
    # NOTE: as Starlette's `Config(".env")` does: the file is read from the working folder, the project's.
    reads = 'TITLE = open(".env").read().split("=", 1)[1].strip()\n'
    app = reads + APP.replace('title="Research"', "title=TITLE")
    assert app != reads + APP
    root = write(tmp_path / "service", {"src/research/__init__.py": "", "src/research/main.py": app})
    (root / ".env").write_text("TITLE=Research\n")
    out = collect(root, app="research.main:app", app_dir="src", cwd=".")
    assert json.loads(data(out["openapi.json"]))["info"]["title"] == "Research"
    with pytest.raises(CollectorError, match="FileNotFoundError"):
        collect(root, app="research.main:app", app_dir="src")
    with pytest.raises(CollectorError, match=r"cwd \S+ is not a folder"):
        collect(root, app="research.main:app", app_dir="src", cwd="nowhere")


def test_from_json_file(service: Path) -> None:
    spec = json.loads(data(collect(service, app="research.main:app")["openapi.json"]))
    (service / "openapi.json").write_text(json.dumps(spec))
    out = collect(service, file="openapi.json")
    assert json.loads(data(out["openapi.json"])) == spec
    assert data(out["routes.txt"]).decode() == ROUTES_TXT


def test_from_yaml_file(tmp_path: Path) -> None:
    write(
        tmp_path / "service",
        {
            "api/openapi.yaml": """\
                openapi: 3.1.0
                info: {title: Jobs, version: "1"}
                paths:
                  /jobs/{id}:
                    parameters:
                      - {name: id, in: path, required: true, schema: {type: string}}
                    patch:
                      operationId: updateJob
                      responses:
                        200: {description: updated}
                    get:
                      responses:
                        200: {description: found, content: {application/json: {example: {due: 2026-01-02}}}}
                  /jobs:
                    post: {operationId: createJob, responses: {201: {description: created}}}
                  /only-params:
                    parameters: []
                """
        },
    )
    out = collect(tmp_path / "service", file="api/openapi.yaml")
    assert data(out["routes.txt"]).decode() == "POST /jobs\nGET,PATCH /jobs/{id}\n"
    assert json.loads(data(out["routes.json"])) == [
        {"path": "/jobs", "methods": ["POST"], "operation_ids": ["createJob"]},
        {"path": "/jobs/{id}", "methods": ["GET", "PATCH"], "operation_ids": ["updateJob"]},
    ]
    spec = json.loads(data(out["openapi.json"]))
    get = spec["paths"]["/jobs/{id}"]["get"]
    assert get["responses"]["200"]["content"]["application/json"]["example"] == {"due": "2026-01-02"}


def test_file_that_is_not_openapi(tmp_path: Path) -> None:
    write(tmp_path / "service", {"other.json": '{"name": "not a spec"}', "broken.json": "{nope"})
    with pytest.raises(CollectorError, match="is not an OpenAPI document"):
        collect(tmp_path / "service", file="other.json")
    with pytest.raises(CollectorError, match="is not valid JSON"):
        collect(tmp_path / "service", file="broken.json")
    with pytest.raises(CollectorError, match="does not exist"):
        collect(tmp_path / "service", file="missing.yaml")


def test_from_url(service: Path, served_app: str) -> None:
    from_url = collect(service, url=served_app)
    from_app = collect(service, app="research.main:app")
    for name in ("openapi.json", "routes.json", "routes.txt"):
        assert data(from_url[name]) == data(from_app[name]), name
    assert from_url["openapi.json"].started is not None


def test_url_not_json(tmp_path: Path, html_server: str) -> None:
    with pytest.raises(CollectorError) as caught:
        collect(tmp_path, url=f"{html_server}/openapi.json")
    assert "did not return JSON" in caught.value.message
    assert "text/html" in caught.value.message
    assert caught.value.hint


def test_url_http_error(tmp_path: Path, html_server: str) -> None:
    with pytest.raises(CollectorError, match="answered HTTP 404"):
        collect(tmp_path, url=f"{html_server}/missing/openapi.json")


def test_url_down(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/openapi.json"
    with pytest.raises(CollectorError) as caught:
        collect(tmp_path, url=url, timeout=5)
    assert caught.value.message.startswith(f"cannot fetch {url}")
    assert "start the service" in caught.value.hint


def test_import_raises(tmp_path: Path) -> None:
    write(tmp_path / "service", {"broken.py": "import os\nraise RuntimeError('DATABASE_URL is not set')\n"})
    with pytest.raises(CollectorError) as caught:
        collect(tmp_path / "service", app="broken:app")
    error = caught.value
    assert error.message == "importing broken:app failed: RuntimeError: DATABASE_URL is not set"
    assert "module path" in error.hint
    assert any("Traceback" in line for line in error.details)


def test_missing_module_and_attribute(service: Path) -> None:
    with pytest.raises(CollectorError, match="ModuleNotFoundError: No module named 'nowhere'"):
        collect(service, app="nowhere.main:app")
    with pytest.raises(CollectorError, match=r"AttributeError: .*has no attribute 'api'"):
        collect(service, app="research.main:api")
    with pytest.raises(
        CollectorError,
        match=re.escape("TypeError: research.main:helper is of type int, not an app with openapi()"),
    ):
        collect(service, app="research.main:helper")


def test_a_flask_app_is_said_to_have_no_openapi_document(tmp_path: Path) -> None:
    """A Flask app (a subclass too, as services name theirs) is named as one, with what to do."""
    # NOTE: a stand-in for Flask's package: the check reads the class's module and name.
    root = write(
        tmp_path / "service",
        {
            "flask/__init__.py": "class Flask:\n    pass\n",
            "shop.py": "from flask import Flask\n\n\nclass ShopFlask(Flask):\n    pass\n\n\n"
            "app = ShopFlask()\n",
        },
    )
    with pytest.raises(CollectorError) as caught:
        collect(root, app="shop:app")
    assert (
        "is of type ShopFlask, a Flask app (WSGI, no OpenAPI document), not an app with"
        in caught.value.message
    )
    assert (caught.value.hint or "").endswith("turn the collector off")


def test_import_hangs(tmp_path: Path) -> None:
    pids = tmp_path / "pids.txt"
    write(
        tmp_path / "service",
        {
            "hang.py": f"""\
                import os, subprocess, time
                helper = subprocess.Popen(["sleep", "600"])
                with open({str(pids)!r}, "w") as f:
                    f.write(f"{{os.getpid()}} {{helper.pid}}")
                time.sleep(600)
                """
        },
    )
    t0 = time.monotonic()
    with pytest.raises(CollectorError) as caught:
        collect(tmp_path / "service", app="hang:app", timeout=2)
    assert time.monotonic() - t0 < 10
    assert caught.value.message.startswith("importing hang:app timed out after 2 s")
    assert caught.value.hint
    child, grandchild = (int(p) for p in pids.read_text().split())
    deadline = time.monotonic() + 5
    while (alive(child) or alive(grandchild)) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)
    assert not alive(grandchild)


@pytest.mark.parametrize("app", ["research.main", "research.main:", ":app", "research/main.py:app", "a:b:c"])
def test_bad_app_format(service: Path, app: str) -> None:
    with pytest.raises(CollectorError, match="not in the form module:attribute"):
        collect(service, app=app)


def test_exactly_one_source(service: Path) -> None:
    with pytest.raises(CollectorError, match=r"exactly one of app, url or file \(got none\)"):
        collect(service)
    with pytest.raises(CollectorError, match=r"\(got app, file\)"):
        collect(service, app="research.main:app", file="openapi.json")


def test_missing_interpreter(service: Path) -> None:
    with pytest.raises(CollectorError) as caught:
        collect(service, app="research.main:app", python=".venv/bin/python")
    assert "cannot start the interpreter" in caught.value.message
    assert "`python` option" in caught.value.hint


def test_options_schema_is_valid() -> None:
    import jsonschema

    jsonschema.Draft202012Validator.check_schema(openapi.OPTIONS_SCHEMA)
    validator = jsonschema.Draft202012Validator(openapi.OPTIONS_SCHEMA)
    assert validator.is_valid({"app": "research.main:app", "timeout": 5})
    assert not validator.is_valid({"app": "research.main:app", "url": "http://x/openapi.json"})
    assert not validator.is_valid({"app": "research.main:app", "bogus": 1})
    assert all("description" in prop for prop in openapi.OPTIONS_SCHEMA["properties"].values())


def test_deterministic(service: Path) -> None:
    first = collect(service, app="research.main:app")
    second = collect(service, app="research.main:app")
    assert first.keys() == second.keys()
    for name in first:
        assert data(first[name]) == data(second[name]), name


# NOTE: a document that lists a set's items, in the order the interpreter's hash seed gives them (as
# Litestar orders some parameters), and names the seed it was made with.
SET_APP = """\
import os

from fastapi import FastAPI

TAGS = {"accounts", "billing", "customers", "events", "invoices", "jobs", "ledgers", "orders", "users"}
app = FastAPI(description=os.environ.get("PYTHONHASHSEED", "-") + ": " + ", ".join(TAGS))


@app.get("/tags")
def tags() -> list[str]:
    return sorted(TAGS)
"""


def test_an_app_that_orders_by_its_hash_seed_gives_the_same_bytes_each_collect(tmp_path: Path) -> None:
    root = write(tmp_path / "service", {"tagged/__init__.py": "", "tagged/main.py": SET_APP})
    env = {k: v for k, v in os.environ.items() if k != "PYTHONHASHSEED"}

    def document(**given: str) -> bytes:
        ctx = Context(root=root, scratch=tmp_path / "scratch", env={**env, **given})
        return data({o.name: o for o in openapi.collect(ctx, {"app": "tagged.main:app"})}["openapi.json"])

    first = document()
    assert json.loads(first)["info"]["description"].startswith("0: ")
    assert all(document() == first for _ in range(4))
    # NOTE: a seed the user's environment sets is the user's choice, and kept.
    assert json.loads(document(PYTHONHASHSEED="7"))["info"]["description"].startswith("7: ")


FACTORY_APP = """\
from fastapi import FastAPI

api = FastAPI(title="api")


@api.get("/items")
def items() -> list[int]:
    return [1]


def create_app() -> FastAPI:
    root = FastAPI(title="root", openapi_url=None)
    root.mount("/api/v1", api)
    return root


app = create_app()
"""


def test_an_app_factory_is_called(tmp_path: Path) -> None:
    root = write(tmp_path / "svc", {"svc/__init__.py": "", "svc/main.py": FACTORY_APP})
    outs = collect(root, app="svc.main:api")
    assert data(outs["routes.txt"]) == b"GET /items\n"
    assert {o.status for o in outs.values()} == {"ok"}
    factory = collect(root, app="svc.main:create_app", factory=True)
    assert json.loads(data(factory["openapi.json"]))["info"]["title"] == "root"
    # NOTE: without `factory`, a function of no arguments is called as uvicorn calls one (`app =
    # get_application`, the function, is what `uvicorn svc.main:app` serves); one that needs arguments or
    # makes no app is no app.
    called = collect(root, app="svc.main:create_app")
    assert data(called["openapi.json"]) == data(factory["openapi.json"])
    with pytest.raises(CollectorError, match="not an app with openapi"):
        collect(root, app="svc.main:items")
    (root / "svc/main.py").write_text(FACTORY_APP + "\n\ndef made(prefix):\n    return create_app()\n")
    with pytest.raises(CollectorError, match="not an app with openapi"):
        collect(root, app="svc.main:made")


def test_an_app_without_paths_is_not_ok(tmp_path: Path) -> None:
    """The served app hides its OpenAPI (`openapi_url=None`) and mounts the API: 0 routes is a warning."""
    root = write(tmp_path / "svc", {"svc/__init__.py": "", "svc/main.py": FACTORY_APP})
    outs = collect(root, app="svc.main:app")
    assert data(outs["routes.txt"]) == b""
    assert {o.status for o in outs.values()} == {"failed"}
    assert "has no paths" in (outs["routes.txt"].message or "")


def test_routes_the_app_serves_outside_its_document_are_listed_apart(tmp_path: Path) -> None:
    """`include_in_schema=False` routes are served but not in the document: listed in hidden-routes.txt
    (the app's own docs pages are not), and none of it when there are none."""
    app = (
        "from fastapi import FastAPI\n\napp = FastAPI()\n\n\n"
        "@app.get('/items')\ndef items():\n    return []\n\n\n"
        "@app.get('/api/v1/heartbeat', include_in_schema=False)\ndef beat():\n    return {}\n\n\n"
        "@app.post('/internal/reindex', include_in_schema=False)\ndef reindex():\n    return {}\n"
    )
    root = write(tmp_path / "svc", {"svc/__init__.py": "", "svc/main.py": app})
    out = collect(root, app="svc.main:app")
    assert data(out["hidden-routes.txt"]) == b"GET /api/v1/heartbeat\nPOST /internal/reindex\n"
    # NOTE: a path that holds a secret (a webhook's token) has it hidden.
    (root / "svc/main.py").write_text(
        app + "\n\n@app.post('/hooks/' + os.environ['HOOK_TOKEN'], include_in_schema=False)\n"
        "def hook():\n    return {}\n"
    )
    (root / "svc/main.py").write_text("import os\n" + (root / "svc/main.py").read_text())
    token = secrets.token_hex(20)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HOOK_TOKEN", token)
        hooked = collect(root, app="svc.main:app")
    assert b"POST /hooks/{hidden}\n" in data(hooked["hidden-routes.txt"]) and token.encode() not in data(
        hooked["hidden-routes.txt"]
    )
    assert data(out["routes.txt"]) == b"GET /items\n"
    (root / "svc/main.py").write_text(app.split("\n\n\n@app.get('/api/v1/heartbeat'")[0] + "\n")
    assert "hidden-routes.txt" not in collect(root, app="svc.main:app")
