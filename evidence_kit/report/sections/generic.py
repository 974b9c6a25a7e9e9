"""Report section: generic."""

from __future__ import annotations

from evidence_kit.report.page import Fact, Part, _Bundle


def _generic(bd: _Bundle, paths: list[str], part: Part) -> None:
    part.facts.append(Fact("Artifacts", str(len(paths))))
