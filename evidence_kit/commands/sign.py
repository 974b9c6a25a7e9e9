"""`evidence sign`: sign a bundle's in-toto statement as a DSSE envelope written beside the bundle."""

from __future__ import annotations

from pathlib import Path

from evidence_kit.commands import Printer, exiting
from evidence_kit.commands.attest import sign
from evidence_kit.errors import EXIT_FAIL, EXIT_OK


def run(printer: Printer, bundle: Path, *, key: Path, archive: Path | None = None) -> int:
    """Sign BUNDLE's statement with the Ed25519 private `key`; print the envelope's path."""
    with exiting(EXIT_FAIL):
        printer.out(str(sign(bundle.resolve(), key, archive)))
    return EXIT_OK
