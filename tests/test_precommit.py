"""The pre-commit hook definition runs the real `evidence check` entry point."""

from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def test_hook_runs_evidence_check_once_per_commit() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    hook = next(h for h in hooks if h["id"] == "evidence-check")
    assert hook["entry"] == "evidence check" and hook["language"] == "python"
    assert hook["pass_filenames"] is False
    scripts = (ROOT / "pyproject.toml").read_text()
    assert 'evidence = "evidence_kit.cli:main"' in scripts
