"""Code facts: create_all/drop_all calls, Alembic in tests, session fixtures and hooks, row locks."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from evidence_kit.evidence.view import BundleView, below

FOLDER = "codefacts"
FACTS = "codefacts.json"
TEXT = "codefacts.txt"


# NOTE: an artifact's path below `data/`, e.g. `path(HEAD)`.
path = partial(below, FOLDER)


@dataclass(frozen=True)
class CodeFactsEvidence:
    """The code facts, None when the bundle lacks them."""

    facts: dict[str, Any] | None

    @property
    def present(self) -> bool:
        """True when the bundle holds code facts."""
        return self.facts is not None


def read(view: BundleView) -> CodeFactsEvidence:
    """The code facts of a bundle."""
    doc = view.json(path(FACTS))
    return CodeFactsEvidence(doc if isinstance(doc, dict) else None)
