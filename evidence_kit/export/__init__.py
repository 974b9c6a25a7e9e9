"""Turn a check report into text, JSON, SARIF, JUnit XML, GitHub commands or Markdown; secrets masked."""

from __future__ import annotations

from collections.abc import Callable

from evidence_kit.export import github, json_report, junit, markdown, sarif, text
from evidence_kit.policy.engine import Report
from evidence_kit.redact.scrub import scrub, scrub_data


def _masking(render: Callable[[Report], str]) -> Callable[[Report], str]:
    """The renderer, given the report with its strings masked (before any escaping), its output masked."""

    def out(report: Report) -> str:
        return scrub(render(scrub_data(report)))

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
