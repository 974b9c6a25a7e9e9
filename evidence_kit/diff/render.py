"""A diff report for people (plain text), for a pull request (Markdown) and for machines (JSON)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from evidence_kit.diff.model import (
    CLASSIFICATIONS,
    BundleInfo,
    Change,
    Classification,
    DiffReport,
    Section,
    plural,
    rank,
)
from evidence_kit.redact.scrub import scrub, scrub_data

SCHEMA_VERSION = 1
# NOTE: GitHub refuses comments over 65,536 characters; the margin leaves room for a bot's own header.
LIMIT = 60_000
LONG = 25
FIRST = 10
# NOTE: the digest-level inventory matters less to a reviewer than what the other sections say it means.
FOLDED = ("artifacts",)
MAX_DETAIL = 3_000
MAX_VALUE = 300
GROUP_NAMES = 20
# NOTE: kinds whose repeated changes share one root cause; elsewhere a shared detail is a shared
# explanation of distinct changes, each of which a reviewer must see.
GROUPED = ("tests",)
_ICONS: dict[Classification, str] = {"breaking": "🔴", "risky": "🟠", "safe": "🟢", "info": "⚪"}
_MD_SPECIAL = str.maketrans({c: f"\\{c}" for c in "\\`*_[]<>|#~"})


def counts_text(counts: dict[Classification, int], every: bool = True) -> str:
    """`2 breaking, 1 risky, 0 safe, 4 info`; with every=False only the non-zero ones, or `no changes`."""
    parts = [f"{counts[c]} {c}" for c in CLASSIFICATIONS if every or counts[c]]
    return ", ".join(parts) or "no changes"


def _value(change: Change) -> str:
    if change.before is not None and change.after is not None:
        return f": {change.before} → {change.after}"
    if change.after is not None:
        return f": {change.after}"
    if change.before is not None:
        return f": was {change.before}"
    return ""


def first_line(detail: str) -> str:
    """The first line of a change's detail: for a test, its error (the rest is the traceback)."""
    return detail.strip().split("\n", 1)[0]


def alike(changes: tuple[Change, ...]) -> dict[int, list[Change]]:
    """Test changes that repeat an earlier one (same classification, outcomes and error, i.e. the first line
    of the message: 60 tests failing on one error), by the index of the first: the pages show that one
    and list the others' names."""
    first: dict[tuple[str, str | None, str | None, str], int] = {}
    groups: dict[int, list[Change]] = {}
    for i, c in enumerate(changes):
        if c.kind not in GROUPED or not c.detail.strip():
            continue
        key = (c.classification, c.before, c.after, first_line(c.detail))
        if key in first:
            groups.setdefault(first[key], []).append(c)
        else:
            first[key] = i
    return groups


def _alike_lines(rest: list[Change]) -> list[str]:
    names = [c.what for c in rest]
    shown = names[:GROUP_NAMES] + (
        [f"… and {len(names) - GROUP_NAMES} more"] if len(names) > GROUP_NAMES else []
    )
    return [f"and {plural(len(rest), 'more change')} with the same outcome and error:", *shown]


def _side(role: str, info: BundleInfo) -> str:
    sha = f" at {info.git_sha[:12]}" if info.git_sha else ""
    state = "verified" if info.verified else "NOT VERIFIED"
    return f"  {role}  {info.bundle}{sha} ({state})"


# ----------------------------------------------------------------------------------------------------
# Plain text


def text(report: DiffReport) -> str:
    """The report as plain text: both bundles, counts, a line per section, then each section's changes."""
    return scrub(_text(scrub_data(report)))


def _text(report: DiffReport) -> str:
    lines = ["evidence diff", _side("old", report.old), _side("new", report.new), ""]
    lines.append(counts_text(report.counts))
    lines += [f"warning: {w}" for w in report.warnings]
    if report.sections:
        width = max(len(s.title) for s in report.sections)
        lines.append("")
        lines += [f"  {s.title.ljust(width)}  {counts_text(s.counts, every=False)}" for s in report.sections]
    for s in report.sections:
        lines += ["", f"== {s.title}: {counts_text(s.counts, every=False)} ==", s.summary]
        groups = alike(s.changes)
        repeated = {id(c) for rest in groups.values() for c in rest}
        for i, c in enumerate(s.changes):
            if id(c) in repeated:
                continue
            lines.append(f"  {c.classification:<9} {c.what}{_value(c)}")
            lines += [f"            {line}" for line in c.detail.splitlines()]
            if i in groups:
                head, *names = _alike_lines(groups[i])
                lines += [f"            {head}", *(f"              {name}" for name in names)]
    return "\n".join(lines) + "\n"


# ----------------------------------------------------------------------------------------------------
# Markdown


def _md(text: str) -> str:
    return " ".join(text.split()).translate(_MD_SPECIAL)


def _code(value: str) -> str:
    value = " ".join(value.split())
    if len(value) > MAX_VALUE:
        value = value[: MAX_VALUE - 1] + "…"
    fence = "``" if "`" in value else "`"
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}" if value else '""'


def _md_alike(rest: list[Change]) -> str:
    head, *names = _alike_lines(rest)
    return (
        f"  - {_md(head)} " + ", ".join(_code(n) if not n.startswith("…") else _md(n) for n in names) + "\n"
    )


def _md_change(c: Change) -> str:
    head = f"- {_ICONS[c.classification]} **{c.classification}** {_md(c.what)}"
    if c.before is not None and c.after is not None:
        head += f": {_code(c.before)} → {_code(c.after)}"
    elif c.after is not None:
        head += f": {_code(c.after)}"
    elif c.before is not None:
        head += f": was {_code(c.before)}"
    detail = c.detail if len(c.detail) <= MAX_DETAIL else c.detail[:MAX_DETAIL] + "\n…"
    if not detail:
        return head + "\n"
    if "\n" not in detail:
        return f"{head} — {_md(detail)}\n"
    fence = "~~~~" if "```" in detail else "```"
    block = "\n".join(f"  {line}" for line in [fence + "text", *detail.splitlines(), fence])
    return f"{head}\n\n{block}\n\n"


def _md_changes(s: Section) -> list[str]:
    """Each change of a section rendered; a repeat of an earlier change is empty, listed under it."""
    groups = alike(s.changes)
    repeated = {id(c) for rest in groups.values() for c in rest}
    out = []
    for i, c in enumerate(s.changes):
        if id(c) in repeated:
            out.append("")
            continue
        text = _md_change(c)
        if i in groups:
            gap = "\n" if text.endswith("\n\n") else ""
            text = text.rstrip("\n") + "\n" + _md_alike(groups[i]) + gap
        out.append(text)
    return out


def _md_head(report: DiffReport) -> str:
    lines = [f"## evidence diff: {counts_text(report.counts)}", ""]
    for role, info in (("old", report.old), ("new", report.new)):
        sha = f" at `{info.git_sha[:12]}`" if info.git_sha else ""
        state = "" if info.verified else " — **not verified**"
        lines.append(f"- **{role}** `{info.bundle}`{sha}{state}")
    lines.append("")
    lines += [f"> ⚠️ {_md(w)}" for w in report.warnings]
    if report.warnings:
        lines.append("")
    if report.sections:
        lines += ["| evidence | breaking | risky | safe | info | summary |", "|---|--:|--:|--:|--:|---|"]
        for s in report.sections:
            n = s.counts
            numbers = " | ".join(str(n[c]) for c in CLASSIFICATIONS)
            lines.append(f"| {s.title} | {numbers} | {_md(s.summary)} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def _md_section(s: Section, rendered: list[str], keep: set[int]) -> str:
    if not s.changes:
        return ""
    out = f"### {s.title}: {counts_text(s.counts, every=False)}\n\n{_md(s.summary)}\n\n"
    shown = [i for i in range(len(s.changes)) if i in keep]
    direct = shown
    if s.kind in FOLDED:
        direct = [i for i in shown if rank(s.changes[i].classification) < 2][:LONG]
    elif len(shown) > LONG:
        severe = [i for i in shown if rank(s.changes[i].classification) < 2]
        direct = severe[:LONG] if len(severe) >= FIRST else shown[:FIRST]
    folded = [i for i in shown if i not in direct]
    out += "".join(rendered[i] for i in direct)
    if folded:
        labels = counts_text(
            {c: sum(1 for i in folded if s.changes[i].classification == c) for c in CLASSIFICATIONS},
            every=False,
        )
        more = f"{len(folded)} more" if direct else plural(len(folded), "change")
        out += f"{chr(10) if direct else ''}<details><summary>{more} ({labels})</summary>\n\n"
        out += "".join(rendered[i] for i in folded)
        out += "\n</details>\n"
    if len(shown) < len(s.changes):
        out += f"\n_{len(s.changes) - len(shown)} more changes of this section were cut for size._\n"
    return out.rstrip("\n") + "\n\n"


def markdown(report: DiffReport, limit: int = LIMIT) -> str:
    """The report as a pull-request comment: counts first, long sections folded, at most `limit` long."""
    return scrub(_markdown(scrub_data(report), limit))


def _markdown(report: DiffReport, limit: int) -> str:
    head = _md_head(report)
    rendered = [_md_changes(s) for s in report.sections]
    order = sorted(
        (
            (rank(c.classification), si, ci)
            for si, s in enumerate(report.sections)
            for ci, c in enumerate(s.changes)
        ),
    )
    budget = limit - len(head)
    for _ in range(20):
        keep: list[set[int]] = [set() for _ in report.sections]
        cut: list[tuple[int, int]] = []
        used = sum(len(_md_section(s, [], set())) + 80 for s in report.sections) + 600
        for _, si, ci in order:
            size = len(rendered[si][ci])
            if used + size <= budget:
                keep[si].add(ci)
                used += size
            else:
                cut.append((si, ci))
        body = head + "".join(_md_section(s, rendered[i], keep[i]) for i, s in enumerate(report.sections))
        if cut:
            body += _cut_note(report, cut)
        if len(body) <= limit:
            return body
        budget -= len(body) - limit + 200
    return body[: limit - 40] + "\n\n_… cut at the size limit._\n"


def _cut_note(report: DiffReport, cut: list[tuple[int, int]]) -> str:
    by_class = {c: 0 for c in CLASSIFICATIONS}
    by_section: dict[str, int] = {}
    for si, ci in cut:
        s = report.sections[si]
        by_class[s.changes[ci].classification] += 1
        by_section[s.title] = by_section.get(s.title, 0) + 1
    where = ", ".join(f"{title} ({n})" for title, n in by_section.items())
    return (
        f"\n_{len(cut)} changes ({counts_text(by_class, every=False)}) in {where} were cut to stay under "
        "GitHub's 65,536-character comment limit; the JSON output lists every change._\n"
    )


# ----------------------------------------------------------------------------------------------------
# JSON


@cache
def schema() -> dict[str, Any]:
    """The shipped JSON Schema of `as_json`'s output."""
    raw = resources.files("evidence_kit.diff").joinpath("diff.schema.json").read_text("utf-8")
    loaded: dict[str, Any] = json.loads(raw)
    return loaded


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def as_json(report: DiffReport) -> dict[str, Any]:
    """The report as plain JSON data; `evidence_kit/diff/diff.schema.json` describes it."""
    return scrub_data(_as_json(report))


def _as_json(report: DiffReport) -> dict[str, Any]:

    def side(info: BundleInfo) -> dict[str, Any]:
        return {
            "label": info.label,
            "bundle": info.bundle,
            "service": info.service,
            "phase": info.phase,
            "git_sha": info.git_sha,
            "created": info.created,
            "digest": info.digest,
            "verified": info.verified,
            "problems": list(info.problems),
        }

    return {
        "schema_version": SCHEMA_VERSION,
        "old": side(report.old),
        "new": side(report.new),
        "counts": report.counts,
        "warnings": list(report.warnings),
        "sections": [
            {
                "kind": s.kind,
                "title": s.title,
                "summary": s.summary,
                "counts": s.counts,
                "facts": _jsonable(dict(s.facts)),
                "changes": [
                    {
                        "kind": c.kind,
                        "what": c.what,
                        "before": c.before,
                        "after": c.after,
                        "classification": c.classification,
                        "fingerprint": c.fingerprint,
                        "detail": c.detail,
                    }
                    for c in s.changes
                ],
            }
            for s in report.sections
        ],
    }
