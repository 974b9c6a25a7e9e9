"""Turn a check report into text, JSON, SARIF, JUnit XML, GitHub commands or Markdown; secrets masked."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from evidence_kit.export import github, json_report, junit, markdown, sarif, text
from evidence_kit.policy.engine import Outcome, Report
from evidence_kit.redact.scrub import scrub, scrub_data


def masked(report: Report) -> Report:
    """The report with secrets masked in every finding's message, snippet and path, and every reason."""

    def outcome(o: Outcome) -> Outcome:
        findings = tuple(
            replace(
                f,
                message=scrub(f.message),
                snippet=scrub(f.snippet),
                path=scrub(f.path),
                waived=scrub(f.waived) if f.waived else f.waived,
            )
            for f in o.findings
        )
        return replace(o, findings=findings, reason=scrub(o.reason), name=scrub(o.name))

    return replace(
        report, outcomes=tuple(outcome(o) for o in report.outcomes), packs=scrub_data(report.packs)
    )


def _masking(render: Callable[[Report], str]) -> Callable[[Report], str]:
    def out(report: Report) -> str:
        return scrub(render(masked(report)))

    out.__doc__ = render.__doc__
    return out


FORMATS: dict[str, Callable[[Report], str]] = {
    "text": _masking(text.render),
    "json": _masking(json_report.render),
    "sarif": _masking(sarif.render),
    "junit": _masking(junit.render),
    "github": _masking(github.render),
    "markdown": _masking(markdown.render),
}
