"""EK302 gate-migrations-applied: the database is at the migration heads.

`alembic current` must equal `alembic heads`: a database behind (or ahead of) the code
means the evidence shows a state that will not survive the next deploy.

Bad:
    current.txt: 5d8e2a91c4b6      heads.txt: c93d1a6e0f52 (head)

Good:
    current.txt: c93d1a6e0f52 (head)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from evidence_kit.model import Finding
from evidence_kit.policy.target import missing

if TYPE_CHECKING:
    from evidence_kit.policy.packs import Rule
    from evidence_kit.policy.target import Target

ID = "EK302"
NAME = "gate-migrations-applied"
TARGET = "bundle"
DEFAULT_SEVERITY = "error"
OPTIONS_SCHEMA: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {}}


def run(target: Target, rule: Rule) -> Iterator[Finding]:
    """Fail unless every alembic summary in the bundle says up to date."""
    summaries = sorted((target.bundle / "data" / "alembic").rglob("summary.json")) if target.bundle else []
    if not summaries:
        yield missing(ID, "alembic/summary.json", "alembic")
        return
    import json

    for path in summaries:
        rel = path.relative_to(target.bundle).as_posix()  # type: ignore[arg-type]
        summary = json.loads(path.read_bytes())
        if summary.get("up_to_date") is not True:
            yield Finding(
                ID,
                f"database is not at the heads: current {summary.get('current')}, "
                f"heads {summary.get('heads')}",
                path=rel,
                snippet=f"{rel} not up to date",
            )
