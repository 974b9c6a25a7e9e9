"""`evidence keygen`, `sign`, `verify --key`, `attest` and `merge` through the command line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from evidence_kit.cli import app

runner = CliRunner()


def collect(tmp_path: Path, archive: bool = False) -> dict[str, str]:
    cfg = tmp_path / "evidence.yaml"
    cfg.write_text(
        "service: s\nphase: '1'\noutput: out\ncollectors:\n  command:\n    commands:\n"
        "      - {name: proof, run: 'echo ok'}\n"
    )
    res = runner.invoke(app, ["collect", "-c", str(cfg), "--json", *(["--archive"] if archive else [])])
    assert res.exit_code == 0, res.output
    summary: dict[str, str] = json.loads(res.stdout)
    return summary


def test_keygen_sign_verify_and_wrong_key(tmp_path: Path) -> None:
    bundle = collect(tmp_path)["bundle"]
    assert runner.invoke(app, ["keygen", "--out", str(tmp_path / "k" / "key")]).exit_code == 0
    assert runner.invoke(app, ["keygen", "--out", str(tmp_path / "k" / "key")]).exit_code == 2
    assert runner.invoke(app, ["keygen", "--out", str(tmp_path / "other")]).exit_code == 0
    assert runner.invoke(app, ["sign", bundle, "--key", str(tmp_path / "k" / "key")]).exit_code == 0
    ok = runner.invoke(app, ["verify", bundle, "--key", str(tmp_path / "k" / "key.pub")])
    assert ok.exit_code == 0 and "signature verified" in ok.output
    bad = runner.invoke(app, ["verify", bundle, "--key", str(tmp_path / "other.pub"), "--json"])
    assert bad.exit_code == 1
    assert any(p["kind"] == "signature" for p in json.loads(bad.stdout)["problems"])
    unsigned = collect(tmp_path)["bundle"]
    res = runner.invoke(app, ["verify", unsigned, "--key", str(tmp_path / "k" / "key.pub")])
    assert res.exit_code == 1 and "evidence sign" in res.output


def test_attest_statement_and_predicate(tmp_path: Path) -> None:
    summary = collect(tmp_path, archive=True)
    res = runner.invoke(app, ["attest", summary["bundle"]])
    assert res.exit_code == 0
    statement = json.loads(res.stdout)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    names = {s["name"] for s in statement["subject"]}
    assert any(n.endswith(".tar.gz") for n in names) and any(n.endswith("manifest.json") for n in names)
    res = runner.invoke(
        app, ["attest", summary["bundle"], "--predicate-only", "--out", str(tmp_path / "p.json")]
    )
    assert res.exit_code == 0 and "_type" not in json.loads((tmp_path / "p.json").read_text())


def test_merge_parts_into_one_bundle(tmp_path: Path) -> None:
    a, b = collect(tmp_path)["bundle"], collect(tmp_path, archive=True)["archive"]
    res = runner.invoke(app, ["merge", a, b, "--out", str(tmp_path / "merged")])
    assert res.exit_code == 0, res.output
    merged = res.stdout.strip()
    assert runner.invoke(app, ["verify", merged]).exit_code == 0
    (Path(a) / "data" / "command" / "proof.stdout.txt").write_text("forged\n")
    res = runner.invoke(app, ["merge", a, b, "--out", str(tmp_path / "merged2")])
    assert res.exit_code == 1 and "proof.stdout.txt" in res.output
