"""EK309 gate-bundle-verifies: the bundle is complete and untouched.

Every digest, every file and the manifest schema, exactly as `evidence verify` checks them.

Bad:
    modified: data/command/proof.stdout.txt

Good:
    verified: 31 artifacts
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from evidence_kit.model import Finding

if TYPE_CHECKING:
    from evidence_kit.policy.packs import Rule
    from evidence_kit.policy.target import Target

ID = "EK309"
NAME = "gate-bundle-verifies"
TARGET = "bundle"
DEFAULT_SEVERITY = "error"
OPTIONS_SCHEMA: dict[str, Any] = {"type": "object", "additionalProperties": False, "properties": {}}


def run(target: Target, rule: Rule) -> Iterator[Finding]:
    """Report every verification problem."""
    from evidence_kit.bundle.verify import verify_dir

    assert target.bundle is not None
    for problem in verify_dir(target.bundle).problems:
        yield Finding(ID, f"{problem.kind}: {problem.detail}", path=problem.path, snippet=str(problem))
