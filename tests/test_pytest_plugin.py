"""The pytest plugin: `--evidence-out` writes a verified bundle of the session; without it, nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.bundle.verify import verify
from evidence_kit.pytest_plugin import junit_id
from evidence_kit.support import junit

SECRET = "s3cr3t-token-4242"

SESSION = """
import os

import pytest


@pytest.fixture
def broken_db():
    raise RuntimeError("database is down")


class TestJobs:
    def test_create(self):
        assert 1 + 1 == 2

    def test_cancel(self):
        assert "queued" == "running", "the job never left 'queued'"


def test_token():
    assert os.environ["JOBS_API_TOKEN"] == "expected"


@pytest.mark.skip(reason="needs redis")
def test_retry():
    pass


@pytest.mark.xfail(reason="bug 12")
def test_known_bug():
    assert False


@pytest.mark.xfail(reason="bug 13")
def test_fixed_bug():
    pass


def test_setup_error(broken_db):
    pass


@pytest.mark.parametrize("size", [1, 10])
def test_sizes(size):
    assert size > 0


def test_attach(evidence):
    assert evidence.enabled
    evidence.attach("response.json", '{"state": "queued"}')
    evidence.attach("dump.bin", b"\\x00\\x01", title="Raw dump", media_type="application/octet-stream")
"""

QUIET = """
import sys


def test_plugin_is_idle(evidence):
    assert not evidence.enabled
    assert evidence.attach("note.txt", "nothing") is None
    assert "evidence_kit.bundle.writer" not in sys.modules
"""


def plugin_args() -> list[str]:
    # NOTE: once the package declares its pytest11 entry point, pytest loads the plugin by itself
    # and a second `-p` of the same module would be refused.
    installed = any(ep.value == "evidence_kit.pytest_plugin" for ep in entry_points(group="pytest11"))
    return [] if installed else ["-p", "evidence_kit.pytest_plugin"]


def run_pytest(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["JOBS_API_TOKEN"] = SECRET
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *plugin_args(), *args],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def project(tmp_path: Path, source: str, name: str = "jobs") -> Path:
    root = tmp_path / name
    root.mkdir()
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "test_jobs.py").write_text(source)
    return root


def only_bundle(out: Path) -> Path:
    bundles = [p for p in out.iterdir() if p.is_dir()]
    assert len(bundles) == 1, bundles
    return bundles[0]


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def test_a_session_is_recorded_as_a_verified_bundle(tmp_path: Path) -> None:
    root = project(tmp_path, SESSION)
    args = ["--evidence-out", "out", "--evidence-phase", "after", "-o", f"junit_suite_name={SECRET}"]
    proc = run_pytest(root, *args, "--junitxml=report.xml")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    bundle = only_bundle(root / "out")
    assert f"evidence bundle: {bundle}" in proc.stdout
    verdict = verify(bundle)
    assert verdict.ok, verdict.problems
    manifest = verdict.manifest
    assert (manifest["service"], manifest["phase"]) == ("jobs", "after")
    assert manifest["host"]["python"]
    collectors = {c["name"]: (c["status"], c["artifacts"]) for c in manifest["collectors"]}
    assert collectors == {"pytest": ("failed", 3), "pytest-attachments": ("ok", 2)}

    data = bundle / "data" / "pytest"
    report = read_json(data / "tests.json")
    outcomes = {t["id"]: t["outcome"] for t in report["tests"]}
    assert outcomes == {
        "test_jobs.TestJobs::test_create": "passed",
        "test_jobs.TestJobs::test_cancel": "failed",
        "test_jobs::test_token": "failed",
        "test_jobs::test_retry": "skipped",
        "test_jobs::test_known_bug": "xfailed",
        "test_jobs::test_fixed_bug": "xpassed",
        "test_jobs::test_setup_error": "error",
        "test_jobs::test_sizes[1]": "passed",
        "test_jobs::test_sizes[10]": "passed",
        "test_jobs::test_attach": "passed",
    }
    assert [t["id"] for t in report["tests"]] == sorted(outcomes)
    assert {k: v for k, v in report["totals"].items() if k != "duration_s"} == {
        "tests": 10,
        "passed": 4,
        "failed": 2,
        "errors": 1,
        "skipped": 1,
        "xfailed": 1,
        "xpassed": 1,
    }
    by_id = {t["id"]: t for t in report["tests"]}
    cancel = by_id["test_jobs.TestJobs::test_cancel"]
    assert cancel["nodeid"] == "test_jobs.py::TestJobs::test_cancel"
    assert "the job never left 'queued'" in cancel["message"] and "test_jobs.py:" in cancel["message"]
    assert cancel["duration_s"] >= 0
    assert "database is down" in by_id["test_jobs::test_setup_error"]["message"]
    assert by_id["test_jobs::test_retry"]["message"].startswith("needs redis")
    assert by_id["test_jobs::test_known_bug"]["message"] == "bug 12"

    session = read_json(data / "session.json")
    assert (session["exit_status"], session["exit_status_name"]) == (1, "TESTS_FAILED")
    assert session["collected"] == 10 and session["counts"] == report["totals"]
    assert session["args"][:2] == ["-p", "no:cacheprovider"] and "--evidence-out" in session["args"]
    assert session["environment"]["pytest"] == pytest.__version__
    assert "started" not in session and "rootdir" not in session
    record = next(
        a
        for a in read_json(data.parent.parent / "manifest.json")["artifacts"]
        if a["path"].endswith("pytest/session.json")
    )
    assert record["started"] < record["finished"]
    summary = (data / "summary.txt").read_text()
    assert summary.startswith("4 passed, 2 failed, 1 error, 1 skipped, 1 xfailed, 1 xpassed in ")
    assert "FAILED test_jobs.py::TestJobs::test_cancel\n" in summary and summary.endswith(
        "exit status 1 (TESTS_FAILED)\n"
    )
    records = {r["path"]: r for r in manifest["artifacts"]}
    assert records["data/pytest/session.json"]["exit_code"] == 1
    assert records["data/pytest/tests.json"]["status"] == "failed"

    attached = bundle / "data" / "pytest-attachments" / "test_jobs.py__test_attach"
    assert (attached / "response.json").read_text() == '{"state": "queued"}'
    assert (attached / "dump.bin").read_bytes() == b"\x00\x01"
    dump = records["data/pytest-attachments/test_jobs.py__test_attach/dump.bin"]
    assert (dump["title"], dump["media_type"]) == ("Raw dump", "application/octet-stream")
    assert records["data/pytest-attachments/test_jobs.py__test_attach/response.json"]["media_type"] == (
        "application/json"
    )

    for path in bundle.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    assert manifest["redactions"] >= 2

    # NOTE: the JUnit report of the same run gives the same ids and messages, minus xfail/xpass.
    ingested = {t["id"]: t for t in junit.parse_file(root / "report.xml")["tests"]}
    assert set(ingested) == set(by_id)
    for test_id, test in by_id.items():
        if test["outcome"] not in ("xfailed", "xpassed"):
            assert ingested[test_id]["outcome"] == test["outcome"]
            message = test["message"] and test["message"].replace("[REDACTED]", SECRET)
            assert ingested[test_id]["message"] == message


def test_a_passing_session_is_ok_and_named_after_the_rootdir(tmp_path: Path) -> None:
    root = project(tmp_path, "def test_fine():\n    pass\n", name="billing-svc")
    proc = run_pytest(root, "--evidence-out", str(tmp_path / "bundles"), "--evidence-service", "")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bundle = only_bundle(tmp_path / "bundles")
    manifest = verify(bundle).manifest
    assert manifest["service"] == "billing-svc" and manifest["phase"] == ""
    (entry,) = manifest["collectors"]
    assert entry == {**entry, "name": "pytest", "status": "ok", "artifacts": 3, "error": None, "hint": None}
    session = read_json(bundle / "data" / "pytest" / "session.json")
    assert (session["exit_status"], session["exit_status_name"]) == (0, "OK")
    assert (bundle / "data" / "pytest" / "summary.txt").read_text().startswith("1 passed in ")


def test_the_value_of_a_secret_named_option_is_masked_in_the_sessions_argv(tmp_path: Path) -> None:
    """In an argv an option and its value are two items, written one a line in session.json."""
    password = "Pw" + SECRET.replace("-", "") + "x9"
    root = project(tmp_path, "def test_fine():\n    pass\n")
    (root / "conftest.py").write_text(
        'def pytest_addoption(parser):\n    parser.addoption("--db-password")\n'
    )
    proc = run_pytest(root, "--evidence-out", "out", "--db-password", password)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bundle = only_bundle(root / "out")
    session = read_json(bundle / "data" / "pytest" / "session.json")
    assert session["argv"][-2:] == session["args"][-2:] == ["--db-password", "[REDACTED]"]
    assert not [p for p in bundle.rglob("*") if p.is_file() and password.encode() in p.read_bytes()]


def test_a_collection_error_is_recorded(tmp_path: Path) -> None:
    root = project(tmp_path, "import no_such_module_for_jobs\n")
    proc = run_pytest(root, "--evidence-out", "out")
    assert proc.returncode == 2
    bundle = only_bundle(root / "out")
    assert verify(bundle).ok
    report = read_json(bundle / "data" / "pytest" / "tests.json")
    assert [(t["id"], t["outcome"]) for t in report["tests"]] == [("test_jobs", "error")]
    assert report["tests"][0]["message"].startswith("collection failure\n\n")
    assert "no_such_module_for_jobs" in report["tests"][0]["message"]
    session = read_json(bundle / "data" / "pytest" / "session.json")
    assert session["exit_status_name"] == "INTERRUPTED"


def test_without_the_option_nothing_is_written_or_imported(tmp_path: Path) -> None:
    root = project(tmp_path, QUIET)
    before = sorted(root.rglob("*"))
    proc = run_pytest(root)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert sorted(p for p in root.rglob("*") if "__pycache__" not in p.parts) == before
    assert "evidence bundle" not in proc.stdout


def test_an_unusable_output_folder_is_a_usage_error(tmp_path: Path) -> None:
    root = project(tmp_path, "def test_fine():\n    pass\n")
    (root / "taken").write_text("a file, not a folder")
    proc = run_pytest(root, "--evidence-out", "taken/out")
    assert proc.returncode == 4
    assert "--evidence-out taken/out: cannot create the folder" in proc.stderr


def test_importing_the_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, evidence_kit.pytest_plugin\n"
        "heavy = ('evidence_kit.bundle.writer', 'evidence_kit.redact.redactor',"
        " 'evidence_kit.commands.collect', 'evidence_kit.support.junit',"
        " 'evidence_kit.collectors', 'jsonschema', 'git')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("nodeid", "expected"),
    [
        ("tests/test_api.py::TestJobs::test_create", "tests.test_api.TestJobs::test_create"),
        ("test_x.py::test_p[a/b::c]", "test_x::test_p[a/b::c]"),
        ("test_x.py", "test_x"),
    ],
)
def test_ids_follow_pytests_junit_writer(nodeid: str, expected: str) -> None:
    assert junit_id(nodeid) == expected


TEARDOWNS = """
import pytest


@pytest.fixture
def breaks_at_teardown():
    yield
    raise RuntimeError("teardown broke")


@pytest.fixture
def breaks_at_setup():
    raise RuntimeError("setup broke")


def test_passes_then_teardown_errors(breaks_at_teardown):
    pass


def test_fails_then_teardown_errors(breaks_at_teardown):
    assert False


def test_skips_then_teardown_errors(breaks_at_teardown):
    pytest.skip("not here")


def test_setup_errors(breaks_at_setup):
    pass


def test_fine():
    pass


@pytest.mark.xfail(reason="known")
def test_known():
    assert False
"""


def closing_counts(stdout: str) -> dict[str, int]:
    """pytest's own closing line (`1 failed, 2 passed, 4 errors in 0.1s`) as totals keys."""
    line = stdout.strip().splitlines()[-1].strip("= ")
    counts = {}
    for part in line.rsplit(" in ", 1)[0].split(", "):
        number, word = part.split(" ", 1)
        counts[{"error": "errors"}.get(word, word)] = int(number)
    return counts


def test_totals_agree_with_pytests_closing_line(tmp_path: Path) -> None:
    root = project(tmp_path, TEARDOWNS)
    proc = run_pytest(root, "--junitxml", "junit.xml", "--evidence-out", "out")
    pytest_says = closing_counts(proc.stdout)
    assert pytest_says == {"failed": 1, "passed": 2, "skipped": 1, "xfailed": 1, "errors": 4}, proc.stdout

    def live(totals: dict[str, Any]) -> dict[str, int]:
        return {k: v for k, v in totals.items() if k not in ("tests", "duration_s") and v}

    from_junit = junit.parse((root / "junit.xml").read_bytes())
    assert live(from_junit["totals"]) == pytest_says
    from_plugin = read_json(only_bundle(root / "out") / "data" / "pytest" / "tests.json")
    assert live(from_plugin["totals"]) == pytest_says
    for report in (from_junit, from_plugin):
        outcomes = sorted(
            t["outcome"] for t in report["tests"] if t["id"].endswith("passes_then_teardown_errors")
        )
        assert outcomes == ["error", "passed"]
