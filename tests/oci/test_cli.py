"""`evidence push`, `pull`, `list`, `cache prune`, and `oci://` references in other commands, via the CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evidence_kit.cli import app
from evidence_kit.commands import attest
from tests.oci import registry
from tests.oci.helpers import make_bundle

runner = CliRunner()


def test_push_list_pull_and_every_reader_takes_a_reference(
    tmp_path: Path, repo: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundle = make_bundle(tmp_path / "b", "3 passed\n")
    key, pub = attest.keygen(tmp_path / "k")
    attest.sign(bundle, key)
    statement = tmp_path / "statement.json"
    statement.write_text(json.dumps(attest.statement(bundle)))
    outputs = tmp_path / "github-output"
    monkeypatch.setenv("GITHUB_OUTPUT", str(outputs))

    res = runner.invoke(
        app, ["push", str(bundle), repo + ":review", "--attestation", str(statement), "--github"]
    )
    assert res.exit_code == 0, res.output
    pinned = res.stdout.strip()
    assert pinned.startswith(repo + "@sha256:") and len(pinned) == len(repo) + 72
    assert "signature sha256:" in res.stderr and "statement sha256:" in res.stderr
    written = outputs.read_text()
    assert f"reference={pinned}\n" in written and f"tags={bundle.name} svc-1 review\n" in written

    res = runner.invoke(app, ["list", repo])
    assert res.exit_code == 0, res.output
    assert bundle.name in res.stdout and "svc-1" in res.stdout and "| yes" in res.stdout
    history = json.loads(runner.invoke(app, ["list", repo, "--json"]).stdout)
    assert (
        history["bundles"][0]["digest"] == pinned.split("@")[1] and history["bundles"][0]["statements"] == 1
    )

    res = runner.invoke(app, ["pull", repo + ":review", "--out", str(tmp_path / "pulled")])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines() == [
        str(tmp_path / "pulled" / name)
        for name in (
            bundle.name,
            f"{bundle.name}.tar.gz",
            f"{bundle.name}.dsse.json",
            f"{bundle.name}.intoto.json",
        )
    ]

    res = runner.invoke(app, ["verify", pinned, "--key", str(pub)])
    assert res.exit_code == 0, res.output
    assert f"verified {bundle.name}" in res.stdout and "signature verified" in res.stdout
    newer = make_bundle(tmp_path / "b", "2 passed\n1 failed\n")
    assert runner.invoke(app, ["push", str(newer), repo]).exit_code == 0
    res = runner.invoke(app, ["diff", repo + ":review", repo + ":svc-1", "--fail-on", "never"])
    assert res.exit_code == 0, res.output
    assert bundle.name in res.stdout and newer.name in res.stdout
    res = runner.invoke(app, ["report", "--diff", pinned, str(newer), "--out", str(tmp_path / "diff-report")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["report", pinned, "--out", str(tmp_path / "report")])
    assert res.exit_code == 0 and (tmp_path / "report" / "report.html").is_file(), res.output
    res = runner.invoke(app, ["docs", pinned, "--out", str(tmp_path / "docs")])
    assert res.exit_code == 0 and (tmp_path / "docs" / "overview.md").is_file(), res.output
    res = runner.invoke(app, ["check", "--bundle", pinned, "--format", "json", "--fail-on", "never"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["summary"]

    res = runner.invoke(app, ["cache", "prune"])
    assert res.exit_code == 0 and res.stdout.startswith("removed 2 cached bundles ("), res.output
    assert not list(Path(os.environ["EVIDENCE_CACHE_DIR"]).iterdir())


def test_errors_name_the_reference_and_exit_codes(tmp_path: Path, repo: str) -> None:
    res = runner.invoke(app, ["pull", "oci://127.0.0.1/Bad/name:x", "--out", str(tmp_path / "o")])
    assert res.exit_code == 2 and "is not a valid repository name" in res.stderr
    down = f"oci://127.0.0.1:{registry.free_port()}/t/x:svc-1"
    res = runner.invoke(app, ["pull", down, "--out", str(tmp_path / "o")])
    assert res.exit_code == 1 and "cannot reach the registry at http://127.0.0.1:" in res.stderr
    assert "Tip: check that the registry is up" in res.stderr and not (tmp_path / "o").exists()
    res = runner.invoke(app, ["verify", repo + ":missing"])
    assert res.exit_code == 1 and f"{repo} has no" in res.stderr
    res = runner.invoke(app, ["verify", repo + ":missing", "--json"])
    assert res.exit_code == 1 and json.loads(res.stdout)["ok"] is False
    res = runner.invoke(app, ["list", repo])
    assert res.exit_code == 1 and "has no repository" in res.stderr


def test_end_to_end_as_processes(tmp_path: Path, repo: str) -> None:
    bundle = make_bundle(tmp_path / "b")
    env = {**os.environ, "COLUMNS": "200"}

    def evidence(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "evidence_kit", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )

    pushed = evidence("push", str(bundle), repo)
    assert pushed.returncode == 0, pushed.stderr
    again = evidence("push", str(bundle), repo)
    assert again.stdout == pushed.stdout and "uploaded nothing new" in again.stderr
    pulled = evidence("pull", pushed.stdout.strip(), "--out", str(tmp_path / "out"))
    assert pulled.returncode == 0, pulled.stderr
    verified = evidence("verify", str(tmp_path / "out" / bundle.name))
    assert verified.returncode == 0 and "verified" in verified.stdout
