"""Findings for people: grouped by file, with the line and a caret, then a one-line summary."""

from __future__ import annotations

from itertools import groupby

from evidence_kit.policy.engine import Report


def render(report: Report, source_lines: bool = True) -> str:
    """Plain text; the CLI adds colour on a terminal."""
    out: list[str] = []
    findings = sorted(report.findings, key=lambda f: (f.path, f.line or 0, f.check))
    for path, group in groupby(findings, key=lambda f: f.path):
        out.append(path or "(bundle)")
        for f in group:
            where = f":{f.line}" + (f":{f.col}" if f.col else "") if f.line else ""
            state = f"waived ({f.waived})" if f.waived else f.severity
            # NOTE: a message of several lines (the untracked files of EK301) stays under its finding.
            message = f.message.replace("\n", "\n      ")
            out.append(f"  {path}{where}: {f.check} [{state}] {message}")
            if source_lines and f.snippet and f.line:
                out.append(f"      {f.snippet}")
                if f.snippet_col:
                    out.append("      " + _under(f.snippet[: f.snippet_col - 1]) + "^")
        out.append("")
    skipped = [o for o in report.outcomes if o.status == "skipped"]
    for o in skipped:
        out.append(f"skipped {o.check} {o.name}: {o.reason}")
    out.append(report.summary())
    return "\n".join(out) + "\n"


def _under(text: str) -> str:
    """Blanks as wide as `text` on a terminal: its tabs kept, two for a wide (East Asian) character."""
    import unicodedata

    return "".join(
        "\t" if ch == "\t" else "  " if unicodedata.east_asian_width(ch) in ("W", "F") else " " for ch in text
    )
