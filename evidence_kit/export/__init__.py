"""Turn a check report into text, JSON, SARIF, JUnit XML, GitHub commands or Markdown."""

from __future__ import annotations

from collections.abc import Callable

from evidence_kit.export import github, json_report, junit, markdown, sarif, text
from evidence_kit.policy.engine import Report

FORMATS: dict[str, Callable[[Report], str]] = {
    "text": text.render,
    "json": json_report.render,
    "sarif": sarif.render,
    "junit": junit.render,
    "github": github.render,
    "markdown": markdown.render,
}
