"""The tests collector: real pytest runs, ingested reports, timeouts, unreadable reports, the example."""

from __future__ import annotations

import json
import os
import re
import socket
import sys
import time
from pathlib import Path

import pytest

from evidence_kit.bundle.verify import verify
from evidence_kit.bundle.writer import BundleWriter, slug, worst
from evidence_kit.collectors import tests
from evidence_kit.errors import CollectorError
from evidence_kit.model import CollectorResult, Context, Output
from evidence_kit.redact.redactor import Redactor
from evidence_kit.support import junit
from evidence_kit.support.host import host_facts

ROOT = Path(__file__).resolve().parents[2]
PYTEST = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]

SAMPLE = """
import pytest


class TestJobs:
    def test_create(self):
        assert 1 + 1 == 2

    def test_cancel(self):
        assert "queued" == "running", "wrong state"


def test_list():
    pass


@pytest.mark.skip(reason="needs redis")
def test_retry():
    pass
"""

GO_REPORT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites>
  <testsuite name="example.com/jobs" tests="2" failures="1" time="0.020">
    <testcase name="TestEnqueue" classname="example.com/jobs" time="0.004"></testcase>
    <testcase name="TestDequeue" classname="example.com/jobs" time="0.016">
      <failure message="Failed"><![CDATA[    queue_test.go:31: empty queue]]></failure>
    </testcase>
  </testsuite>
</testsuites>
"""


def ctx(root: Path, scratch: Path | None = None) -> Context:
    return Context(root=root, scratch=scratch or root / "scratch", env=dict(os.environ))


def project(tmp_path: Path, source: str = SAMPLE) -> Path:
    root = tmp_path / "svc"
    root.mkdir()
    (root / "pytest.ini").write_text("[pytest]\n")
    (root / "test_sample.py").write_text(source)
    return root


def by_name(outputs: list[Output]) -> dict[str, Output]:
    return {o.name: o for o in outputs}


def data(output: Output) -> bytes:
    if output.data is not None:
        return output.data
    assert output.source is not None
    return output.source.read_bytes()


def test_a_real_pytest_run_is_recorded_per_test(tmp_path: Path) -> None:
    root = project(tmp_path)
    writer = BundleWriter(tmp_path / "out", Redactor())
    outputs = tests.collect(ctx(root, writer.scratch / "tests"), {"run": PYTEST, "args": ["-q"]})
    out = by_name(outputs)
    assert sorted(out) == ["junit.xml", "stderr.txt", "stdout.txt", "summary.txt", "tests.json"]
    report = json.loads(data(out["tests.json"]))
    assert {k: v for k, v in report["totals"].items() if k != "duration_s"} == {
        "tests": 4,
        "passed": 2,
        "failed": 1,
        "errors": 0,
        "skipped": 1,
        "xfailed": 0,
        "xpassed": 0,
    }
    assert [(t["id"], t["outcome"]) for t in report["tests"]] == [
        ("test_sample.TestJobs::test_cancel", "failed"),
        ("test_sample.TestJobs::test_create", "passed"),
        ("test_sample::test_list", "passed"),
        ("test_sample::test_retry", "skipped"),
    ]
    assert "wrong state" in report["tests"][0]["message"]
    assert report["tests"][3]["message"].startswith("needs redis")
    # NOTE: the report as parsed, and each test's pytest node id from the file its classname names.
    parsed = junit.parse(data(out["junit.xml"]))
    assert data(out["tests.json"]) != junit.to_json(parsed)
    junit.add_nodes(parsed, [root])
    # NOTE: and the time of pytest's closing line (with -q: `1 failed, 2 passed, 1 skipped in 0.05s`).
    closing = re.findall(
        r"^1 failed, 2 passed, 1 skipped\b[^\n]* in ([\d.]+)s", data(out["stdout.txt"]).decode(), re.M
    )
    parsed["totals"]["duration_s"] = float(closing[-1])
    assert data(out["tests.json"]) == junit.to_json(parsed)
    assert report["tests"][0]["nodeid"] == "test_sample.py::TestJobs::test_cancel"
    summary = data(out["summary.txt"]).decode()
    # NOTE: pytest's own closing line, in its order.
    assert summary.startswith(f"1 failed, 2 passed, 1 skipped in {closing[-1]}s\n")
    assert "FAILED test_sample.py::TestJobs::test_cancel\n" in summary and summary.endswith("exit code 1\n")
    assert b"1 failed, 2 passed, 1 skipped" in data(out["stdout.txt"])
    for name in ("stdout.txt", "tests.json", "summary.txt"):
        assert out[name].status == "failed" and out[name].exit_code == 1
        assert out[name].message == "1 failed"
    assert out["junit.xml"].status == "ok"
    assert out["stdout.txt"].argv is not None and out["stdout.txt"].argv[-2].startswith("--junitxml=")
    for output in outputs:
        writer.add("tests", output)
    result = CollectorResult("tests", worst([o.status for o in outputs]), tuple(outputs))
    bundle = writer.finish(
        service="svc", phase="t", git_sha=None, results=[result], host=host_facts(), ci=None
    )
    assert verify(bundle).ok
    assert (bundle / "data/tests/tests.json").read_bytes() == data(out["tests.json"])


def test_failures_are_ok_when_not_expected_to_pass(tmp_path: Path) -> None:
    root = project(tmp_path)
    out = by_name(tests.collect(ctx(root), {"run": PYTEST, "expect_pass": False}))
    assert {o.status for o in out.values()} == {"ok"}
    assert out["stdout.txt"].exit_code == 1


def test_a_passing_run_is_ok_and_a_shell_string_works(tmp_path: Path) -> None:
    root = project(tmp_path, "def test_fine():\n    pass\n")
    run = " ".join(PYTEST)
    out = by_name(tests.collect(ctx(root), {"run": run, "args": ["-k", "fine"]}))
    assert {o.status for o in out.values()} == {"ok"}
    assert data(out["summary.txt"]).decode().startswith("1 passed in ")


def test_the_default_command_is_pythons_pytest(tmp_path: Path) -> None:
    root = project(tmp_path, "def test_fine():\n    pass\n")
    out = by_name(tests.collect(ctx(root), {"args": ["-p", "no:cacheprovider"]}))
    assert out["stdout.txt"].argv is not None and out["stdout.txt"].argv[:3] == ("python", "-m", "pytest")
    assert {o.status for o in out.values()} == {"ok"}, data(out["stderr.txt"])


def test_a_run_leaves_the_service_tree_as_it_was(tmp_path: Path) -> None:
    """No `.pytest_cache` and no bytecode beside the service's modules: a collect changes nothing."""
    root = project(tmp_path, "from helper import VALUE\n\n\ndef test_fine():\n    assert VALUE == 1\n")
    (root / "helper.py").write_text("VALUE = 1\n")
    before = sorted(p.relative_to(root).as_posix() for p in root.rglob("*"))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    context = Context(root=root, scratch=tmp_path / "scratch", env=env)
    out = by_name(tests.collect(context, {"run": [sys.executable, "-m", "pytest"]}))
    assert {o.status for o in out.values()} == {"ok"}, data(out["stderr.txt"])
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")) == before
    assert (tmp_path / "scratch" / "pytest-cache").is_dir()


def test_two_collects_of_one_run_write_the_same_output_without_the_scratch_folder(tmp_path: Path) -> None:
    """The scratch folder's name (process id, random part, host) is shown as `<scratch>`: in pytest's
    `cachedir:` header (relative to its rootdir, the bundle being inside the service) and in its
    `generated xml file:` line."""
    root = project(tmp_path, "def test_fine():\n    pass\n")
    seen: list[bytes] = []
    for _ in range(2):
        writer = BundleWriter(root / ".evidence", Redactor())
        out = by_name(
            tests.collect(ctx(root, writer.scratch / "tests"), {"run": [sys.executable, "-m", "pytest"]})
        )
        assert {o.status for o in out.values()} == {"ok"}, data(out["stderr.txt"])
        stdout = data(out["stdout.txt"])
        # NOTE: the partial folder's name holds the process id, a random part and the host name.
        for volatile in (writer.staging.name, f"-{os.getpid()}-", f"-{slug(socket.gethostname())}/"):
            assert volatile.encode() not in stdout + data(out["stderr.txt"])
            assert not any(volatile in arg for arg in out["stdout.txt"].argv or ())
        assert b"cachedir: <scratch>/pytest-cache\n" in stdout
        assert b"generated xml file: <scratch>/junit.xml" in stdout
        # NOTE: the run's own duration is the one thing two runs of the same tests tell apart.
        seen.append(re.sub(rb" in \d+\.\d+s ", b" in 0.00s ", stdout))
    assert seen[0] == seen[1]


def test_an_existing_report_is_ingested_instead_of_running(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    source = tmp_path / "reports" / "go.xml"
    source.write_text(GO_REPORT)
    outputs = tests.collect(ctx(tmp_path), {"junit": "reports/go.xml"})
    source.write_text("changed after the collect")
    out = by_name(outputs)
    assert sorted(out) == ["junit.xml", "summary.txt", "tests.json"]
    assert data(out["junit.xml"]) == GO_REPORT.encode()
    report = json.loads(data(out["tests.json"]))
    assert report["totals"] == {
        "tests": 2,
        "passed": 1,
        "failed": 1,
        "errors": 0,
        "skipped": 0,
        "xfailed": 0,
        "xpassed": 0,
        "duration_s": 0.02,
    }
    assert out["tests.json"].status == "failed"
    assert data(out["summary.txt"]) == (
        b"1 passed, 1 failed in 0.02s\nFAILED example.com/jobs::TestDequeue\nreport: reports/go.xml\n"
    )
    garbled = by_name(tests.collect(ctx(tmp_path, tmp_path / "again"), {"junit": "reports/go.xml"}))
    assert garbled["junit.error.txt"].status == "error"
    assert "not XML" in (garbled["junit.error.txt"].message or "")


def test_ingest_refuses_run_options_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(CollectorError, match="cannot go with run"):
        tests.collect(ctx(tmp_path), {"junit": "r.xml", "run": PYTEST})
    with pytest.raises(CollectorError, match="does not exist"):
        tests.collect(ctx(tmp_path), {"junit": "r.xml"})


def test_a_hanging_run_times_out_with_its_partial_output(tmp_path: Path) -> None:
    script = "echo 'collected 1 item'; echo 'test_queue.py::test_hangs'; sleep 60"
    t0 = time.monotonic()
    outputs = tests.collect(
        ctx(tmp_path), {"run": ["sh", "-c", script], "junit_out": "report.xml", "timeout": 2}
    )
    assert time.monotonic() - t0 < 30
    out = by_name(outputs)
    assert sorted(out) == ["stderr.txt", "stdout.txt", "summary.txt"]
    assert {o.status for o in outputs} == {"timeout"}
    assert out["stdout.txt"].exit_code is None
    assert "timed out after 2 s" in (out["stdout.txt"].message or "")
    assert data(out["stdout.txt"]) == b"collected 1 item\ntest_queue.py::test_hangs\n"
    assert data(out["summary.txt"]).decode().splitlines()[-1].startswith("timed out after 2 s")


def test_a_suite_still_running_at_its_timeout_is_interrupted_and_keeps_what_it_ran(tmp_path: Path) -> None:
    """SIGINT first, as Ctrl-C: pytest writes the report of the tests it ran; the run's status is timeout
    (EK303 then says the suite did not finish: see its cases)."""
    (tmp_path / "test_long.py").write_text(
        "import time\n\ndef test_a():\n    pass\n\ndef test_b():\n    pass\n\n"
        "def test_slow():\n    time.sleep(120)\n",
        encoding="utf-8",
    )
    t0 = time.monotonic()
    outputs = tests.collect(
        ctx(tmp_path), {"run": [*PYTEST, "test_long.py", "-p", "no:cacheprovider"], "timeout": 8}
    )
    assert time.monotonic() - t0 < 60
    out = by_name(outputs)
    report = json.loads(data(out["tests.json"]))
    assert {t["id"].rsplit("::", 1)[-1]: t["outcome"] for t in report["tests"]}.items() >= {
        ("test_a", "passed"),
        ("test_b", "passed"),
    }
    assert out["tests.json"].status == "timeout" and "SIGINT" in (out["tests.json"].message or "")
    # NOTE: the test the interrupt stopped is no passed test (pytest writes it without a name).
    assert report["totals"]["passed"] == 2 and not [t for t in report["tests"] if "unnamed" in t["id"]]


def test_a_report_that_is_not_xml_is_an_error_and_the_output_is_kept(tmp_path: Path) -> None:
    script = "echo '=== RUN TestEnqueue'; echo '--- PASS: TestEnqueue' > report.txt; echo done >&2"
    outputs = tests.collect(ctx(tmp_path), {"run": ["sh", "-c", script], "junit_out": "report.txt"})
    out = by_name(outputs)
    assert sorted(out) == ["junit.error.txt", "junit.xml", "stderr.txt", "stdout.txt", "summary.txt"]
    error = out["junit.error.txt"]
    assert error.status == "error"
    assert error.message == "junit.xml: the report is not XML: syntax error at line 1, column 1"
    assert data(out["junit.xml"]) == b"--- PASS: TestEnqueue\n"
    assert data(out["stdout.txt"]) == b"=== RUN TestEnqueue\n" and data(out["stderr.txt"]) == b"done\n"
    assert out["stdout.txt"].exit_code == 0 and out["stdout.txt"].status == "ok"
    assert worst([o.status for o in outputs]) == "error"


def test_a_report_left_from_an_earlier_run_is_not_taken(tmp_path: Path) -> None:
    (tmp_path / "report.xml").write_text(GO_REPORT)
    out = by_name(tests.collect(ctx(tmp_path), {"run": ["true"], "junit_out": "report.xml"}))
    assert "did not write report.xml" in (out["junit.error.txt"].message or "")
    assert "tests.json" not in out


def test_a_run_without_a_report_is_an_error(tmp_path: Path) -> None:
    out = by_name(tests.collect(ctx(tmp_path), {"run": [sys.executable, "-m", "pytest", "--no-such-flag"]}))
    assert out["stdout.txt"].exit_code == 4 and out["stdout.txt"].status == "failed"
    message = out["junit.error.txt"].message or ""
    assert message.startswith("the test command wrote no JUnit report (exit code 4): ")
    assert "unrecognized arguments: --no-such-flag" in message


def test_a_run_missing_its_runner_says_to_set_the_service_s_interpreter(tmp_path: Path) -> None:
    """`python -m pytest` in an interpreter without pytest (the first `python` on PATH, no `python:`
    set): the error says which interpreter ran and how to choose the service's."""
    run = [
        sys.executable,
        "-c",
        "import sys; sys.stderr.write('No module named pytest\\n'); sys.exit(1)",
        "pytest",
    ]
    out = by_name(tests.collect(ctx(tmp_path), {"run": run, "junit_out": "report.xml"}))
    text = data(out["junit.error.txt"]).decode()
    assert "No module named pytest" in (out["junit.error.txt"].message or "")
    assert "Tip: the tests ran with `python` from PATH, as no `python:` is set in evidence.yaml: set " in text


def test_a_missing_test_command_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CollectorError, match="not found"):
        tests.collect(ctx(tmp_path), {"run": ["no-such-test-runner-4f1c", "-m", "pytest"]})
    with pytest.raises(CollectorError, match="does not look like pytest") as err:
        tests.collect(ctx(tmp_path), {"run": ["go", "test", "./..."]})
    assert "junit_out" in err.value.hint
    with pytest.raises(CollectorError, match="cwd"):
        tests.collect(ctx(tmp_path), {"cwd": "nowhere"})


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        (["python", "-m", "pytest"], True),
        (["/venv/bin/pytest", "-q"], True),
        (["uv", "run", "pytest"], True),
        ("cd svc && python -m pytest -q", True),
        ("pytest -q | tee log.txt", False),
        ("pytest -q; echo done", False),
        (["go", "test", "./..."], False),
        ("tox -e py311", False),
    ],
)
def test_pytest_is_recognized(run: str | list[str], expected: bool) -> None:
    assert tests.is_pytest(run) is expected


@pytest.mark.slow
def test_the_example_services_own_tests(tmp_path: Path, pg_admin_url: str) -> None:
    options = {
        "run": PYTEST,
        "args": ["examples/jobs_service/tests", "-k", "test_api"],
        "env": {"EVIDENCE_TEST_DATABASE_URL": pg_admin_url},
        "timeout": 600,
    }
    outputs = tests.collect(ctx(ROOT, tmp_path / "scratch"), options)
    out = by_name(outputs)
    report = json.loads(data(out["tests.json"]))
    totals = report["totals"]
    assert totals["tests"] >= 5 and totals["passed"] == totals["tests"], data(out["summary.txt"]).decode()
    assert all(t["id"].startswith("examples.jobs_service.tests.test_api::") for t in report["tests"])
    assert {o.status for o in outputs} == {"ok"}
    assert out["stdout.txt"].exit_code == 0


def test_an_unexpected_pass_is_counted_as_pytest_counts_it(tmp_path: Path) -> None:
    """pytest's JUnit writes an xpass as a pass; its closing line says `1 xpassed`: the totals follow it."""
    (tmp_path / "test_mix.py").write_text(
        "import pytest\n\n\ndef test_ok():\n    pass\n\n\n@pytest.mark.xfail(reason='known')\n"
        "def test_fixed_meanwhile():\n    pass\n\n\n@pytest.mark.xfail(reason='known')\n"
        "def test_still_broken():\n    assert False\n"
    )
    run = [sys.executable, "-m", "pytest", "test_mix.py", "-p", "no:cacheprovider"]
    out = by_name(tests.collect(ctx(tmp_path), {"run": run}))
    totals = json.loads(data(out["tests.json"]))["totals"]
    assert (totals["passed"], totals["xpassed"], totals["xfailed"]) == (1, 1, 1)
    assert (
        "1 passed" in data(out["summary.txt"]).decode() and "1 xpassed" in data(out["summary.txt"]).decode()
    )


def test_the_time_is_pytests_own_closing_line(tmp_path: Path) -> None:
    """JUnit's total time ends before the session's last teardowns; summary.txt and tests.json give the
    time pytest's closing line prints, as the people who ran it saw it."""
    (tmp_path / "conftest.py").write_text(
        "import time\n\nimport pytest\n\n\n@pytest.fixture(scope='session', autouse=True)\n"
        "def slow_to_close():\n    yield\n    time.sleep(0.6)\n"
    )
    (tmp_path / "test_one.py").write_text("def test_ok():\n    pass\n")
    run = [sys.executable, "-m", "pytest", "test_one.py", "-p", "no:cacheprovider"]
    out = by_name(tests.collect(ctx(tmp_path), {"run": run}))
    closing = re.findall(r"=+ 1 passed\b[^\n]* in ([\d.]+)s", data(out["stdout.txt"]).decode())
    assert closing and float(closing[-1]) >= 0.6
    totals = json.loads(data(out["tests.json"]))["totals"]
    assert totals["duration_s"] == float(closing[-1])
    assert data(out["summary.txt"]).decode().startswith(f"1 passed in {closing[-1]}s\n")


def test_the_summary_is_pytests_closing_line_with_its_warnings_and_why_it_ran_nothing(tmp_path: Path) -> None:
    """summary.txt says what pytest said: `1 passed, 1 warning in …` (JUnit counts no warnings); a suite
    whose collection failed says pytest stopped before any test ran, there and in the collector's
    message, not only `1 error`."""
    (tmp_path / "test_warns.py").write_text(
        "import warnings\n\n\ndef test_ok():\n    warnings.warn('old api', DeprecationWarning)\n"
    )
    run = [sys.executable, "-m", "pytest", "test_warns.py", "-p", "no:cacheprovider"]
    out = by_name(tests.collect(ctx(tmp_path), {"run": run}))
    first = data(out["summary.txt"]).decode().splitlines()[0]
    assert re.fullmatch(r"1 passed, 1 warning in [\d.]+s", first), first
    (tmp_path / "test_broken.py").write_text("import no_such_module_here\n")
    run = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
    out = by_name(tests.collect(ctx(tmp_path), {"run": run}))
    lines = data(out["summary.txt"]).decode().splitlines()
    assert re.fullmatch(r"1 error in [\d.]+s", lines[0]), lines
    assert lines[1] == "Interrupted: 1 error during collection: no test ran"
    assert out["summary.txt"].status == "failed"
    assert out["summary.txt"].message == "1 error (Interrupted: 1 error during collection: no test ran)"


RESETS_TABLES = """\
import os

import psycopg


def test_with_a_clean_slate():
    # NOTE: as a base class's setUp with drop_all() then create_all() from the models.
    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS notes")
        conn.execute("CREATE TABLE notes (id int PRIMARY KEY)")
        conn.execute("DROP TABLE IF EXISTS audit")
"""


def test_a_suite_that_changes_the_tables_of_the_collects_database_is_said_to(
    tmp_path: Path, pg_url: str
) -> None:
    """The tests run last, so this bundle is right; the next collect would read what they left (a migration's
    column gone, the revision still at head). The collect says so, and says nothing when they change none."""
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS notes")
        conn.execute("DROP TABLE IF EXISTS audit")
        conn.execute("CREATE TABLE notes (id int PRIMARY KEY, added_by_a_migration text)")
        conn.execute("CREATE TABLE audit (id int)")
    (tmp_path / "test_slate.py").write_text(RESETS_TABLES)
    context = Context(root=tmp_path, scratch=tmp_path / "scratch", env=dict(os.environ), database_url=pg_url)
    run = [sys.executable, "-m", "pytest", "test_slate.py", "-p", "no:cacheprovider"]
    out = by_name(tests.collect(context, {"run": run}))
    said = data(out["database-changed.txt"]).decode()
    assert "1 table dropped; 1 table dropped and created again: public.notes, public.audit" in said
    assert out["database-changed.txt"].status == "ok" and out["database-changed.txt"].message == said.strip()
    # NOTE: run again: the suite now finds what it makes (same columns) but still drops and creates.
    out = by_name(tests.collect(context, {"run": run}))
    assert "1 table dropped and created again: public.notes" in data(out["database-changed.txt"]).decode()
    (tmp_path / "test_slate.py").write_text("def test_reads_nothing():\n    pass\n")
    out = by_name(tests.collect(context, {"run": run}))
    assert "database-changed.txt" not in out


def test_the_closing_line_is_read_in_colour_too(tmp_path: Path) -> None:
    """`--color=yes` (or PY_COLORS=1) wraps the closing line's words in escapes: its time and xpassed count
    are read all the same."""
    (tmp_path / "test_mix.py").write_text(
        "import pytest\n\n\ndef test_ok():\n    pass\n\n\n@pytest.mark.xfail(reason='known')\n"
        "def test_fixed_meanwhile():\n    pass\n"
    )
    run = [sys.executable, "-m", "pytest", "test_mix.py", "-p", "no:cacheprovider", "--color=yes"]
    out = by_name(tests.collect(ctx(tmp_path), {"run": run}))
    assert "\x1b[" in data(out["stdout.txt"]).decode()
    totals = json.loads(data(out["tests.json"]))["totals"]
    assert (totals["passed"], totals["xpassed"]) == (1, 1)
