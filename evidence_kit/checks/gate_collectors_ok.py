"""EK305 gate-collectors-ok: no collector, command run or capture missed its expectation.

A bundle with a collector in `error` (database down, pg_dump missing, app import failing) is
incomplete evidence, and a proof that exited with the wrong code (`failed`) or ran out of time
proves nothing, however green the rest looks. Each run or capture that did is named.

Bad:
    manifest collectors: [{"name": "schema", "status": "error", "error": "cannot connect ..."}]
    command/lifecycle-proof.stdout.txt: exit code 1, expected 0 (status failed)

Good:
    every collector, command run and HTTP capture `ok`
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from evidence_kit.evidence import command
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
            "description": "Statuses that fail the gate (default failed, error, timeout).",
        },
    },
}


DEFAULT_STATUSES = ["failed", "error", "timeout"]


def run(target: Target, rule: Rule) -> Iterator[Finding]:
    """Name each artifact (command run, capture...) and each collector whose status fails the gate."""
    bad = set(rule.options.get("statuses", DEFAULT_STATUSES))
    collectors = target.manifest.get("collectors", [])
    if not collectors:
        yield Finding(ID, "the manifest lists no collectors", path="manifest.json", snippet="no collectors")
    named: set[str] = set()
    runs = command.read(target.view).runs
    for run_ in runs:
        if run_.status in bad:
            named.add(command.FOLDER)
            why = f": {run_.message}" if run_.message else ""
            yield Finding(
                ID,
                f"command {run_.name} ended {run_.status}{why}",
                path=f"data/{run_.artifacts[0]}",
                snippet=f"command {run_.name} {run_.status}",
            )
    for rel, rec in sorted(target.view.records.items()):
        collector = str(rec.get("collector") or rel.split("/", 1)[0])
        if collector == command.FOLDER or rec.get("status") not in bad:
            continue
        named.add(collector)
        why = f": {rec['message']}" if rec.get("message") else ""
        yield Finding(
            ID,
            f"{collector} artifact {rel} ended {rec['status']}{why}",
            path=f"data/{rel}",
            snippet=f"{rel} {rec['status']}",
        )
    for c in collectors:
        if c.get("status") in bad and c.get("name") not in named:
            yield Finding(
                ID,
                f"collector {c['name']} ended {c['status']}: {c.get('error') or ''}".rstrip(": "),
                path="manifest.json",
                snippet=f"{c['name']} {c['status']}",
            )
