"""Registry test fixtures: a real registry with and without htpasswd, a private cache, no stray secrets."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.oci import registry, tokens

CREDENTIAL_VARIABLES = ("REGISTRY_USERNAME", "REGISTRY_PASSWORD", "GITHUB_TOKEN", "GITHUB_ACTOR")


@pytest.fixture(scope="session")
def open_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[registry.Running]:
    """A registry without authentication."""
    with registry.serve(tmp_path_factory.mktemp("registry-open")) as running:
        yield running


@pytest.fixture(scope="session")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[registry.Running]:
    """A registry with htpasswd (Basic) authentication and one user."""
    with registry.serve(tmp_path_factory.mktemp("registry-auth"), auth=True) as running:
        yield running


@pytest.fixture(scope="session")
def token_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tokens.TokenService]:
    """A token service issuing ES256 JWTs for one user."""
    with tokens.serve(tmp_path_factory.mktemp("tokens")) as service:
        yield service


@pytest.fixture(scope="session")
def token_registry(
    tmp_path_factory: pytest.TempPathFactory, token_service: tokens.TokenService
) -> Iterator[registry.Running]:
    """A registry with Bearer token authentication, as GHCR and Docker Hub have it."""
    with registry.serve(tmp_path_factory.mktemp("registry-token"), token=token_service) as running:
        yield running


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No credentials from the machine, an empty Docker config folder, a private bundle cache."""
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    monkeypatch.setenv("EVIDENCE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("EVIDENCE_CACHE_MAX_MB", raising=False)


@pytest.fixture()
def repo(open_registry: registry.Running) -> str:
    """A repository of its own for each test, in the open registry."""
    return open_registry.ref(f"t/{secrets.token_hex(6)}")
