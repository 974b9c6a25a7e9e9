"""Each kind's differ against its cases in cases.yaml (one parametrized test)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from evidence_kit.diff import diff
from tests.diff.bundles import make

CASES = yaml.safe_load((Path(__file__).parent / "cases.yaml").read_text())
PARAMS = [
    pytest.param(kind, case, id=f"{kind}: {case['name']}")
    for kind, cases in CASES.items()
    if not kind.startswith("_")
    for case in cases
]


@pytest.mark.parametrize(("kind", "case"), PARAMS)
def test_diff_case(tmp_path: Path, kind: str, case: dict[str, Any]) -> None:
    old = make(tmp_path / "old", case["old"], case.get("collectors_old"))
    new = make(tmp_path / "new", case["new"], case.get("collectors_new"))
    report = diff(old, new)
    sections = {s.kind: s for s in report.sections}
    if case["expect"] is None:
        assert kind not in sections
        return
    for text in case.get("details", []):
        assert any(text in c.detail for c in sections[kind].changes), (text, sections[kind].changes)
    if "summary" in case:
        assert case["summary"] in sections[kind].summary, sections[kind].summary
    found = {f"{c.classification}: {c.what}" for c in sections[kind].changes}
    expected = set(case["expect"])
    if case.get("partial"):
        assert expected <= found, sorted(found)
    else:
        assert found == expected, (
            f"unexpected: {sorted(found - expected)}; missing: {sorted(expected - found)}"
        )
