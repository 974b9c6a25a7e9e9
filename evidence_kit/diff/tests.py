"""Test results between two bundles: newly failing, fixed, added, removed, skipped, slower, fewer run."""

from __future__ import annotations

from typing import Any

from evidence_kit.diff.model import Change, Section, change, plural, section
from evidence_kit.diff.read import Side, items, mapping, one_sided
from evidence_kit.evidence import tests as tests_evidence
from evidence_kit.support.junit import shown

KIND = "tests"
TITLE = "Tests"
SOURCES = (tests_evidence.FOLDER, tests_evidence.PLUGIN_FOLDER)
BAD = ("failed", "error")
SLOWEST = 10
SLOWER_FACTOR = 2.0
SLOWER_BY_S = 0.5


def _reports(side: Side) -> dict[str, dict[str, Any]]:
    found = {}
    for source in SOURCES:
        doc = side.json(f"{source}/{tests_evidence.RESULTS}")
        if isinstance(doc, dict):
            found[source] = doc
    return found


def _outcomes(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each test id's entry; of several (a teardown error beside the test's own outcome) the worst."""
    found: dict[str, dict[str, Any]] = {}
    for t in items(doc.get("tests")):
        if not isinstance(t, dict) or "id" not in t:
            continue
        tid = str(t["id"])
        if tid not in found or _worse(t, found[tid]):
            found[tid] = t
    return found


def _worse(a: dict[str, Any], b: dict[str, Any]) -> bool:
    order = ("failed", "error")
    rank_a = order.index(a["outcome"]) if a.get("outcome") in order else len(order)
    rank_b = order.index(b["outcome"]) if b.get("outcome") in order else len(order)
    return rank_a < rank_b


def _ran(doc: dict[str, Any]) -> int:
    totals = mapping(doc.get("totals"))
    value = totals.get("tests")
    return int(value) if isinstance(value, int) else 0


def _all_outcomes(doc: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    """Each test id's outcomes, of all its entries (`passed` and a teardown's `error`), sorted."""
    found: dict[str, list[str]] = {}
    for t in items(doc.get("tests")):
        if isinstance(t, dict) and "id" in t:
            found.setdefault(str(t["id"]), []).append(str(t.get("outcome")))
    return {tid: tuple(sorted(outcomes)) for tid, outcomes in found.items()}


def _totals(doc: dict[str, Any], timed: bool = True) -> str:
    totals = mapping(doc.get("totals"))
    parts = [
        # NOTE: in pytest's words: `1 error`, `2 errors`; the other outcomes do not change.
        f"{totals[k]} {'error' if k == 'errors' and totals[k] == 1 else k}"
        for k in ("passed", "failed", "errors", "skipped", "xfailed", "xpassed")
        if totals.get(k)
    ]
    seconds = totals.get("duration_s")
    took = f" in {seconds:.2f} s" if timed and isinstance(seconds, int | float) else ""
    return f"{plural(_ran(doc), 'test')}" + (f" ({', '.join(parts)})" if parts else "") + took


def _message(test: dict[str, Any]) -> str:
    message = str(test.get("message") or "")
    return message if len(message) <= 500 else message[:500] + "…"


def _seconds(value: Any) -> float | None:
    """A test's duration in seconds; None when it is not a number a float can hold."""
    if not isinstance(value, int | float):
        return None
    try:
        return float(value)
    except OverflowError:
        return None


def _compare(tag: str, a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    ta, tb = _outcomes(a), _outcomes(b)
    every_a, every_b = _all_outcomes(a), _all_outcomes(b)
    changes: list[Change] = []
    # NOTE: by test ids where both reports list them: a test with a teardown error has two entries (its own
    # outcome and the error), and the totals count both.
    ran_a, ran_b = (len(ta), len(tb)) if ta and tb else (_ran(a), _ran(b))
    if ran_b < ran_a:
        changes.append(
            change(
                KIND,
                f"{tag}fewer tests ran",
                "risky",
                _totals(a),
                _totals(b),
                f"{ran_a - ran_b} fewer than before: check for deselected, uncollected or deleted tests",
            )
        )
    elif _totals(a) != _totals(b):
        # NOTE: the same counts in another time is not a change of the totals.
        what = "totals changed" if _totals(a, timed=False) != _totals(b, timed=False) else "run time changed"
        changes.append(change(KIND, f"{tag}{what}", "info", _totals(a), _totals(b)))

    def named(tid: str) -> str:
        # NOTE: shown by the pytest node id one can paste, where the report knows it.
        return shown(tb.get(tid) or ta[tid])

    for tid in sorted(tb.keys() - ta.keys()):
        outcome = str(tb[tid].get("outcome"))
        if outcome in BAD:
            changes.append(
                change(
                    KIND, f"{tag}new test {named(tid)} fails", "breaking", None, outcome, _message(tb[tid])
                )
            )
        else:
            changes.append(change(KIND, f"{tag}test {named(tid)} added", "info", None, outcome))
    for tid in sorted(ta.keys() - tb.keys()):
        changes.append(
            change(
                KIND,
                f"{tag}test {named(tid)} removed",
                "risky",
                str(ta[tid].get("outcome")),
                None,
                "it no longer runs",
            )
        )
    slower: list[tuple[float, str, float, float]] = []
    for tid in sorted(ta.keys() & tb.keys()):
        was, now = ta[tid], tb[tid]
        before, after = str(was.get("outcome")), str(now.get("outcome"))
        if before == after and every_a.get(tid) != every_b.get(tid):
            # NOTE: the worst the same, the entries not: a pass with a teardown error is now an error alone.
            was_all, now_all = ", ".join(every_a.get(tid, ())), ", ".join(every_b.get(tid, ()))
            changes.append(
                change(
                    KIND, f"{tag}test {named(tid)} outcome changed", "info", was_all, now_all, _message(now)
                )
            )
        elif before == after:
            pass
        elif after in BAD and before not in BAD:
            changes.append(
                change(
                    KIND, f"{tag}test {named(tid)} newly failing", "breaking", before, after, _message(now)
                )
            )
        elif before in BAD and after not in BAD and after != "skipped":
            changes.append(change(KIND, f"{tag}test {named(tid)} fixed", "safe", before, after))
        elif after == "skipped":
            changes.append(
                change(KIND, f"{tag}test {named(tid)} newly skipped", "risky", before, after, _message(now))
            )
        else:
            changes.append(
                change(KIND, f"{tag}test {named(tid)} outcome changed", "info", before, after, _message(now))
            )
        da, db = _seconds(was.get("duration_s")), _seconds(now.get("duration_s"))
        if da is not None and db is not None and db > da * SLOWER_FACTOR and db - da > SLOWER_BY_S:
            slower.append((db - da, tid, da, db))
    slower.sort(key=lambda s: (-s[0], s[1]))
    for _, tid, da, db in slower[:SLOWEST]:
        factor = f"{db / da:.1f}x" if da > 0 else "from 0 s"
        changes.append(
            change(KIND, f"{tag}test {named(tid)} slower", "info", f"{da:.2f} s", f"{db:.2f} s ({factor})")
        )
    return changes


def diff(old: Side, new: Side) -> Section | None:
    """Compare outcomes by test id for each test report (tests collector, pytest plugin) in both bundles."""
    ra, rb = _reports(old), _reports(new)
    if not ra or not rb:
        collector = next(iter(ra or rb), "tests")
        return one_sided(KIND, TITLE, old, new, bool(ra), bool(rb), collector)
    pairs = [(s, s) for s in SOURCES if s in ra and s in rb]
    only_a, only_b = [s for s in ra if s not in rb], [s for s in rb if s not in ra]
    if len(only_a) == 1 and len(only_b) == 1:
        pairs.append((only_a[0], only_b[0]))
        only_a, only_b = [], []
    several = len(pairs) + len(only_a) + len(only_b) > 1
    changes: list[Change] = []
    facts: dict[str, Any] = {}
    for sa, sb in pairs:
        tag = f"[{sb}] " if several else ""
        changes += _compare(tag, ra[sa], rb[sb])
        facts[sb] = {"before": mapping(ra[sa].get("totals")), "after": mapping(rb[sb].get("totals"))}
    changes += [change(KIND, f"[{s}] test report disappeared", "risky") for s in only_a]
    changes += [change(KIND, f"[{s}] test report appeared", "info") for s in only_b]
    summary = "; ".join(
        f"{f'{sb}: ' if several else ''}{_totals(ra[sa])} → {_totals(rb[sb])}" for sa, sb in pairs
    )
    return section(KIND, TITLE, changes, summary, facts)
