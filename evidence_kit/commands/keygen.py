"""`evidence keygen`: make the Ed25519 key pair `evidence sign` and `evidence verify --key` use."""

from __future__ import annotations

from pathlib import Path

from evidence_kit.commands import Printer
from evidence_kit.commands.attest import keygen
from evidence_kit.errors import EXIT_OK


def run(printer: Printer, out: Path, *, force: bool = False) -> int:
    """Write the private key to `out` (mode 600) and the public key to `out`.pub; print both paths."""
    for path in keygen(out, force=force):
        printer.out(str(path))
    return EXIT_OK
