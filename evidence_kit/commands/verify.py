"""`evidence verify`: prove a bundle complete and untouched, and optionally its signature."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from evidence_kit.bundle.verify import Problem, Verdict, verify
from evidence_kit.commands import Printer, exiting
from evidence_kit.errors import EXIT_FAIL, EXIT_OK, EvidenceError
from evidence_kit.oci.resolve import local_path


def run(printer: Printer, bundle: str | Path, *, as_json: bool = False, key: Path | None = None) -> int:
    """Verify a bundle folder or archive (and its DSSE envelope with `key`); print the verdict."""
    try:
        with exiting(EXIT_FAIL):
            bundle = local_path(bundle).resolve()
            verdict = verify(bundle)
            if key is not None:
                from evidence_kit.commands.attest import verify_signature

                signature = [Problem("signature", bundle.name, p) for p in verify_signature(bundle, key)]
                verdict = replace(
                    verdict, ok=verdict.ok and not signature, problems=verdict.problems + tuple(signature)
                )
    except EvidenceError as exc:
        if not as_json:
            raise
        printer.out(
            json.dumps(
                {
                    "bundle": Path(bundle).resolve().name,
                    "ok": False,
                    "error": exc.message,
                    "details": exc.details,
                }
            )
        )
        return EXIT_FAIL
    if as_json:
        printer.out(json.dumps(verdict.as_json(), indent=2, sort_keys=True))
    else:
        print_verdict(printer, verdict)
        if key is not None and verdict.ok:
            printer.out(f"signature verified with {key}")
    return EXIT_OK if verdict.ok else EXIT_FAIL


def print_verdict(printer: Printer, verdict: Verdict) -> None:
    """`verified NAME: counts, digest`, or `NOT verified NAME: N problems` and each problem."""
    if verdict.ok:
        printer.out("verified", style="ok", end=" ")
        printer.out(
            f"{verdict.bundle}: {verdict.artifacts} artifacts, {verdict.bytes} bytes, "
            f"digest sha256:{verdict.digest}"
        )
        return
    printer.out("NOT verified", style="error", end=" ")
    count = len(verdict.problems)
    printer.out(f"{verdict.bundle}: {count} problem{'' if count == 1 else 's'}")
    for problem in verdict.problems:
        printer.out(f"  {problem}")
