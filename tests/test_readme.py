"""README.md shows the real `--help` texts, the real config reference and the real rule table."""

from __future__ import annotations

import re

from tests.readme import README, blocks, refresh


def test_readme_generated_blocks_are_current() -> None:
    text = README.read_text()
    missing = [name for name in blocks() if f"<!-- BEGIN {name} -->" not in text]
    assert not missing, f"README lacks the blocks {missing}"
    unknown = sorted(set(re.findall(r"<!-- BEGIN ([\w-]+) -->", text)) - set(blocks()) - {"demo", "house"})
    assert not unknown, f"README blocks without a generator: {unknown}"
    assert refresh(text) == text, "README is stale: run `python -m tests.readme` and review the diff"


def test_readme_names_every_collector_and_check() -> None:
    from evidence_kit.checks import CHECKS
    from evidence_kit.collectors import COLLECTORS

    text = README.read_text()
    for name in COLLECTORS:
        assert re.search(rf"\| `{name}` \|", text), f"collector {name} is not in the README's table"
    for check_id in CHECKS:
        assert check_id in text


def test_the_house_map_names_every_folder_of_the_package_and_nothing_else() -> None:
    from pathlib import Path

    text = README.read_text()
    block = text[text.index("<!-- BEGIN house -->") : text.index("<!-- END house -->")]
    named = set(re.findall(r"^\| `(evidence_kit/[a-z_/]*)` \|", block, re.M))
    root = Path(__file__).parent.parent
    folders = {
        f"{p.relative_to(root).as_posix()}/"
        for p in (root / "evidence_kit").iterdir()
        if p.is_dir() and (p / "__init__.py").is_file()
    } | {"evidence_kit/"}
    assert named == folders, (
        f"README's house map is out of step: missing {folders - named}, gone {named - folders}"
    )
