"""`evidence report`: the Markdown and HTML pages of a bundle and of a diff, and template overrides."""

from __future__ import annotations

import hashlib
import json
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from evidence_kit.bundle.archive import pack
from evidence_kit.bundle.writer import BundleWriter
from evidence_kit.errors import EvidenceError
from evidence_kit.model import CollectorResult, Output
from evidence_kit.redact.redactor import Redactor
from evidence_kit.report.page import LIMIT
from evidence_kit.report.render import render, render_diff

SHA = "3263237f" + "0" * 32
CREATED = datetime(2026, 1, 1, 18, 23, 45, tzinfo=UTC)
MIGRATION = b'"""create jobs table"""\nrevision = "c93d1a6e0f52"\ndown_revision = None\n'
FETCH = re.compile(
    r"""(?:\b(?:src|href|action|poster|data|srcset)\s*=\s*["']?\s*|@import\s+(?:url\()?\s*["']?|url\(\s*["']?)"""
    r"""(?:https?:|ftp:|wss?:)?//""",
    re.IGNORECASE,
)
ORDER = ["git", "migrations", "schema", "routes", "proofs", "logs", "sql", "queue", "artifacts"]


def _json(value: Any) -> bytes:
    return (json.dumps(value, indent=2, sort_keys=True) + "\n").encode()


def _run(**extra: Any) -> dict[str, Any]:
    return {
        "started": "2026-01-01T18:23:40Z",
        "finished": "2026-01-01T18:23:44Z",
        "duration_s": 4.2,
        **extra,
    }


def make_bundle(
    out: Path,
    extra: dict[str, list[Output]] | None = None,
    size: int = 0,
    failed: tuple[str, ...] = ("command",),
    left_out: tuple[str, ...] = (),
) -> Path:
    """A bundle of git, alembic, schema, openapi, a failing command and a log, with sql in error; `left_out`
    the configured collectors the collect left out."""
    outputs: dict[str, list[Output]] = {
        "git": [
            Output(
                "head.json",
                "HEAD commit, branch and tags",
                "application/json",
                data=_json(
                    {
                        "sha": SHA,
                        "short_sha": SHA[:7],
                        "branch": "master",
                        "tags": ["phase_3_6"],
                        "detached": False,
                        "shallow": False,
                        "dirty": False,
                        "describe": "phase_3_6",
                    }
                ),
            ),
            Output("status.txt", "Working-tree status", data=b"<clean>\n"),
            Output(
                "status.json",
                "Working-tree status",
                "application/json",
                data=_json({"clean": True, "entries": []}),
            ),
            Output(
                "log.txt",
                "Last 8 commits",
                data=f"{SHA[:7]} (HEAD -> master) Phase 3.6: run lifecycle\n".encode(),
            ),
        ],
        "alembic": [
            Output("heads.txt", "alembic heads", data=b"c93d1a6e0f52 (head)\n"),
            Output(
                "history.txt", "alembic history", data=b"<base> -> c93d1a6e0f52 (head), create jobs table\n"
            ),
            Output(
                "current.txt", "Applied alembic version", data=b"[public] up to date\nc93d1a6e0f52 (head)\n"
            ),
            Output(
                "summary.json",
                "alembic summary",
                "application/json",
                data=_json(
                    {
                        "count": 1,
                        "heads": ["c93d1a6e0f52"],
                        "multiple_heads": False,
                        "up_to_date": True,
                        "problems": 0,
                        "current_status": "ok",
                    }
                ),
            ),
            Output(
                "migrations/c93d1a6e0f52_create_jobs.py",
                "migration c93d1a6e0f52_create_jobs.py",
                "text/x-python",
                data=MIGRATION,
            ),
        ],
        "schema": [
            Output(
                "tables.txt", "Tables in database", data=b"Tables in database:\n  jobs\n  runs\n\n2 tables\n"
            ),
            Output(
                "schema.sql",
                "Schema DDL",
                "application/sql",
                data=b"CREATE TABLE public.jobs (id uuid NOT NULL);\n",
            ),
            Output(
                "tables/jobs.txt",
                "Structure of jobs",
                data=b"Table: jobs\n\nColumn Name  Data Type\nid           uuid\n",
            ),
        ],
        "openapi": [
            Output("routes.txt", "Routes", data=b"GET /health\nGET,POST /runs\nPOST /runs/{run_id}/start\n")
        ],
        "command": [
            Output(
                "lifecycle-proof.stdout.txt",
                "Run lifecycle proof (stdout)",
                data=b"=== RUN LIFECYCLE PROOF ===\n cancel run status: running\n=== VALIDATION FAILED ===\n",
                argv=("python", "proofs/lifecycle_proof.py"),
                exit_code=1,
                status="failed",
                message="exit code 1, expected 0",
                **_run(),
            ),
            Output(
                "lifecycle-proof.stderr.txt",
                "Run lifecycle proof (stderr)",
                data=b"2026-01-01 INFO worker claimed job 5357368d\n2026-01-01 ERROR cancel ignored\n",
                argv=("python", "proofs/lifecycle_proof.py"),
                exit_code=1,
                status="failed",
                message="exit code 1, expected 0",
                **_run(),
            ),
            Output("smoke.stdout.txt", "Smoke (stdout)", data=b"ok\n", argv=("true",), exit_code=0, **_run()),
            Output("smoke.stderr.txt", "Smoke (stderr)", data=b"", argv=("true",), exit_code=0, **_run()),
        ],
        "files": [
            Output(
                "worker-logs/logs/worker.log",
                "Worker logs: logs/worker.log",
                data=b"INFO sqlalchemy.engine.Engine SELECT jobs.id FROM jobs FOR UPDATE SKIP LOCKED\n"
                + b"x" * size,
            ),
        ],
    }
    for collector, more in (extra or {}).items():
        outputs.setdefault(collector, []).extend(more)
    writer = BundleWriter(out, Redactor())
    for collector, items in outputs.items():
        for item in items:
            writer.add(collector, item)
    results = [
        CollectorResult(c, "failed" if c in failed else "ok", tuple(items)) for c, items in outputs.items()
    ]
    results.append(
        CollectorResult("sql", "error", error="cannot connect to postgresql://db/jobs", hint="start it")
    )
    return writer.finish(
        service="jobs-service",
        phase="3.6",
        git_sha=SHA,
        results=results,
        host={"name": "ci-runner", "platform": "Linux", "python": "3.11"},
        ci=None,
        config={"path": "evidence.yaml", "sha256": "0" * 64, "left_out": [*left_out]} if left_out else None,
        created=CREATED,
    )


@pytest.fixture()
def bundle(tmp_path: Path) -> Path:
    return make_bundle(tmp_path / "bundles")


def _section(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    return html[start : html.index("</section>", start)]


def test_render_writes_markdown_and_html_with_the_header(bundle: Path, tmp_path: Path) -> None:
    md, html = render(bundle, tmp_path / "bundles" / "report")
    assert (md.name, html.name) == ("report.md", "report.html")
    digest = hashlib.sha256((bundle / "manifest.json").read_bytes()).hexdigest()
    for text in (md.read_text(), html.read_text()):
        for fact in (
            "jobs-service",
            "3.6",
            SHA,
            "2026-01-01T18:23:45",
            "evidence-kit 0.1",
            f"sha256:{digest}",
        ):
            assert fact in text, fact
    assert "verified: every digest" in md.read_text()
    assert 'class="verdict ok"' in html.read_text()
    assert not list(md.parent.glob(".*partial"))
    umask = os.umask(0o022)
    os.umask(umask)
    assert md.stat().st_mode & 0o777 == html.stat().st_mode & 0o777 == 0o666 & ~umask
    again = render(bundle, tmp_path / "bundles" / "again")
    assert [p.read_bytes() for p in again] == [md.read_bytes(), html.read_bytes()]


def test_failures_are_in_needs_attention_at_the_top(bundle: Path, tmp_path: Path) -> None:
    _, html_path = render(bundle, tmp_path / "out")
    html = html_path.read_text()
    attention = _section(html, "attention")
    assert html.index('id="attention"') < html.index('id="git"')
    assert "Needs attention: 2 not ok" in attention
    assert "command lifecycle-proof" in attention and "exit code 1, expected 0" in attention
    assert "collector sql" in attention and "cannot connect" in attention and "Tip: start it" in attention
    assert "smoke" not in attention
    md = (tmp_path / "out" / "report.md").read_text()
    assert md.index("Needs attention") < md.index("lifecycle-proof") < md.index("## A) Git state")


def test_a_failed_collector_is_listed_once_however_many_artifacts_failed(tmp_path: Path) -> None:
    failing = [
        Output(name, name, data=b"1 failed\n", status="failed", message="1 failed")
        for name in ("stdout.txt", "stderr.txt", "summary.txt", "tests.json")
    ]
    bundle = make_bundle(tmp_path / "b", {"tests": failing}, failed=("command", "tests"))
    _, html = render(bundle, tmp_path / "out")
    attention = _section(html.read_text(), "attention")
    assert attention.count("collector tests") == 1
    assert "failed: 1 failed (stderr.txt, stdout.txt, summary.txt, tests.json)" in attention
    assert "tests stderr.txt" not in attention and "tests summary.txt" not in attention
    assert "command lifecycle-proof" in attention and "command smoke" not in attention


def test_a_collector_left_out_of_the_collect_is_listed_as_skipped_and_why(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", left_out=("tests",))
    _, html = render(bundle, tmp_path / "out")
    collectors = _section(html.read_text(), "collectors")
    assert "tests" in collectors and "configured, but left out of this collect (--only, --skip)" in collectors
    assert "collector tests" not in _section(html.read_text(), "attention")


def test_a_message_of_several_lines_keeps_its_lines(tmp_path: Path) -> None:
    tail = "serve: the service exited with code 3. Log tail:\nTraceback (most recent call last):\nOSError"
    log = Output("server.log", "Log of the service", data=b"boot\n", status="error", message=tail)
    bundle = make_bundle(tmp_path / "b", {"http": [log]}, failed=("http",))
    md, html = render(bundle, tmp_path / "out")
    assert "**Message** ❌\n\n```\n" + tail + "\n```" in md.read_text()
    assert "<pre>" + tail + "</pre>" in html.read_text()


def test_colour_codes_of_a_worker_log_are_left_out_of_the_pages_and_kept_in_the_bundle(
    tmp_path: Path,
) -> None:
    coloured = b"\x1b[32mINFO\x1b[0m worker claimed job 7\n\x1b[1;31mERROR\x1b[0m lease lost\n"
    log = Output("worker-logs/logs/colour.log", "Worker logs: logs/colour.log", data=coloured)
    bundle = make_bundle(tmp_path / "b", {"files": [log]})
    md, html = render(bundle, tmp_path / "out")
    for page in (md.read_text(), html.read_text()):
        assert "\x1b" not in page and "[1;31m" not in page
        assert "INFO worker claimed job 7" in page and "ERROR lease lost" in page
        assert "terminal colour codes are left out on this page" in page
    assert (bundle / "data/files/worker-logs/logs/colour.log").read_bytes() == coloured


def test_sections_follow_the_fixed_order(tmp_path: Path) -> None:
    health = {
        "table": "jobs",
        "lease_seconds": 300,
        "by_status": {"queued": 3, "running": 1},
        "total": 4,
        "queued": {"count": 3, "oldest_age_seconds": 42},
        "stuck": {
            "count": 1,
            "criterion": "running, locked over 300 s ago",
            "jobs": [{"id": 7}],
            "truncated": False,
        },
        "over_attempted": {
            "count": 0,
            "criterion": "attempt_count >= max_attempts",
            "jobs": [],
            "truncated": False,
        },
        "due_retry": None,
        "skipped": {"due_retry": "no next_retry_at column"},
    }
    queue = {
        "queue": [
            Output("jobs.json", "Job queue", "application/json", data=_json(health)),
            Output("jobs.txt", "Job queue", data=b"Job queue\nTable jobs, lease 300 s\n"),
        ]
    }
    _, html_path = render(make_bundle(tmp_path / "b", queue), tmp_path / "b" / "report")
    html = html_path.read_text()
    positions = [html.index(f'id="{sid}"', html.index('id="attention"')) for sid in ORDER]
    assert positions == sorted(positions)
    assert "cannot connect to postgresql://db/jobs" in _section(html, "sql")
    queue_part = _section(html, "queue")
    assert "3 (the oldest 42 s ago)" in queue_part and "1 (running, locked over 300 s ago)" in queue_part
    assert "skipped (no next_retry_at column)" in queue_part and "Table jobs, lease 300 s" in queue_part


def test_every_artifact_is_listed_with_a_working_link(bundle: Path, tmp_path: Path) -> None:
    out = tmp_path / "bundles" / "report"
    md, html = render(bundle, out)
    manifest = json.loads((bundle / "manifest.json").read_text())
    paths = [a["path"] for a in manifest["artifacts"]]
    assert len(paths) == 18
    html_text, md_text = html.read_text(), md.read_text()
    table = _section(html_text, "artifacts")
    for path in paths:
        assert path in table and path in md_text
        assert f'href="../{bundle.name}/{path}"' in html_text
        assert (out / f"../{bundle.name}/{path}").resolve().is_file()
    assert "c93d1a6e0f52_create_jobs.py" in _section(html_text, "migrations")
    assert "Column Name  Data Type" in _section(html_text, "schema")
    assert "POST /runs/{run_id}/start" in _section(html_text, "routes")
    assert "FOR UPDATE SKIP LOCKED" in _section(html_text, "logs")


def test_html_fetches_nothing_from_the_network(tmp_path: Path) -> None:
    hostile = {
        "files": [
            Output(
                "worker-logs/evil.html",
                "a log that looks like HTML",
                data=b'<img src="http://127.0.0.1:9/x.png"><link href="https://evil.example/x.css">',
            )
        ]
    }
    _, html_path = render(make_bundle(tmp_path / "b", hostile), tmp_path / "b" / "r")
    html = html_path.read_text()
    assert not FETCH.findall(html), FETCH.findall(html)
    assert "&lt;img src=" in html
    assert "<script" not in html and "<link" not in html and "<img" not in html
    assert FETCH.search('<img src="http://127.0.0.1:9/x.png">') and FETCH.search("@import url(//cdn/x.css)")


def test_links_are_omitted_when_the_report_is_not_beside_the_bundle(bundle: Path, tmp_path: Path) -> None:
    archive = pack(bundle, tmp_path / "bundle.tar.gz")
    for source, out in ((bundle, tmp_path / "elsewhere" / "r"), (archive, tmp_path / "from-archive")):
        _, html = render(source, out)
        text = html.read_text()
        assert "data/command/lifecycle-proof.stdout.txt" in text
        assert "open the file" not in text and 'class="verdict ok"' in text


def test_a_tampered_bundle_is_shown_as_not_verified(bundle: Path, tmp_path: Path) -> None:
    (bundle / "data" / "git" / "log.txt").write_text("forged\n")
    md, html = render(bundle, tmp_path / "out")
    text = html.read_text()
    assert "NOT verified: 1 problem" in text and "modified: data/git/log.txt" in text
    assert "does NOT verify" in _section(text, "attention")
    assert "NOT verified" in md.read_text()


def test_large_artifacts_are_cut_with_a_note(tmp_path: Path) -> None:
    bundle = make_bundle(tmp_path / "b", size=LIMIT + 50_000)
    _, html = render(bundle, tmp_path / "b" / "r")
    text = html.read_text()
    assert "showing the first" in text and "the whole file is data/files/worker-logs/logs/worker.log" in text
    assert "x" * (LIMIT + 1) not in text


def test_odd_shaped_and_unknown_artifacts_are_shown_raw(tmp_path: Path) -> None:
    odd = {
        "tests": [
            Output("tests.json", "results", "application/json", data=_json({"totals": {"failed": "many"}}))
        ],
        "codefacts": [
            Output("codefacts.txt", "Static code facts", data=b"42 functions\n"),
            Output("logo.png", "a picture", "image/png", data=b"\x89PNG\r\n\x1a\n\x00\x00"),
        ],
    }
    _, html_path = render(make_bundle(tmp_path / "b", odd), tmp_path / "b" / "r")
    html = html_path.read_text()
    tests = _section(html, "tests")
    assert "Summary unavailable" in tests and "&#34;failed&#34;: &#34;many&#34;" in tests
    other = _section(html, "other-codefacts")
    assert "42 functions" in other and "binary (image/png), not shown" in other
    assert html.index('id="tests"') < html.index('id="other-codefacts"') < html.index('id="artifacts"')


# NOTE: one passed check of a check report, as `evidence check --format json` writes it.
CLEAN_TREE = {
    "id": "EK301",
    "name": "gate-clean-tree",
    "severity": "error",
    "status": "passed",
    "findings": 0,
}


def test_gate_results_come_from_the_check_report(bundle: Path, tmp_path: Path) -> None:
    report = {
        "summary": {"checks": 3, "errors": 1, "failed": 1, "passed": 1, "skipped": 1, "warnings": 0},
        "checks": [
            CLEAN_TREE,
            {
                "id": "EK303",
                "name": "gate-tests-passed",
                "severity": "error",
                "status": "failed",
                "findings": 1,
            },
            {
                "id": "EK308",
                "name": "gate-skip-locked",
                "severity": "error",
                "status": "skipped",
                "reason": "the bundle shows no database job queue",
                "findings": 0,
            },
        ],
        "findings": [
            {
                "check": "EK303",
                "severity": "error",
                "path": "data/tests/tests.json",
                "line": None,
                "message": "no evidence: data/tests/tests.json is not in the bundle",
                "waived": None,
            }
        ],
    }
    _, html = render(bundle, tmp_path / "out", check_report=report)
    text = html.read_text()
    assert text.index('id="gates"') < text.index('id="artifacts"')
    assert "gate EK303 gate-tests-passed" in _section(text, "attention")
    assert "failed with 1 finding" in _section(text, "attention")
    assert "no evidence: data/tests/tests.json" in _section(text, "gates")
    assert "skipped: the bundle shows no database job queue" in _section(text, "gates")
    # NOTE: checks and findings are counted apart: "3 checks, 1 errors, 1 failed" read as one count.
    assert "3 checks: 1 passed, 1 failed, 1 skipped; findings: 1 error, 0 warnings" in _section(text, "gates")


def test_gate_results_come_from_the_bundle_when_it_holds_them(tmp_path: Path) -> None:
    report = {
        "summary": {"checks": 1, "passed": 1, "failed": 0},
        "findings": [],
        "checks": [
            {"id": "EK301", "name": "gate-clean-tree", "severity": "error", "status": "passed", "findings": 0}
        ],
    }
    held = {"check": [Output("report.json", "evidence check", "application/json", data=_json(report))]}
    _, html = render(make_bundle(tmp_path / "b", held), tmp_path / "b" / "r")
    gates = _section(html.read_text(), "gates")
    assert "data/check/report.json" in gates and "gate-clean-tree" in gates and "1 passed" in gates


def test_a_user_template_overrides_the_shipped_one(bundle: Path, tmp_path: Path) -> None:
    mine = tmp_path / "templates"
    mine.mkdir()
    (mine / "report.md.j2").write_text("CUSTOM {{ header.service }} {{ artifacts | length }}\n")
    md, html = render(bundle, tmp_path / "out", templates=mine)
    assert md.read_text() == "CUSTOM jobs-service 18\n"
    assert "Needs attention" in html.read_text()


@pytest.mark.parametrize(
    ("name", "source", "line", "words"),
    [
        ("report.md.j2", "fine\n{% if header %}\nunclosed\n", 3, "syntax error"),
        ("report.html.j2", "a\nb\n{{ header.nonexistent_field }}\n", 3, "nonexistent_field"),
        ("report.md.j2", "{% include 'missing.j2' %}\n", None, "missing.j2"),
    ],
)
def test_a_broken_template_names_the_file_and_line(
    bundle: Path, tmp_path: Path, name: str, source: str, line: int | None, words: str
) -> None:
    mine = tmp_path / "templates"
    mine.mkdir()
    (mine / name).write_text(source)
    out = tmp_path / "out"
    with pytest.raises(EvidenceError) as info:
        render(bundle, out, templates=mine)
    message = str(info.value)
    assert name in message or "missing.j2" in message
    assert words in message
    if line is not None:
        assert f"line {line}" in message and str(mine / name) in message
        assert "delete that file to use the shipped template" in info.value.hint
    assert not out.exists() or not list(out.iterdir())


def test_the_report_may_not_go_inside_the_bundle(bundle: Path) -> None:
    with pytest.raises(EvidenceError, match="inside the bundle"):
        render(bundle, bundle / "report")


def _side(bundle: str, phase: str, sha: str, verified: bool = True) -> dict[str, Any]:
    return {
        "label": f"{bundle}.tar.gz",
        "bundle": bundle,
        "service": "jobs-service",
        "phase": phase,
        "git_sha": sha * 40,
        "created": "2026-01-01T18:23:45.000000Z",
        "digest": "sha256:" + sha * 64,
        "verified": verified,
        "problems": [] if verified else ["modified: data/git/log.txt: digest differs"],
    }


def _change(kind: str, what: str, before: str | None, after: str | None, cls: str, detail: str = "") -> Any:
    fingerprint = hashlib.sha256(f"{kind}\0{what}".encode()).hexdigest()[:16]
    return {
        "kind": kind,
        "what": what,
        "before": before,
        "after": after,
        "classification": cls,
        "fingerprint": fingerprint,
        "detail": detail,
    }


DIFF: dict[str, Any] = {
    "schema_version": 1,
    "old": _side("jobs-service-3.5-9446d82a-20251231T120000Z", "3.5", "9"),
    "new": _side("jobs-service-3.6-6ee5f8a0-20260101T182345Z", "3.6", "6"),
    "counts": {"breaking": 1, "risky": 1, "safe": 1, "info": 0},
    "warnings": ["OLD was compared without verifying it"],
    "sections": [
        {
            "kind": "schema",
            "title": "Schema",
            "summary": "1 table added, 1 column dropped",
            "counts": {"breaking": 1, "risky": 0, "safe": 1, "info": 0},
            "facts": {"tables_before": 3, "tables_after": 4},
            "changes": [
                _change("schema", "table company_research_jobs added", None, "created", "safe", "new table"),
                _change(
                    "schema",
                    "column runs.last_error dropped",
                    "text NULL",
                    None,
                    "breaking",
                    "dropped column",
                ),
            ],
        },
        {
            "kind": "routes",
            "title": "Routes",
            "summary": "1 route added",
            "counts": {"breaking": 0, "risky": 1, "safe": 0, "info": 0},
            "facts": {},
            "changes": [
                _change(
                    "routes",
                    "routes.txt changed",
                    "GET /runs\n",
                    "GET /runs\nPOST /runs/{run_id}/cancel\n",
                    "risky",
                    "1 route added\nPOST /runs/{run_id}/cancel",
                ),
            ],
        },
        {
            "kind": "git",
            "title": "Git",
            "summary": "unchanged",
            "counts": dict.fromkeys(("breaking", "risky", "safe", "info"), 0),
            "facts": {"head_before": "6" * 40, "worktree": None},
            "changes": [],
        },
        {
            "kind": "migrations",
            "title": "Migrations",
            "summary": "0 revisions added",
            "counts": dict.fromkeys(("breaking", "risky", "safe", "info"), 0),
            "facts": {
                "alembic": {
                    "added": [],
                    "heads_after": ["c9", "d1"],
                    "current_after": {"public": ["c9"], "tenant": ["t4"]},
                    "revisions_after": 3,
                }
            },
            "changes": [],
        },
    ],
}


def test_diff_facts_are_words_not_reprs(tmp_path: Path) -> None:
    md, _ = render_diff(DIFF, tmp_path / "d")
    text = md.read_text()
    assert "alembic: added" in text and "alembic: current after" in text
    assert "public: c9; tenant: t4" in text and "c9, d1" in text
    assert "{" + '"' not in text and "None" not in text and "[]" not in text


def test_the_hand_made_diff_follows_the_diff_schema() -> None:
    schema = json.loads(
        (Path(__file__).parent.parent / "evidence_kit" / "diff" / "diff.schema.json").read_text()
    )
    jsonschema.Draft202012Validator(schema).validate(DIFF)


def test_render_diff_writes_a_page_of_the_same_kind(tmp_path: Path) -> None:
    md, html = render_diff(DIFF, tmp_path / "diff")
    assert (md.name, html.name) == ("diff.md", "diff.html")
    text = html.read_text()
    attention = _section(text, "attention")
    assert "column runs.last_error dropped" in attention and "routes.txt changed" in attention
    assert "OLD was compared without verifying it" in attention
    assert "table company_research_jobs" not in attention
    assert attention.index("column runs.last_error") < attention.index("routes.txt changed")
    assert text.index('id="d-schema"') < text.index('id="d-routes"') < text.index('id="d-git"')
    assert "POST /runs/{run_id}/cancel" in text and not FETCH.findall(text)
    assert "sha256:" + "6" * 64 in text and "1 breaking, 1 risky, 1 safe, 0 info" in text
    md_text = md.read_text()
    assert "# Evidence diff: jobs-service-3.5-9446d82a-20251231T120000Z → jobs-service-3.6" in md_text
    assert "dropped column" in md_text and "No changes." in md_text


def test_a_diff_of_a_bundle_that_does_not_verify_says_so(tmp_path: Path) -> None:
    broken = {**DIFF, "old": _side("jobs-service-3.5-9446d82a-20251231T120000Z", "3.5", "9", verified=False)}
    _, html = render_diff(broken, tmp_path / "diff")
    attention = _section(html.read_text(), "attention")
    assert "does not verify" in attention and "modified: data/git/log.txt" in attention


def test_a_broken_diff_template_is_an_evidence_error(tmp_path: Path) -> None:
    mine = tmp_path / "t"
    mine.mkdir()
    (mine / "diff.html.j2").write_text("{{ sections[0].nope }}\n")
    with pytest.raises(EvidenceError, match=r"diff\.html\.j2, line 1"):
        render_diff(DIFF, tmp_path / "diff", templates=mine)


def test_a_failed_warning_is_a_warning_not_a_failure(bundle: Path, tmp_path: Path) -> None:
    """`check` passes when only a warning fails (its default --fail-on is error): the report says
    "to check", in the warning's colour, not "not ok"."""
    report = {
        "summary": {"checks": 2, "errors": 0, "failed": 1, "passed": 1, "warnings": 1},
        "checks": [
            CLEAN_TREE,
            {
                "id": "EK306",
                "name": "gate-ci-uploads-bundle",
                "severity": "warning",
                "status": "failed",
                "findings": 1,
            },
        ],
        "findings": [
            {
                "check": "EK306",
                "severity": "warning",
                "path": "data/ci/workflows.json",
                "line": None,
                "message": "the evidence-kit step still names the placeholder",
                "waived": None,
            }
        ],
    }
    _, html = render(bundle, tmp_path / "out", check_report=report)
    attention = _section(html.read_text(), "attention")
    # NOTE: the bundle's own failed collectors are "not ok"; the warning is one to check.
    assert (
        '<span class="badge warn">check</span>\n      <span><a class="what" href="#gates">'
        "gate EK306 gate-ci-uploads-bundle</a>"
    ) in attention
    # NOTE: the heading counts what is not ok and what is to check, as the list below it holds both.
    assert "Needs attention: 2 not ok, 1 to check</h2>" in attention
    # NOTE: the JSON counts it as failed (a format); the summary says it failed only with a warning.
    gates = _section(html.read_text(), "gates")
    assert "2 checks: 1 passed, 0 failed, 1 with warnings; findings: 0 errors, 1 warning" in gates
    # NOTE: today's JSON counts it apart itself (`with_warnings`); the report takes its counts as they are.
    report["summary"] = {**report["summary"], "failed": 0, "with_warnings": 1, "with_notes": 0}
    _, html = render(bundle, tmp_path / "now", check_report=report)
    gates = _section(html.read_text(), "gates")
    assert "2 checks: 1 passed, 0 failed, 1 with warnings; findings: 0 errors, 1 warning" in gates


def test_failing_tests_are_named_by_the_node_id_one_can_paste(tmp_path: Path) -> None:
    report = {
        "totals": {"tests": 2, "passed": 0, "failed": 2, "errors": 0, "skipped": 0, "duration_s": 1.0},
        "tests": [
            {
                "id": "tests.unit.test_a::test_x",
                "nodeid": "tests/unit/test_a.py::test_x",
                "outcome": "failed",
            },
            {"id": "suite.Case::test_y", "nodeid": None, "outcome": "failed"},
        ],
    }
    data = json.dumps(report).encode()
    outputs = [Output("tests.json", "tests", data=data, status="failed", message="2 failed")]
    bundle = make_bundle(tmp_path / "b", {"tests": outputs}, failed=("tests",))
    md, _ = render(bundle, tmp_path / "out")
    table = md.read_text().split("Failing tests", 1)[1].split("\n\n", 2)[1]
    assert "tests/unit/test_a.py::test_x" in table and "tests.unit.test_a::test_x" not in table
    assert "suite.Case::test_y" in table


def test_a_configuration_behind_its_heads_is_named_in_needs_attention(tmp_path: Path) -> None:
    behind = Output("tenant/summary.json", "summary", "application/json", data=b'{"up_to_date": false}')
    fine = Output("core/summary.json", "summary", "application/json", data=b'{"up_to_date": true}')
    bundle = make_bundle(tmp_path / "b", {"alembic": [behind, fine]})
    _, html = render(bundle, tmp_path / "out")
    attention = _section(html.read_text(), "attention")
    assert "Alembic configuration tenant: the database is not at the head revision" in attention
    assert "configuration core" not in attention


def test_a_database_whose_revision_is_not_known_is_named_in_needs_attention(tmp_path: Path) -> None:
    """The collector read the database but cannot tell the revision (env.py names its version table at
    run time): the report does not show it as fine."""
    why = "env.py (migrations/env.py:12) passes `version_table=settings.table`, a table picked at run time"
    summary = Output("tenant/summary.json", "summary", "application/json", data=b'{"up_to_date": null}')
    current = Output(
        "tenant/current.json",
        "current",
        "application/json",
        data=json.dumps({"version_table_unknown": why}).encode(),
    )
    md, html = render(make_bundle(tmp_path / "b", {"alembic": [summary, current]}), tmp_path / "out")
    assert f"Alembic configuration tenant: the database's revision is not known: {why}" in md.read_text()
    assert "revision is not known: env.py (migrations/env.py:12)" in _section(html.read_text(), "attention")
    assert "Needs attention: nothing" not in md.read_text()


def test_the_revision_count_of_a_folder_env_py_picks_by_dialect_names_that_folder(tmp_path: Path) -> None:
    picked = "env.py (src/svc/db/_migrations/env.py:3) picks a folder per database dialect: postgresql"
    history = {
        "ini": "src/svc/db/alembic.ini",
        "section": "alembic",
        "version_locations": ["src/svc/db/_migrations/versions/postgresql"],
        "version_locations_from": picked,
        "count": 2,
        "revisions": [],
    }
    outputs = [
        Output(
            "core/summary.json", "summary", "application/json", data=_json({"count": 2, "up_to_date": True})
        ),
        Output("core/history.json", "graph", "application/json", data=_json(history)),
    ]
    md, _ = render(make_bundle(tmp_path / "b", {"alembic": outputs}), tmp_path / "b" / "r")
    assert f"2 in src/svc/db/_migrations/versions/postgresql ({picked})" in md.read_text()


def test_the_schema_section_counts_what_the_catalog_lists_besides_tables(tmp_path: Path) -> None:
    catalog = {
        "dialect": "postgresql",
        "tables": [
            {"schema": "public", "name": "jobs", "row_security": {"enabled": False}, "policies": []},
            {
                "schema": "public",
                "name": "notes",
                "row_security": {"enabled": True, "forced": False},
                "policies": [{"name": "own"}, {"name": "tenant"}],
            },
            {
                "schema": "public",
                "name": "keys",
                "row_security": {"enabled": True},
                "policies": [{"name": "k"}],
            },
        ],
        "enums": [],
        "views": [{"schema": "public", "name": "v"}, {"schema": "public", "name": "w"}],
        "functions": [{"schema": "public", "name": "touch"}],
        "domains": [{"schema": "public", "name": "attempts"}],
    }
    extra = {"schema": [Output("schema.json", "catalog", "application/json", data=_json(catalog))]}
    md, _ = render(make_bundle(tmp_path / "b", extra), tmp_path / "b" / "r")
    text = md.read_text()
    assert re.search(r"Views\W+2\b", text) and re.search(r"Functions\W+1\b", text)
    assert re.search(r"Domains\W+1\b", text)
    assert re.search(r"Policies\W+3\b", text) and re.search(r"Tables with row-level security\W+2\b", text)
    # NOTE: an empty list and a list the bundle lacks are not counted.
    assert "Enums" not in text and "Triggers" not in text and "Composite types" not in text


def test_a_report_without_check_results_says_the_gates_were_not_checked(bundle: Path, tmp_path: Path) -> None:
    md, html = render(bundle, tmp_path / "out")
    for text in (md.read_text(), _section(html.read_text(), "attention")):
        assert "not checked: this report was rendered without check results" in text
        assert "evidence report BUNDLE --check check.json" in text
        assert "evidence check --bundle BUNDLE --format json --output check.json" in text
    _, checked = render(bundle, tmp_path / "checked", check_report={"checks": [CLEAN_TREE], "findings": []})
    assert "not checked" not in _section(checked.read_text(), "attention")


def test_check_results_made_without_the_bundle_are_no_gates_checked(bundle: Path, tmp_path: Path) -> None:
    """`evidence check BUNDLE` (the bundle taken for the source) skips every bundle gate: the report does not
    say nothing needs attention, and its tip gives the command that checks the bundle."""
    skipped = [
        {"id": i, "name": n, "severity": "error", "status": "skipped", "reason": "no --bundle given"}
        for i, n in (("EK301", "gate-clean-tree"), ("EK303", "gate-tests-passed"))
    ]
    md, html = render(bundle, tmp_path / "out", check_report={"checks": skipped, "findings": []})
    for text in (md.read_text(), _section(html.read_text(), "attention")):
        assert "not checked against a bundle" in text and "2 gates (EK301, EK303) did not run" in text
        assert "evidence check --bundle BUNDLE --format json --output check.json" in text
    assert "Needs attention: nothing" not in md.read_text()


def test_a_failed_warning_gate_is_one_to_check_not_a_failure(tmp_path: Path) -> None:
    pinned = {"id": "EK306", "name": "gate-ci-uploads-bundle", "severity": "warning", "status": "failed"}
    report = {"checks": [CLEAN_TREE, {**pinned, "findings": 1}], "findings": []}
    md, html = render(make_bundle(tmp_path / "b"), tmp_path / "r", check_report=report)
    assert (
        "gate EK306 gate-ci-uploads-bundle](#gates)**: 1 finding (severity warning: the check passes on it)"
        in (md.read_text())
    )
    assert "failed with" not in _section(html.read_text(), "attention")


def test_a_section_with_a_fact_to_look_at_is_never_ok() -> None:
    """The git section of a dirty working tree had an OK mark beside its `dirty: 4 changed paths`."""
    from evidence_kit.report.page import Fact, Part

    part = Part("git", "Git state")
    part.facts.append(Fact("HEAD", "abc1234"))
    assert part.settle().level == ""
    part.facts.append(Fact("Working tree", "dirty: 4 changed paths", "warn"))
    assert part.settle().level == "warn"


def test_routes_hidden_from_the_document_are_counted_in_the_routes_section(tmp_path: Path) -> None:
    # NOTE: counted as the document's routes are, paths and operations (a line is an operation).
    lines = b"GET /api/v1/heartbeat\nHEAD /api/v1/heartbeat\nPOST /internal/reindex\n"
    hidden = [Output("hidden-routes.txt", "hidden", data=lines)]
    bundle = make_bundle(tmp_path / "b", {"openapi": hidden})
    _, html = render(bundle, tmp_path / "out")
    assert (
        "2 paths, 3 operations the app serves with `include_in_schema=False` (hidden-routes.txt)"
        in html.read_text()
    )
