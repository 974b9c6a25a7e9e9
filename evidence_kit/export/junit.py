"""JUnit XML: one testcase per check and target, failures carrying the findings."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from evidence_kit.policy.engine import Report


def _n(count: int, word: str) -> str:
    return f"{count} {word if count == 1 else word + 's'}"


def render(report: Report) -> str:
    """A <testsuites> document CI systems show as test results."""
    suite = ET.Element("testsuite", name="evidence-check")
    failures = skipped = 0
    for o in sorted(report.outcomes, key=lambda o: o.check):
        by_target: dict[str, list[str]] = {}
        for f in o.findings:
            if not f.waived:
                by_target.setdefault(f.path or "(bundle)", []).append(
                    f"{f.path}:{f.line or ''} {f.severity}: {f.message}"
                )
        case_targets = sorted(by_target) or ["(all)"]
        for target in case_targets:
            case = ET.SubElement(suite, "testcase", classname=f"{o.check}.{o.name}", name=target)
            if o.status == "skipped":
                ET.SubElement(case, "skipped", message=o.reason)
                skipped += 1
            elif target in by_target:
                fail = ET.SubElement(case, "failure", message=_n(len(by_target[target]), "finding"))
                fail.text = "\n".join(by_target[target])
                failures += 1
    suite.set("tests", str(len(suite)))
    suite.set("failures", str(failures))
    suite.set("errors", "0")
    suite.set("skipped", str(skipped))
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"
