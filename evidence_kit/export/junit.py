"""JUnit XML: one testcase per check and target; a failure for the findings that fail the run (at or above
`--fail-on`), the milder ones in the testcase's output, as JUnit has no level between passed and failed."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from evidence_kit.model import SEVERITIES
from evidence_kit.policy.engine import Report


def _n(count: int, word: str) -> str:
    return f"{count} {word if count == 1 else word + 's'}"


def render(report: Report, fail_on: str = "error") -> str:
    """A <testsuites> document CI systems show as test results."""
    worst = -1 if fail_on == "never" else SEVERITIES.index(fail_on)
    suite = ET.Element("testsuite", name="evidence-check")
    failures = skipped = 0
    for o in sorted(report.outcomes, key=lambda o: o.check):
        by_target: dict[str, tuple[list[str], list[str]]] = {}
        for f in o.findings:
            if not f.waived:
                failing, milder = by_target.setdefault(f.path or "(bundle)", ([], []))
                line = f"{f.path}:{f.line or ''} {f.severity}: {f.message}"
                (failing if SEVERITIES.index(f.severity) <= worst else milder).append(line)
        for target in sorted(by_target) or ["(all)"]:
            case = ET.SubElement(suite, "testcase", classname=f"{o.check}.{o.name}", name=target)
            if o.status == "skipped":
                ET.SubElement(case, "skipped", message=o.reason)
                skipped += 1
                continue
            failing, milder = by_target.get(target, ([], []))
            if failing:
                fail = ET.SubElement(case, "failure", message=_n(len(failing), "finding"))
                fail.text = "\n".join(failing)
                failures += 1
            if milder:
                ET.SubElement(case, "system-out").text = "\n".join(milder)
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
