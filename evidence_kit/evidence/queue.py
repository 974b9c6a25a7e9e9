"""Queue evidence: each job table's health, `<queue>.json` and `<queue>.txt`."""

from __future__ import annotations

from evidence_kit.evidence.documents import Documents, read_folder
from evidence_kit.evidence.view import BundleView

FOLDER = "queue"


def read(view: BundleView) -> Documents:
    """The queue health documents of a bundle."""
    return read_folder(view, FOLDER)
