"""Turn a check report into text, JSON, SARIF, JUnit XML, GitHub commands or Markdown; secrets masked."""

from __future__ import annotations

from collections.abc import Callable

from evidence_kit.export import github, json_report, junit, markdown, sarif, text
from evidence_kit.policy.engine import Report
from evidence_kit.redact.scrub import scrub, scrub_data


def _masking(render: Callable[..., str]) -> Callable[..., str]:
    """The renderer, given the report with its strings masked (before any escaping), its output masked."""

    def out(report: Report, **options: str) -> str:
        return scrub(render(scrub_data(report), **options))

    out.__doc__ = render.__doc__
    return out


FORMATS: dict[str, Callable[..., str]] = {
    "text": _masking(text.render),
    "json": _masking(json_report.render),
    "sarif": _masking(sarif.render),
    "junit": _masking(junit.render),
    "github": _masking(github.render),
    "markdown": _masking(markdown.render),
}


def render(fmt: str, report: Report, fail_on: str = "error") -> str:
    """The report in format `fmt`; JUnit, which has no level between passed and failed, fails a testcase only
    for findings at or above `fail_on` (as the exit code does)."""
    if fmt == "junit":
        return FORMATS[fmt](report, fail_on=fail_on)
    return FORMATS[fmt](report)
