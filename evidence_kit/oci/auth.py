"""Registry credentials the way container tools find them, and the answers to a registry's challenge.

Where credentials come from, first match wins:
1. `REGISTRY_USERNAME` and `REGISTRY_PASSWORD` in the environment;
2. the Docker config (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`): a `credHelpers`
   entry for the host, else `credsStore`, else the `auths` entry (`auth`, `username`/`password` or
   `identitytoken`);
3. `GITHUB_TOKEN` for `ghcr.io` (user `$GITHUB_ACTOR`).
Credentials are only ever sent to the registry that asked for them, never printed, never stored.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evidence_kit.errors import EvidenceError

HELPER_TIMEOUT_S = 30
_PARAM = re.compile(r'([A-Za-z_][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))')
# NOTE: `docker login` without a host stores Docker Hub's credentials under its v1 index URL.
_DOCKER_HUB_KEYS = ("https://index.docker.io/v1/", "index.docker.io", "docker.io", "registry-1.docker.io")


@dataclass(frozen=True)
class Credentials:
    """A user name and a secret (a password, a token, or an identity token), and where they came from."""

    username: str
    secret: str = field(repr=False)
    source: str
    identity_token: bool = False

    def basic(self) -> str:
        """The value of a Basic Authorization header."""
        pair = f"{self.username}:{self.secret}".encode()
        return "Basic " + base64.b64encode(pair).decode()


@dataclass(frozen=True)
class Challenge:
    """A parsed `WWW-Authenticate` header: scheme (basic or bearer) and its parameters."""

    scheme: str
    params: Mapping[str, str]


def parse_challenge(header: str) -> Challenge | None:
    """The first challenge of a `WWW-Authenticate` header, or None when it names no scheme."""
    header = header.strip()
    scheme, _, rest = header.partition(" ")
    if not scheme:
        return None
    params = {
        m[1].lower(): re.sub(r"\\(.)", r"\1", m[2]) if m[2] is not None else m[3]
        for m in _PARAM.finditer(rest)
    }
    return Challenge(scheme.lower(), params)


def docker_config_path(env: Mapping[str, str]) -> Path:
    """Where Docker keeps its config: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`."""
    folder = env.get("DOCKER_CONFIG")
    if folder:
        return Path(folder) / "config.json"
    home = env.get("HOME")
    return (Path(home) if home else Path.home()) / ".docker" / "config.json"


def _keys_for(registry: str) -> tuple[str, ...]:
    if registry in ("docker.io", "index.docker.io", "registry-1.docker.io"):
        return _DOCKER_HUB_KEYS
    return (
        registry,
        f"https://{registry}",
        f"http://{registry}",
        f"https://{registry}/v1/",
        f"https://{registry}/v2/",
    )


def _helper(name: str, registry: str, env: Mapping[str, str]) -> Credentials | None:
    program = f"docker-credential-{name}"
    exe = shutil.which(program, path=env.get("PATH"))
    if exe is None:
        raise EvidenceError(
            f"the Docker config names the credential helper {program!r} for {registry}; it is not on PATH",
            hint=f"install {program}, or remove it from {docker_config_path(env)}, or set "
            "REGISTRY_USERNAME and REGISTRY_PASSWORD",
        )
    try:
        done = subprocess.run(
            [exe, "get"],
            input=registry,
            capture_output=True,
            text=True,
            timeout=HELPER_TIMEOUT_S,
            env=dict(env),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise EvidenceError(
            f"the credential helper {program} failed for {registry}: {exc}",
            hint=f"run `echo {registry} | {program} get` to see why",
        ) from exc
    if done.returncode != 0:
        # NOTE: helpers answer "credentials not found" with a failing exit; that means: go anonymous.
        if "not found" in (done.stdout + done.stderr).lower():
            return None
        raise EvidenceError(
            f"the credential helper {program} failed for {registry} (exit {done.returncode})",
            hint=f"run `echo {registry} | {program} get` to see why",
        )
    try:
        answer = json.loads(done.stdout)
        username, secret = str(answer["Username"]), str(answer["Secret"])
    except (ValueError, KeyError, TypeError) as exc:
        raise EvidenceError(
            f"the credential helper {program} gave an answer that is not credentials for {registry}",
            hint=f"run `echo {registry} | {program} get`; it should print JSON with Username and Secret",
        ) from exc
    if not secret:
        return None
    # NOTE: helpers hand out identity tokens under the user name `<token>`.
    if username == "<token>":
        return Credentials("<token>", secret, program, identity_token=True)
    return Credentials(username, secret, program)


def _from_docker_config(registry: str, env: Mapping[str, str]) -> Credentials | None:
    path = docker_config_path(env)
    try:
        config = json.loads(path.read_bytes())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise EvidenceError(
            f"cannot read the Docker config {path}: {exc}",
            hint="fix or remove it, or point DOCKER_CONFIG at another folder",
        ) from exc
    if not isinstance(config, dict):
        return None
    keys = _keys_for(registry)
    helpers = config.get("credHelpers")
    if isinstance(helpers, dict):
        for key in keys:
            if isinstance(helpers.get(key), str):
                return _helper(helpers[key], key, env)
    found_auths = config.get("auths")
    auths: dict[str, Any] = found_auths if isinstance(found_auths, dict) else {}
    entry = next((auths[k] for k in keys if isinstance(auths.get(k), dict)), None)
    store = config.get("credsStore")
    if isinstance(store, str) and store:
        found = _helper(store, next((k for k in keys if k in auths), registry), env)
        if found is not None:
            return found
    if entry is None:
        return None
    source = str(path)
    if isinstance(entry.get("identitytoken"), str) and entry["identitytoken"]:
        return Credentials(str(entry.get("username") or "<token>"), entry["identitytoken"], source, True)
    if isinstance(entry.get("auth"), str) and entry["auth"]:
        try:
            user, sep, secret = base64.b64decode(entry["auth"], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
            raise EvidenceError(
                f"the `auth` of {registry} in {path} is not base64 of user:password",
                hint=f"log in again with `docker login {registry}`",
            ) from exc
        if sep:
            return Credentials(user, secret, source)
    if isinstance(entry.get("username"), str) and isinstance(entry.get("password"), str):
        return Credentials(entry["username"], entry["password"], source)
    return None


def find(registry: str, env: Mapping[str, str] | None = None) -> Credentials | None:
    """The credentials for `registry` (host[:port]), or None to go anonymous."""
    env = os.environ if env is None else env
    user, password = env.get("REGISTRY_USERNAME", ""), env.get("REGISTRY_PASSWORD", "")
    if user or password:
        if not (user and password):
            missing = "REGISTRY_PASSWORD" if user else "REGISTRY_USERNAME"
            raise EvidenceError(
                f"{missing} is not set, but {'REGISTRY_USERNAME' if user else 'REGISTRY_PASSWORD'} is",
                hint="set both REGISTRY_USERNAME and REGISTRY_PASSWORD, or neither",
            )
        return Credentials(user, password, "REGISTRY_USERNAME/REGISTRY_PASSWORD")
    found = _from_docker_config(registry, env)
    if found is not None:
        return found
    token = env.get("GITHUB_TOKEN", "")
    if registry == "ghcr.io" and token:
        return Credentials(env.get("GITHUB_ACTOR") or "evidence-kit", token, "GITHUB_TOKEN")
    return None
