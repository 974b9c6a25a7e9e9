"""EK304 gate-required-artifacts: the bundle holds every piece of evidence the phase requires.

The list is the team's sign-off checklist (a pack's A-H sections), as artifact globs.

An artifact the collector wrote in place of the evidence (status `skipped`, `error`, `failed` or
`timeout`, e.g. `alembic/current.txt` holding "skipped: the database URL cannot be built") does not
meet the requirement: the finding names it with its status and message. EK305 also fails on `error`,
`failed` and `timeout` (as the collector's failure); a `skipped` artifact is EK304's alone.

Bad:
    required: ["git/head.json", "schema/schema.sql"]   # the bundle has no schema/
    alembic/current.txt: "skipped: the database URL cannot be built"   (status skipped)

Good:
    every required glob matches at least one artifact that is not empty and whose status is `ok`
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
    """Report each required glob that no artifact matches, or only empty artifacts or artifacts left in
    place of the evidence (not `ok`) match."""
    records = {
        str(a["path"]).removeprefix("data/"): a
        for a in target.manifest.get("artifacts", [])
        if isinstance(a, dict) and a.get("path")
    }
    for pattern in rule.options.get("required", DEFAULT_REQUIRED):
        matched = sorted(p for p in records if fnmatch.fnmatch(p, pattern))
        held = [p for p in matched if int(records[p].get("size") or 0)]
        if not matched:
            yield Finding(
                ID,
                f"required evidence {pattern} is missing from the bundle",
                path=f"data/{pattern}",
                snippet=pattern,
            )
        elif not held:
            yield Finding(
                ID,
                f"required evidence {pattern} is empty: {', '.join(matched[:5])} hold nothing",
                path=f"data/{matched[0]}",
                snippet=f"{pattern} empty",
            )
        elif not any(records[p].get("status", "ok") == "ok" for p in held):
            # NOTE: the artifacts of one run say the same (every config's current.txt without a URL): once.
            said: dict[tuple[str, str], list[str]] = {}
            for p in held:
                said.setdefault(
                    (str(records[p].get("status")), str(records[p].get("message") or "")), []
                ).append(p)
            text = "; ".join(
                f"{', '.join(paths[:5])} {'is' if len(paths) == 1 else 'are'} {status}"
                + (f" ({message})" if message else "")
                for (status, message), paths in said.items()
            )
            yield Finding(
                ID,
                f"required evidence {pattern} was not collected: {text}",
                path=f"data/{held[0]}",
                snippet=f"{pattern} {' '.join(sorted({status for status, _ in said}))}",
            )
