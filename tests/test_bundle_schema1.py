"""Bundles written before the manifest's schema_version 2 still verify and can still be read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evidence_kit.bundle.verify import verify

FIXTURES = Path(__file__).parent / "fixtures" / "schema-1"
BUNDLE = FIXTURES / "jobs-3.6-bbbbbbbb-20260102T030405Z"
ARCHIVE = BUNDLE.with_name(BUNDLE.name + ".tar.gz")


@pytest.mark.parametrize("path", [BUNDLE, ARCHIVE], ids=["folder", "archive"])
def test_schema_1_bundle_verifies(path: Path) -> None:
    verdict = verify(path)
    assert verdict.ok, verdict.problems
    assert verdict.manifest["schema_version"] == 1
    assert verdict.artifacts == 3


def test_schema_1_manifest_keeps_its_redaction_counts() -> None:
    manifest = json.loads((BUNDLE / "manifest.json").read_text())
    assert manifest["redactions"] == 2
    assert "redactions_by_rule" not in manifest
