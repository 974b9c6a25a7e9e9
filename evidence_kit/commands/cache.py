"""`evidence cache prune`: empty the cache of bundles pulled for `oci://` references."""

from __future__ import annotations

from evidence_kit.commands import Printer
from evidence_kit.errors import EXIT_OK
from evidence_kit.oci import cache


def prune(printer: Printer) -> int:
    """Remove every cached bundle; print how many and how many bytes."""
    entries, size = cache.prune()
    printer.out(f"removed {entries} cached bundles ({size} bytes) from {cache.root()}")
    return EXIT_OK
