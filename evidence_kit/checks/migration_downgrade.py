"""EK201 migration-without-downgrade: every migration can be rolled back.

A revision whose `downgrade()` is missing, or does nothing (`pass`, `...`, a docstring,
`raise NotImplementedError`), cannot be rolled back when a release goes wrong. A merge revision
(two or more down revisions) is exempt: it changes nothing, so an empty downgrade is its normal form.

Bad:
    def downgrade():
        pass

Good:
    def downgrade():
        op.drop_index("uq_jobs_active", table_name="jobs")
        op.drop_table("jobs")
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from evidence_kit.checks import _migrations
from evidence_kit.model import Finding

if TYPE_CHECKING:
    from evidence_kit.policy.packs import Rule
    from evidence_kit.policy.target import Target

ID = "EK201"
NAME = "migration-without-downgrade"
TARGET = "source"
DEFAULT_SEVERITY = "error"
OPTIONS_SCHEMA = _migrations.OPTIONS_SCHEMA


def run(target: Target, rule: Rule) -> Iterator[Finding]:
    """Find migrations without a working downgrade() (merge revisions excepted)."""
    yield from _migrations.unknown_baseline(target, rule, ID)
    for script, path in _migrations.scripts(target, rule):
        if _migrations.is_merge(script):
            continue
        shape = _migrations.outline(path.read_bytes())
        func = shape.functions.get("downgrade")
        if func is None:
            yield Finding(
                ID,
                f"revision {script.revision} has no downgrade()",
                path=script.path,
                line=shape.line("revision"),
                snippet=f"revision {script.revision}",
            )
        elif func[1]:
            yield Finding(
                ID,
                f"downgrade() of revision {script.revision} does nothing",
                path=script.path,
                line=func[0],
                snippet=f"def downgrade {script.revision}",
            )
