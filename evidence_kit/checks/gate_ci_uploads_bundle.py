"""EK306 gate-ci-uploads-bundle: a workflow uploads the evidence bundle as an artifact.

Evidence scattered over many jobs' uploads cannot be signed off; one workflow must upload
the bundle (`evidence collect`'s output folder or archive). The evidence-kit action counts once it
names a real repository: the placeholder `evidence init` writes is a finding until it is pinned.

Bad:
    uses: actions/upload-artifact@<sha>   with: {path: coverage.xml}

Good:
    uses: actions/upload-artifact@<sha>   with: {path: .evidence/*.tar.gz, retention-days: 30}
    uses: OWNER/REPO/.github/actions/evidence-kit@<sha>   # uploads the bundle itself
"""

from __future__ import annotations

import fnmatch
import posixpath
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from evidence_kit.evidence import ci
from evidence_kit.model import Finding
from evidence_kit.policy.target import missing

if TYPE_CHECKING:
    from evidence_kit.policy.packs import Rule
    from evidence_kit.policy.target import Target

ACTION = ".github/actions/evidence-kit"
# NOTE: the action reference `evidence init` writes for the user to pin (see commands/init.py).
PLACEHOLDER = "placeholder"
PLACEHOLDER_TEXT = "OWNER/REPO/.github/actions/evidence-kit@COMMIT_SHA"
ID = "EK306"
NAME = "gate-ci-uploads-bundle"
TARGET = "bundle"
DEFAULT_SEVERITY = "warning"
OPTIONS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "paths": {
            "type": "array",
            "items": {"type": "string"},
            "description": "Globs an uploaded path must match (default: *.evidence*, *evidence*).",
        },
    },
}


def run(target: Target, rule: Rule) -> Iterator[Finding]:
    """Fail unless some upload-artifact step's path names the evidence bundle."""
    inventory = ci.read(target.view).workflows
    if inventory is None:
        yield missing(ID, ci.path(ci.WORKFLOWS), "ci", target.manifest)
        return
    patterns = rule.options.get("paths", ["*.evidence*", "*evidence*"])
    uncommitted: list[str] = []
    unpinned: list[str] = []
    for workflow in inventory.get("workflows", []):
        how = _uploads(workflow, patterns)
        if how is None:
            continue
        if workflow.get("tracked") is False:
            uncommitted.append(str(workflow.get("file")))
            continue
        if how == PLACEHOLDER:
            unpinned.append(str(workflow.get("file")))
            continue
        return
    count = len(inventory.get("workflows", []))
    if unpinned:
        yield Finding(
            ID,
            f"the evidence-kit step of {', '.join(unpinned)} still names the placeholder `evidence init` "
            f"wrote ({PLACEHOLDER_TEXT}), which GitHub cannot run: pin the action's repository and commit",
            path=_where(unpinned),
            snippet="bundle upload not pinned",
        )
        return
    if uncommitted:
        yield Finding(
            ID,
            f"the workflow that uploads the evidence bundle is not committed, so GitHub never runs it: "
            f"{', '.join(uncommitted)}",
            path=_where(uncommitted),
            snippet="bundle upload not committed",
        )
        return
    yield Finding(
        ID,
        f"none of the {count} workflows uploads the evidence bundle with actions/upload-artifact",
        path=f"data/{ci.path(ci.WORKFLOWS)}",
        snippet="no bundle upload",
    )


def _where(files: list[str]) -> str:
    """What a finding about these workflows points at: the one workflow file, from the repository's top
    (where an annotation shows; workflows live there, so `../.github/workflows/x.yml` of a service in
    `server/` is `.github/workflows/x.yml`), else the bundle's inventory of them."""
    if len(files) != 1:
        return f"data/{ci.path(ci.WORKFLOWS)}"
    parts = posixpath.normpath(files[0]).split("/")
    while parts and parts[0] == "..":
        parts.pop(0)
    return "/".join(parts)


def _uploads(workflow: dict[str, Any], patterns: list[str]) -> str | None:
    """How the workflow uploads the bundle: `action`, `artifact`, PLACEHOLDER (only through the
    placeholder action reference init writes), or None."""
    for artifact in workflow.get("artifacts") or []:
        paths = str(artifact.get("path") or "").split()
        if artifact.get("kind") == "upload" and any(fnmatch.fnmatch(p, g) for p in paths for g in patterns):
            return "artifact"
    # NOTE: the evidence-kit action uploads the bundle itself, once it names a real repository.
    ours = [u for u in workflow.get("uses") or [] if str(u.get("action", "")).endswith(ACTION)]
    if any(not _placeholder(u) for u in ours):
        return "action"
    return PLACEHOLDER if ours else None


def _placeholder(use: dict[str, Any]) -> bool:
    owner, _, rest = str(use.get("action", "")).partition("/")
    return (owner, rest.partition("/")[0]) == ("OWNER", "REPO") or use.get("ref") == "COMMIT_SHA"
