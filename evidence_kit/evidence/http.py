"""HTTP evidence: each capture's body (`<name>.json` or `.txt`), its `<name>.meta.json` and the server log."""

from __future__ import annotations

from evidence_kit.evidence.documents import META, SERVER_LOG, Documents, read_folder
from evidence_kit.evidence.view import BundleView

FOLDER = "http"
__all__ = ["FOLDER", "META", "SERVER_LOG", "read"]


def read(view: BundleView) -> Documents:
    """The HTTP captures of a bundle."""
    return read_folder(view, FOLDER)
