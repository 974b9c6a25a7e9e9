"""Where credentials come from (environment, Docker config, helpers, GITHUB_TOKEN), and challenges."""

from __future__ import annotations

import base64
import json
import os
import secrets
from pathlib import Path

import pytest

from evidence_kit.errors import EvidenceError
from evidence_kit.oci import auth


def secret() -> str:
    return "s-" + secrets.token_hex(6)


def docker_config(tmp_path: Path, config: dict[str, object]) -> dict[str, str]:
    folder = tmp_path / "dockercfg"
    folder.mkdir(exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    return {"DOCKER_CONFIG": str(folder), "PATH": f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}"}


def helper(tmp_path: Path, name: str, answer: str, code: int = 0) -> None:
    """A real credential helper program on PATH that records its input and prints `answer`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    program = bin_dir / f"docker-credential-{name}"
    program.write_text(
        f'#!/bin/sh\ntest "$1" = get || exit 9\ncat > {tmp_path / "asked"}\n'
        f"printf '%s' '{answer}'\nexit {code}\n"
    )
    program.chmod(0o755)


def test_environment_wins_and_must_be_whole(tmp_path: Path) -> None:
    pw = secret()
    env = {"REGISTRY_USERNAME": "ci", "REGISTRY_PASSWORD": pw, **docker_config(tmp_path, {})}
    found = auth.find("ghcr.io", env)
    assert found is not None and (found.username, found.secret) == ("ci", pw)
    assert pw not in repr(found)
    with pytest.raises(EvidenceError, match="REGISTRY_PASSWORD is not set"):
        auth.find("ghcr.io", {"REGISTRY_USERNAME": "ci"})


def test_docker_config_auths(tmp_path: Path) -> None:
    pw = secret()
    encoded = base64.b64encode(f"alice:{pw}".encode()).decode()
    env = docker_config(
        tmp_path,
        {
            "auths": {
                "https://registry.example.com": {"auth": encoded},
                "plain.example.com:5000": {"username": "bob", "password": pw},
                "https://index.docker.io/v1/": {"auth": encoded},
                "token.example.com": {"identitytoken": pw},
            }
        },
    )
    alice = auth.find("registry.example.com", env)
    assert alice is not None and (alice.username, alice.secret) == ("alice", pw)
    assert alice.basic() == "Basic " + encoded
    bob = auth.find("plain.example.com:5000", env)
    assert bob is not None and bob.username == "bob"
    hub = auth.find("docker.io", env)
    assert hub is not None and hub.username == "alice"
    token = auth.find("token.example.com", env)
    assert token is not None and token.identity_token and token.secret == pw
    assert auth.find("elsewhere.example.com", env) is None


def test_broken_docker_config_is_named(tmp_path: Path) -> None:
    env = docker_config(tmp_path, {})
    (Path(env["DOCKER_CONFIG"]) / "config.json").write_text("{not json")
    with pytest.raises(EvidenceError, match="cannot read the Docker config") as caught:
        auth.find("ghcr.io", env)
    assert "DOCKER_CONFIG" in caught.value.hint
    env = docker_config(tmp_path, {"auths": {"r.example.com": {"auth": "%%%"}}})
    with pytest.raises(EvidenceError, match="not base64"):
        auth.find("r.example.com", env)


def test_credential_helper_per_host(tmp_path: Path) -> None:
    pw = secret()
    helper(tmp_path, "vault", json.dumps({"ServerURL": "r.example.com", "Username": "carol", "Secret": pw}))
    env = docker_config(tmp_path, {"credHelpers": {"r.example.com": "vault"}})
    found = auth.find("r.example.com", env)
    assert found is not None and (found.username, found.secret) == ("carol", pw)
    assert found.source == "docker-credential-vault"
    assert (tmp_path / "asked").read_text() == "r.example.com"


def test_credential_store_identity_token_and_not_found(tmp_path: Path) -> None:
    pw = secret()
    helper(tmp_path, "store", json.dumps({"Username": "<token>", "Secret": pw}))
    env = docker_config(tmp_path, {"credsStore": "store", "auths": {"r.example.com": {}}})
    found = auth.find("r.example.com", env)
    assert found is not None and found.identity_token and found.secret == pw
    helper(tmp_path, "store", "credentials not found in native keychain", code=1)
    assert auth.find("r.example.com", env) is None
    helper(tmp_path, "store", "keychain locked", code=1)
    with pytest.raises(EvidenceError, match=r"failed for r\.example\.com"):
        auth.find("r.example.com", env)


def test_missing_helper_is_named(tmp_path: Path) -> None:
    env = docker_config(tmp_path, {"credHelpers": {"r.example.com": "nowhere"}})
    with pytest.raises(EvidenceError, match="docker-credential-nowhere") as caught:
        auth.find("r.example.com", env)
    assert "REGISTRY_USERNAME" in caught.value.hint


def test_github_token_only_for_ghcr(tmp_path: Path) -> None:
    token = "ghs_" + secrets.token_hex(10)
    env = {"GITHUB_TOKEN": token, "GITHUB_ACTOR": "octo", **docker_config(tmp_path, {})}
    found = auth.find("ghcr.io", env)
    assert found is not None and (found.username, found.secret, found.source) == (
        "octo",
        token,
        "GITHUB_TOKEN",
    )
    assert auth.find("registry.example.com", env) is None


@pytest.mark.parametrize(
    ("header", "scheme", "params"),
    [
        ('Basic realm="evidence-test"', "basic", {"realm": "evidence-test"}),
        (
            'Bearer realm="https://ghcr.io/token",service="ghcr.io",scope="repository:a/b:pull"',
            "bearer",
            {"realm": "https://ghcr.io/token", "service": "ghcr.io", "scope": "repository:a/b:pull"},
        ),
        (
            'Bearer realm="https://auth.example/t", error="insufficient_scope", scope=repository:x:push',
            "bearer",
            {"realm": "https://auth.example/t", "error": "insufficient_scope", "scope": "repository:x:push"},
        ),
        ('Basic realm="say \\"hi\\""', "basic", {"realm": 'say "hi"'}),
    ],
)
def test_challenges(header: str, scheme: str, params: dict[str, str]) -> None:
    found = auth.parse_challenge(header)
    assert found is not None and found.scheme == scheme and dict(found.params) == params


def test_empty_challenge() -> None:
    assert auth.parse_challenge("") is None
