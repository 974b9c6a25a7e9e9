"""Find or start a real PostgreSQL for the tests, and make throwaway databases on it."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
INSTALL_HINT = (
    "no PostgreSQL server is reachable and no PostgreSQL binaries were found. Install the "
    "server (Debian: `apt-get install postgresql`), start it, or set "
    "EVIDENCE_TEST_DATABASE_URL=postgresql://USER@HOST:PORT/postgres"
)


def _reachable(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
        return True
    except psycopg.Error:
        return False


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


class Throwaway:
    """A PostgreSQL cluster in a temporary folder, run as a non-root user when we are root."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.home = Path(tempfile.mkdtemp(prefix="ek-pg-"))
        self.port = 55432 + os.getpid() % 1000
        self.user = "postgres" if os.geteuid() == 0 else None

    def _run(self, *argv: str) -> None:
        cmd = list(argv)
        if self.user:
            shutil.chown(self.home, self.user)
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        subprocess.run(cmd, check=True, capture_output=True, timeout=120)

    def start(self) -> str:
        data = self.home / "data"
        self._run(str(self.bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres")
        self._run(
            str(self.bindir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(self.home / "log"),
            "-w",
            "-o",
            f"-p {self.port} -k {self.home} -h 127.0.0.1",
            "start",
        )
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        try:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.home / "data"), "-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.home, ignore_errors=True)


@contextmanager
def server() -> Iterator[str]:
    """Yield an admin URL of a reachable server, starting a throwaway one if need be."""
    explicit = os.environ.get("EVIDENCE_TEST_DATABASE_URL")
    for url in filter(None, (explicit, DEFAULT_URL)):
        if _reachable(url):
            yield url
            return
    bindir = _bindir()
    if bindir is None:
        raise RuntimeError(INSTALL_HINT)
    cluster = Throwaway(bindir)
    try:
        yield cluster.start()
    finally:
        cluster.stop()


def with_database(admin_url: str, name: str) -> str:
    """The admin URL pointed at another database."""
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}"


@contextmanager
def database(admin_url: str, prefix: str = "ek_test") -> Iterator[str]:
    """Create a throwaway database, yield its URL, drop it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield with_database(admin_url, name)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
