"""The files collector: globs, caps, nothing from outside the service folder."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from evidence_kit.collectors import files
from evidence_kit.errors import CollectorError
from evidence_kit.model import Context


def test_globs_are_collected_sorted_with_media_types(tmp_path: Path) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "b.log").write_text("b\n")
    (tmp_path / "logs" / "a.log").write_text("a\n")
    (tmp_path / "ui").mkdir()
    (tmp_path / "ui" / "run.html").write_text("<p>x</p>")
    outs = files.collect(
        Context(tmp_path, tmp_path / "s"),
        {
            "sets": [
                {"name": "worker-logs", "glob": "logs/*.log"},
                {"name": "templates", "glob": ["ui/**/*.html"], "max_bytes": 3},
            ]
        },
    )
    assert [o.name for o in outs] == [
        "worker-logs/logs/a.log",
        "worker-logs/logs/b.log",
        "templates/ui/run.html",
    ]
    assert outs[0].media_type == "text/plain" and outs[2].media_type == "text/html"
    assert outs[2].limit == 3


def test_empty_match_is_an_error_unless_optional(tmp_path: Path) -> None:
    outs = files.collect(
        Context(tmp_path, tmp_path / "s"),
        {
            "sets": [
                {"name": "none", "glob": "*.log"},
                {"name": "maybe", "glob": "*.txt", "required": False},
            ]
        },
    )
    assert len(outs) == 1 and outs[0].status == "error" and "no file matches *.log" in (outs[0].message or "")


def test_globs_reach_up_inside_the_repository_never_out_of_it(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    (repo / "logs").mkdir()
    (repo / "logs" / "worker.log").write_text("top\n")
    (repo / "server" / "logs").mkdir(parents=True)
    (repo / "server" / "logs" / "api.log").write_text("inside\n")
    outs = files.collect(
        Context(repo / "server", tmp_path / "s"),
        {"sets": [{"name": "x", "glob": ["../logs/*.log", "logs/*.log"]}]},
    )
    assert sorted((o.name, o.title) for o in outs) == [
        ("x/logs/api.log", "x: logs/api.log"),
        ("x/logs/worker.log", "x: ../logs/worker.log"),
    ]
    with pytest.raises(CollectorError, match=r"'../..' leads to .*, outside the repository"):
        files.collect(Context(repo / "server", tmp_path / "s"), {"sets": [{"name": "x", "glob": "../../*"}]})
    with pytest.raises(CollectorError, match="outside the repository"):
        files.collect(Context(tmp_path, tmp_path / "s"), {"sets": [{"name": "x", "glob": "../*"}]})
