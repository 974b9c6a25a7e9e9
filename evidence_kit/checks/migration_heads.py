"""EK202 migration-multiple-heads: the revision history has one head.

Two heads mean two branches of migrations that were never merged: `alembic upgrade head`
refuses to run and deployments pick one branch by accident.

Bad:
    a1 -> b2 (head)
    a1 -> c3 (head)

Good:
    b2, c3 -> d4 (head) (mergepoint)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from evidence_kit.checks import _migrations
from evidence_kit.model import Finding

if TYPE_CHECKING:
    from evidence_kit.policy.packs import Rule
    from evidence_kit.policy.target import Target

ID = "EK202"
NAME = "migration-multiple-heads"
TARGET = "source"
DEFAULT_SEVERITY = "error"
OPTIONS_SCHEMA: dict[str, Any] = {
    **_migrations.OPTIONS_SCHEMA,
    "properties": {
        **_migrations.OPTIONS_SCHEMA["properties"],
        "max_heads": {"type": "integer", "minimum": 1, "description": "Heads allowed (default 1)."},
    },
}


def run(target: Target, rule: Rule) -> Iterator[Finding]:
    """Report a history with more heads than allowed."""
    allowed = int(rule.options.get("max_heads", 1))
    for label, graph in _migrations.graphs(target, rule):
        heads = sorted(graph.heads)
        if len(heads) > allowed:
            first = graph.scripts[heads[0]].path
            yield Finding(
                ID,
                f"{label}: {len(heads)} heads ({', '.join(heads)}); merge them with `alembic merge heads`",
                path=first,
                line=1,
                snippet=" ".join(heads),
            )
