"""The http collector against the real example service under uvicorn, and a tiny misbehaving server."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.collectors import http
from evidence_kit.errors import CollectorError
from evidence_kit.model import Context, Output
from tests.conftest import EXAMPLE

PROOF = "command/lifecycle-proof.stdout.txt"
ID_VARS = {
    "success_id": {"artifact": PROOF, "pattern": r"RUN_SUCCESS_ID=(\S+)"},
    "cancel_id": {"artifact": PROOF, "pattern": r"RUN_CANCEL_ID=(\S+)"},
}
EVENT_CAPTURES = [
    {"name": "health", "path": "/health"},
    {"name": "events-success", "path": "/runs/{success_id}/events"},
    {"name": "events-cancel", "path": "/runs/{cancel_id}/events"},
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def by_name(outputs: list[Output]) -> dict[str, Output]:
    return {o.name: o for o in outputs}


def body(output: Output) -> bytes:
    return output.data if output.data is not None else output.source.read_bytes()  # type: ignore[union-attr]


def meta(outputs: list[Output], name: str) -> Any:
    return json.loads(body(by_name(outputs)[f"{name}.meta.json"]))


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str], Path]:
    """The example service migrated on a SQLite file, its lifecycle proof run; (root, env, proof stdout)."""
    base = tmp_path_factory.mktemp("http")
    root = base / "jobs_service"
    shutil.copytree(EXAMPLE, root, ignore=shutil.ignore_patterns("__pycache__", "*.db", ".evidence"))
    bin_ = Path(sys.executable).parent
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{base / 'jobs.db'}",
        "PYTHONPATH": ".",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PATH": f"{bin_}{os.pathsep}{os.environ['PATH']}",
    }
    for argv in ([str(bin_ / "alembic"), "upgrade", "head"], [sys.executable, "proofs/lifecycle_proof.py"]):
        done = subprocess.run(argv, cwd=root, env=env, capture_output=True, timeout=180)
        assert done.returncode == 0, (done.stdout + done.stderr).decode()
    proof = base / "lifecycle-proof.stdout.txt"
    proof.write_bytes(done.stdout)
    return root, env, proof


def uvicorn_argv(port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "jobs_service.app:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]


@pytest.fixture(scope="module")
def live(service: tuple[Path, dict[str, str], Path]) -> Iterator[str]:
    """The example service under uvicorn on a free port; its base URL."""
    root, env, _ = service
    port = free_port()
    server = subprocess.Popen(
        uvicorn_argv(port), cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 30
        while not port_open(port):
            assert server.poll() is None and time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def ctx(tmp_path: Path, root: Path | None = None, env: dict[str, str] | None = None, **kw: Any) -> Context:
    return Context(root=root or tmp_path, scratch=tmp_path / "scratch", env=env or dict(os.environ), **kw)


def test_captures_health_and_events_with_ids_from_an_earlier_artifact(
    tmp_path: Path, service: tuple[Path, dict[str, str], Path], live: str
) -> None:
    root, env, proof = service
    text = proof.read_text()
    success_id = text.split("RUN_SUCCESS_ID=")[1].split()[0]
    cancel_id = text.split("RUN_CANCEL_ID=")[1].split()[0]
    options = {"base_url": live, "vars": ID_VARS, "captures": EVENT_CAPTURES}
    outs = http.collect(ctx(tmp_path, root, env, earlier={PROOF: proof}), options)
    by = by_name(outs)
    assert sorted(by) == sorted(f"{c['name']}{s}" for c in EVENT_CAPTURES for s in (".json", ".meta.json"))
    assert all(o.status == "ok" for o in outs), [(o.name, o.message) for o in outs]
    assert json.loads(body(by["health.json"]))["status"] == "ok"
    success = json.loads(body(by["events-success.json"]))
    cancel = json.loads(body(by["events-cancel.json"]))
    assert {e["run_id"] for e in success} == {success_id}
    assert success[0]["event_type"] == "worker_completed"
    assert {e["run_id"] for e in cancel} == {cancel_id}
    assert cancel[0]["event_type"] == "worker_cancelled"
    assert body(by["events-success.json"]) == (json.dumps(success, sort_keys=True, indent=2) + "\n").encode()
    info = meta(outs, "events-success")
    assert info["url"] == f"{live}/runs/{success_id}/events"
    assert info["status"] == 200 and info["expect"] == 200
    assert info["headers"] == {"content-type": "application/json"}
    assert "RUN_SUCCESS_ID" in info["placeholders"]["success_id"]
    again = http.collect(ctx(tmp_path, root, env, earlier={PROOF: proof}), options)
    assert [body(o) for o in again] == [body(o) for o in outs]


def test_serve_starts_the_service_and_stops_its_process_group(
    tmp_path: Path, service: tuple[Path, dict[str, str], Path]
) -> None:
    root, env, proof = service
    port = free_port()
    options = {
        "base_url": f"http://127.0.0.1:{port}",
        "vars": ID_VARS,
        "captures": EVENT_CAPTURES,
        # NOTE: under a shell, so that stopping must reach uvicorn, a child of the group leader.
        "serve": {
            "command": " ".join(uvicorn_argv(port)),
            "env": {"PYTHONPATH": "."},
            "ready_url": "/health",
            "start_timeout": 60,
        },
    }
    outs = http.collect(ctx(tmp_path, root, env, earlier={PROOF: proof}), options)
    by = by_name(outs)
    assert all(o.status == "ok" for o in outs), [(o.name, o.message) for o in outs]
    assert json.loads(body(by["events-success.json"]))[0]["event_type"] == "worker_completed"
    log = body(by["server.log"]).decode()
    assert "Uvicorn running" in log and '/events HTTP/1.1" 200' in log
    assert "Application shutdown complete" in log, "uvicorn was killed instead of stopped"
    assert by["server.log"].argv == ("sh", "-c", options["serve"]["command"])  # type: ignore[index]
    assert not port_open(port), "the service outlived the collector"


def test_a_service_that_never_gets_ready_is_an_error_with_its_log_tail(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    options = {
        "base_url": f"http://127.0.0.1:{free_port()}",
        "captures": [{"name": "health", "path": "/health"}],
        "serve": {
            "command": f"echo $$ > {pidfile}; "
            "printf '\\033[32mINFO\\033[0m warming up the flux capacitor\\n'; exec sleep 60",
            "ready_url": "/health",
            "start_timeout": 2,
        },
    }
    t0 = time.monotonic()
    outs = http.collect(ctx(tmp_path), options)
    assert time.monotonic() - t0 < 15
    assert [o.name for o in outs] == ["server.log"]
    assert outs[0].status == "error"
    message = outs[0].message or ""
    assert "did not answer 2xx within 2 s" in message and "captures not attempted" in message
    # NOTE: the option that gives a slow service more time is named; the log tail is as a terminal shows it.
    assert "a service slow to start needs a longer `serve.start_timeout`" in message
    assert "INFO warming up the flux capacitor" in message and "\x1b" not in message
    pid = int(pidfile.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_a_service_that_exits_is_an_error_with_its_log_tail(tmp_path: Path) -> None:
    options = {
        "base_url": f"http://127.0.0.1:{free_port()}",
        "captures": [{"name": "health", "path": "/health"}],
        "serve": {"command": "echo cannot bind >&2; exit 3", "ready_url": "/health"},
    }
    outs = http.collect(ctx(tmp_path), options)
    assert outs[0].status == "error" and outs[0].exit_code == 3
    assert "exited with code 3" in (outs[0].message or "") and "cannot bind" in (outs[0].message or "")


def test_the_service_runs_with_a_fixed_hash_seed_unless_one_is_set(tmp_path: Path) -> None:
    """What a service serves may follow a set's iteration order: a fixed seed gives the same bytes on every
    collect; a seed the user sets in `serve.env` is kept."""
    serve = {"command": "echo seed=$PYTHONHASHSEED >&2; exit 3", "ready_url": "/health"}
    options = {"base_url": f"http://127.0.0.1:{free_port()}", "captures": [], "serve": serve}
    assert "seed=0" in (http.collect(ctx(tmp_path), options)[0].message or "")
    options["serve"] = {**serve, "env": {"PYTHONHASHSEED": "7"}}
    assert "seed=7" in (http.collect(ctx(tmp_path), options)[0].message or "")


def test_serve_refuses_a_port_already_taken(tmp_path: Path, live: str) -> None:
    options = {
        "base_url": live,
        "captures": [{"name": "health", "path": "/health"}],
        "serve": {"command": "sleep 60", "ready_url": "/health"},
    }
    with pytest.raises(CollectorError, match="already listens"):
        http.collect(ctx(tmp_path), options)


def test_endpoint_down_is_an_error(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    outs = http.collect(ctx(tmp_path), {"base_url": url, "captures": [{"name": "health", "path": "/health"}]})
    assert [o.name for o in outs] == ["health.meta.json"]
    assert outs[0].status == "error" and "refused" in (outs[0].message or "").lower()
    info = meta(outs, "health")
    assert info["url"] == f"{url}/health" and info["status"] is None and info["error"]


class Handler(BaseHTTPRequestHandler):
    """Answers the paths the tests need, badly on purpose."""

    def do_GET(self) -> None:
        routes: dict[str, tuple[int, str, bytes]] = {
            "/boom": (500, "application/json", b'{"detail": "boom"}'),
            "/text": (200, "text/plain; charset=utf-8", b"plain words\n"),
            "/badjson": (200, "application/json", b"<html>not json</html>"),
            "/problem": (404, "application/problem+json", b'{"title": "gone", "status": 404}'),
            "/echo": (200, "application/json", json.dumps(dict(self.headers.items())).encode()),
            "/token": (200, "text/plain", self.headers.get("Authorization", "").partition(" ")[2].encode()),
        }
        if self.path == "/slow":
            time.sleep(3)
            routes["/slow"] = (200, "application/json", b"{}")
        status, content_type, payload = routes.get(self.path, (404, "text/plain", b"no\n"))
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("X-Custom", "kept")
        self.send_header("Authorization-Echo", self.headers.get("Authorization", ""))
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def odd() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_status_mismatch_non_json_and_timeouts(tmp_path: Path, odd: str) -> None:
    captures = [
        {"name": "boom", "path": "/boom"},
        {"name": "boom-expected", "path": "/boom", "expect": 500},
        {"name": "text", "path": "/text", "headers": ["Content-Type", "x-custom", "x-absent"]},
        {"name": "badjson", "path": "/badjson"},
        {"name": "problem", "path": "/problem", "expect": 404},
        {"name": "slow", "path": "/slow"},
    ]
    outs = http.collect(ctx(tmp_path), {"base_url": odd, "captures": captures, "timeout": 1})
    by = by_name(outs)
    assert by["boom.json"].status == "failed" and by["boom.meta.json"].status == "failed"
    assert "status 500, expected 200" in (by["boom.json"].message or "")
    assert json.loads(body(by["boom.json"])) == {"detail": "boom"}
    assert by["boom-expected.json"].status == "ok"
    assert by["text.txt"].status == "ok" and body(by["text.txt"]) == b"plain words\n"
    assert meta(outs, "text")["headers"] == {
        "content-type": "text/plain; charset=utf-8",
        "x-absent": None,
        "x-custom": "kept",
    }
    assert by["badjson.txt"].status == "error" and "not JSON" in (by["badjson.txt"].message or "")
    assert body(by["badjson.txt"]) == b"<html>not json</html>"
    assert by["problem.json"].status == "ok" and json.loads(body(by["problem.json"]))["title"] == "gone"
    assert "slow.json" not in by and by["slow.meta.json"].status == "error"
    assert "timed out after 1 s" in (by["slow.meta.json"].message or "")


def test_request_headers_come_from_env_and_are_never_stored(tmp_path: Path, odd: str) -> None:
    secret = "Bearer s3cr3t-t0ken-value-424242"
    env = {**os.environ, "EK_HTTP_AUTH": secret}
    options = {
        "base_url": odd,
        "headers": {"Authorization": {"env": "EK_HTTP_AUTH"}},
        "captures": [
            {"name": "echo", "path": "/echo", "headers": ["content-type", "authorization-echo"]},
            {"name": "token", "path": "/token"},
        ],
    }
    outs = http.collect(ctx(tmp_path, env=env), options)
    echoed = json.loads(body(by_name(outs)["echo.json"]))
    assert echoed["Authorization"] == "[REDACTED]", "the server got the header; the artifact must not keep it"
    assert body(by_name(outs)["token.txt"]) == b"[REDACTED]"
    info = meta(outs, "echo")
    assert info["request_headers"] == {"Authorization": "[REDACTED]"}
    assert info["headers"]["authorization-echo"] == "[REDACTED]"
    for output in outs:
        assert secret.encode() not in body(output) and b"s3cr3t" not in body(output)
        assert "s3cr3t" not in (output.message or "")
    with pytest.raises(CollectorError, match="EK_HTTP_AUTH, which is not set"):
        http.collect(ctx(tmp_path, env={"PATH": os.environ["PATH"]}), options)


def test_missing_placeholder_values_name_the_variable_and_its_source(tmp_path: Path, odd: str) -> None:
    proof = tmp_path / "proof.txt"
    proof.write_text("=== VALIDATION PASSED ===\nRUN_SUCCESS_ID=abc\n")
    options = {
        "base_url": odd,
        "vars": {
            "found": {"artifact": PROOF, "pattern": r"RUN_SUCCESS_ID=(\S+)"},
            "unmatched": {"artifact": PROOF, "pattern": r"RUN_CANCEL_ID=(\S+)"},
            "unproduced": {"artifact": "command/other.stdout.txt", "pattern": "X=(.*)"},
            "from_env": {"env": "EK_HTTP_UNSET_VAR"},
            "literal": "a b/c",
        },
        "captures": [
            {"name": "ok", "path": "/text?id={found}&q={literal}", "expect": 404},
            {"name": "unmatched", "path": "/runs/{unmatched}"},
            {"name": "unproduced", "path": "/runs/{unproduced}"},
            {"name": "env", "path": "/runs/{from_env}"},
            {"name": "undefined", "path": "/runs/{nobody}"},
        ],
    }
    env = {k: v for k, v in os.environ.items() if k != "EK_HTTP_UNSET_VAR"}
    outs = http.collect(ctx(tmp_path, env=env, earlier={PROOF: proof}), options)
    by = by_name(outs)
    assert meta(outs, "ok")["url"] == f"{odd}/text?id=abc&q=a%20b%2Fc"
    expected = {
        "unmatched": ["{unmatched}", "RUN_CANCEL_ID", PROOF],
        "unproduced": ["{unproduced}", "command/other.stdout.txt", "was not produced"],
        "env": ["{from_env}", "environment variable EK_HTTP_UNSET_VAR is not set"],
        "undefined": ["{nobody}", "not defined under `vars`"],
    }
    for name, words in expected.items():
        output = by[f"{name}.meta.json"]
        assert output.status == "error", name
        for word in words:
            assert word in (output.message or ""), (name, word, output.message)
        assert meta(outs, name)["url"] is None
