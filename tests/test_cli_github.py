"""GitHub-aware flags (`collect --github`, `check --github-summary --sarif`) and `evidence init`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidence_kit.cli import app

runner = CliRunner()


@pytest.fixture()
def github_env(tmp_path: Path) -> dict[str, str]:
    out, summary = tmp_path / "gh_output", tmp_path / "gh_summary"
    out.write_text("")
    summary.write_text("")
    return {"GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(summary)}


def outputs(path: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in Path(path).read_text().splitlines() if "=" in line)


def test_collect_github_writes_outputs_and_phase_overrides(
    tmp_path: Path, github_env: dict[str, str]
) -> None:
    cfg = tmp_path / "evidence.yaml"
    cfg.write_text(
        "service: s\nphase: '1'\noutput: out\ncollectors:\n  command:\n    commands:\n"
        "      - {name: proof, run: 'echo ok'}\n"
    )
    res = runner.invoke(
        app, ["collect", "-c", str(cfg), "--archive", "--github", "--phase", "2.0", "--json"], env=github_env
    )
    assert res.exit_code == 0, res.output
    got = outputs(github_env["GITHUB_OUTPUT"])
    assert Path(got["bundle"]).is_absolute() and Path(got["bundle"]).name.startswith("s-2.0-")
    assert got["archive"].endswith(".tar.gz") and Path(got["archive"]).is_file()
    assert got["digest"] == json.loads(res.stdout)["digest"]


def test_check_github_summary_and_sarif(tmp_path: Path, github_env: dict[str, str]) -> None:
    versions = tmp_path / "migrations" / "versions"
    versions.mkdir(parents=True)
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = %(here)s/migrations\n")
    (versions / "a1.py").write_text(
        '"""add"""\nrevision = "a1"\ndown_revision = None\ndef upgrade():\n    x()\n'
    )
    sarif = tmp_path / "out" / "check.sarif"
    res = runner.invoke(
        app,
        ["check", str(tmp_path), "--format", "github", "--sarif", str(sarif), "--github-summary"],
        env=github_env,
    )
    assert res.exit_code == 1
    assert outputs(github_env["GITHUB_OUTPUT"]) == {"check-result": "fail"}
    assert "## ❌ evidence check" in Path(github_env["GITHUB_STEP_SUMMARY"]).read_text()
    assert json.loads(sarif.read_text())["version"] == "2.1.0"


def test_check_outside_actions_writes_no_github_files(tmp_path: Path) -> None:
    res = runner.invoke(app, ["check", str(tmp_path), "--github-summary"], env={"GITHUB_OUTPUT": ""})
    assert res.exit_code == 0


def test_init_writes_then_skips(example_copy: Path) -> None:
    for name in ("evidence.yaml", ".github"):
        path = example_copy / name
        if path.is_file():
            path.unlink()
    res = runner.invoke(app, ["init", str(example_copy)])
    assert res.exit_code == 0, res.output
    assert "jobs_service.app:app" in res.output
    assert f"wrote {example_copy / 'evidence.yaml'}" in res.output
    before = (example_copy / "evidence.yaml").read_bytes()
    again = runner.invoke(app, ["init", str(example_copy)])
    assert again.exit_code == 0 and "skipped" in again.output and "wrote" not in again.output
    assert (example_copy / "evidence.yaml").read_bytes() == before
    assert runner.invoke(app, ["init", str(example_copy / "missing")]).exit_code == 2
