"""Report section: tests."""

from __future__ import annotations

from evidence_kit.evidence import tests
from evidence_kit.report.page import Fact, Part, Row, _Bundle, _first_line, _table, plural


def _tests(bd: _Bundle, paths: list[str], part: Part) -> None:
    for path in paths:
        if path.endswith(f"/{tests.SUMMARY}"):
            part.shown.append(bd.show(path, unfold=True))
        if not path.endswith(f"/{tests.RESULTS}"):
            continue
        data = bd.json(path)
        if not isinstance(data, dict) or not isinstance(data.get("totals"), dict):
            continue
        totals = data["totals"]
        bad = int(totals.get("failed") or 0) + int(totals.get("errors") or 0)
        counts = ", ".join(
            f"{totals[k]} {k}"
            for k in ("passed", "failed", "errors", "skipped", "xfailed", "xpassed")
            if totals.get(k)
        )
        ran = int(totals.get("tests") or 0)
        part.facts.append(
            Fact(
                f"Totals ({path})",
                f"{plural(ran, 'test')}: {counts or 'none ran'}",
                "bad" if bad or not ran else "ok",
                href="#" + bd.anchors[path],
            )
        )
        if isinstance(totals.get("duration_s"), int | float):
            part.facts.append(Fact("Duration", f"{totals['duration_s']:.2f} s"))
        failing = [
            t
            for t in data.get("tests", [])
            if isinstance(t, dict) and t.get("outcome") in ("failed", "error")
        ]
        if failing:
            rows = [
                Row(
                    (
                        str(t.get("nodeid") or t.get("id")),
                        str(t.get("outcome")),
                        _first_line(t.get("message")),
                    ),
                    "bad",
                )
                for t in failing
            ]
            part.tables.append(_table("Failing tests", ("test", "outcome", "message"), rows))
