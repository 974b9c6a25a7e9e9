"""The command collector: exit codes, expected codes, caps, timeouts that kill the whole group."""

from __future__ import annotations

import os
import time
from pathlib import Path

from evidence_kit.collectors import command
from evidence_kit.model import Context


def ctx(tmp_path: Path, **kw: object) -> Context:
    return Context(root=tmp_path, scratch=tmp_path / "scratch", env=dict(os.environ), **kw)  # type: ignore[arg-type]


def test_success_and_failure_are_recorded(tmp_path: Path) -> None:
    outs = command.collect(
        ctx(tmp_path),
        {
            "commands": [
                {"name": "ok", "run": "echo hello; echo oops >&2"},
                {"name": "bad", "run": ["sh", "-c", "exit 3"]},
                {"name": "expected", "run": "exit 4", "expect": 4},
            ]
        },
    )
    by = {o.name: o for o in outs}
    assert by["ok.stdout.txt"].source.read_bytes() == b"hello\n"  # type: ignore[union-attr]
    assert by["ok.stderr.txt"].source.read_bytes() == b"oops\n"  # type: ignore[union-attr]
    assert by["ok.stdout.txt"].status == "ok" and by["ok.stdout.txt"].exit_code == 0
    assert by["ok.stdout.txt"].argv == ("sh", "-c", "echo hello; echo oops >&2")
    assert by["bad.stdout.txt"].status == "failed" and by["bad.stdout.txt"].exit_code == 3
    assert by["bad.stdout.txt"].message == "exit code 3, expected 0"
    assert by["expected.stdout.txt"].status == "ok"


def test_timeout_kills_the_process_group(tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    t0 = time.monotonic()
    outs = command.collect(
        ctx(tmp_path),
        {
            "commands": [
                {"name": "hang", "run": f"sleep 60 & echo $! > {marker}; wait", "timeout": 1},
            ]
        },
    )
    assert time.monotonic() - t0 < 15
    assert outs[0].status == "timeout" and outs[0].exit_code is None
    assert "timed out after 1 s" in (outs[0].message or "")
    child = int(marker.read_text())
    time.sleep(0.2)
    try:
        os.kill(child, 0)
        alive = Path(f"/proc/{child}/stat").read_text().split()[2] != "Z"
    except ProcessLookupError:
        alive = False
    assert not alive, "the backgrounded child outlived the timeout"


def test_output_is_capped_and_truncation_recorded(tmp_path: Path) -> None:
    outs = command.collect(
        ctx(tmp_path),
        {
            "commands": [
                {"name": "loud", "run": "yes evidence | head -c 100000", "max_bytes": 1000},
            ]
        },
    )
    assert outs[0].truncated and outs[0].source.stat().st_size == 1000  # type: ignore[union-attr]


def test_env_and_cwd_and_database_url(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    c = Context(
        root=tmp_path,
        scratch=tmp_path / "s",
        database_url="sqlite:///x.db",
        env={"PATH": os.environ["PATH"], "FROM_ENV": "v1"},
    )
    outs = command.collect(
        c,
        {
            "commands": [
                {
                    "name": "e",
                    "run": "pwd; echo $GREETING $DATABASE_URL",
                    "cwd": "sub",
                    "env": {"GREETING": "hi-${FROM_ENV}"},
                },
            ]
        },
    )
    assert outs[0].source.read_text().splitlines() == [str(tmp_path / "sub"), "hi-v1 sqlite:///x.db"]  # type: ignore[union-attr]


def test_a_null_in_env_unsets_the_variable_the_database_url_too(tmp_path: Path) -> None:
    """`env: {DATABASE_URL: null}`: the command runs without it, as the service's own CI runs its tests."""
    c = Context(
        root=tmp_path,
        scratch=tmp_path / "s",
        database_url="sqlite:///x.db",
        env={"PATH": os.environ["PATH"], "APP_DB_URL": "sqlite:///y.db"},
    )
    spec = {"name": "e", "run": 'echo "[${DATABASE_URL-unset}] [${APP_DB_URL-unset}]"'}
    outs = command.collect(c, {"commands": [{**spec, "env": {"DATABASE_URL": None, "APP_DB_URL": None}}]})
    assert outs[0].source.read_text() == "[unset] [unset]\n"  # type: ignore[union-attr]
    outs = command.collect(c, {"commands": [spec]})
    assert outs[0].source.read_text() == "[sqlite:///x.db] [sqlite:///y.db]\n"  # type: ignore[union-attr]


def test_missing_program_and_missing_cwd_are_errors_the_others_still_run(tmp_path: Path) -> None:
    outs = command.collect(
        ctx(tmp_path),
        {
            "commands": [
                {"name": "nope", "run": ["definitely-not-a-program-xyz"]},
                {"name": "where", "run": "true", "cwd": "missing"},
                {"name": "fine", "run": "true"},
            ]
        },
    )
    by = {o.name: o for o in outs}
    assert by["nope.error.txt"].status == "error" and "not found" in (by["nope.error.txt"].message or "")
    assert by["where.error.txt"].status == "error" and "does not exist" in (
        by["where.error.txt"].message or ""
    )
    assert by["fine.stdout.txt"].status == "ok"


WORKER = (
    "import sys, time\n"
    "print('worker started', flush=True)\n"
    "try:\n"
    "    while True:\n"
    "        time.sleep(0.02)\n"
    "except KeyboardInterrupt:\n"
    "    print('worker stopped on SIGINT', flush=True)\n"
    "    sys.exit(int(sys.argv[1]))\n"
)


def run_for(tmp_path: Path, run: object, **spec: object) -> dict[str, object]:
    outs = command.collect(ctx(tmp_path), {"commands": [{"name": "worker", "run": run, **spec}]})
    by = {o.name: o for o in outs}
    out = by["worker.stdout.txt"]
    assert by["worker.stderr.txt"].status == out.status
    return {
        "status": out.status,
        "message": out.message,
        "exit_code": out.exit_code,
        "log": out.source.read_text() if out.source else "",  # type: ignore[union-attr]
        "process": out.process,
    }


def test_run_for_ok_when_the_worker_stops_on_sigint(tmp_path: Path) -> None:
    import sys

    for code in (0, 130):
        got = run_for(tmp_path, [sys.executable, "-c", WORKER, str(code)], run_for=0.5, grace=5)
        assert got["status"] == "ok", got
        assert got["exit_code"] == code
        assert got["log"] == "worker started\nworker stopped on SIGINT\n"
        assert got["process"]["signal"] is None  # type: ignore[index]
        assert [s["signal"] for s in got["process"]["sent"]] == ["SIGINT"]  # type: ignore[index]
        assert "then stopped on SIGINT" in str(got["message"])
    # Killed by the SIGINT itself (no handler) is a clean stop too.
    got = run_for(tmp_path, "exec sleep 60", run_for=0.3, grace=5)
    assert got["status"] == "ok" and got["process"]["signal"] == "SIGINT", got  # type: ignore[index]


def test_run_for_failed_when_the_worker_needs_sigterm_or_sigkill(tmp_path: Path) -> None:
    got = run_for(tmp_path, "trap '' INT; echo looping; while :; do sleep 0.05; done", run_for=0.3, grace=0.5)
    assert got["status"] == "failed", got
    assert got["log"] == "looping\n"
    assert got["process"]["signal"] == "SIGTERM"  # type: ignore[index]
    assert "still running 0.5 s after SIGINT" in str(got["message"])
    got = run_for(tmp_path, "trap '' INT TERM; while :; do sleep 0.05; done", run_for=0.3, grace=0.3)
    assert got["status"] == "failed" and got["process"]["signal"] == "SIGKILL", got  # type: ignore[index]
    assert [s["signal"] for s in got["process"]["sent"]] == ["SIGINT", "SIGTERM", "SIGKILL"]  # type: ignore[index]


def test_run_for_failed_on_a_bad_exit_after_sigint_and_judged_by_expect_when_it_ends_early(
    tmp_path: Path,
) -> None:
    import sys

    got = run_for(tmp_path, [sys.executable, "-c", WORKER, "3"], run_for=0.5, grace=5)
    assert got["status"] == "failed" and "exit code 3 after SIGINT" in str(got["message"]), got
    got = run_for(tmp_path, "echo once", run_for=30)
    assert got["status"] == "ok" and "before run_for" in str(got["message"]), got
    got = run_for(tmp_path, "exit 2", run_for=30)
    assert got["status"] == "failed" and str(got["message"]).startswith("exit code 2, expected 0"), got


def test_run_for_with_timeout_is_a_config_error(tmp_path: Path) -> None:
    from evidence_kit import config
    from evidence_kit.errors import EvidenceError

    cfg = tmp_path / "evidence.yaml"
    cfg.write_text(
        "service: s\ncollectors:\n  command:\n    commands:\n"
        "      - {name: w, run: worker, run_for: 30, timeout: 60}\n"
    )
    try:
        config.load(cfg)
    except EvidenceError as exc:
        assert any("collectors.command.commands.0: `run_for` and `timeout`" in d for d in exc.details)
    else:
        raise AssertionError("run_for with timeout was accepted")


def test_cwd_reaches_up_inside_the_repository_and_a_relative_program_resolves_there(tmp_path: Path) -> None:
    import subprocess

    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "scripts").mkdir()
    (repo / "scripts" / "proof.sh").write_text("#!/bin/sh\npwd\n")
    (repo / "scripts" / "proof.sh").chmod(0o755)
    (repo / "server").mkdir()
    outs = command.collect(
        ctx(repo / "server"),
        {
            "commands": [
                {"name": "up", "run": ["./proof.sh"], "cwd": "../scripts"},
                {"name": "typo", "run": ["./prof.sh"], "cwd": "../scripts"},
                {"name": "out", "run": "true", "cwd": "../.."},
            ]
        },
    )
    by = {o.name: o for o in outs}
    assert by["up.stdout.txt"].status == "ok"
    assert by["up.stdout.txt"].source.read_text() == f"{(repo / 'scripts').resolve()}\n"  # type: ignore[union-attr]
    assert (
        by["typo.error.txt"].message
        == f"cannot run './prof.sh': {repo / 'scripts' / 'prof.sh'} does not exist"
    )
    assert "outside the repository" in (by["out.error.txt"].message or "")


def test_two_commands_of_one_name_are_a_config_error(tmp_path: Path) -> None:
    """Their outputs would overwrite each other's (the second's output under the first's command line)."""
    from evidence_kit import config
    from evidence_kit.errors import EvidenceError

    cfg = tmp_path / "evidence.yaml"
    cfg.write_text(
        "service: s\ncollectors:\n  command:\n    commands:\n"
        "      - {name: run, run: [echo, first]}\n      - {name: other, run: [echo, x]}\n"
        "      - {name: run, run: [echo, second]}\n"
        "  http:\n    base_url: http://127.0.0.1:1\n    captures:\n"
        "      - {name: health, path: /health}\n      - {name: health, path: /ready}\n"
    )
    try:
        config.load(cfg)
    except EvidenceError as exc:
        details = "\n".join(exc.details)
    else:
        raise AssertionError("two commands of one name were accepted")
    assert "collectors.command.commands.2.name: `run` is already the name of commands.0" in details
    assert "collectors.http.captures.1.name: `health` is already the name of captures.0" in details
