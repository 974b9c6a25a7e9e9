"""Test evidence: normalized results (totals and every test's outcome) from the tests collector,
the pytest plugin, or a merged bundle."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from evidence_kit.evidence.view import BundleView, items, mapping

FOLDER = "tests"
RESULTS = "tests.json"
SUMMARY = "summary.txt"
JUNIT = "junit.xml"
STDOUT = "stdout.txt"
STDERR = "stderr.txt"
PLUGIN_FOLDER = "pytest"
MERGED_FOLDER = "merged"
# NOTE: every place tests results can come from, in the order they are preferred.
SOURCES = (f"{FOLDER}/{RESULTS}", f"{PLUGIN_FOLDER}/{RESULTS}", f"{MERGED_FOLDER}/{RESULTS}")
FAILING = ("failed", "error")


@dataclass(frozen=True)
class TestRun:
    """One source of results: totals and every test's outcome."""

    __test__ = False

    source: str
    totals: dict[str, Any]
    tests: tuple[dict[str, Any], ...]
    # NOTE: the artifact's status in the manifest: `timeout` for a run stopped before it finished.
    status: str = "ok"
    message: str = ""

    @property
    def failing(self) -> list[dict[str, Any]]:
        """The tests that failed or errored."""
        return [t for t in self.tests if t.get("outcome") in FAILING]

    def count(self, key: str) -> int:
        """A total (`tests`, `passed`, `failed`, `errors`, `skipped`), 0 when absent."""
        value = self.totals.get(key)
        return int(value) if isinstance(value, int | float) else 0


@dataclass(frozen=True)
class TestsEvidence:
    """Every source of test results the bundle holds."""

    __test__ = False

    runs: tuple[TestRun, ...]

    @property
    def present(self) -> bool:
        """True when the bundle holds test results."""
        return bool(self.runs)

    @property
    def first(self) -> TestRun | None:
        """The preferred source of results."""
        return self.runs[0] if self.runs else None


def read(view: BundleView) -> TestsEvidence:
    """The test results of a bundle, from every source that holds them."""
    runs = []
    for source in SOURCES:
        doc = view.json(source)
        if isinstance(doc, dict) and isinstance(doc.get("totals"), dict):
            tests = tuple(mapping(t) for t in items(doc.get("tests")) if isinstance(t, dict))
            record = view.record(source)
            status, message = str(record.get("status") or "ok"), str(record.get("message") or "")
            runs.append(TestRun(source, doc["totals"], tests, status, message))
    return TestsEvidence(tuple(runs))
