"""The alembic collector against the real `alembic` of several releases, on their own `alembic init` files.

Each release is installed once per test session in a throwaway virtualenv of the tool's Python
(`tests.pythons.venv`); without network access the tests skip, and fail under CI. For every
release: the ini its `init` writes (1.13 carries `version_path_separator = os  # Use os.pathsep...`,
1.15 the legacy key alone, 1.16 writes `path_separator`), a branch and a merge, a second named
section (`-n tenant`), `script_location` in package notation, recursive version folders and
`version_locations` with a valid and an invalid separator. What `alembic heads`, `history` and
`current` print is compared with what the collector wrote; where alembic refuses a configuration,
so must the collector.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from evidence_kit.collectors import alembic as collector
from evidence_kit.errors import CollectorError
from evidence_kit.model import Context
from tests import pythons

RELEASES = ("1.13.3", "1.15.2", "1.16.5")
HOME_RE = re.compile(r"^sqlalchemy\.url = .*$", re.MULTILINE)


@pytest.fixture(scope="module", params=RELEASES)
def release(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    version = str(request.param)
    python = pythons.venv(tmp_path_factory, "tool", [f"alembic=={version}", "sqlalchemy>=2"])
    return version, python.parent / "alembic"


def _run(alembic: Path, cwd: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": f"{alembic.parent}{os.pathsep}/usr/bin:/bin",
        "HOME": str(cwd),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    done = subprocess.run(
        [str(alembic), *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
    )
    if ok and done.returncode != 0:
        raise AssertionError(f"alembic {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done


def _project(alembic: Path, root: Path) -> Path:
    """`alembic init`, a linear start, a branch point, a merge, and the database at the heads."""
    root.mkdir()
    _run(alembic, root, "init", "migrations")
    ini = root / "alembic.ini"
    ini.write_text(HOME_RE.sub("sqlalchemy.url = sqlite:///%(here)s/app.db", ini.read_text()))
    _run(alembic, root, "revision", "-m", "create runs", "--rev-id", "a1")
    _run(alembic, root, "revision", "-m", "left side", "--rev-id", "b1", "--head", "a1")
    _run(alembic, root, "revision", "-m", "right side", "--rev-id", "c1", "--head", "a1", "--splice")
    _run(alembic, root, "merge", "-m", "merge sides", "--rev-id", "d1", "heads")
    _run(alembic, root, "upgrade", "head")
    return root


def _outputs(root: Path, options: dict[str, object], url: str | None = None) -> dict[str, bytes]:
    ctx = Context(root=root, scratch=root.parent / f"scratch-{root.name}", database_url=url)
    return {o.name: o.data or b"" for o in collector.collect(ctx, options)}


def _current(text: str) -> set[str]:
    return {line.split()[0] for line in text.splitlines() if line and not line.startswith(("INFO", "["))}


def test_init_template_reads_as_alembic_reads_it(release: tuple[str, Path], tmp_path: Path) -> None:
    version, alembic = release
    root = _project(alembic, tmp_path / "svc")
    if version.startswith("1.13."):
        assert "version_path_separator = os  # Use os.pathsep." in (root / "alembic.ini").read_text()
    url = f"sqlite:///{root / 'app.db'}"
    got = _outputs(root, {}, url)
    assert got["heads.txt"].decode() == _run(alembic, root, "heads").stdout
    assert got["history.txt"].decode() == _run(alembic, root, "history").stdout
    assert _current(got["current.txt"].decode()) == _current(_run(alembic, root, "current").stdout) == {"d1"}
    assert "problems.txt" not in got


def test_named_sections_package_notation_and_recursive_folders(
    release: tuple[str, Path], tmp_path: Path
) -> None:
    _, alembic = release
    root = _project(alembic, tmp_path / "svc")
    # A second environment in a package, read by section name as `alembic -n tenant` does.
    (root / "tenantpkg").mkdir()
    (root / "tenantpkg" / "__init__.py").write_text("")
    _run(alembic, root, "-c", "scratch.ini", "init", "tenantpkg/migrations")
    (root / "scratch.ini").unlink()
    with (root / "alembic.ini").open("a") as ini:
        ini.write(
            "\n[tenant]\nscript_location = tenantpkg:migrations\nprepend_sys_path = .\n"
            "sqlalchemy.url = sqlite:///%(here)s/tenant.db\nrecursive_version_locations = true\n"
        )
    _run(alembic, root, "-n", "tenant", "revision", "-m", "tenant base", "--rev-id", "t1")
    _run(alembic, root, "-n", "tenant", "revision", "-m", "tenant next", "--rev-id", "t2")
    versions = root / "tenantpkg" / "migrations" / "versions"
    (versions / "2026").mkdir()
    (versions / "t2_tenant_next.py").rename(versions / "2026" / "t2_tenant_next.py")
    options = {"configs": [{"ini": "alembic.ini"}, {"ini": "alembic.ini", "name": "tenant"}]}
    got = _outputs(root, options)
    assert got["tenant/heads.txt"].decode() == _run(alembic, root, "-n", "tenant", "heads").stdout
    assert got["tenant/history.txt"].decode() == _run(alembic, root, "-n", "tenant", "history").stdout
    assert "tenant/migrations/2026/t2_tenant_next.py" in got
    assert got["alembic/heads.txt"].decode() == _run(alembic, root, "heads").stdout


def test_version_locations_with_the_separator_alembic_accepts(
    release: tuple[str, Path], tmp_path: Path
) -> None:
    _, alembic = release
    root = _project(alembic, tmp_path / "svc")
    ini = root / "alembic.ini"
    text = ini.read_text()
    (root / "extra").mkdir()
    locations = f"version_locations = %(here)s/migrations/versions{os.pathsep}%(here)s/extra\n"
    # The template's separator line, inline comment and all: alembic refuses it once locations are set.
    ini.write_text(text.replace("[alembic]\n", "[alembic]\n" + locations, 1))
    refused = _run(alembic, root, "heads", ok=False)
    separator = re.search(r"^(version_path_separator|path_separator) = (.*)$", text, re.MULTILINE)
    assert separator is not None
    if "#" in separator.group(2):
        assert refused.returncode != 0
        with pytest.raises(CollectorError, match="is not valid"):
            _outputs(root, {})
    fixed = text.replace(separator.group(0), f"{separator.group(1)} = os")
    ini.write_text(fixed.replace("[alembic]\n", "[alembic]\n" + locations, 1))
    _run(
        alembic,
        root,
        "revision",
        "-m",
        "extra one",
        "--rev-id",
        "e1",
        "--head",
        "d1",
        "--version-path",
        str(root / "extra"),
    )
    got = _outputs(root, {})
    assert got["heads.txt"].decode() == _run(alembic, root, "heads").stdout == "e1 (head)\n"
    assert got["history.txt"].decode() == _run(alembic, root, "history").stdout
