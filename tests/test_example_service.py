"""`evidence collect` on the example service against a real PostgreSQL, end to end."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from evidence_kit.bundle.verify import verify
from evidence_kit.commands.collect import collect
from evidence_kit.config import load

PASSWORD = "Pg-Passw0rd-4711"
SEEDED = {
    "JOBS_API_TOKEN": "tok_live_9f8e7d6c5b4a",  # named in the example's redact.env
    "STRIPE_SECRET_KEY": "sk_live_51HxQeX2eZvKYlo2C",  # secret-looking name
    "DEPLOY_PASSWORD": "hunter2-deploy-pass",
}
IN_OUTPUT = {
    "bearer": "Bearer abcdefghijklmnopqrstuvwxyz012345",
    "aws": "AKIAIOSFODNN7EXAMPLE",
    "github": "ghp_" + "Zx9" * 12,
}


def run(argv: list[str], cwd: Path, env: dict[str, str]) -> None:
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture()
def service(example_copy: Path, pg_url: str) -> tuple[Path, dict[str, str]]:
    """The example, in a git repo of its own, migrated with its real history on a fresh database."""
    base, _, rest = pg_url.partition("://")
    url = f"{base}://postgres:{PASSWORD}@{rest.split('@', 1)[1]}"
    env = {**os.environ, "DATABASE_URL": url, **SEEDED, "PYTHONDONTWRITEBYTECODE": "1"}
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"
    bin_ = Path(sys.executable).parent
    run([str(bin_ / "alembic"), "downgrade", "base"], example_copy, env)
    run([str(bin_ / "alembic"), "upgrade", "head"], example_copy, env)
    logs = example_copy / "logs"
    logs.mkdir()
    (logs / "worker.log").write_text(
        f"connecting to {url}\nheaders: Authorization: {IN_OUTPUT['bearer']}\n"
        f"aws {IN_OUTPUT['aws']} gh {IN_OUTPUT['github']}\n"
    )
    cfg = (example_copy / "evidence.yaml").read_text()
    cfg = cfg.replace(
        "timeout: 180\n",
        "timeout: 180\n"
        "      - name: leaky\n"
        "        run: 'echo $DATABASE_URL $JOBS_API_TOKEN $STRIPE_SECRET_KEY; echo $DEPLOY_PASSWORD >&2'\n"
        "      - name: worker-once\n"
        "        title: Worker, one job\n"
        "        run: [python, -m, jobs_service.worker, --once, --log-sql]\n"
        "        env: {PYTHONPATH: '.'}\n",
    )
    cfg = cfg.replace("glob: [README.md, alembic.ini]", "glob: [README.md, alembic.ini, logs/*.log]")
    (example_copy / "evidence.yaml").write_text(cfg)
    for argv in (
        ["git", "init", "-q", "-b", "main"],
        ["git", "add", "-A"],
        ["git", "commit", "-qm", "Phase 3.6"],
        ["git", "tag", "phase_3_6"],
    ):
        run(argv, example_copy, env)
    return example_copy, env


def all_bytes(bundle: Path) -> bytes:
    return b"".join(p.read_bytes() for p in sorted(bundle.rglob("*")) if p.is_file())


def test_example_on_postgres_covers_the_seed_sections(service: tuple[Path, dict[str, str]]) -> None:
    root, env = service
    summary = collect(load(root / "evidence.yaml"), env=env, archive=True)
    statuses = {r.collector: (r.status, r.error) for r in summary.results}
    assert all(s == "ok" for s, _ in statuses.values()), statuses
    bundle = summary.bundle
    assert verify(bundle).ok and verify(summary.archive).ok  # type: ignore[arg-type]
    data = bundle / "data"
    head = json.loads((data / "git/head.json").read_text())
    assert head["branch"] == "main" and head["tags"] == ["phase_3_6"]
    assert not head["dirty"], (data / "git/status.txt").read_text()
    assert (data / "alembic/current.txt").read_text().count("c93d1a6e0f52 (head)") >= 1
    summary_json = json.loads((data / "alembic/summary.json").read_text())
    assert summary_json["heads"] == ["c93d1a6e0f52"] and summary_json["up_to_date"] is True
    assert len(list((data / "alembic/migrations").glob("*.py"))) == 7
    ddl = (data / "schema/schema.sql").read_text()
    assert "CREATE TYPE public.run_status AS ENUM" in ddl
    assert "uq_jobs_active" in ddl and "WHERE" in ddl
    schema = json.loads((data / "schema/schema.json").read_text())
    assert "uq_jobs_active" in json.dumps(schema)
    assert "GET,POST /runs" in (data / "openapi/routes.txt").read_text()
    proof = (data / "command/lifecycle-proof.stdout.txt").read_text()
    assert "=== VALIDATION PASSED ===" in proof
    worker_log = (data / "command/lifecycle-proof.stderr.txt").read_text()
    assert "FOR UPDATE SKIP LOCKED" in worker_log and "jobs_service.worker - INFO" in worker_log
    manifest = summary.manifest
    proof_rec = next(a for a in manifest["artifacts"] if a["path"].endswith("lifecycle-proof.stdout.txt"))
    assert proof_rec["exit_code"] == 0 and proof_rec["status"] == "ok"
    assert manifest["git"]["sha"] == head["sha"]


def test_seeded_secrets_never_reach_the_bundle(service: tuple[Path, dict[str, str]]) -> None:
    root, env = service
    summary = collect(load(root / "evidence.yaml"), env=env, archive=True)
    assert summary.archive is not None
    blobs = [all_bytes(summary.bundle), gzip.decompress(summary.archive.read_bytes())]
    secrets = [PASSWORD, *SEEDED.values(), *IN_OUTPUT.values(), IN_OUTPUT["bearer"].split()[1]]
    for blob in blobs:
        for secret in secrets:
            assert secret.encode() not in blob, f"{secret[:6]}… leaked"
    leaky = next(a for a in summary.manifest["artifacts"] if a["path"].endswith("leaky.stdout.txt"))
    assert leaky["redactions"] >= 3
    log = next(a for a in summary.manifest["artifacts"] if a["path"].endswith("logs/worker.log"))
    assert log["redactions"] >= 4
    assert (summary.bundle / "data/command/leaky.stdout.txt").read_text().count("[REDACTED]") >= 3


def test_two_collects_of_the_same_state_give_the_same_digests(service: tuple[Path, dict[str, str]]) -> None:
    root, env = service
    config = load(root / "evidence.yaml")
    static = ["git", "alembic", "schema", "openapi", "files"]
    first = collect(config, env=env, only=static)
    second = collect(config, env=env, only=static)
    digests = [{a["path"]: a["sha256"] for a in s.manifest["artifacts"]} for s in (first, second)]
    assert digests[0] == digests[1]
    assert len(digests[0]) > 20


def test_database_down_is_recorded_and_the_rest_still_runs(service: tuple[Path, dict[str, str]]) -> None:
    root, env = service
    env = {**env, "DATABASE_URL": f"postgresql://postgres:{PASSWORD}@127.0.0.1:1/nothing"}
    summary = collect(load(root / "evidence.yaml"), env=env, only=["alembic", "schema", "openapi"])
    by = {r.collector: r for r in summary.results}
    assert by["schema"].status == "error" and "cannot connect" in (by["schema"].error or "")
    # NOTE: the tip names the one place the URL came from, not every way of giving one.
    tip = (summary.bundle / "data/alembic/current.txt").read_text()
    assert (
        "Tip: start the database, or fix its URL: it came from the environment variable DATABASE_URL" in tip
    )
    assert by["alembic"].status == "error"
    assert by["openapi"].status == "ok"
    assert (summary.bundle / "data/alembic/heads.txt").read_text() == "c93d1a6e0f52 (head)\n"
    assert PASSWORD.encode() not in all_bytes(summary.bundle)
    assert verify(summary.bundle).ok


def test_alembic_collector_agrees_with_alembic_itself(service: tuple[Path, dict[str, str]]) -> None:
    root, env = service
    summary = collect(load(root / "evidence.yaml"), env=env, only=["alembic"])
    bin_ = Path(sys.executable).parent
    for what in ("heads", "history"):
        done = subprocess.run(
            [str(bin_ / "alembic"), what],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        ours = (summary.bundle / f"data/alembic/{what}.txt").read_text()
        assert ours.rstrip() == done.stdout.rstrip()
