"""JUnit XML reading: pytest's reports and other runners', nested suites, bad and hostile input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from evidence_kit.support import junit

PYTEST_XML = """<?xml version="1.0" encoding="utf-8"?><testsuites name="pytest tests">
<testsuite name="pytest" errors="1" failures="1" skipped="2" tests="6" time="0.062"
 timestamp="2026-01-01T00:00:00.000000+00:00" hostname="ci">
<testcase classname="tests.test_api.TestJobs" name="test_create" time="0.011" />
<testcase classname="tests.test_api.TestJobs" name="test_cancel" time="0.021">
<failure message="AssertionError: nope&#10;assert 409 == 200">self = &lt;tests.test_api.TestJobs object&gt;

&gt;   assert response.status_code == 200, "nope"
E   AssertionError: nope
E   assert 409 == 200

tests/test_api.py:40: AssertionError</failure></testcase>
<testcase classname="tests.test_api" name="test_skip" time="0.000">
<skipped type="pytest.skip" message="needs redis">/ci/tests/test_api.py:55: needs redis</skipped></testcase>
<testcase classname="tests.test_api" name="test_known_bug" time="0.001">
<skipped type="pytest.xfail" message="bug 12" /></testcase>
<testcase classname="tests.test_api" name="test_db" time="0.003">
<error message="failed on setup with &quot;RuntimeError: no db&quot;">@pytest.fixture
&gt;   def db(): raise RuntimeError("no db")
E   RuntimeError: no db</error></testcase>
<testcase classname="tests.test_api" name="test_ids[a b]" time="0.002" /></testsuite></testsuites>
"""

SUREFIRE_XML = """<?xml version="1.0" encoding="UTF-8"?>
<testsuite xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:noNamespaceSchemaLocation="https://maven.apache.org/surefire/maven-surefire-plugin/xsd/surefire-3.0.xsd"
  version="3.0" name="com.example.jobs.JobServiceTest" time="1,234.5"
  tests="4" errors="1" skipped="1" failures="1">
  <properties>
    <property name="java.version" value="17.0.9"/>
    <property name="os.name" value="Linux"/>
  </properties>
  <testcase name="createsJob" classname="com.example.jobs.JobServiceTest" time="0.412"/>
  <testcase name="rejectsDuplicate" classname="com.example.jobs.JobServiceTest" time="0.108">
    <failure message="expected: &lt;409&gt; but was: &lt;200&gt;" type="org.opentest4j.AssertionFailedError">
<![CDATA[org.opentest4j.AssertionFailedError: expected: <409> but was: <200>
\tat com.example.jobs.JobServiceTest.rejectsDuplicate(JobServiceTest.java:42)
]]></failure>
    <system-out><![CDATA[POST /jobs -> 200]]></system-out>
  </testcase>
  <testcase name="connectsToDatabase" classname="com.example.jobs.JobServiceTest" time="0.5">
    <error message="Connection refused" type="java.net.ConnectException">
java.net.ConnectException: Connection refused
\tat com.example.jobs.Db.connect(Db.java:17)</error>
  </testcase>
  <testcase name="slowPath" classname="com.example.jobs.JobServiceTest" time="0">
    <skipped message="@Disabled: flaky on CI"/>
  </testcase>
</testsuite>
"""

GO_XML = """<?xml version="1.0" encoding="UTF-8"?>
<testsuites tests="3" failures="1">
\t<testsuite name="example.com/jobs/queue" tests="3" failures="1" errors="0" id="0" hostname="ci"
\t\ttime="0.015" timestamp="2026-01-01T00:00:00Z">
\t\t<properties>
\t\t\t<property name="go.version" value="go1.22.1 linux/amd64"></property>
\t\t</properties>
\t\t<testcase name="TestEnqueue" classname="example.com/jobs/queue" time="0.001"></testcase>
\t\t<testcase name="TestEnqueue/empty_payload" classname="example.com/jobs/queue" time="0.000">
\t\t\t<failure message="Failed"><![CDATA[    queue_test.go:31: payload must not be empty]]></failure>
\t\t</testcase>
\t\t<testcase name="TestRetry" classname="example.com/jobs/queue" time="0.010">
\t\t\t<skipped message="Skipped"><![CDATA[    queue_test.go:40: needs redis]]></skipped>
\t\t</testcase>
\t</testsuite>
</testsuites>
"""

NESTED_XML = """<?xml version="1.0"?>
<testsuites>
  <testsuite name="All" time="2.5">
    <testsuite name="Unit" time="1.0">
      <testcase classname="Unit.MathTest" name="adds" time="0.25"/>
      <testsuite name="Deeper">
        <testcase classname="Unit.Deeper.ParserTest" name="parses" time="0.5">
          <failure>unexpected token</failure>
        </testcase>
      </testsuite>
    </testsuite>
    <testsuite name="Integration" time="1.5">
      <testcase name="boots"/>
    </testsuite>
  </testsuite>
</testsuites>
"""


def totals(
    tests: int, passed: int, failed: int, errors: int, skipped: int, duration: float, xfailed: int = 0
) -> dict[str, Any]:
    return {
        "tests": tests,
        "passed": passed,
        "failed": failed,
        "errors": errors,
        "skipped": skipped,
        "xfailed": xfailed,
        "xpassed": 0,
        "duration_s": duration,
    }


CASES: list[tuple[str, str, dict[str, Any], list[tuple[str, str, float | None, str | None]]]] = [
    (
        "pytest",
        PYTEST_XML,
        totals(6, 2, 1, 1, 1, 0.062, xfailed=1),
        [
            (
                "tests.test_api.TestJobs::test_cancel",
                "failed",
                0.021,
                "AssertionError: nope\nassert 409 == 200",
            ),
            ("tests.test_api.TestJobs::test_create", "passed", 0.011, None),
            ("tests.test_api::test_db", "error", 0.003, 'failed on setup with "RuntimeError: no db"'),
            ("tests.test_api::test_ids[a b]", "passed", 0.002, None),
            ("tests.test_api::test_known_bug", "xfailed", 0.001, "bug 12"),
            (
                "tests.test_api::test_skip",
                "skipped",
                0.0,
                "needs redis\n\n/ci/tests/test_api.py:55: needs redis",
            ),
        ],
    ),
    (
        "surefire",
        SUREFIRE_XML,
        totals(4, 1, 1, 1, 1, 1234.5),
        [
            ("com.example.jobs.JobServiceTest::connectsToDatabase", "error", 0.5, "Connection refused"),
            ("com.example.jobs.JobServiceTest::createsJob", "passed", 0.412, None),
            (
                "com.example.jobs.JobServiceTest::rejectsDuplicate",
                "failed",
                0.108,
                "expected: <409> but was: <200>",
            ),
            ("com.example.jobs.JobServiceTest::slowPath", "skipped", 0.0, "@Disabled: flaky on CI"),
        ],
    ),
    (
        "go-junit-report",
        GO_XML,
        totals(3, 1, 1, 0, 1, 0.015),
        [
            ("example.com/jobs/queue::TestEnqueue", "passed", 0.001, None),
            ("example.com/jobs/queue::TestEnqueue/empty_payload", "failed", 0.0, "Failed"),
            ("example.com/jobs/queue::TestRetry", "skipped", 0.01, "Skipped"),
        ],
    ),
    (
        "nested",
        NESTED_XML,
        totals(3, 2, 1, 0, 0, 2.5),
        [
            ("Unit.Deeper.ParserTest::parses", "failed", 0.5, "unexpected token"),
            ("Unit.MathTest::adds", "passed", 0.25, None),
            ("boots", "passed", None, None),
        ],
    ),
]


@pytest.mark.parametrize(
    ("xml", "expected_totals", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_reports_are_normalized(
    xml: str, expected_totals: dict[str, Any], expected: list[tuple[str, str, float | None, str | None]]
) -> None:
    report = junit.parse(xml.encode())
    assert report["totals"] == expected_totals
    got = [(t["id"], t["outcome"], t["duration_s"], t["message"]) for t in report["tests"]]
    assert [g[:3] for g in got] == [e[:3] for e in expected]
    for (_, _, _, message), (_, _, _, start) in zip(got, expected, strict=True):
        if start is None:
            assert message is None
        else:
            assert message is not None and message.startswith(start)
    assert set(report) == {"totals", "tests"}
    assert all(set(t) == {"id", "outcome", "duration_s", "message"} for t in report["tests"])


def test_failure_text_is_kept_after_the_message() -> None:
    report = junit.parse(SUREFIRE_XML.encode())
    failed = next(t for t in report["tests"] if t["outcome"] == "failed")
    assert "JobServiceTest.java:42" in failed["message"]
    assert "POST /jobs" not in failed["message"]


def test_order_does_not_depend_on_the_order_of_the_report() -> None:
    first = '<testcase name="TestEnqueue" classname="example.com/jobs/queue" time="0.001"></testcase>'
    shuffled = GO_XML.replace(first, "").replace("\t</testsuite>", first + "</testsuite>")
    assert shuffled != GO_XML
    assert junit.to_json(junit.parse(shuffled.encode())) == junit.to_json(junit.parse(GO_XML.encode()))
    assert json.loads(junit.to_json(junit.parse(GO_XML.encode())))["totals"]["tests"] == 3


def test_utf16_report_with_a_bom_is_read() -> None:
    xml = '<?xml version="1.0" encoding="UTF-16"?>' + (
        '<testsuite><testcase classname="c" name="ünïcode"/></testsuite>'
    )
    report = junit.parse(xml.encode("utf-16"))
    assert report["tests"][0]["id"] == "c::ünïcode"


def test_summary_lists_failing_ids() -> None:
    report = junit.parse(PYTEST_XML.encode())
    assert junit.summary(report) == (
        "2 passed, 1 failed, 1 error, 1 skipped, 1 xfailed in 0.06s\n"
        "FAILED tests.test_api.TestJobs::test_cancel\n"
        "ERROR tests.test_api::test_db\n"
    )
    assert junit.summary_line(junit.parse(b"<testsuites/>")) == "no tests ran in 0.00s"


def test_long_messages_are_capped_keeping_both_ends() -> None:
    text = "HEAD" + "x" * 100_000 + "TAIL"
    xml = f'<testsuite><testcase name="t"><failure message="boom">{text}</failure></testcase></testsuite>'
    message = junit.parse(xml.encode())["tests"][0]["message"]
    assert len(message) < junit.MESSAGE_LIMIT + 100
    assert message.startswith("boom") and message.endswith("TAIL") and "characters cut" in message


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            b"=== RUN   TestEnqueue\n--- PASS: TestEnqueue (0.00s)\nok\n",
            "not XML: not well-formed (invalid token) at line 1, column 1",
        ),
        (b'<testsuite><testcase name="a"></testsuite>', "not XML: mismatched tag at line 1, column 33"),
        (b"", "not XML: no element found at line 1, column 1"),
        (b"<html><body>502 Bad Gateway</body></html>", "not JUnit: its root element is <html>"),
        (b"\x80\x81 not text", "not valid utf-8 text (byte 0"),
    ],
    ids=["go-test-text", "truncated", "empty", "html", "binary"],
)
def test_input_that_is_not_a_junit_report_is_a_clear_error(data: bytes, expected: str) -> None:
    with pytest.raises(junit.JUnitError) as err:
        junit.parse(data)
    assert expected in err.value.message
    assert err.value.hint


LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<testsuite><testcase name="&lol3;"/></testsuite>
"""


@pytest.mark.parametrize(
    "data",
    [
        LAUGHS.encode(),
        b'<!-- a comment first --><?pi x?>\n<!DOCTYPE testsuite SYSTEM "file:///etc/passwd"><testsuite/>',
        b'<!ENTITY x "y"><testsuite/>',
        LAUGHS.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>').encode("utf-16"),
        LAUGHS.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="utf-16-le"?>').encode(
            "utf-16-le"
        ),
        b"\xef\xbb\xbf" + LAUGHS.encode(),
    ],
    ids=["billion-laughs", "external-after-comment", "bare-entity", "utf16-bom", "utf16-no-bom", "utf8-bom"],
)
def test_dtd_and_entity_declarations_are_refused(data: bytes) -> None:
    with pytest.raises(junit.JUnitError, match="DOCTYPE or ENTITY declaration"):
        junit.parse(data)


def test_a_doctype_inside_captured_output_is_only_text() -> None:
    xml = (
        '<testsuite><testcase classname="web" name="page"><failure message="bad page">'
        "<![CDATA[<!DOCTYPE html><html></html>]]></failure></testcase></testsuite>"
    )
    report = junit.parse(xml.encode())
    assert "<!DOCTYPE html>" in report["tests"][0]["message"]


def test_an_unknown_declared_encoding_is_refused() -> None:
    with pytest.raises(junit.JUnitError, match="unknown encoding 'x-nope'"):
        junit.parse(b'<?xml version="1.0" encoding="x-nope"?><testsuite/>')


def test_files_over_the_cap_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "report.xml"
    path.write_text(GO_XML)
    assert junit.parse_file(path)["totals"]["tests"] == 3
    with pytest.raises(junit.JUnitError, match="larger than 100 bytes"):
        junit.parse_file(path, max_bytes=100)
    with pytest.raises(junit.JUnitError, match="cannot read"):
        junit.parse_file(tmp_path / "missing.xml")


def test_node_ids_come_from_the_file_a_classname_names(tmp_path: Path) -> None:
    (tmp_path / "tests" / "unit_tests").mkdir(parents=True)
    (tmp_path / "tests" / "unit_tests" / "test_config.py").write_text("")
    (tmp_path / "test_top.py").write_text("")
    report = {
        "tests": [
            {"id": "tests.unit_tests.test_config::test_env[a.b::c]"},
            {"id": "tests.unit_tests.test_config.TestOuter.TestInner::test_x"},
            {"id": "test_top::test_y"},
            {"id": "tests.unit_tests.test_gone::test_z"},
            {"id": "a..b::test_odd"},
            {"id": "test_no_classname"},
            # NOTE: a module that failed to collect: its dotted path alone names its file.
            {"id": "tests.unit_tests.test_config"},
        ]
    }
    junit.add_nodes(report, [tmp_path / "elsewhere", tmp_path])
    assert [t["nodeid"] for t in report["tests"]] == [
        "tests/unit_tests/test_config.py::test_env[a.b::c]",
        "tests/unit_tests/test_config.py::TestOuter::TestInner::test_x",
        "test_top.py::test_y",
        None,
        None,
        None,
        "tests/unit_tests/test_config.py",
    ]
    assert [junit.shown(t) for t in report["tests"]][3:5] == [
        "tests.unit_tests.test_gone::test_z",
        "a..b::test_odd",
    ]


def test_a_case_that_names_nothing_and_says_nothing_is_not_counted() -> None:
    """pytest writes the test a Ctrl-C stopped as a bare `<testcase time="0.000" />`: no test passed there."""
    xml = (
        '<testsuites><testsuite name="pytest" tests="3">'
        '<testcase classname="t" name="a" time="0.1" /><testcase classname="t" name="b" time="0.1" />'
        '<testcase time="0.000" /></testsuite></testsuites>'
    )
    report = junit.parse(xml.encode())
    assert (report["totals"]["tests"], report["totals"]["passed"]) == (2, 2)
    # NOTE: one that says what happened to it is kept, named or not.
    failed = xml.replace(
        '<testcase time="0.000" />', '<testcase time="0.000"><error message="x" /></testcase>'
    )
    assert junit.parse(failed.encode())["totals"]["errors"] == 1


def test_a_classname_from_a_rootdir_below_the_run_s_folder_gets_its_node_id(tmp_path: Path) -> None:
    """pytest's settings in `tests/` make it the rootdir: classnames drop `tests.`; the node id one pastes
    in the run's folder is found in the one folder below that holds the file (none when several do)."""
    (tmp_path / "tests" / "unit" / "db").mkdir(parents=True)
    (tmp_path / "tests" / "unit" / "db" / "test_dates.py").write_text("")
    report = {"tests": [{"id": "unit.db.test_dates::test_a"}, {"id": "unit.db.test_dates.TestX::test_b"}]}
    junit.add_nodes(report, [tmp_path])
    assert [t["nodeid"] for t in report["tests"]] == [
        "tests/unit/db/test_dates.py::test_a",
        "tests/unit/db/test_dates.py::TestX::test_b",
    ]
    (tmp_path / "other" / "unit" / "db").mkdir(parents=True)
    (tmp_path / "other" / "unit" / "db" / "test_dates.py").write_text("")
    again = {"tests": [{"id": "unit.db.test_dates::test_a"}]}
    junit.add_nodes(again, [tmp_path])
    assert again["tests"][0]["nodeid"] is None
