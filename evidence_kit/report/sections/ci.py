"""Report section: ci."""

from __future__ import annotations

from evidence_kit.evidence import ci
from evidence_kit.report.page import Fact, Part, Row, _Bundle, _first_line, _table


def _ci(bd: _Bundle, paths: list[str], part: Part) -> None:
    report = bd.json(f"data/{ci.path(ci.WORKFLOWS)}")
    if isinstance(report, dict):
        flows = [w for w in report.get("workflows", []) if isinstance(w, dict)]
        found = bool(report.get("found"))
        part.facts.append(
            Fact(
                "Workflow folder",
                f"{report.get('path')}" + ("" if found else " (not found)"),
                "" if found else "warn",
            )
        )
        part.facts.append(Fact("Workflows", str(len(flows))))
        rows = [
            Row(
                (str(w.get("file")), str(len(w.get("jobs") or [])), _first_line(w.get("error")) or "ok"),
                "bad" if w.get("error") else "",
            )
            for w in flows
        ]
        part.tables.append(_table("Workflow files", ("file", "jobs", "read"), rows))
    if f"data/{ci.path(ci.SUMMARY)}" in bd.records:
        part.shown.append(bd.show(f"data/{ci.path(ci.SUMMARY)}", unfold=True))
