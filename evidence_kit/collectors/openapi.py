"""The OpenAPI document of a service and its routes, from the app itself, a URL or a file."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import time
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from evidence_kit.errors import CollectorError
from evidence_kit.evidence import openapi
from evidence_kit.model import Context, Handoff, Intent, Output, PlannedRun
from evidence_kit.support import interpreter, paths, proc

NAME = "openapi"

DEFAULT_TIMEOUT = 60.0
MAX_BYTES = 50 * 1024 * 1024
SERVED_AT = "/openapi.json"

OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "oneOf": [{"required": ["app"]}, {"required": ["url"]}, {"required": ["file"]}],
    "properties": {
        "app": {
            "type": "string",
            "pattern": r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$",
            "description": "The app as `module:attr`, e.g. `myservice.main:app`; imported in a subprocess.",
        },
        "factory": {
            "type": "boolean",
            "description": "`app` names a function that returns the app (like `uvicorn --factory`), "
            "e.g. `myservice.main:create_app`; it is called without arguments. Without it, such a "
            "function is called too when `app` names no app (as uvicorn does without `--factory`).",
        },
        "app_dir": {
            "type": "string",
            "default": ".",
            "description": "Folder put first on sys.path, also the import's working folder unless `cwd` is "
            "given (default `.`).",
        },
        "cwd": {
            "type": "string",
            "description": "The import's working folder, where the app reads its settings files (`.env`), "
            "when it is not `app_dir`: a src layout's app runs from the folder above `src`.",
        },
        "python": {
            **interpreter.OPTION,
            "description": "Interpreter that imports the app (default: the top-level `python:`, "
            "else the one running evidence-kit).",
        },
        "url": {
            "type": "string",
            "pattern": "^https?://",
            "description": "Where a running service serves its OpenAPI JSON, e.g. `http://127.0.0.1:8000/openapi.json`.",
        },
        "file": {
            "type": "string",
            "description": "An OpenAPI document in JSON or YAML, relative to evidence.yaml.",
        },
        "served_at": {
            "oneOf": [{"type": "string", "pattern": "^/"}, {"type": "boolean", "enum": [False]}],
            "description": "With `app`, when the http collector starts the service (`http.serve`): the path "
            "(after `http.base_url`) where that service serves this very app's OpenAPI document (not a "
            "mounted sub-app's, which is another document); it is read there while the service is up "
            "instead of importing the app a second time, and imported only if that fails. Default: "
            f"`{SERVED_AT}` when the service evidently runs this app as the import would (see Order in the "
            "README), else the import; `false` always imports.",
        },
        "timeout": {
            "type": "number",
            "exclusiveMinimum": 0,
            "default": DEFAULT_TIMEOUT,
            "description": f"Seconds allowed for the import or the download (default {DEFAULT_TIMEOUT:g}).",
        },
    },
}

_SOURCES = ("app", "url", "file")
_SHELL_WORDS = frozenset({"&&", "||", "|", "&", "cd", "pushd", "env", "export", "set", "source"})
_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_ENV_FLAGS = frozenset({"--env-file", "-e", "--env"})
_SERVER = re.compile(r"python(3(\.\d+)?)?|uvicorn|gunicorn|hypercorn")
# NOTE: serve.env variables that cannot change what an app declares; any other might (feature flags).
_NEUTRAL_ENV = frozenset(
    {"PYTHONPATH", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PORT", "HOST", "DATABASE_URL"}
)
# NOTE: settings the servers read from the environment that change the served document or the app.
_SERVER_ENV = ("UVICORN_ROOT_PATH", "UVICORN_FACTORY", "UVICORN_APP_DIR", "GUNICORN_CMD_ARGS")
_APP = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*:[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_STDERR_TAIL = 20

# NOTE: run as `python -c` so that any interpreter works, with or without evidence-kit installed.
# The import runs with fd 1 pointed at stderr so that prints of the app cannot corrupt the JSON,
# and it ends with os._exit so that threads or atexit hooks the app started cannot hold it open.
# `to_schema()` gives values as the app holds them (an example's date or UUID), which Litestar's own
# encoder writes as text: `default` does the same, so the import gives what the service serves.
CHILD_SCRIPT = """\
import importlib, json, os, sys
app_dir, target, factory = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
sys.path.insert(0, app_dir)
out = os.dup(1)
os.dup2(2, 1)
module_name, _, attr = target.partition(":")
obj = importlib.import_module(module_name)
for part in attr.split("."):
    obj = getattr(obj, part)
if factory:
    obj = obj()
elif callable(obj) and not hasattr(obj, "openapi") and not hasattr(obj, "openapi_schema"):
    # NOTE: a function that makes the app, as uvicorn calls one without --factory when it takes no argument.
    try:
        made = obj()
    except TypeError:
        made = None
    if hasattr(made, "openapi") or hasattr(made, "openapi_schema"):
        obj = made
if len(sys.argv) > 4:
    # NOTE: the routes the app serves that its document leaves out (`include_in_schema=False`); a mounted
    # app has a document of its own, and is not looked into.
    docs = {getattr(obj, a, None) for a in ("openapi_url", "docs_url", "redoc_url")}
    docs.add(getattr(obj, "swagger_ui_oauth2_redirect_url", None))
    hidden = []
    for route in getattr(obj, "routes", None) or []:
        path = getattr(route, "path", None)
        if getattr(route, "include_in_schema", True) is False and isinstance(path, str) and path not in docs:
            hidden += [f"{method} {path}" for method in sorted(getattr(route, "methods", None) or ())]
    with open(sys.argv[4], "w", encoding="utf-8") as f:
        f.write("".join(line + "\\n" for line in sorted(set(hidden))))
openapi = getattr(obj, "openapi", None)
if callable(openapi):
    document, default = openapi(), None
else:
    to_schema = getattr(getattr(obj, "openapi_schema", None), "to_schema", None)
    if not callable(to_schema):
        kinds = "openapi() (FastAPI, Starlette) or openapi_schema.to_schema() (Litestar)"
        # NOTE: a Flask app (a subclass too) serves no OpenAPI document of its own: said so by name.
        mro = type(obj).__mro__
        flask = any(c.__module__.split(".")[0] == "flask" and c.__name__ == "Flask" for c in mro)
        kind = type(obj).__name__ + (", a Flask app (WSGI, no OpenAPI document)" if flask else "")
        sys.stderr.write(f"TypeError: {target} is of type {kind}, not an app with {kinds}\\n")
        sys.stderr.flush()
        os._exit(3)
    document = to_schema()
    default = lambda value: value.isoformat() if hasattr(value, "isoformat") else str(value)
data = json.dumps(document, default=default).encode()
sys.stdout.flush()
sys.stderr.flush()
with os.fdopen(out, "wb") as f:
    f.write(data)
os._exit(0)
"""


def _error_line(stderr: str) -> str:
    """The exception line of the last traceback in `stderr`, else its last non-empty line."""
    lines = [line.rstrip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return "no error output"
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last)")]
    if starts:
        for line in lines[starts[-1] + 1 :]:
            if not line[0].isspace():
                return line
    return lines[-1]


def _from_app(
    ctx: Context, options: Mapping[str, Any], timeout: float
) -> tuple[bytes, dict[str, Any], bytes | None]:
    target = str(options["app"])
    if not _APP.match(target):
        raise CollectorError(
            f"app {target!r} is not in the form module:attribute",
            hint="write it like uvicorn does, e.g. `app: myservice.main:app`",
        )
    app_dir = paths.inside(ctx.root, str(options.get("app_dir", ".")), "app_dir")
    if not app_dir.is_dir():
        raise CollectorError(f"app_dir {app_dir} is not a folder", hint="fix the `app_dir` option")
    cwd = paths.inside(ctx.root, _working_folder(options), "cwd")
    if not cwd.is_dir():
        raise CollectorError(f"cwd {cwd} is not a folder", hint="fix the `cwd` option")
    try:
        chosen = interpreter.of(ctx, options) or interpreter.own()
    except CollectorError as exc:
        raise CollectorError(
            f"cannot start the interpreter to import {target}: {exc.message}", hint=exc.hint
        ) from exc
    python = chosen.path
    env = dict(ctx.env or os.environ)
    interpreter.activate(env, chosen)
    if ctx.database_url and "DATABASE_URL" not in env:
        env["DATABASE_URL"] = ctx.database_url
    # NOTE: importing must not leave __pycache__ folders in the service's checkout.
    env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONUNBUFFERED="1")
    # NOTE: an app may order its document by iterating a set (Litestar does, for some parameters): a fixed
    # hash seed gives the same bytes for the same service, unless the user's environment picks one.
    env.setdefault("PYTHONHASHSEED", "0")
    hidden_file = ctx.scratch / "openapi-hidden-routes.txt"
    hidden_file.unlink(missing_ok=True)
    try:
        run = proc.run(
            [
                python,
                "-c",
                CHILD_SCRIPT,
                str(app_dir),
                target,
                "1" if options.get("factory") else "0",
                str(hidden_file),
            ],
            scratch=ctx.scratch,
            label="openapi-import",
            cwd=cwd,
            env=env,
            timeout=timeout,
            cap=MAX_BYTES,
        )
    except CollectorError as exc:
        raise CollectorError(
            f"cannot start the interpreter {python!r} to import {target}: {exc.message}",
            hint="set `python:` in evidence.yaml to the service's interpreter, e.g. `.venv/bin/python`",
        ) from exc
    stderr = run.text("stderr")
    tail = [line for line in stderr.splitlines() if line.strip()][-_STDERR_TAIL:]
    if run.timed_out:
        raise CollectorError(
            f"importing {target} timed out after {timeout:g} s; its process tree was stopped: "
            f"{run.ending.note()}",
            hint="the module blocks while being imported (network, database, input()?); "
            "make the import free of side effects or raise `timeout`",
            details=tail,
        )
    error = _error_line(stderr)
    if run.exit_code == 3 and error.startswith(f"TypeError: {target} is of type "):
        raise CollectorError(
            f"importing {target} failed: {error}",
            hint="`app` takes an app with openapi() (FastAPI, Starlette) or openapi_schema.to_schema() "
            "(Litestar), or with `factory: true` a function that returns one; for any other, give the "
            "document by `url:`, `file:` or `served_at:` instead"
            + (
                "; a Flask app has none unless an extension serves one: turn the collector off"
                if "Flask app" in error
                else ""
            ),
            details=tail,
        )
    if run.exit_code != 0:
        raise CollectorError(
            f"importing {target} failed: {error}",
            hint="check the module path, `app_dir`, `factory` and that the interpreter has the service's "
            "dependencies"
            + ("" if chosen.configured else f" (it ran in {chosen.source}: set `python:` in evidence.yaml)"),
            details=tail,
        )
    if run.stdout_truncated:
        raise CollectorError(f"the OpenAPI document of {target} is larger than {MAX_BYTES} bytes")
    try:
        spec = json.loads(run.stdout.read_bytes())
    except ValueError as exc:
        raise CollectorError(f"the OpenAPI document of {target} is not JSON: {exc}") from exc
    meta = {
        "argv": run.argv,
        "exit_code": run.exit_code,
        "started": run.started,
        "finished": run.finished,
        "duration_s": run.duration_s,
    }
    try:
        hidden: bytes | None = _SECRET_SEGMENT.sub(b"{hidden}", hidden_file.read_bytes())
    except OSError:
        hidden = None
    return _check(spec, target), meta, hidden


# NOTE: a route kept out of the document may hold its secret in its path (`/hooks/<token>`): a run of 16
# characters or more with letters and digits is written `{hidden}`.
_SECRET_SEGMENT = re.compile(rb"(?=[\w-]{0,200}?\d)(?=[\w-]{0,200}?[A-Za-z])[\w-]{16,}")


def _from_url(url: str, timeout: float) -> tuple[bytes, dict[str, Any]]:
    import urllib.error
    import urllib.request

    if not re.match(r"^https?://", url):
        raise CollectorError(
            f"url {url!r} is not an http(s) URL", hint="e.g. `http://127.0.0.1:8000/openapi.json`"
        )
    started, t0 = proc.utcnow(), time.monotonic()
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    hint = "start the service, or check the `url` option (host, port and path)"
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            content_type = response.headers.get("Content-Type", "unknown")
            body = response.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise CollectorError(f"{url} answered HTTP {exc.code} {exc.reason}", hint=hint) from exc
    except urllib.error.URLError as exc:
        raise CollectorError(f"cannot fetch {url}: {exc.reason}", hint=hint) from exc
    except TimeoutError as exc:
        raise CollectorError(f"fetching {url} timed out after {timeout:g} s", hint=hint) from exc
    except OSError as exc:
        raise CollectorError(f"cannot fetch {url}: {exc}", hint=hint) from exc
    if len(body) > MAX_BYTES:
        raise CollectorError(f"{url} sent more than {MAX_BYTES} bytes", hint="check the `url` option")
    try:
        spec = json.loads(body)
    except ValueError as exc:
        start = body[:60].decode(errors="replace")
        raise CollectorError(
            f"{url} did not return JSON (Content-Type: {content_type}; starts with {start!r})",
            hint="point `url` at the OpenAPI JSON, usually `/openapi.json`",
        ) from exc
    meta = {"started": started, "finished": proc.utcnow(), "duration_s": round(time.monotonic() - t0, 3)}
    return _check(spec, url), meta


def _at_root(servers: Any) -> bool:
    """Whether a `servers` list adds no path: each entry's URL is the root (`/`, empty, or a host alone),
    as Litestar lists `[{"url": "/"}]` in every document it serves and imports alike."""
    return isinstance(servers, list) and all(
        isinstance(s, dict) and isinstance(s.get("url"), str) and urlsplit(s["url"]).path in ("", "/")
        for s in servers
    )


def _from_served(handoff: Handoff) -> tuple[bytes, dict[str, Any]] | str:
    """The document the http collector read from the service it started (see `served`), or why there
    is none."""
    try:
        fetched = json.loads(handoff.meta.read_bytes())
    except (OSError, ValueError):
        return "it did not get to ask: the service did not start or did not get ready"
    url = str(fetched.get("url"))
    if fetched.get("error"):
        return f"GET {url}: {fetched['error']}"
    try:
        body = handoff.file.read_bytes()
    except OSError as exc:
        return f"GET {url}: the document it answered with cannot be read ({exc.strerror or exc})"
    try:
        spec = json.loads(body)
        data = _check(spec, url)
    except ValueError:
        # NOTE: a 2xx page that is no document (an SPA's catch-all answering every path with its HTML) says
        # what came instead: the path is not where the service serves it (`served_at`).
        start = body[:60].decode(errors="replace")
        return (
            f"GET {url} answered HTTP {fetched.get('status')} with Content-Type "
            f"{fetched.get('content_type') or 'unknown'}, not JSON (starts with {start!r})"
        )
    except CollectorError as exc:
        return exc.message
    if "servers" in spec and not _at_root(spec["servers"]):
        # NOTE: a root path (`FastAPI(root_path=...)`, a proxy's prefix, a mounted sub-app) adds them to
        # the served document only; an app that lists its own gets imported, to be sure.
        return f"the document at {url} lists `servers`, which an import may not"
    meta = {key: fetched.get(key) for key in ("url", "started", "finished", "duration_s")}
    return data, meta


def _flag(argv: Sequence[str], name: str) -> str | None:
    """The value of `name VALUE` or `name=VALUE` in `argv`, else None."""
    for i, arg in enumerate(argv):
        if arg == name and i + 1 < len(argv):
            return argv[i + 1]
        if arg.startswith(name + "="):
            return arg.partition("=")[2]
    return None


def _interpreter(root: Path, option: Any, top_level: str | None) -> str | None:
    """The path of the interpreter a `python` option names (the top-level one by default), or None."""
    chosen = interpreter.resolve(root, str(option) if option else None, top_level)
    return chosen.path if chosen else None


def _runs_server(program: str, importer: str, cwd: Path, path: str) -> bool:
    """Whether `program` is python or an ASGI server by name, from the folder of the interpreter that
    would import the app (as `program` names it, or as `path`, the service's PATH, finds it)."""
    if not _SERVER.fullmatch(os.path.basename(program)):
        return False
    found = os.path.normpath(cwd / program) if "/" in program else shutil.which(program, path=path)
    return found is not None and os.path.dirname(found) == os.path.dirname(importer)


def served(
    options: Mapping[str, Any],
    http: Mapping[str, Any] | None,
    root: Path,
    python: str | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[str | None, str]:
    """Where the service the http collector starts serves this app's OpenAPI document (a path after
    `http.base_url`), or None when the app is to be imported; and why, in words.

    Only with `app` and an `http.serve`. `served_at` decides when it is given. Otherwise the default path
    is taken only when the serve command evidently runs the app the import would: `app` is one of its
    words (uvicorn, gunicorn and hypercorn take `module:attr`), `--factory` is there exactly when
    `factory` is set, nothing sets a root path (it adds a `servers` entry to the served document), it
    runs in the import's folder (`app_dir`; `--app-dir` and `--chdir` are followed), both collectors
    resolve `python` (theirs, else the top-level `python`) to the same interpreter, and `serve.env` sets
    nothing an app reads beyond the Python settings, the port, the host and DATABASE_URL. A shell
    string that chains commands (`;`, `&&`, `|`, `cd`) is never read as one.
    """
    http = http or {}
    serve = http.get("serve")
    target = str(options.get("app") or "")
    if not target:
        return None, "the openapi collector does not import an app"
    if not isinstance(serve, Mapping):
        return None, "the http collector starts no service (no `serve:`)"
    chosen = options.get("served_at")
    if chosen is False:
        return None, "`served_at: false`"
    if isinstance(chosen, str):
        return chosen, "`served_at` names it"
    command = serve.get("command")
    try:
        argv = shlex.split(command) if isinstance(command, str) else [str(a) for a in command or ()]
    except ValueError as exc:
        return None, f"`serve.command` cannot be split into words ({exc})"
    if isinstance(command, str) and ("\n" in command or any(w in _SHELL_WORDS or ";" in w for w in argv)):
        return None, "`serve.command` chains shell commands"
    if argv[:1] == ["exec"]:
        argv = argv[1:]
    if any(_ASSIGNMENT.match(w) or w.split("=", 1)[0] in _ENV_FLAGS for w in argv):
        return None, "`serve.command` sets environment variables the import would not see"
    try:
        mine = _interpreter(root, options.get("python"), python)
        theirs = _interpreter(root, http.get("python"), python)
    except CollectorError as exc:
        return None, f"cannot tell the interpreters apart: {exc.message}"
    if mine != theirs:
        return None, "the two collectors run other interpreters (`python`)"
    program = argv[0] if argv else "nothing"
    importer = mine or interpreter.own().path
    search = (env if env is not None else os.environ).get("PATH", os.defpath)
    search = os.pathsep.join([os.path.dirname(mine), search]) if mine else search
    if not _runs_server(program, importer, root / str(serve.get("cwd", ".")), search):
        where = os.path.dirname(importer)
        return (
            None,
            f"`serve.command` starts {program}, not python, uvicorn, gunicorn or hypercorn from {where}",
        )
    if target not in argv:
        return None, f"`serve.command` does not name {target}"
    if _flag(argv, "--root-path") is not None:
        return None, "`serve.command` sets --root-path"
    if ("--factory" in argv) != bool(options.get("factory")):
        return None, "`serve.command` and `factory` disagree on calling a factory (--factory)"
    folder = root / str(serve.get("cwd", "."))
    chdir = _flag(argv, "--chdir")
    folder = folder / chdir if chdir else folder
    # NOTE: uvicorn puts --app-dir on sys.path but stays in its folder, where settings files are read: both
    # must be the import's.
    if os.path.normpath(folder) != os.path.normpath(root / _working_folder(options)):
        return None, "the service runs in another folder than the import (`cwd`, else `app_dir`)"
    imports = folder / (_flag(argv, "--app-dir") or ".")
    if os.path.normpath(imports) != os.path.normpath(root / str(options.get("app_dir", "."))):
        return None, "`serve.command` imports from another folder than `app_dir` (--app-dir)"
    extra = sorted(set(serve.get("env") or {}) - _NEUTRAL_ENV)
    if extra:
        return None, f"`serve.env` sets {', '.join(extra)}, which the import would not see"
    server = sorted(name for name in _SERVER_ENV if (env or {}).get(name))
    if server:
        return None, f"the environment sets {', '.join(server)} for the server"
    return SERVED_AT, f"`serve.command` runs {target}"


def _plain(value: Any) -> Any:
    """YAML values as JSON ones: keys as strings (`200:` is an int in YAML), dates as ISO text."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _from_file(ctx: Context, name: str) -> tuple[bytes, dict[str, Any]]:
    path = paths.inside(ctx.root, name, "file")
    if not path.is_file():
        raise CollectorError(f"OpenAPI file {path} does not exist", hint="fix the `file` option")
    started, t0 = proc.utcnow(), time.monotonic()
    text = path.read_bytes().decode("utf-8", errors="replace")
    spec: Any
    if path.suffix.lower() == ".json":
        try:
            spec = json.loads(text)
        except ValueError as exc:
            raise CollectorError(
                f"{path} is not valid JSON: {exc}", hint="fix the file or the `file` option"
            ) from exc
    else:
        import yaml

        # NOTE: YAML is a superset of JSON, so files with other suffixes load either way.
        try:
            spec = _plain(yaml.safe_load(text))
        except yaml.YAMLError as exc:
            raise CollectorError(
                f"{path} is not valid YAML: {exc}", hint="fix the file or the `file` option"
            ) from exc
    meta = {"started": started, "finished": proc.utcnow(), "duration_s": round(time.monotonic() - t0, 3)}
    return _check(spec, str(path)), meta


def _check(spec: Any, source: str) -> bytes:
    """The canonical bytes of `spec`, once it is known to be an OpenAPI (or Swagger) document."""
    if not isinstance(spec, dict) or not ({"openapi", "swagger"} & spec.keys()):
        raise CollectorError(
            f"{source} is not an OpenAPI document (no `openapi` field)",
            hint="point the collector at the service's OpenAPI JSON",
        )
    if not isinstance(spec.get("paths", {}), dict):
        raise CollectorError(f"{source}: `paths` is not a mapping", hint="the OpenAPI document is malformed")
    return (json.dumps(spec, sort_keys=True, indent=2) + "\n").encode()


def collect(ctx: Context, options: Mapping[str, Any]) -> list[Output]:
    """Get the OpenAPI document from exactly one of `app`, `url` or `file`, then list its routes."""
    given = [key for key in _SOURCES if options.get(key)]
    if len(given) != 1:
        raise CollectorError(
            f"the openapi collector needs exactly one of app, url or file (got {', '.join(given) or 'none'})",
            hint="set one of `app: myservice.main:app`, `url: http://127.0.0.1:8000/openapi.json`, "
            "`file: openapi.yaml`",
        )
    timeout = float(options.get("timeout", DEFAULT_TIMEOUT))
    source = given[0]
    where = str(options[source])
    got: tuple[bytes, dict[str, Any]] | str | None = None
    hidden: bytes | None = None
    if source == "app" and ctx.handoffs:
        got = _from_served(ctx.handoffs[0])
    if isinstance(got, tuple):
        data, meta = got
        where = f"{where}, served at {meta.pop('url')}"
    elif source == "app":
        try:
            data, meta, hidden = _from_app(ctx, options, timeout)
        except CollectorError as exc:
            if got is None:
                raise
            raise CollectorError(
                f"{exc.message} (imported because it was not read from the service the http collector "
                f"started: {got})",
                hint=exc.hint,
                details=exc.details,
            ) from exc
        if got is not None:
            meta["message"] = f"not read from the service the http collector started ({got}); imported"
    elif source == "url":
        data, meta = _from_url(str(options["url"]), timeout)
    else:
        data, meta = _from_file(ctx, str(options["file"]))
    found = openapi.routes(json.loads(data))
    lines = "".join(f"{r.line}\n" for r in found)
    listed = [r.as_json() for r in found]
    if not found:
        # NOTE: an app whose OpenAPI lists nothing is most often the wrong app (a top-level app with
        # `openapi_url=None` mounting the real API app, or a factory not called): never a silent `ok`.
        meta = {
            **meta,
            "status": "failed",
            "message": f"the OpenAPI document of {where} has no paths: is it the app that serves the API? "
            "(a mounted sub-app, or `factory: true` for an app factory)",
        }
    extra = []
    if hidden:
        operations = hidden.splitlines()
        paths = len({op.split(b" ", 1)[-1] for op in operations})
        extra.append(
            Output(
                openapi.HIDDEN,
                f"Routes the app serves that its OpenAPI document leaves out ({paths} paths, "
                f"{len(operations)} operations, include_in_schema=False)",
                data=hidden,
                **{k: v for k, v in meta.items() if k not in ("status", "message")},
            )
        )
    return [
        *extra,
        Output(
            openapi.DOCUMENT, f"OpenAPI document ({source} {where})", "application/json", data=data, **meta
        ),
        Output(
            openapi.ROUTES,
            f"Routes ({source} {where})",
            "application/json",
            data=(json.dumps(listed, indent=2, sort_keys=True) + "\n").encode(),
            **meta,
        ),
        Output(
            openapi.ROUTES_TEXT, f"Routes, one line per path ({source} {where})", data=lines.encode(), **meta
        ),
    ]


def _working_folder(options: Mapping[str, Any]) -> str:
    """Where the import runs: `cwd`, else `app_dir`."""
    return str(options.get("cwd") or options.get("app_dir", "."))


def plan(root: Path, options: Mapping[str, Any]) -> Intent:
    """What `collect --plan` shows: the app imported (in a subprocess), the URL or the file read."""
    if "app" in options:
        # NOTE: `python` here is the interpreter the plan's `python:` line names.
        line = shlex.join(["python", "-c", "<import the app, print its OpenAPI>", str(options["app"])])
        cwd = root / _working_folder(options)
        return Intent(
            reads=(f"the OpenAPI document of {options['app']}",), runs=(PlannedRun("import", line, cwd),)
        )
    if "url" in options:
        return Intent(reads=(f"GET {options['url']}",))
    return Intent(reads=(f"the file {options.get('file')}",))
