"""`evidence pack`: write a bundle that verifies as a deterministic .tar.gz."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from evidence_kit.bundle.archive import pack
from evidence_kit.bundle.verify import verify_dir
from evidence_kit.commands import Printer
from evidence_kit.errors import EXIT_FAIL, EXIT_OK, EvidenceError


def run(printer: Printer, bundle: Path, *, out: Path | None = None) -> int:
    """Verify the bundle folder, then pack it (mtime: its creation time) and print the archive's path."""
    bundle = bundle.resolve()
    if not bundle.is_dir():
        raise EvidenceError(
            f"{bundle} is not a bundle folder", hint="pass the folder `evidence collect` wrote"
        )
    verdict = verify_dir(bundle)
    if not verdict.ok:
        raise EvidenceError(
            f"{bundle} does not verify; refusing to pack it",
            hint="run `evidence verify` to see what changed",
            details=[str(p) for p in verdict.problems],
            exit_code=EXIT_FAIL,
        )
    created = datetime.fromisoformat(str(verdict.manifest["created"]).replace("Z", "+00:00"))
    dest = pack(bundle, out or bundle.with_name(bundle.name + ".tar.gz"), int(created.timestamp()))
    printer.out(str(dest))
    return EXIT_OK
