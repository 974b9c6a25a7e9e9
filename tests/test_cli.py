"""The `evidence` commands through typer's runner and once end to end as a subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from typer.testing import CliRunner

from evidence_kit.cli import app

runner = CliRunner()


def service(tmp_path: Path, commands: str = "", extra: str = "") -> Path:
    (tmp_path / "logs").mkdir(exist_ok=True)
    (tmp_path / "logs" / "worker.log").write_text("2026-01-01 INFO jobs_service.worker - claimed job 1\n")
    cfg = tmp_path / "evidence.yaml"
    cfg.write_text(
        f"""
service: demo
phase: "1"
output: out
collectors:
  command:
    commands:
      - name: proof
        run: "echo === VALIDATION PASSED ==="
{commands}
  files:
    sets:
      - name: logs
        glob: logs/*.log
{extra}
"""
    )
    return cfg


def bundles(tmp_path: Path) -> list[Path]:
    return sorted(p for p in (tmp_path / "out").iterdir() if p.is_dir() and not p.name.startswith("."))


def test_collect_then_verify_json(tmp_path: Path) -> None:
    cfg = service(tmp_path)
    res = runner.invoke(app, ["collect", "--config", str(cfg), "--json", "--archive"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["ok"] and summary["artifacts"] == 3
    assert {c["name"] for c in summary["collectors"]} == {"command", "files"}
    assert Path(summary["archive"]).is_file()
    for target in (summary["bundle"], summary["archive"]):
        res = runner.invoke(app, ["verify", target, "--json"])
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout)["ok"] is True


def test_only_and_skip(tmp_path: Path) -> None:
    cfg = service(tmp_path)
    res = runner.invoke(app, ["collect", "-c", str(cfg), "--json", "--only", "files"])
    assert [c["name"] for c in json.loads(res.stdout)["collectors"]] == ["files"]
    res = runner.invoke(app, ["collect", "-c", str(cfg), "--json", "--skip", "files"])
    assert [c["name"] for c in json.loads(res.stdout)["collectors"]] == ["command"]
    # NOTE: the manifest records what was left out (gates missing its evidence say so), and verifies.
    bundle = Path(json.loads(res.stdout)["bundle"])
    assert json.loads((bundle / "manifest.json").read_text())["config"]["left_out"] == ["files"]
    assert runner.invoke(app, ["verify", str(bundle)]).exit_code == 0


def test_unknown_collector_is_a_usage_error(tmp_path: Path) -> None:
    res = runner.invoke(app, ["collect", "-c", str(service(tmp_path)), "--only", "gti"])
    assert res.exit_code == 2
    assert "unknown collector: gti" in res.output and "choose from:" in res.output


def test_strict_turns_a_failed_collector_into_exit_1(tmp_path: Path) -> None:
    cfg = service(tmp_path, commands="      - name: broken\n        run: 'exit 7'\n")
    assert runner.invoke(app, ["collect", "-c", str(cfg)]).exit_code == 0
    res = runner.invoke(app, ["collect", "-c", str(cfg), "--strict"])
    assert res.exit_code == 1
    assert "command: failed" in res.output


def test_invalid_config_exits_2_with_every_problem(tmp_path: Path) -> None:
    cfg = tmp_path / "evidence.yaml"
    cfg.write_text("phase: 1\ncollectors:\n  files: {sets: [{name: x}]}\n  git: {log: -}\n")
    res = runner.invoke(app, ["collect", "-c", str(cfg)])
    assert res.exit_code == 2
    assert "3 problems" in res.output
    assert "'service' is a required property" in res.output and "'glob' is a required property" in res.output


def test_verify_tampered_bundle_exits_1(tmp_path: Path) -> None:
    res = runner.invoke(app, ["collect", "-c", str(service(tmp_path)), "--json"])
    bundle = Path(json.loads(res.stdout)["bundle"])
    log = next((bundle / "data" / "files").rglob("*.log"))
    log.write_text("edited\n")
    res = runner.invoke(app, ["verify", str(bundle)])
    assert res.exit_code == 1
    assert "NOT verified" in res.output and "modified: data/files/logs/logs/worker.log" in res.output
    res = runner.invoke(app, ["pack", str(bundle)])
    assert res.exit_code == 1 and "refusing to pack" in res.output


def test_pack_twice_gives_identical_bytes(tmp_path: Path) -> None:
    res = runner.invoke(app, ["collect", "-c", str(service(tmp_path)), "--json"])
    bundle = json.loads(res.stdout)["bundle"]
    a = runner.invoke(app, ["pack", bundle, "--out", str(tmp_path / "a.tar.gz")])
    b = runner.invoke(app, ["pack", bundle, "--out", str(tmp_path / "b.tar.gz")])
    assert a.exit_code == b.exit_code == 0
    assert (tmp_path / "a.tar.gz").read_bytes() == (tmp_path / "b.tar.gz").read_bytes()


def test_two_collects_of_the_same_state_have_identical_artifact_digests(tmp_path: Path) -> None:
    cfg = service(tmp_path)
    digests = []
    for _ in range(2):
        res = runner.invoke(app, ["collect", "-c", str(cfg), "--json"])
        manifest = json.loads((Path(json.loads(res.stdout)["bundle"]) / "manifest.json").read_text())
        digests.append({a["path"]: a["sha256"] for a in manifest["artifacts"]})
    assert digests[0] == digests[1] and len(digests[0]) == 3


def test_missing_bundle_is_a_clear_error(tmp_path: Path) -> None:
    res = runner.invoke(app, ["verify", str(tmp_path / "nope")])
    assert res.exit_code == 1 and "does not exist" in res.output


def test_end_to_end_subprocess_and_sigkill_leaves_nothing(tmp_path: Path) -> None:
    cfg = service(tmp_path, commands="      - name: slow\n        run: 'sleep 30'\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "evidence_kit", "collect", "-c", str(cfg)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not list((tmp_path / "out").glob(".evidence-partial-*")):
        time.sleep(0.05)
    time.sleep(0.3)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert bundles(tmp_path) == [] and not list((tmp_path / "out").glob("*.tar.gz"))
    # The next collect sweeps the dead run's partial folder and publishes a complete bundle.
    cfg = service(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "evidence_kit", "collect", "-c", str(cfg)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert len(bundles(tmp_path)) == 1
    assert not list((tmp_path / "out").glob(".evidence-partial-*"))
    assert "bundle  " in done.stdout


def test_sigterm_interrupts_cleanly(tmp_path: Path) -> None:
    cfg = service(tmp_path, commands="      - name: slow\n        run: 'sleep 30'\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "evidence_kit", "collect", "-c", str(cfg)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not list((tmp_path / "out").glob(".evidence-partial-*")):
        time.sleep(0.05)
    time.sleep(0.3)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert b"no bundle was written" in err
    assert list((tmp_path / "out").iterdir()) == []


def test_diff_command_formats_and_exit_codes(tmp_path: Path) -> None:
    cfg = service(tmp_path)
    first = json.loads(runner.invoke(app, ["collect", "-c", str(cfg), "--json"]).stdout)["bundle"]
    (tmp_path / "logs" / "worker.log").write_text("2026-01-02 INFO jobs_service.worker - claimed job 2\n")
    second = json.loads(runner.invoke(app, ["collect", "-c", str(cfg), "--json", "--archive"]).stdout)[
        "archive"
    ]
    res = runner.invoke(app, ["diff", first, second, "--format", "json"])
    assert res.exit_code == 0, res.output
    changed = [c for s in json.loads(res.stdout)["sections"] for c in s["changes"]]
    assert any("worker.log" in c["what"] for c in changed)
    assert runner.invoke(app, ["diff", first, second, "--fail-on", "any"]).exit_code == 1
    assert runner.invoke(app, ["diff", first, second, "--format", "markdown"]).stdout.startswith("#")
    assert runner.invoke(app, ["diff", first, second, "--format", "yaml"]).exit_code == 2
    (Path(first) / "manifest.json").write_text("{}")
    res = runner.invoke(app, ["diff", first, second])
    assert res.exit_code == 1 and "--no-verify" in res.output


def test_docs_command_writes_the_phase_documents(tmp_path: Path) -> None:
    bundle = json.loads(runner.invoke(app, ["collect", "-c", str(service(tmp_path)), "--json"]).stdout)[
        "bundle"
    ]
    res = runner.invoke(app, ["docs", bundle, "--out", str(tmp_path / "docs")])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "docs").iterdir()) == [
        "architecture.md",
        "endpoints.md",
        "migration-guide.md",
        "overview.md",
        "release-notes.md",
        "rollback-plan.md",
    ]
    assert "TODO(author)" in (tmp_path / "docs" / "endpoints.md").read_text()
    assert runner.invoke(app, ["docs", bundle, "--out", str(Path(bundle) / "inside")]).exit_code == 2


def test_errors_and_paths_are_printed_literally(tmp_path: Path) -> None:
    odd = tmp_path / "[red]bundle:thumbs_up:"
    res = runner.invoke(app, ["verify", str(odd)])
    assert res.exit_code == 1
    assert f"error: {odd} does not exist\n" in res.output and "Tip: pass a bundle folder" in res.output


def test_help_imports_no_command_module() -> None:
    probe = (
        "import sys; sys.argv = ['evidence', '--help']; import evidence_kit.cli as cli\n"
        "try:\n    cli.main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.startswith('evidence_kit')), file=sys.stderr)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert "Commands:" in done.stdout
    assert done.stderr.strip() == "['evidence_kit', 'evidence_kit.cli', 'evidence_kit.errors']"


def test_report_command_files_and_exit_codes(tmp_path: Path) -> None:
    cfg = service(tmp_path)
    first = json.loads(runner.invoke(app, ["collect", "-c", str(cfg), "--json"]).stdout)["bundle"]
    second = json.loads(runner.invoke(app, ["collect", "-c", str(cfg), "--json"]).stdout)["bundle"]
    res = runner.invoke(app, ["report", first, "--out", str(tmp_path / "r")])
    assert res.exit_code == 0, res.output
    assert res.stdout.splitlines() == [str(tmp_path / "r" / "report.md"), str(tmp_path / "r" / "report.html")]
    res = runner.invoke(app, ["report", "--diff", first, second, "--out", str(tmp_path / "d")])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "d").iterdir()) == ["diff.html", "diff.md"]
    assert runner.invoke(app, ["report"]).exit_code == 2
    assert runner.invoke(app, ["report", first, "--check", str(tmp_path / "none.json")]).exit_code == 2
    (Path(first) / "manifest.json").write_text("{}")
    res = runner.invoke(app, ["report", "--diff", first, second, "--out", str(tmp_path / "d2")])
    assert res.exit_code == 1 and "not verify" in res.output


def test_a_report_rendered_in_the_service_does_not_dirty_its_tree(tmp_path: Path) -> None:
    cfg = service(tmp_path)
    bundle = json.loads(runner.invoke(app, ["collect", "-c", str(cfg), "--json"]).stdout)["bundle"]
    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    kept = repo / "docs" / "reports"
    kept.mkdir(parents=True)
    for out in (repo / "evidence-report", kept, tmp_path / "elsewhere"):
        res = runner.invoke(app, ["report", bundle, "--out", str(out)])
        assert res.exit_code == 0, res.output
        said = f"wrote {out / '.gitignore'}: the new report folder stays out of git"
        assert (said in res.output) == (out.name == "evidence-report"), res.output
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True
    )
    assert status.stdout.splitlines() == ["?? docs/"], (
        "a new report folder ignores itself; a user's folder does not"
    )
    assert (repo / "evidence-report" / ".gitignore").read_text().endswith("\n*\n")
    assert not (kept / ".gitignore").exists() and not (tmp_path / "elsewhere" / ".gitignore").exists()
    assert (repo / "evidence-report" / "report.html").is_file()
    # NOTE: documents too: a new folder of them ignores itself, so the next collect's tree is clean.
    res = runner.invoke(app, ["docs", bundle, "--out", str(repo / "phase-docs")])
    assert res.exit_code == 0 and "the new documents folder stays out of git" in res.output, res.output
    status = subprocess.run(
        ["git", "status", "--porcelain"], cwd=repo, capture_output=True, text=True, check=True
    )
    assert status.stdout.splitlines() == ["?? docs/"]


def test_strict_counts_a_skipped_collector_as_not_ok(tmp_path: Path) -> None:
    (tmp_path / "migrations" / "versions").mkdir(parents=True)
    (tmp_path / "alembic.ini").write_text("[alembic]\nscript_location = migrations\n")
    (tmp_path / "migrations" / "versions" / "a1_init.py").write_text(
        '"""init"""\nrevision = "a1"\ndown_revision = None\n\n\ndef upgrade():\n    pass\n'
    )
    cfg = tmp_path / "evidence.yaml"
    cfg.write_text("service: demo\noutput: out\ncollectors:\n  alembic: true\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG") and k != "DATABASE_URL"}
    res = runner.invoke(app, ["collect", "-c", str(cfg), "--json"], env=env)
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["collectors"][0]["status"] == "skipped"
    res = runner.invoke(app, ["collect", "-c", str(cfg), "--strict"], env=env)
    assert res.exit_code == 1
    assert "1 of 1 collectors not ok" in res.stdout and "  alembic: skipped: " in res.stdout


def _pids(folder: Path, count: int) -> list[int]:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        files = list(folder.iterdir())
        if len(files) >= count and all(f.read_text().strip() for f in files):
            return [int(f.name) for f in files]
        time.sleep(0.05)
    raise AssertionError("the commands did not start")


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (ProcessLookupError, FileNotFoundError, IndexError):
        return False


def test_ctrl_c_and_sigkill_of_a_collect_leave_no_process_behind(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    sleeper = tmp_path / "sleeper.sh"
    sleeper.write_text(f"#!/bin/sh\necho $$ > {pids}/$$\nexec sleep 300\n")
    sleeper.chmod(0o755)
    # In another session, behind `timeout` (its own process group), and double-forked out of a session.
    run = f'setsid {sleeper} & timeout -s INT 90 {sleeper} & sh -c "(setsid {sleeper} &)"; sleep 300'
    commands = f"      - name: escapes\n        run: '{run}'\n"
    cfg = service(tmp_path, commands=commands)
    for stop in (signal.SIGINT, signal.SIGKILL):
        for f in pids.iterdir():
            f.unlink()
        collect = subprocess.Popen(
            [sys.executable, "-m", "evidence_kit", "collect", "-c", str(cfg)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        try:
            found = _pids(pids, 3)
        finally:
            # NOTE: Ctrl-C reaches the collect's process group; the commands are in sessions of their own.
            os.killpg(collect.pid, stop)
            collect.communicate(timeout=30)
        assert collect.returncode == (130 if stop == signal.SIGINT else -signal.SIGKILL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_running(p) for p in found):
            time.sleep(0.05)
        left = [p for p in found if _running(p)]
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        assert not left, f"{stop.name}: processes outlived the collect"
