"""The wheel ships the rules, templates and JSON Schemas, and the code finds them either way."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from evidence_kit.support.resources import shipped

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("kind", ["rules", "templates"])
def test_shipped_folders_are_found_in_this_install(kind: str) -> None:
    assert shipped(kind).joinpath("README.md").is_file()


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown kind"):
        shipped("secrets")


def test_wheel_contains_the_data_and_installed_code_finds_it(tmp_path: Path) -> None:
    built = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr[-2000:]
    wheel = next(tmp_path.glob("evidence_kit-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "evidence_kit/rules/README.md",
        "evidence_kit/templates/README.md",
        "evidence_kit/bundle/manifest.schema.json",
        "evidence_kit/config.schema.json",
        "evidence_kit/export/check-report.schema.json",
    ):
        assert name in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)
    probe = (
        "from evidence_kit.support.resources import shipped; import evidence_kit;"
        "print(evidence_kit.__file__); print(shipped('rules'))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
    )
    assert out.returncode == 0, out.stderr
    module, rules = out.stdout.splitlines()
    assert module.startswith(str(site)) and rules == str(site / "evidence_kit" / "rules")


# NOTE: older releases of packages evidence-kit shares with services, as a service may have them.
SERVICE_PINS = [
    "pytest==7.4.4",
    "PyYAML==6.0.1",
    "Jinja2==3.0.3",
    "jsonschema==4.17.3",
    "cryptography==41.0.7",
    "rich==12.6.0",
    "typer==0.9.0",
    "psycopg[binary]==3.1.18",
]


def _freeze(python: Path) -> dict[str, str]:
    out = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json", "--disable-pip-version-check"],
        capture_output=True,
        text=True,
        check=True,
    )
    return {p["name"].lower(): p["version"] for p in json.loads(out.stdout)}


@pytest.mark.slow
def test_the_plugin_installs_into_a_service_environment_and_changes_none_of_its_packages(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    from tests import pythons

    python = pythons.venv(tmp_path_factory, "3.10", SERVICE_PINS)
    service = tmp_path / "service"
    venv = service / ".venv"
    # NOTE: a copy, so that the session's cached virtualenv stays as pip left it.
    shutil.copytree(python.parent.parent, venv, symlinks=True)
    python = venv / "bin" / "python"
    before = _freeze(python)
    wheel = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(ROOT),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert wheel.returncode == 0, wheel.stderr
    [built] = tmp_path.glob("evidence_kit-*.whl")
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", str(built)],
        capture_output=True,
        text=True,
        check=False,
    )
    if installed.returncode != 0:
        reason = "cannot install evidence-kit's dependencies here: " + installed.stderr[-300:]
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    after = _freeze(python)
    changed = {name: (v, after.get(name)) for name, v in before.items() if after.get(name) != v}
    assert changed == {}
    (service / "test_one.py").write_text("def test_one():\n    assert 1 + 1 == 2\n")
    run = subprocess.run(
        [str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "--evidence-out", "out", "test_one.py"],
        cwd=service,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    [bundle] = [p for p in (service / "out").iterdir() if p.is_dir()]
    assert (bundle / "data" / "pytest" / "tests.json").is_file()
