"""EK304 gate-required-artifacts: the bundle holds every piece of evidence the phase requires.

The list is the team's sign-off checklist (a pack's A-H sections), as artifact globs.

Bad:
    required: ["git/head.json", "schema/schema.sql"]   # the bundle has no schema/

Good:
    every required glob matches at least one artifact that is not empty
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from evidence_kit.evidence import alembic, git
from evidence_kit.model import Finding

if TYPE_CHECKING:
    from evidence_kit.policy.packs import Rule
    from evidence_kit.policy.target import Target

ID = "EK304"
NAME = "gate-required-artifacts"
TARGET = "bundle"
DEFAULT_SEVERITY = "error"
DEFAULT_REQUIRED = [*git.REQUIRED, *alembic.REQUIRED]
OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "required": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Artifact globs under data/, e.g. `command/*-proof.stdout.txt`.",
        },
    },
}


def run(target: Target, rule: Rule) -> Iterator[Finding]:
    """Report each required glob that no artifact matches, or only empty artifacts match."""
    sizes = {
        str(a["path"]).removeprefix("data/"): int(a.get("size") or 0)
        for a in target.manifest.get("artifacts", [])
        if isinstance(a, dict) and a.get("path")
    }
    for pattern in rule.options.get("required", DEFAULT_REQUIRED):
        matched = [p for p in sizes if fnmatch.fnmatch(p, pattern)]
        if not matched:
            yield Finding(
                ID,
                f"required evidence {pattern} is missing from the bundle",
                path=f"data/{pattern}",
                snippet=pattern,
            )
        elif not any(sizes[p] for p in matched):
            yield Finding(
                ID,
                f"required evidence {pattern} is empty: {', '.join(sorted(matched)[:5])} hold nothing",
                path=f"data/{sorted(matched)[0]}",
                snippet=f"{pattern} empty",
            )
