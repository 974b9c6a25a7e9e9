"""EK204 migration-broken-graph: the revision graph is whole.

Duplicate revision ids, a `down_revision` that names no file, a cycle or a file alembic
cannot read make `alembic upgrade` fail on someone else's machine.

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

if TYPE_CHECKING:
    from evidence_kit.policy.packs import Rule
    from evidence_kit.policy.target import Target

ID = "EK204"
NAME = "migration-broken-graph"
TARGET = "source"
DEFAULT_SEVERITY = "error"
OPTIONS_SCHEMA = _migrations.OPTIONS_SCHEMA


def run(target: Target, rule: Rule) -> Iterator[Finding]:
    """Report every problem met while reading the revision graph."""
    for label, graph in _migrations.graphs(target, rule):
        for problem in graph.problems:
            path = next(
                (s.path for s in graph.scripts.values() if s.path in problem), label.partition("#")[0]
            )
            yield Finding(ID, problem, path=path, snippet=problem)
