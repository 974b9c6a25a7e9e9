"""The wheel ships the rules, templates and JSON Schemas, and the code finds them either way."""

from __future__ import annotations

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
