"""Small bundles for the registry tests, each with a name of its own."""

from __future__ import annotations

import secrets
from pathlib import Path

from tests.diff import bundles


def make_bundle(out: Path, text: str = "ok\n", sha: str | None = None, phase_text: str = "") -> Path:
    """A small bundle with one test artifact; `sha` (else random) makes its name unique."""
    return bundles.make(
        out,
        {"tests/summary.txt": text, "command/proof.txt": phase_text or text},
        git_sha=sha or secrets.token_hex(20),
    )
