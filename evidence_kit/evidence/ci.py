"""CI evidence: the GitHub Actions workflows, read without running them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from evidence_kit.evidence.view import BundleView, below

FOLDER = "ci"
WORKFLOWS = "workflows.json"
SUMMARY = "summary.txt"


# NOTE: an artifact's path below `data/`, e.g. `path(HEAD)`.
path = partial(below, FOLDER)


@dataclass(frozen=True)
class CIEvidence:
    """The workflow inventory, None when the bundle lacks it."""

    workflows: dict[str, Any] | None
    summary: str | None

    @property
    def present(self) -> bool:
        """True when the bundle holds CI evidence."""
        return self.workflows is not None


def read(view: BundleView) -> CIEvidence:
    """The CI evidence of a bundle."""
    doc = view.json(path(WORKFLOWS))
    return CIEvidence(doc if isinstance(doc, dict) else None, view.text(path(SUMMARY)))
