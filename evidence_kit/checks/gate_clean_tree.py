"""EK301 gate-clean-tree: the evidence was collected from a clean, committed tree.

A dirty working tree means the bundle describes code that no commit holds; every
artifact must be bound to the commit the manifest names.

Bad:
    head.json: {"dirty": true, ...}   status.txt: " M app/worker.py"

Good:
    head.json: {"dirty": false, "sha": "<the manifest's git sha>"}
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from evidence_kit.evidence import git
from evidence_kit.model import Finding
from evidence_kit.policy.target import missing

if TYPE_CHECKING:
    from evidence_kit.policy.packs import Rule
    from evidence_kit.policy.target import Target

ID = "EK301"
NAME = "gate-clean-tree"
TARGET = "bundle"
DEFAULT_SEVERITY = "error"
OPTIONS_SCHEMA: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {}}


def run(target: Target, rule: Rule) -> Iterator[Finding]:
    """Fail on a dirty tree, or a manifest sha that differs from the collected HEAD."""
    found = git.read(target.view)
    if found.head is None:
        yield missing(ID, git.path(git.HEAD), "git", target.manifest)
        return
    if found.dirty:
        listed = (found.status_text or "").strip()
        yield Finding(
            ID,
            f"the working tree was dirty when the evidence was collected: {listed[:300]}",
            path=f"data/{git.path(git.STATUS_TEXT)}",
            snippet="dirty",
        )
    sha = (target.manifest.get("git") or {}).get("sha")
    if sha != found.sha:
        yield Finding(
            ID,
            f"manifest names commit {sha} but {git.path(git.HEAD)} says {found.sha}",
            path="manifest.json",
            snippet="sha mismatch",
        )
