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
