"""Environment evidence: Python, OS, database server, CI, packages and tool versions."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any

from evidence_kit.evidence.view import BundleView, below

FOLDER = "environment"
FACTS = "environment.json"
PACKAGES = "packages.txt"
TOOLS = "tools.json"
MERGED = "merged/environment.json"


# NOTE: an artifact's path below `data/`, e.g. `path(HEAD)`.
path = partial(below, FOLDER)


@dataclass(frozen=True)
class EnvironmentEvidence:
    """The environment facts, None when the bundle lacks them."""

    facts: dict[str, Any] | None
    tools: dict[str, Any] | None
    packages: str | None
    merged: dict[str, Any] | None

    @property
    def present(self) -> bool:
        """True when the bundle holds environment evidence."""
        return self.facts is not None or self.merged is not None


def read(view: BundleView) -> EnvironmentEvidence:
    """The environment evidence of a bundle (and a merged bundle's side-by-side view)."""
    facts, tools, merged = view.json(path(FACTS)), view.json(path(TOOLS)), view.json(MERGED)
    return EnvironmentEvidence(
        facts if isinstance(facts, dict) else None,
        tools if isinstance(tools, dict) else None,
        view.text(path(PACKAGES)),
        merged if isinstance(merged, dict) else None,
    )
