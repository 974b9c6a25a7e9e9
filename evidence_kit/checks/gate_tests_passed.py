"""EK303 gate-tests-passed: tests ran to the end, and none failed or errored.

A phase is not signed off on zero tests (skipped ones do not count), on a red run, or on part of a suite
stopped at its timeout.

Bad:
    tests.json totals: {"tests": 0}   or   {"tests": 1, "skipped": 1}   or   {"failed": 2, ...}
    or   tests.json of a run with status `timeout`

Good:
    tests.json totals: {"tests": 84, "passed": 84, "failed": 0, "errors": 0}
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from evidence_kit.evidence import tests
from evidence_kit.model import Finding
from evidence_kit.policy.target import missing

if TYPE_CHECKING:
    from evidence_kit.policy.packs import Rule
    from evidence_kit.policy.target import Target

ID = "EK303"
NAME = "gate-tests-passed"
TARGET = "bundle"
DEFAULT_SEVERITY = "error"
OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "min_tests": {"type": "integer", "minimum": 1, "description": "Fewest tests (default 1)."}
    },
}
SOURCES = ("tests/tests.json", "pytest/tests.json", "merged/tests.json")


def run(target: Target, rule: Rule) -> Iterator[Finding]:
    """Fail on no test results, too few tests, or any failure or error."""
    found = tests.read(target.view)
    if not found.present:
        yield missing(ID, tests.SOURCES[0], "tests", target.manifest)
        return
    least = int(rule.options.get("min_tests", 1))
    for run_ in found.runs:
        # NOTE: a skipped test proves nothing: a run whose every test was skipped (or deselected) ran none.
        skipped = run_.count("skipped")
        ran = run_.count("tests") - skipped
        if run_.status == "timeout":
            # NOTE: the results of a run stopped at its timeout are those of part of the suite only.
            yield Finding(
                ID,
                f"the test run was stopped at its timeout after {ran} tests, so the suite did not finish"
                + (f" ({run_.message})" if run_.message else ""),
                path=f"data/{run_.source}",
                snippet="tests timed out",
            )
        if ran < least:
            besides = f", {skipped} skipped" if skipped else ""
            yield Finding(
                ID,
                f"only {ran} tests ran{besides} (at least {least} required)",
                path=f"data/{run_.source}",
                snippet="too few tests",
            )
        # NOTE: by the node id one can paste into pytest where the report knows it.
        bad = [str(t.get("nodeid") or t.get("id")) for t in run_.failing]
        if run_.count("failed") or run_.count("errors") or bad:
            shown = ", ".join(bad[:5]) + (" …" if len(bad) > 5 else "")
            yield Finding(
                ID,
                f"{run_.count('failed')} failed and {run_.count('errors')} errored: {shown}",
                path=f"data/{run_.source}",
                snippet="tests failed",
            )
