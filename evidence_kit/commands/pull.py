"""`evidence pull`: a bundle from an OCI registry, its digests and the bundle verified before use."""

from __future__ import annotations

from pathlib import Path

from evidence_kit.commands import Printer, exiting
from evidence_kit.errors import EXIT_FAIL, EXIT_OK
from evidence_kit.oci import reference
from evidence_kit.oci.pull import pull


def run(printer: Printer, ref: str, out: Path, *, insecure: bool = False) -> int:
    """Pull REF into OUT: the bundle folder, its archive, and its envelope and statements when it has them."""
    source = reference.parse(ref)
    with exiting(EXIT_FAIL):
        done = pull(source, out, insecure=insecure, log=lambda line: printer.err(line, style="muted"))
    printer.err(f"pulled {done.reference}", style="ok")
    for path in done.files:
        printer.out(str(path))
    return EXIT_OK
