"""Responses of a running service's GET endpoints, optionally starting the service for the captures."""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from evidence_kit import __version__
from evidence_kit.bundle.writer import dumps
from evidence_kit.collectors.command import ARGV_OPTION, CWD_OPTION, ENV_OPTION, child_env
from evidence_kit.errors import CollectorError
from evidence_kit.model import Context, Handoff, Intent, Output, PlannedRun, Status
from evidence_kit.support import interpreter, paths, proc
from evidence_kit.support.terminal import strip_ansi

NAME = "http"
# NOTE: the option whose entries each name their own artifacts: two of one name would overwrite each other.
NAMED = "captures"

DEFAULT_TIMEOUT = 10.0
DEFAULT_START_TIMEOUT = 30.0
DEFAULT_HEADERS: tuple[str, ...] = ("content-type",)
MAX_BYTES = 50 * 1024 * 1024
LOG_LIMIT = 10 * 1024 * 1024
LOG_TAIL_LINES = 20
MASK = "[REDACTED]"
POLL_INTERVAL_S = 0.2
STOP_GRACE_S = 10.0

_IDENT = r"^[A-Za-z_][A-Za-z0-9_]*$"
_ENV_REF: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["env"],
    "properties": {"env": {"type": "string", "pattern": _IDENT, "description": "Environment variable."}},
}
OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["base_url", "captures"],
    "properties": {
        "python": interpreter.OPTION,
        "base_url": {
            "type": "string",
            "pattern": "^https?://",
            "description": "Where the service answers, e.g. `http://127.0.0.1:8000`.",
        },
        "vars": {
            "type": "object",
            "description": "Values of the `{name}` placeholders in capture paths: a literal string, "
            "`{env: NAME}`, or `{artifact: command/<name>.stdout.txt, pattern: REGEX}` (its first group).",
            "propertyNames": {"pattern": _IDENT},
            "additionalProperties": {
                "oneOf": [
                    {"type": "string", "description": "A literal value."},
                    _ENV_REF,
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "required": ["artifact", "pattern"],
                        "properties": {
                            "artifact": {
                                "type": "string",
                                "description": "An artifact of an earlier collector, e.g. "
                                "`command/lifecycle-proof.stdout.txt`.",
                            },
                            "pattern": {
                                "type": "string",
                                "minLength": 1,
                                "description": "Regex searched in the artifact; its first group (or the "
                                "whole match) is the value, e.g. `RUN_SUCCESS_ID=(\\S+)`.",
                            },
                        },
                    },
                ]
            },
        },
        "headers": {
            "type": "object",
            "description": "Request headers as `Header: {env: NAME}`; the values come from the environment "
            "and only the header names are recorded.",
            "additionalProperties": _ENV_REF,
        },
        "timeout": {
            "type": "number",
            "exclusiveMinimum": 0,
            "description": f"Seconds allowed per request (default {DEFAULT_TIMEOUT:g}).",
        },
        "captures": {
            "type": "array",
            "minItems": 1,
            "description": "GET requests whose responses are recorded, in order.",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "path"],
                "properties": {
                    "name": {
                        "type": "string",
                        "pattern": "^[A-Za-z0-9][A-Za-z0-9._-]*$",
                        "description": "Artifact name (letters, digits, . _ -).",
                    },
                    "title": {"type": "string", "description": "What the response proves."},
                    "path": {
                        "type": "string",
                        "pattern": "^/",
                        "description": "Path after base_url with `{name}` placeholders (values are "
                        "percent-encoded), e.g. `/runs/{run_id}/events`.",
                    },
                    "expect": {
                        "type": "integer",
                        "minimum": 100,
                        "maximum": 599,
                        "description": "Expected HTTP status (default 200).",
                    },
                    "headers": {
                        "type": "array",
                        "items": {"type": "string", "minLength": 1},
                        "description": "Response headers to keep (default [content-type]).",
                    },
                },
            },
        },
        "serve": {
            "type": "object",
            "additionalProperties": False,
            "required": ["command", "ready_url"],
            "description": "Start the service for the captures and stop its whole process tree afterwards: "
            "`command` (shell string or argv), `cwd`, `env` (`${VAR}` expanded), `ready_url` (path or URL "
            f"polled until 2xx; required), `start_timeout` (default {DEFAULT_START_TIMEOUT:g} s).",
            "properties": {
                "command": ARGV_OPTION,
                "cwd": CWD_OPTION,
                "env": ENV_OPTION,
                "ready_url": {
                    "type": "string",
                    "description": "Path (after base_url) or URL polled until it answers 2xx.",
                },
                "start_timeout": {
                    "type": "number",
                    "exclusiveMinimum": 0,
                    "description": f"Seconds to wait for readiness (default {DEFAULT_START_TIMEOUT:g}).",
                },
            },
        },
    },
}

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


@dataclass
class Vars:
    """Placeholder values, resolved on first use; a failure names the variable and its source."""

    ctx: Context
    specs: Mapping[str, Any]
    env: Mapping[str, str]
    _cache: dict[str, str] = field(default_factory=dict)

    def source(self, name: str) -> str:
        """Where the value of `name` comes from, in words."""
        spec = self.specs.get(name)
        if spec is None:
            return "nowhere (not defined under `vars`)"
        if isinstance(spec, str):
            return "a literal"
        if "env" in spec:
            return f"environment variable {spec['env']}"
        return f"artifact {spec['artifact']} matching /{spec['pattern']}/"

    def get(self, name: str) -> str:
        """The value of `name`; CollectorError when it cannot be found."""
        if name in self._cache:
            return self._cache[name]
        spec = self.specs.get(name)
        if spec is None:
            raise CollectorError(
                f"placeholder {{{name}}} has no value: it is not defined under `vars`",
                hint=f"add `{name}` under the http collector's `vars`",
            )
        if isinstance(spec, str):
            value = spec
        elif "env" in spec:
            if spec["env"] not in self.env:
                raise CollectorError(
                    f"placeholder {{{name}}} has no value: environment variable {spec['env']} is not set",
                    hint=f"export {spec['env']} before collecting",
                )
            value = self.env[spec["env"]]
        else:
            value = self._from_artifact(name, str(spec["artifact"]), str(spec["pattern"]))
        self._cache[name] = value
        return value

    def _from_artifact(self, name: str, artifact: str, pattern: str) -> str:
        path = self.ctx.earlier.get(artifact)
        if path is None:
            known = ", ".join(sorted(self.ctx.earlier)) or "none"
            raise CollectorError(
                f"placeholder {{{name}}} has no value: artifact {artifact} was not produced "
                f"(artifacts available: {known})",
                hint="configure (and do not skip) the collector that writes it, e.g. a `command` entry",
            )
        try:
            regex = re.compile(pattern, re.MULTILINE)
        except re.error as exc:
            raise CollectorError(
                f"placeholder {{{name}}}: pattern /{pattern}/ is not a valid regex: {exc}"
            ) from exc
        text = path.read_bytes().decode("utf-8", errors="replace")
        match = regex.search(text)
        if match is None:
            raise CollectorError(
                f"placeholder {{{name}}} has no value: /{pattern}/ does not match artifact {artifact}",
                hint="check that the command printed the value and the pattern",
            )
        value = match.group(1) if regex.groups else match.group(0)
        if value is None:
            raise CollectorError(f"placeholder {{{name}}}: the first group of /{pattern}/ matched nothing")
        return value

    def sources(self, template: str) -> dict[str, str]:
        """Where the value of each placeholder of `template` comes from."""
        return {m.group(1): self.source(m.group(1)) for m in _PLACEHOLDER.finditer(template)}

    def fill(self, template: str) -> str:
        """`template` with every `{name}` replaced by its percent-encoded value."""
        return _PLACEHOLDER.sub(lambda m: quote(self.get(m.group(1)), safe=""), template)


@dataclass(frozen=True)
class Response:
    """What one GET returned."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes
    truncated: bool


def _get(url: str, headers: Mapping[str, str], timeout: float) -> Response:
    """GET `url`; a non-2xx status is a response too. CollectorError when nothing answers in time."""
    import http.client
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        url, headers={"User-Agent": f"evidence-kit/{__version__}", **headers}, method="GET"
    )
    try:
        try:
            response = urllib.request.urlopen(request, timeout=timeout)
        except urllib.error.HTTPError as exc:
            response = exc
        with response:
            body = response.read(MAX_BYTES + 1)
            status = int(response.status if response.status is not None else 0)
            received = list(response.headers.items())
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise CollectorError(f"GET {url} timed out after {timeout:g} s") from exc
        raise CollectorError(f"GET {url} failed: {reason}") from exc
    except TimeoutError as exc:
        raise CollectorError(f"GET {url} timed out after {timeout:g} s") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise CollectorError(f"GET {url} failed: {type(exc).__name__}: {exc}") from exc
    return Response(status, received, body[:MAX_BYTES], len(body) > MAX_BYTES)


def _mask(data: bytes, secrets: Sequence[str]) -> bytes:
    for secret in secrets:
        data = data.replace(secret.encode(), MASK.encode())
    return data


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def capture(
    base_url: str,
    spec: Mapping[str, Any],
    variables: Vars,
    headers: Mapping[str, str],
    timeout: float,
) -> list[Output]:
    """Run one capture: the body (`<name>.json` or `<name>.txt`) and `<name>.meta.json`."""
    name = str(spec["name"])
    title = str(spec.get("title", f"GET {spec['path']}"))
    expect = int(spec.get("expect", 200))
    keep = [str(h).lower() for h in spec.get("headers", DEFAULT_HEADERS)]
    # NOTE: a server may echo only the credential of `Bearer <token>`, so that part is masked too.
    parts = {p for v in headers.values() for p in (v, v.partition(" ")[2]) if len(p) >= 6 or p == v}
    secrets = sorted({p for p in parts if p}, key=len, reverse=True)
    meta: dict[str, Any] = {
        "method": "GET",
        "path": spec["path"],
        "expect": expect,
        "request_headers": {h: MASK for h in sorted(headers)},
    }
    started, t0 = proc.utcnow(), time.monotonic()

    def timing() -> dict[str, Any]:
        return {"started": started, "finished": proc.utcnow(), "duration_s": round(time.monotonic() - t0, 3)}

    def meta_output(status: Status, message: str | None) -> Output:
        return Output(
            f"{name}.meta.json",
            f"{title} (request and status)",
            media_type="application/json",
            data=_mask(dumps(meta), secrets),
            status=status,
            message=message,
            **timing(),
        )

    meta["placeholders"] = variables.sources(str(spec["path"]))
    try:
        path = variables.fill(str(spec["path"]))
    except CollectorError as exc:
        meta.update(url=None, status=None, error=exc.message)
        return [meta_output("error", f"{name}: {exc.message}")]
    url = base_url.rstrip("/") + path
    meta["url"] = url
    try:
        response = _get(url, headers, timeout)
    except CollectorError as exc:
        meta.update(status=None, error=exc.message)
        return [meta_output("error", f"{name}: {exc.message}")]
    received: dict[str, list[str]] = {}
    for key, value in response.headers:
        received.setdefault(key.lower(), []).append(value)
    kept = {h: ", ".join(received[h]) if h in received else None for h in sorted(set(keep))}
    content_type = ", ".join(received.get("content-type", [])) or None
    meta.update(status=response.status, headers=kept)
    status: Status = "ok"
    problems: list[str] = []
    if response.status != expect:
        status = "failed"
        problems.append(f"status {response.status}, expected {expect}")
    body, body_name, media = response.body, f"{name}.txt", "text/plain"
    if response.truncated:
        status = "error"
        problems.append(f"the body is larger than {MAX_BYTES} bytes; kept the first {MAX_BYTES}")
    elif _is_json(content_type):
        try:
            body = (
                json.dumps(json.loads(body), sort_keys=True, indent=2, ensure_ascii=False) + "\n"
            ).encode()
            body_name, media = f"{name}.json", "application/json"
        except ValueError as exc:
            status = "error"
            start = response.body[:60].decode("utf-8", errors="replace")
            problems.append(
                f"Content-Type is {content_type} but the body is not JSON ({exc}; starts with {start!r})"
            )
    meta["body"] = body_name
    message = f"{name}: GET {url}: {'; '.join(problems)}" if problems else None
    return [
        Output(
            body_name,
            title,
            media_type=media,
            data=_mask(body, secrets),
            status=status,
            truncated=response.truncated,
            message=message,
            **timing(),
        ),
        meta_output(status, message),
    ]


def fetch(base_url: str, handoff: Handoff, headers: Mapping[str, str]) -> None:
    """GET a handoff's document for a later collector: the body (2xx only) and what happened (the status
    and Content-Type the service answered with, or the error), in files."""
    url = _url(base_url, handoff.path)
    started, t0 = proc.utcnow(), time.monotonic()
    meta: dict[str, Any] = {"url": url, "status": None, "error": None}
    try:
        response = _get(url, headers, handoff.timeout)
    except CollectorError as exc:
        meta["error"] = exc.message
    else:
        meta["status"] = response.status
        meta["content_type"] = next((v for k, v in response.headers if k.lower() == "content-type"), None)
        if response.truncated:
            meta["error"] = f"the body is larger than {MAX_BYTES} bytes"
        elif not 200 <= response.status < 300:
            meta["error"] = f"HTTP {response.status}"
        else:
            try:
                handoff.file.parent.mkdir(parents=True, exist_ok=True)
                handoff.file.write_bytes(response.body)
            except OSError as exc:
                meta["error"] = f"cannot keep the document: {exc.strerror or exc}"
    meta.update(started=started, finished=proc.utcnow(), duration_s=round(time.monotonic() - t0, 3))
    # NOTE: a full disk here costs the later collector an import, never the captures.
    with contextlib.suppress(OSError):
        handoff.meta.parent.mkdir(parents=True, exist_ok=True)
        handoff.meta.write_bytes(dumps(meta))


def _request_headers(specs: Mapping[str, Any], env: Mapping[str, str]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for header, ref in specs.items():
        var = str(ref["env"])
        if var not in env:
            raise CollectorError(
                f"header {header} takes its value from environment variable {var}, which is not set",
                hint=f"export {var} before collecting, or remove the header",
            )
        headers[str(header)] = env[var]
    return headers


def _url(base_url: str, target: str) -> str:
    return target if re.match(r"^https?://", target) else base_url.rstrip("/") + "/" + target.lstrip("/")


def _tail(log: Path) -> str:
    try:
        with log.open("rb") as f:
            f.seek(max(0, log.stat().st_size - 64 * 1024))
            text = f.read().decode("utf-8", errors="replace")
    except OSError:
        return "(no log)"
    lines = [line.rstrip() for line in strip_ansi(text).splitlines() if line.strip()][-LOG_TAIL_LINES:]
    return "\n".join(lines) if lines else "(the log is empty)"


def _port_in_use(base_url: str) -> bool:
    import socket

    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", port), timeout=1.0):
            return True
    except OSError:
        return False


@dataclass
class Service:
    """A service started for the captures, its log and when it became ready."""

    process: proc.Process
    log: Path
    argv: tuple[str, ...]
    started: str
    t0: float

    def stop(self, grace: float = STOP_GRACE_S) -> None:
        """Stop the service's whole process tree: SIGTERM, then SIGKILL to what is left after `grace`."""
        if not self.process.poll():
            self.process.stop(grace)
        proc.forget(self.process)

    def output(self, status: Status, message: str | None) -> Output:
        """The service's log as the `server.log` artifact."""
        ending = self.process.ending()
        return Output(
            "server.log",
            "Log of the service started for the captures",
            source=self.log,
            argv=self.argv,
            exit_code=ending.exit_code,
            status=status,
            started=self.started,
            finished=proc.utcnow(),
            duration_s=round(time.monotonic() - self.t0, 3),
            limit=LOG_LIMIT,
            message=message,
            process=ending.as_json(),
        )


def start(ctx: Context, spec: Mapping[str, Any], python: str | None = None) -> Service:
    """Start the service in a session of its own, its output going to a log in the scratch folder."""
    command = spec["command"]
    cwd = paths.inside(ctx.root, str(spec.get("cwd", ".")), "serve: cwd")
    if not cwd.is_dir():
        raise CollectorError(f"serve: cwd {cwd} does not exist", hint="fix `serve.cwd` in evidence.yaml")
    ctx.scratch.mkdir(parents=True, exist_ok=True)
    log = ctx.scratch / "server.log"
    env = child_env(ctx, spec.get("env"), python)
    # NOTE: as the openapi collector imports the app: a service that orders what it serves by iterating a
    # set gives the same bytes on every collect, unless the user's environment picks a seed.
    env.setdefault("PYTHONHASHSEED", "0")
    started, t0 = proc.utcnow(), time.monotonic()
    with log.open("wb") as out:
        try:
            # NOTE: registered with proc, so that an interrupted collect stops the service with the commands.
            process = proc.start(
                command,
                status=ctx.scratch / "server.process.json",
                cwd=cwd,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        except CollectorError as exc:
            raise CollectorError(f"serve: {exc.message}", hint=exc.hint or "fix `serve.command`") from exc
    return Service(process, log, process.argv, started, t0)


def wait_ready(service: Service, url: str, start_timeout: float) -> str | None:
    """None once `url` answers 2xx; else why it did not (the service exited, or the time ran out)."""
    deadline = time.monotonic() + start_timeout
    last = "no answer yet"
    while True:
        if service.process.poll():
            ending = service.process.ending()
            if ending.error is not None:
                return f"the service could not start: {ending.error}"
            return f"the service exited with code {ending.exit_code} before {url} answered"
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return (
                f"{url} did not answer 2xx within {start_timeout:g} s (last: {last}); a service slow to "
                "start needs a longer `serve.start_timeout`"
            )
        try:
            response = _get(url, {}, max(0.1, min(2.0, remaining)))
        except CollectorError as exc:
            last = exc.message
        else:
            if 200 <= response.status < 300:
                return None
            last = f"HTTP {response.status}"
        time.sleep(min(POLL_INTERVAL_S, max(0.0, deadline - time.monotonic())))


def collect(ctx: Context, options: Mapping[str, Any]) -> list[Output]:
    """Run the captures against `base_url`, first starting the service when `serve` is given."""
    env = ctx.env or os.environ
    base_url = str(options["base_url"])
    timeout = float(options.get("timeout", DEFAULT_TIMEOUT))
    headers = _request_headers(options.get("headers", {}), env)
    variables = Vars(ctx, options.get("vars", {}), env)
    serve = options.get("serve")
    service: Service | None = None
    outputs: list[Output] = []
    if serve:
        if _port_in_use(base_url):
            raise CollectorError(
                f"serve: something already listens at {base_url}; the captures could not tell it from "
                "the service being started",
                hint="stop the other process or choose a free port in `base_url` and `serve.command`",
            )
        service = start(ctx, serve, options.get("python"))
    try:
        if service is not None and serve:
            start_timeout = float(serve.get("start_timeout", DEFAULT_START_TIMEOUT))
            problem = wait_ready(service, _url(base_url, str(serve["ready_url"])), start_timeout)
            if problem is not None:
                service.stop()
                message = f"serve: {problem}; captures not attempted. Log tail:\n{_tail(service.log)}"
                return [service.output("error", message)]
        for spec in options.get("captures", []):
            outputs += capture(base_url, spec, variables, headers, timeout)
        if service is not None:
            for handoff in ctx.handoffs:
                fetch(base_url, handoff, headers)
    finally:
        if service is not None:
            with contextlib.suppress(Exception):
                service.stop()
    if service is not None:
        outputs.append(service.output("ok", None))
    return outputs


def plan(root: Path, options: Mapping[str, Any]) -> Intent:
    """What `collect --plan` shows: the GET requests, and the service started for them."""
    from evidence_kit.collectors.command import line

    base = str(options["base_url"]).rstrip("/")
    reads = tuple(f"GET {base}{spec['path']}" for spec in options.get("captures", []))
    serve = options.get("serve")
    runs = (PlannedRun("serve", line(serve["command"]), root / str(serve.get("cwd", "."))),) if serve else ()
    return Intent(reads=reads, runs=runs)
