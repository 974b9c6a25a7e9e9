"""Report section: results."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from evidence_kit.report.page import Fact, Part, _Bundle, _dict, _groups, _str, level


def _queue_facts(doc: Mapping[str, Any]) -> list[Fact]:
    queued = _dict(doc.get("queued"))
    oldest = queued.get("oldest_age_seconds")
    facts = [
        Fact("Jobs", _str(doc.get("total"))),
        Fact(
            "Queued",
            _str(queued.get("count")) + (f" (the oldest {oldest} s ago)" if oldest is not None else ""),
        ),
    ]
    for key, label in (
        ("stuck", "Stuck"),
        ("over_attempted", "Over-attempted"),
        ("due_retry", "Due for retry"),
    ):
        found = doc.get(key)
        if isinstance(found, dict):
            count = found.get("count")
            facts.append(Fact(label, f"{count} ({found.get('criterion')})", "warn" if count else "ok"))
        else:
            facts.append(Fact(label, f"skipped ({_dict(doc.get('skipped')).get(key)})", "skip"))
    return facts


def _results(bd: _Bundle, paths: list[str], part: Part) -> None:
    for stem, members in _groups(paths).items():
        rec = bd.records[members[0]]
        sub = Part(bd.part_id(part.id + "-", stem), str(rec.get("title") or stem))
        doc = bd.json(stem + ".json") if stem + ".json" in members else None
        if isinstance(doc, dict) and "row_count" in doc:
            cut = " (cut at max_rows)" if doc.get("truncated") else ""
            sub.facts.append(Fact("Rows", f"{doc.get('row_count')}{cut}", "warn" if cut else ""))
        if isinstance(doc, dict) and "by_status" in doc:
            sub.facts += _queue_facts(doc)
        if isinstance(rec.get("duration_s"), int | float):
            sub.facts.append(Fact("Duration", f"{rec['duration_s']:.3f} s"))
        if rec.get("message"):
            sub.facts.append(Fact("Message", str(rec["message"]), level(rec.get("status"))))
        order = sorted(members, key=lambda p: (p.endswith(".json"), p))
        sub.shown = [bd.show(p, unfold=p.endswith(".txt")) for p in order]
        part.parts.append(sub)
