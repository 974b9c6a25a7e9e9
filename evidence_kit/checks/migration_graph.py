"""EK204 migration-broken-graph: the revision graph is whole.

Duplicate revision ids, a `down_revision` that names no file, a cycle, a file alembic cannot read,
or an Alembic configuration that cannot be read at all make `alembic upgrade` fail on someone
else's machine.

Bad:
    revision = "c3"; down_revision = "b2"   # no file defines b2

Good:
    revision = "c3"; down_revision = "a1"   # a1 exists
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from evidence_kit.checks import _migrations
from evidence_kit.model import Finding
from evidence_kit.policy.target import Skipped

if TYPE_CHECKING:
    from evidence_kit.policy.packs import Rule
    from evidence_kit.policy.target import Target

ID = "EK204"
NAME = "migration-broken-graph"
TARGET = "source"
DEFAULT_SEVERITY = "error"
OPTIONS_SCHEMA = _migrations.OPTIONS_SCHEMA


def run(target: Target, rule: Rule) -> Iterator[Finding]:
    """Report every configuration that cannot be read and every problem met while reading the graph."""
    found = _migrations.sources(target, rule)
    if not any(
        s.error is not None or (s.graph is not None and (s.graph.scripts or s.graph.problems)) for s in found
    ):
        raise Skipped(_migrations.nothing_to_read(target, rule, found))
    for source in found:
        if source.error is not None:
            yield Finding(
                ID,
                f"the Alembic configuration {source.label} cannot be read: {source.error}",
                path=source.ini,
                snippet=f"config {source.label}",
            )
            continue
        assert source.graph is not None
        for problem in source.graph.problems:
            path = next((s.path for s in source.graph.scripts.values() if s.path in problem), source.ini)
            yield Finding(ID, problem, path=path, snippet=problem)
