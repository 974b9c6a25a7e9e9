"""A real OCI registry for the tests: the CNCF distribution server (`docker-registry`) on loopback."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.oci import tokens
from tests.oci.tokens import TokenService

INSTALL = "apt-get install -y docker-registry"
BINARY = "docker-registry"


def binary() -> str:
    """The registry server's path; outside CI a missing server skips the test, under CI it fails."""
    found = shutil.which(BINARY)
    if found:
        return found
    message = f"the registry server `{BINARY}` is not installed; install it with `{INSTALL}`"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass(frozen=True)
class Running:
    """A registry the tests may push to: its address, its storage folder and, with auth, a user."""

    host: str
    storage: Path
    username: str = ""
    password: str = ""

    def ref(self, repository: str = "team/svc", tag: str = "") -> str:
        return f"oci://{self.host}/{repository}" + (f":{tag}" if tag else "")

    def blob_file(self, digest: str) -> Path:
        """Where the filesystem driver keeps a blob's bytes (for tests that damage them)."""
        hexdigest = digest.removeprefix("sha256:")
        return self.storage / "docker/registry/v2/blobs/sha256" / hexdigest[:2] / hexdigest / "data"


def _config(root: Path, port: int, htpasswd: Path | None, token: TokenService | None) -> str:
    auth = f"auth:\n  htpasswd:\n    realm: evidence-test\n    path: {htpasswd}\n" if htpasswd else ""
    if token is not None:
        auth = (
            f"auth:\n  token:\n    realm: http://127.0.0.1:{token.port}/token\n"
            f"    service: {tokens.SERVICE}\n    issuer: {tokens.ISSUER}\n"
            f"    rootcertbundle: {token.certificate}\n"
        )
    return (
        "version: 0.1\n"
        "log:\n  level: error\n  accesslog:\n    disabled: true\n"
        f"storage:\n  filesystem:\n    rootdirectory: {root / 'storage'}\n  delete:\n    enabled: true\n"
        f"http:\n  addr: 127.0.0.1:{port}\n  secret: {secrets.token_hex(16)}\n" + auth
    )


def _wait(port: int, proc: subprocess.Popen[bytes], log: Path) -> bool:
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1)
            return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the registry did not answer within 15 s: {log.read_text(errors='replace')}")


@contextmanager
def serve(
    root: Path, *, auth: bool = False, token: TokenService | None = None, exe: str | None = None
) -> Iterator[Running]:
    """Start the registry with a generated config in `root`; `auth`: htpasswd; `token`: Bearer tokens."""
    exe = exe or binary()
    root.mkdir(parents=True, exist_ok=True)
    username = password = ""
    htpasswd = None
    if auth:
        import bcrypt

        username, password = "tester", "pw-" + secrets.token_hex(8)
        hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()
        htpasswd = root / "htpasswd"
        htpasswd.write_text(f"{username}:{hashed}\n")
    for _ in range(3):
        port = free_port()
        config = root / "config.yml"
        config.write_text(_config(root, port, htpasswd, token))
        log = root / "registry.log"
        with log.open("wb") as out:
            proc = subprocess.Popen([exe, "serve", str(config)], stdout=out, stderr=subprocess.STDOUT)
        try:
            if _wait(port, proc, log):
                yield Running(f"127.0.0.1:{port}", root / "storage", username, password)
                return
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    raise RuntimeError(f"the registry would not start: {(root / 'registry.log').read_text(errors='replace')}")
