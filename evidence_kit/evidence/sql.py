"""SQL evidence: each query's `<name>.json` (columns, rows) and `<name>.txt` (an aligned table)."""

from __future__ import annotations

from evidence_kit.evidence.documents import Documents, read_folder
from evidence_kit.evidence.view import BundleView

FOLDER = "sql"


def read(view: BundleView) -> Documents:
    """The query results of a bundle."""
    return read_folder(view, FOLDER)
