"""EK205 migration-empty-upgrade: a migration changes something.

A revision whose `upgrade()` is `pass` (a template never filled in) records a schema
change that never happened.

Bad:
    def upgrade():
        # TODO: implement migration logic
        pass

Good:
    def upgrade():
        op.add_column("runs", sa.Column("finished_at", sa.DateTime(timezone=True)))
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from evidence_kit.checks import _migrations
from evidence_kit.model import Finding

if TYPE_CHECKING:
    from evidence_kit.policy.packs import Rule
    from evidence_kit.policy.target import Target

ID = "EK205"
NAME = "migration-empty-upgrade"
TARGET = "source"
DEFAULT_SEVERITY = "warning"
OPTIONS_SCHEMA = _migrations.OPTIONS_SCHEMA


def run(target: Target, rule: Rule) -> Iterator[Finding]:
    """Find migrations whose upgrade() does nothing (merge revisions excepted)."""
    yield from _migrations.unknown_baseline(target, rule, ID)
    for script, path in _migrations.scripts(target, rule):
        if _migrations.is_merge(script):
            continue
        func = _migrations.outline(path.read_bytes()).functions.get("upgrade")
        if func is None or func[1]:
            yield Finding(
                ID,
                f"upgrade() of revision {script.revision} does nothing",
                path=script.path,
                line=func[0] if func else 1,
                snippet=f"def upgrade {script.revision}",
            )
