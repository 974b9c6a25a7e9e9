"""A Markdown summary for `$GITHUB_STEP_SUMMARY`, kept under its size limit."""

from __future__ import annotations

from evidence_kit.policy.engine import ENGINE_CHECKS, Report

# NOTE: GitHub rejects a step summary over 1 MiB; stay far below and say what was cut.
LIMIT = 60_000


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(report: Report) -> str:
    """Summary line, a table of checks, then the findings."""
    c = report.counts()
    # NOTE: a skipped check did not pass: a run with skips and no failure is not shown as all green; a check
    # that failed with warnings (or notes) only is one to look at, as the summary line counts it.
    milder = c["with_warnings"] + c["with_notes"]
    # NOTE: EK001 and EK002 skipped say only that no waiver or allow comment was used: no gap in the evidence.
    gaps = [o for o in report.outcomes if o.status == "skipped" and o.check not in ENGINE_CHECKS]
    icon = "❌" if c["failed"] else "⚠️" if milder or gaps else "✅"
    lines = [
        f"## {icon} evidence check",
        "",
        f"**{report.summary()}**",
        "",
        "| check | name | status | findings |",
        "|---|---|---|---|",
    ]
    for o in sorted(report.outcomes, key=lambda o: o.check):
        status = f"skipped: {_cell(o.reason)}" if o.status == "skipped" and o.reason else o.status
        if o.status == "failed" and o.severity in ("warning", "note"):
            status = f"failed ({o.severity})"
        lines.append(
            f"| {o.check} | {o.name if len(o.name) < 60 else o.name[:57] + '…'} | {status} | "
            f"{len([f for f in o.findings if not f.waived])} |"
        )
    lines += ["", "| severity | check | where | message |", "|---|---|---|---|"]
    body = "\n".join(lines) + "\n"
    cut = 0
    for f in sorted(report.findings, key=lambda f: (f.check, f.path, f.line or 0)):
        where = f"`{f.path}:{f.line}`" if f.line else f"`{f.path}`"
        row = f"| {'waived' if f.waived else f.severity} | {f.check} | {where} | {_cell(f.message)} |\n"
        if len(body) + len(row) > LIMIT:
            cut += 1
            continue
        body += row
    if cut:
        body += f"\n_{cut} more findings were cut to stay under the summary size limit._\n"
    return body
