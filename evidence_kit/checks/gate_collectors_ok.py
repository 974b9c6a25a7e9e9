"""EK305 gate-collectors-ok: no collector ended in error.

A bundle with a collector in `error` (database down, pg_dump missing, app import failing)
is incomplete evidence, however green the rest looks.

Bad:
    manifest collectors: [{"name": "schema", "status": "error", "error": "cannot connect ..."}]

Good:
    every collector `ok` (or `failed`/`timeout` only where another gate judges it)
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from evidence_kit.model import Finding

if TYPE_CHECKING:
    from evidence_kit.policy.packs import Rule
    from evidence_kit.policy.target import Target

ID = "EK305"
NAME = "gate-collectors-ok"
TARGET = "bundle"
DEFAULT_SEVERITY = "error"
OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "statuses": {
            "type": "array",
            "items": {"enum": ["failed", "error", "timeout", "skipped"]},
            "description": "Collector statuses that fail the gate (default error, timeout).",
        },
    },
}


def run(target: Target, rule: Rule) -> Iterator[Finding]:
    """Report each collector whose status is one of the failing statuses."""
    bad = set(rule.options.get("statuses", ["error", "timeout"]))
    collectors = target.manifest.get("collectors", [])
    if not collectors:
        yield Finding(ID, "the manifest lists no collectors", path="manifest.json", snippet="no collectors")
    for c in collectors:
        if c.get("status") in bad:
            yield Finding(
                ID,
                f"collector {c['name']} ended {c['status']}: {c.get('error') or ''}".rstrip(": "),
                path="manifest.json",
                snippet=f"{c['name']} {c['status']}",
            )
