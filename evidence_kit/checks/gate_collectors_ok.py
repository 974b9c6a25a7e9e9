"""EK305 gate-collectors-ok: no collector, command run or capture missed its expectation.

A bundle with a collector in `error` (database down, pg_dump missing, app import failing) is
incomplete evidence, and a proof that exited with the wrong code (`failed`) or ran out of time
proves nothing, however green the rest looks. Each run or capture that did is named; the
artifacts of one run of another collector (a test run's output and results) make one finding.

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
# NOTE: collectors whose every artifact is its own piece of evidence (a capture, a query): each is named.
NAMED_RUNS = ("http", "sql", "queue")


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
    grouped: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for rel, rec in sorted(target.view.records.items()):
        collector = str(rec.get("collector") or rel.split("/", 1)[0])
        if collector == command.FOLDER or rec.get("status") not in bad:
            continue
        named.add(collector)
        if collector not in NAMED_RUNS:
            grouped.setdefault(collector, []).append((rel, dict(rec)))
            continue
        why = f": {rec['message']}" if rec.get("message") else ""
        yield Finding(
            ID,
            f"{collector} artifact {rel} ended {rec['status']}{why}",
            path=f"data/{rel}",
            snippet=f"{rel} {rec['status']}",
        )
    for collector, failing in grouped.items():
        # NOTE: one run of a collector leaves several artifacts with the same status and message (a test
        # run's stdout, stderr, summary and results): one finding names them all.
        said: dict[str, list[str]] = {}
        for rel, rec in failing:
            why = f"{rec['status']}: {rec['message']}" if rec.get("message") else str(rec["status"])
            said.setdefault(why, []).append(rel.split("/", 1)[-1])
        text = "; ".join(f"{why} ({', '.join(names)})" for why, names in said.items())
        yield Finding(
            ID,
            f"collector {collector}: {len(failing)} artifact{'' if len(failing) == 1 else 's'} ended {text}",
            path=f"data/{failing[0][0]}",
            snippet=f"{collector} {' '.join(sorted(said))}",
        )
    for c in collectors:
        if c.get("status") in bad and c.get("name") not in named:
            yield Finding(
                ID,
                f"collector {c['name']} ended {c['status']}: {c.get('error') or ''}".rstrip(": "),
                path="manifest.json",
                snippet=f"{c['name']} {c['status']}",
            )
