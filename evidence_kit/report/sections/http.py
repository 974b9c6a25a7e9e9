"""Report section: http."""

from __future__ import annotations

import re

from evidence_kit.report.page import Fact, Part, _Bundle, _groups, _run_facts, level


def _http(bd: _Bundle, paths: list[str], part: Part) -> None:
    for stem, members in _groups(paths).items():
        meta = bd.json(stem + ".meta.json") if stem + ".meta.json" in members else None
        rec = bd.records[members[0]]
        title = re.sub(r" \(request and status\)$", "", str(rec.get("title") or stem))
        sub = Part(bd.part_id("http-", stem), title)
        if isinstance(meta, dict):
            sub.facts.append(
                Fact("Request", f"{meta.get('method', 'GET')} {meta.get('url') or meta.get('path')}")
            )
            sub.facts.append(
                Fact(
                    "Status",
                    f"{meta.get('status')} (expected {meta.get('expect')})",
                    level(rec.get("status")),
                )
            )
            if meta.get("error"):
                sub.facts.append(Fact("Error", str(meta["error"]), "bad"))
        else:
            sub.facts = _run_facts(rec)
        sub.shown = [bd.show(p) for p in sorted(members, key=lambda p: (p.endswith(".meta.json"), p))]
        part.parts.append(sub)
