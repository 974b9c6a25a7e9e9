"""EK203 migration-placeholder: revision ids and messages are real, not template leftovers.

A revision id like `<generated>` or `001_placeholder`, or a message such as
"Alembic migration script template" or "empty message", says the file was never finished
and makes the history unreadable.

Bad:
    \"\"\"Alembic migration script template.\"\"\"
    revision = "<generated>"

Good:
    \"\"\"Add jobs table with a partial unique index on active jobs.\"\"\"
    revision = "b27e9f4c6a13"
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from evidence_kit.checks import _migrations
from evidence_kit.model import Finding

if TYPE_CHECKING:
    from evidence_kit.policy.packs import Rule
    from evidence_kit.policy.target import Target

ID = "EK203"
NAME = "migration-placeholder"
TARGET = "source"
DEFAULT_SEVERITY = "error"
PLACEHOLDER_IDS = r"^<.*>$|generated|placeholder|todo|xxxx|changeme|^0+$"
PLACEHOLDER_MESSAGES = ["alembic migration script template", "empty message", "<migration_name>", "todo", ""]
OPTIONS_SCHEMA: dict[str, Any] = {
    **_migrations.OPTIONS_SCHEMA,
    "properties": {
        **_migrations.OPTIONS_SCHEMA["properties"],
        "messages": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Messages (case-insensitive, trailing `.` ignored) that count as placeholders.",
        },
        "ids": {"type": "string", "format": "regex", "description": "Regex of placeholder revision ids."},
    },
}


def run(target: Target, rule: Rule) -> Iterator[Finding]:
    """Find placeholder revision ids and template messages."""
    ids = re.compile(rule.options.get("ids", PLACEHOLDER_IDS), re.I)
    messages = {m.lower().rstrip(".") for m in rule.options.get("messages", PLACEHOLDER_MESSAGES)}
    yield from _migrations.unknown_baseline(target, rule, ID)
    for script, path in _migrations.scripts(target, rule):
        shape = _migrations.outline(path.read_bytes())
        if ids.search(script.revision):
            yield Finding(
                ID,
                f"revision id {script.revision!r} is a placeholder",
                path=script.path,
                line=shape.line("revision"),
                snippet=f"revision {script.revision}",
            )
        message = script.message.strip()
        if message.lower().rstrip(".") in messages:
            yield Finding(
                ID,
                f"revision {script.revision} has the placeholder message {message!r}",
                path=script.path,
                line=1,
                snippet=f"message {script.revision} {message}",
            )
