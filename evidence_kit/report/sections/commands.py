"""Report section: commands."""

from __future__ import annotations

import re

from evidence_kit.report.page import Fact, Part, _Bundle, _groups, _run_facts, level


def _commands(bd: _Bundle, paths: list[str], part: Part) -> None:
    groups = _groups(paths)
    failing = 0
    for stem, members in groups.items():
        rec = bd.records[members[0]]
        title = re.sub(r" \((stdout|stderr)\)$", "", str(rec.get("title") or stem.rsplit("/", 1)[-1]))
        sub = Part(bd.part_id("run-", stem), title)
        sub.facts = _run_facts(rec)
        failing += level(rec.get("status")) == "bad"
        sub.shown = [bd.show(p) for p in sorted(members, key=lambda p: (not p.endswith(".stdout.txt"), p))]
        part.parts.append(sub)
    part.facts.insert(0, Fact("Commands", f"{len(groups)} run, {failing} not ok", "bad" if failing else "ok"))
